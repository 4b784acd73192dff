//! `dpc local run` end to end through the CLI: both examples with their triggers in order,
//! the step processes' output, the store's final states (`dpc status`), a failing upstream
//! running the fallback only, a failing step retried as compiled, at-least-once delivery
//! running nothing twice, and the JSON lines output.

use std::path::Path;

use serde_json::Value;

use crate::common::{Run, dpc};

/// `dpc local run PATH --from 2026-11-26 --output json` in `dir` (store and logs there).
fn run_json(dir: &Path, path: &str, extra: &[&str]) -> (Run, Vec<Value>) {
    run_at(dir, path, "2026-11-26", extra)
}

/// `dpc local run PATH --from FROM --output json EXTRA…` in `dir`.
fn run_at(dir: &Path, path: &str, from: &str, extra: &[&str]) -> (Run, Vec<Value>) {
    let run = dpc(["local", "run", "--output", "json", "--from", from])
        .arg(Path::new(crate::common::ROOT).join(path))
        .args(extra)
        .current_dir(dir)
        .run();
    let events = run
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (run, events)
}

/// `(pipeline, event)` of the timeline, in order, for the events named in `kinds`.
fn of<'a>(events: &'a [Value], kinds: &[&str]) -> Vec<(&'a str, &'a str)> {
    events
        .iter()
        .filter(|e| kinds.contains(&e["event"].as_str().unwrap_or_default()))
        .map(|e| {
            (
                e["pipeline"].as_str().unwrap_or_default(),
                e["event"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_case_study_triggers_pipeline_x_right_after_both_upstreams_succeeded() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, events) = run_json(dir.path(), "examples/case-study", &[]);
    run.assert_code(0);
    assert_eq!(
        of(&events, &["started", "succeeded", "failed", "triggered"]),
        [
            ("listings", "started"),
            ("listings", "succeeded"),
            ("searches", "started"),
            ("searches", "succeeded"),
            ("pipeline-x", "triggered"),
            ("pipeline-x", "started"),
            ("pipeline-x", "succeeded"),
        ]
    );
    let at = |pipeline: &str, event: &str| {
        events
            .iter()
            .find(|e| e["pipeline"] == pipeline && e["event"] == event)
            .and_then(|e| e["at"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(at("listings", "started").starts_with("2026-11-26T03:00:00"));
    assert!(at("searches", "started").starts_with("2026-11-26T05:00:00"));
    assert_eq!(at("pipeline-x", "triggered"), at("searches", "succeeded"));
    let triggered = events
        .iter()
        .find(|e| e["event"] == "triggered")
        .expect("trigger");
    let detail = triggered["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("listings SUCCEEDED") && detail.contains("searches SUCCEEDED"));
    // The steps ran for real: their output is in the logs.
    let log = std::fs::read_to_string(
        dir.path()
            .join(".dpc/logs/listings/listings-20261126T030000-1/aggregate-listings-1.log"),
    )
    .expect("step log");
    assert_eq!(
        log.trim(),
        "listings: aggregated listings events of 2026-11-26"
    );
    assert_eq!(of(&events, &["published"]), [("pipeline-x", "published")]);
    // The store holds the final states for `dpc status`.
    let status = dpc(["status", "--output", "json", "--at", "2026-11-26T23:00:00Z"])
        .current_dir(dir.path())
        .run();
    status.assert_code(0);
    let phases: Vec<(String, String)> = status
        .json()
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["pipeline"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["phase"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        phases.contains(&("pipeline-x".into(), "COMPLETED".into())),
        "{phases:?}"
    );
    assert!(
        phases.contains(&("pipeline-x-fallback".into(), "WAITING".into())),
        "{phases:?}"
    );
}

#[test]
fn the_data_mesh_runs_its_chain_by_itself() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, events) = run_json(dir.path(), "examples/data-mesh", &[]);
    run.assert_code(0);
    let order: Vec<&str> = of(&events, &["succeeded"])
        .iter()
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(
        order,
        [
            "raw-rd1", "raw-rd2", "d1-ds1", "raw-rd3", "d1-ds2", "d1-ds3", "d2-ds1", "d1-ds4"
        ]
    );
    let triggered: Vec<&str> = of(&events, &["triggered"])
        .iter()
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(triggered, ["d1-ds1", "d1-ds2", "d1-ds3", "d1-ds4"]);
    assert_eq!(of(&events, &["published"]).len(), 8);
}

#[test]
fn a_failed_upstream_runs_the_fallback_and_not_pipeline_x() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, events) = run_json(dir.path(), "examples/case-study", &["--fail", "listings"]);
    run.assert_code(1);
    let ran: Vec<(&str, &str)> = of(&events, &["succeeded", "failed"]);
    assert_eq!(
        ran,
        [
            ("listings", "failed"),
            ("pipeline-x-fallback", "succeeded"),
            ("searches", "succeeded"),
        ]
    );
    // The fallback's alert, rendered and never sent.
    let alerts: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "notification" && e["pipeline"] == "pipeline-x-fallback")
        .collect();
    assert!(!alerts.is_empty());
    let text = alerts[0]["detail"].as_str().unwrap_or_default();
    assert!(text.contains("SLACK data-pipeline-alerts"), "{text}");
    let log = std::fs::read_to_string(dir.path().join(".dpc/logs/notifications.log"))
        .expect("notifications log");
    assert!(log.contains("pipeline-x-fallback"));
}

#[test]
fn a_full_execution_run_is_one_slack_thread_with_a_reply_per_step_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, events) = run_json(dir.path(), "examples/case-study", &["--fail", "pipeline-x"]);
    run.assert_code(1);
    let slack: Vec<String> = events
        .iter()
        .filter(|e| e["event"] == "notification" && e["pipeline"] == "pipeline-x")
        .flat_map(|e| e["detail"].as_str().unwrap_or_default().lines())
        .map(str::trim)
        .filter(|l| l.starts_with("slack #data-pipeline-alerts"))
        .map(String::from)
        .collect();
    let kinds: Vec<&str> = slack
        .iter()
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    // The step events the compiled putEvents states put become the replies.
    assert_eq!(
        kinds,
        [
            "slack #data-pipeline-alerts new thread",
            "slack #data-pipeline-alerts in thread",
            "slack #data-pipeline-alerts in thread",
            "slack #data-pipeline-alerts in thread",
            "slack #data-pipeline-alerts root updated",
            "slack #data-pipeline-alerts new message",
        ],
        "{slack:#?}"
    );
    // At 09:00 Berlin its SLA alert: a message of its own, saying its own run failed.
    assert!(
        slack[5]
            .contains("pipeline-x has not succeeded by 09:00 Europe/Berlin: its last run FAILED"),
        "{}",
        slack[5]
    );
    assert!(slack[1].contains("step measure-x started"), "{}", slack[1]);
    assert!(
        slack[2].contains("measure-x") && slack[2].contains("forced by --fail"),
        "{}",
        slack[2]
    );
    let all: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "notification" && e["pipeline"] == "pipeline-x")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert!(
        all.iter()
            .any(|d| d.contains("opsgenie alert dpc-333333333333-pipeline-x-")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|d| d.starts_with("would notify")
            && d.contains("SLA missed")
            && d.contains("opsgenie alert dpc-sla-333333333333-pipeline-x-2026-11-26 (P3)")
            && d.contains("email rent-journey@example.com: [dpc] SLA missed: pipeline-x by 09:00 Europe/Berlin")),
        "{all:#?}"
    );
}

