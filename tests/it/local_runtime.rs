//! The local runtime as a library, with a step runner played by the test: a step that runs
//! past its timeout ends the run as `States.Timeout` after the cluster is terminated, and
//! the process runner stops a real process at its timeout.

use std::path::PathBuf;

use chrono::NaiveDate;
use dpc::local::process::Processes;
use dpc::local::runtime::{Runtime, Settings, StepResult, StepRun, StepRunner};
use dpc::local::world;
use dpc::manager::registry::PipelineId;
use dpc::manager::sqlite::SqliteStore;
use dpc::pipeline::load::validate_tree;
use dpc::pipeline::model::Central;

/// Every step "runs" for `seconds` and ends with `exit` (`None`: stopped at its timeout).
struct Fake {
    exit: Option<i32>,
    seconds: f64,
    calls: Vec<(String, u32, u64)>,
}

impl StepRunner for Fake {
    fn run(&mut self, step: &StepRun<'_>) -> StepResult {
        self.calls
            .push((step.step.to_string(), step.attempt, step.timeout_seconds));
        StepResult {
            exit: self.exit,
            seconds: self.seconds,
            log: "fake.log".into(),
            tail: String::new(),
            error: None,
        }
    }
}

fn day() -> i64 {
    NaiveDate::from_ymd_opt(2026, 11, 26)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
        .expect("date")
}

#[test]
fn a_step_past_its_timeout_fails_the_run_with_states_timeout() {
    let root = PathBuf::from(crate::common::ROOT);
    let now = chrono::DateTime::from_timestamp_millis(day())
        .expect("time")
        .naive_utc();
    let tree = validate_tree(&[root.join("tests/fixtures/local/failing-step")], now).expect("tree");
    let pipelines = world::build(&tree).expect("world");
    let settings = Settings {
        from: day(),
        until: day() + 86_400_000,
        fail: Vec::new(),
        central: Central {
            account: "000000000000".into(),
            region: "local".into(),
            bus: "dpc-central".into(),
        },
        twice: false,
    };
    let runner = Fake {
        exit: None,
        seconds: 400.0,
        calls: Vec::new(),
    };
    let store = SqliteStore::in_memory().expect("store");
    let runtime = Runtime::new(&pipelines, store, runner, settings).expect("runtime");
    let (played, _) = runtime.play().expect("play");
    let [run] = played.runs.as_slice() else {
        panic!("one run expected: {:?}", played.runs);
    };
    assert_eq!(run.status, "FAILED");
    assert_eq!(run.error.as_deref(), Some("States.Timeout"));
    // `prepare` (default 1 h timeout) timed out at once: the 5-minute `crash` never ran.
    let timed_out: Vec<&str> = played
        .timeline
        .iter()
        .filter(|e| e.event == "step-timed-out")
        .filter_map(|e| e.step.as_deref())
        .collect();
    assert_eq!(timed_out, ["prepare"]);
}

#[test]
fn the_process_runner_stops_a_step_at_its_timeout() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut runner = Processes {
        logs: dir.path().to_path_buf(),
    };
    let id = PipelineId {
        account: "123456789012".into(),
        region: "eu-west-1".into(),
        name: "slow".into(),
    };
    let started = std::time::Instant::now();
    let result = runner.run(&StepRun {
        pipeline: &id,
        execution: "e-1",
        step: "sleep",
        attempt: 1,
        command: "echo started; sleep 30",
        dir: dir.path(),
        env: vec![("DPC_STEP".into(), "sleep".into())],
        timeout_seconds: 1,
    });
    assert_eq!(result.exit, None, "stopped, not exited");
    assert!(result.seconds >= 1.0 && started.elapsed().as_secs() < 10);
    assert_eq!(result.tail.trim(), "started");
    let ok = runner.run(&StepRun {
        pipeline: &id,
        execution: "e-1",
        step: "env",
        attempt: 1,
        command: "echo $DPC_STEP; exit 4",
        dir: dir.path(),
        env: vec![("DPC_STEP".into(), "env".into())],
        timeout_seconds: 60,
    });
    assert_eq!(ok.exit, Some(4));
    assert_eq!(ok.tail.trim(), "env");
    assert!(dir.path().join("slow/e-1/env-1.log").is_file());
}