/// `--slack-api-url` against the tests' Slack-compatible server: the thread the timeline shows
/// is posted as one thread (root, replies under its `ts`, the root updated).
#[test]
fn slack_api_url_posts_each_run_as_one_thread() {
    let slack = crate::common::slack::SlackServer::start();
    let dir = tempfile::tempdir().expect("tmp");
    let run = dpc(["local", "run", "--output", "json", "--from", "2026-11-26"])
        .arg(Path::new(crate::common::ROOT).join("examples/case-study"))
        .args(["--fail", "pipeline-x", "--slack-api-url", &slack.url])
        .env("SLACK_BOT_TOKEN", "xoxb-test")
        .current_dir(dir.path())
        .run();
    run.assert_code(1);
    let calls = slack.calls();
    let x: Vec<_> = calls
        .iter()
        .filter(|c| c.text.starts_with("pipeline-x"))
        .collect();
    assert!(calls.iter().all(|c| c.token == "xoxb-test"));
    assert!(
        x.iter().all(|c| c.channel == "data-pipeline-alerts"),
        "{x:#?}"
    );
    // searches posts to its own channel, in its own thread.
    let searches: Vec<_> = calls
        .iter()
        .filter(|c| c.text.starts_with("searches"))
        .collect();
    assert!(!searches.is_empty(), "{calls:#?}");
    assert!(searches.iter().all(|c| c.channel == "search-team-alerts"));
    let methods: Vec<&str> = x.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        [
            "chat.postMessage",
            "chat.postMessage",
            "chat.postMessage",
            "chat.postMessage",
            "chat.update",
            "chat.postMessage",
        ],
        "{x:#?}"
    );
    let root = x[0].ts.clone();
    assert!(root.is_some() && x[0].thread_ts.is_none());
    assert!(x[1..4].iter().all(|c| c.thread_ts == root), "{x:#?}");
    assert_eq!(x[4].ts, root);
    // The SLA alert, posted as a message of its own with its blocks.
    assert!(x[5].thread_ts.is_none() && x[5].ts.is_some(), "{x:#?}");
    assert!(
        x[5].text
            .contains("has not succeeded by 09:00 Europe/Berlin")
    );
    assert!(x[5].blocks.to_string().contains("missed its SLA"));
}

#[test]
fn a_failing_step_is_retried_as_compiled_then_fails_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let (run, events) = run_json(dir.path(), "tests/fixtures/local/failing-step", &[]);
    run.assert_code(1);
    let steps: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"].as_str().unwrap_or_default().starts_with("step-"))
        .map(|e| {
            (
                e["step"].as_str().unwrap_or_default(),
                e["event"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("prepare", "step-started"),
            ("prepare", "step-succeeded"),
            ("crash", "step-started"),
            ("crash", "step-failed"),
            ("crash", "step-started"),
            ("crash", "step-failed"),
        ]
    );
    let failed = events
        .iter()
        .find(|e| e["event"] == "failed")
        .expect("failed run");
    let detail = failed["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("States.TaskFailed") && detail.contains("exited 3: boom"),
        "{detail}"
    );
    let base = dir
        .path()
        .join(".dpc/logs/failing-step/failing-step-20261126T020000-1");
    let prepare = std::fs::read_to_string(base.join("prepare-1.log")).expect("log");
    assert_eq!(prepare.trim(), "preparing 2026-11-26 as SCHEDULED");
    assert!(base.join("crash-2.log").is_file());
}

#[test]
fn delivering_every_event_twice_runs_nothing_twice() {
    let dir = tempfile::tempdir().expect("tmp");
    let (once, _) = run_json(dir.path(), "examples/case-study", &[]);
    once.assert_code(0);
    let (twice, events) = run_json(dir.path(), "examples/case-study", &["--at-least-once"]);
    twice.assert_code(0);
    let steps = |events: &[Value]| {
        events
            .iter()
            .filter(|e| e["event"] == "step-started")
            .count()
    };
    let first: Vec<Value> = once
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(steps(&events), steps(&first));
    assert_eq!(
        of(&events, &["duplicate-ended"]),
        [("pipeline-x", "duplicate-ended")]
    );
    assert_eq!(of(&events, &["triggered"]).len(), 1);
}

#[test]
fn bad_flags_are_refused_with_the_fix() {
    dpc(["local", "run", "examples/case-study", "--fail", "nosuch"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("no pipeline is named `nosuch`")
        .assert_stderr_contains("hint: pipelines: listings");
    dpc([
        "local",
        "run",
        "examples/case-study",
        "--fail",
        "listings:nosuch",
    ])
    .run()
    .assert_code(2)
    .assert_stderr_contains("hint: its steps: aggregate-listings");
    dpc(["local", "run", "examples/case-study", "--from", "tomorrow"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("--from: `tomorrow`");
}

#[test]
fn a_run_resumed_from_its_store_gives_the_same_runs_as_one_run() {
    let whole = tempfile::tempdir().expect("tmp");
    let (_, one) = run_json(
        whole.path(),
        "examples/case-study",
        &["--until", "2026-11-26T23:59:00Z"],
    );
    let split = tempfile::tempdir().expect("tmp");
    let (first, a) = run_json(
        split.path(),
        "examples/case-study",
        &["--until", "2026-11-26T04:00:00Z"],
    );
    first.assert_code(0);
    let (second, b) = run_at(
        split.path(),
        "examples/case-study",
        "2026-11-26T04:00:00Z",
        &["--resume", "--until", "2026-11-26T23:59:00Z"],
    );
    second.assert_code(0);
    let kinds = ["started", "succeeded", "failed", "triggered"];
    let mut resumed = of(&a, &kinds);
    resumed.extend(of(&b, &kinds));
    assert_eq!(resumed, of(&one, &kinds));
    assert!(resumed.contains(&("pipeline-x", "succeeded")));
}

#[test]
fn live_mode_stops_cleanly_on_ctrl_c_and_keeps_the_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let running = dpc(["local", "run", "--live"])
        .arg(Path::new(crate::common::ROOT).join("examples/case-study"))
        .current_dir(dir.path())
        .spawn();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &running.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let run = running.wait();
    run.assert_code(0)
        .assert_stderr_contains("stopped: the store keeps the state");
    dpc(["status"])
        .current_dir(dir.path())
        .run()
        .assert_code(0)
        .assert_stdout_contains("pipeline-x");
}
