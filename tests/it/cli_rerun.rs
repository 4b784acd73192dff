//! `dpc rerun` and `dpc publish` in the local environment, end to end through the CLI: after
//! `dpc local run --fail searches`, the rerun's printed plan names pipeline-x, and playing it
//! runs searches (RERUN) and exactly one pipeline-x; `--downstream` only plans; without
//! `--yes` and a terminal it refuses; a data product published by hand runs its consumer.

use std::path::Path;

use serde_json::Value;

use crate::common::{ROOT, Run, dpc};

fn example(name: &str) -> String {
    Path::new(ROOT)
        .join("examples")
        .join(name)
        .display()
        .to_string()
}

/// `dpc local run PATH --from 2026-11-26 EXTRA…` in `dir` (store and logs there).
fn local_run(dir: &Path, path: &str, extra: &[&str]) -> Run {
    dpc(["local", "run", "--from", "2026-11-26"])
        .arg(example(path))
        .args(extra)
        .current_dir(dir)
        .run()
}

/// The JSON lines of stdout.
fn lines(run: &Run) -> Vec<Value> {
    run.stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// `(pipeline, event)` of the timeline lines, for the events named in `kinds`.
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
fn a_rerun_of_the_failed_searches_runs_pipeline_x_once_as_planned() {
    let dir = tempfile::tempdir().expect("tmp");
    local_run(dir.path(), "case-study", &["--fail", "searches"]).assert_code(1);

    // The plan only: pipeline-x follows, the fallback does not; nothing runs. Without PATH:
    // the projects `dpc local run` played with the store.
    let plan = dpc(["rerun", "searches", "--downstream"])
        .current_dir(dir.path())
        .run();
    plan.assert_code(0)
        .assert_stdout_contains("If searches succeeds at 2026-11-26T")
        .assert_stdout_contains("will follow: pipeline-x (333333333333) after listings SUCCEEDED, searches SUCCEEDED")
        .assert_stdout_contains("will not follow: pipeline-x-fallback (333333333333): still waits for listings FAILED|TIMED_OUT, searches FAILED|TIMED_OUT");

    let lineage = || {
        std::fs::read_to_string(dir.path().join(".dpc/lineage.jsonl"))
            .expect("lineage.jsonl")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
            .collect::<Vec<Value>>()
    };
    let before = lineage().len();
    let run = dpc(["rerun", "searches", "--yes", "--output", "json"])
        .arg(example("case-study"))
        .current_dir(dir.path())
        .run();
    run.assert_code(0);
    let out = lines(&run);
    let planned = &out[0]["plan"]["follows"];
    let names: Vec<&str> = planned
        .as_array()
        .expect("follows")
        .iter()
        .filter_map(|f| f["pipeline"]["name"].as_str())
        .collect();
    assert_eq!(names, ["pipeline-x"], "{}", run.report());
    assert_eq!(
        of(&out[1..], &["started", "succeeded", "failed", "triggered"]),
        [
            ("searches", "started"),
            ("searches", "succeeded"),
            ("pipeline-x", "triggered"),
            ("pipeline-x", "started"),
            ("pipeline-x", "succeeded"),
        ],
        "{}",
        run.report()
    );
    let started = out
        .iter()
        .find(|e| e["event"] == "started" && e["pipeline"] == "searches")
        .expect("searches started");
    assert_eq!(started["detail"], "started (RERUN)");
    // The rerun's OpenLineage events are added to the local run's: START and COMPLETE each.
    let added: Vec<(String, String)> = lineage()[before..]
        .iter()
        .map(|e| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (text(&e["job"]["name"]), text(&e["eventType"]))
        })
        .collect();
    let pairs: Vec<(&str, &str)> = added
        .iter()
        .map(|(j, t)| (j.as_str(), t.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("searches", "START"),
            ("searches", "COMPLETE"),
            ("pipeline-x", "START"),
            ("pipeline-x", "COMPLETE"),
        ]
    );
    // A second after the last thing the store knows of, the local run's 08:00 SLA alert.
    assert_eq!(started["at"], "2026-11-26T08:00:01Z");
    // That alert's OpsGenie alias, left open by the local run, is closed by pipeline-x's success.
    assert!(
        out.iter().any(|e| e["event"] == "notification"
            && e["pipeline"] == "pipeline-x"
            && e["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("opsgenie close dpc-sla-333333333333-pipeline-x-2026-11-26")),
        "{}",
        run.report()
    );
    // Same day as the failed run: pipeline-x's daily period had not fired yet.
    assert!(
        started["at"]
            .as_str()
            .unwrap_or_default()
            .starts_with("2026-11-26T"),
        "{started}"
    );

    // pipeline-x ran in this daily period: a second rerun plans nobody.
    let again = dpc(["rerun", "searches", "--yes"])
        .arg(example("case-study"))
        .current_dir(dir.path())
        .run();
    again
        .assert_code(0)
        .assert_stdout_contains("nothing follows")
        .assert_stdout_contains(
            "will not follow: pipeline-x (333333333333): it was triggered in this schedule period already",
        );
    assert!(
        !again.stderr().contains("pipeline-x  started"),
        "{}",
        again.report()
    );
}

#[test]
fn a_rerun_without_a_terminal_or_yes_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    dpc(["rerun", "searches"])
        .arg(example("case-study"))
        .current_dir(dir.path())
        .run()
        .assert_code(2)
        .assert_stderr_contains("stdin is not a terminal")
        .assert_stderr_contains("pass --yes");
    // No store yet: said plainly.
    dpc(["rerun", "searches", "--downstream"])
        .arg(example("case-study"))
        .current_dir(dir.path())
        .run()
        .assert_code(2)
        .assert_stderr_contains("no store at");
    local_run(dir.path(), "case-study", &[]).assert_code(0);
    dpc(["rerun", "nosuch", "--yes"])
        .arg(example("case-study"))
        .current_dir(dir.path())
        .run()
        .assert_code(2)
        .assert_stderr_contains("no pipeline is named `nosuch`");
}

#[test]
fn a_published_product_runs_its_waiting_consumer() {
    let dir = tempfile::tempdir().expect("tmp");
    // D2/DS1's producer fails: d1-ds4 waits on it.
    local_run(dir.path(), "data-mesh", &["--fail", "d2-ds1"]).assert_code(1);
    let run = dpc([
        "publish",
        "--domain",
        "D2",
        "--name",
        "DS1",
        "--account",
        "666666666666",
        "--attribute",
        "partition=2026-11-26",
        "--output",
        "json",
    ])
    .arg(example("data-mesh"))
    .current_dir(dir.path())
    .run();
    run.assert_code(0);
    let out = lines(&run);
    let names: Vec<&str> = out[0]["plan"]["follows"]
        .as_array()
        .expect("follows")
        .iter()
        .filter_map(|f| f["pipeline"]["name"].as_str())
        .collect();
    assert_eq!(names, ["d1-ds4"], "{}", run.report());
    assert_eq!(
        of(&out[1..], &["started", "succeeded", "triggered"]),
        [
            ("d1-ds4", "triggered"),
            ("d1-ds4", "started"),
            ("d1-ds4", "succeeded"),
        ],
        "{}",
        run.report()
    );
    dpc([
        "publish",
        "--domain",
        "D2",
        "--name",
        "DS1",
        "--account",
        "12",
    ])
    .arg(example("data-mesh"))
    .current_dir(dir.path())
    .run()
    .assert_code(2)
    .assert_stderr_contains("not an AWS account id");
    dpc([
        "publish",
        "--domain",
        "D2",
        "--name",
        "DS1",
        "--attribute",
        "novalue",
    ])
    .arg(example("data-mesh"))
    .current_dir(dir.path())
    .run()
    .assert_code(2)
    .assert_stderr_contains("is not KEY=VALUE");
}

/// `up` (daily at 03:00, one step, no retry) and `down`, which runs after `up` SUCCEEDED.
fn up_and_down(dir: &Path) -> std::path::PathBuf {
    let tree = dir.join("tree");
    let up = "name: up\nteam: t\naccount: \"123456789012\"\nregion: eu-west-1\ntrigger:\n  schedule: {hour: 3}\ncompute:\n  type: EMR\n  emr: {releaseLabel: emr-7.5.0, instanceType: m5.xlarge, instanceCount: 1}\nsteps:\n  - name: load\n    type: SHELL\n    script: s3://example-bucket/load.sh\n    local: {command: \"echo loading\"}\n";
    let down = "name: down\nteam: t\naccount: \"123456789012\"\nregion: eu-west-1\ntrigger:\n  executions:\n    allOf:\n      - {name: up}\ncompute: {type: NONE}\n";
    for (name, text) in [("up", up), ("down", down)] {
        std::fs::create_dir_all(tree.join(name)).expect("mkdir");
        std::fs::write(tree.join(name).join("pipeline.yaml"), text).expect("write");
    }
    tree
}

#[test]
fn a_rerun_right_after_a_run_that_failed_at_once_is_a_run_of_its_own() {
    let dir = tempfile::tempdir().expect("tmp");
    let tree = up_and_down(dir.path());
    dpc(["local", "run", "--from", "2026-11-26", "--fail", "up"])
        .arg(&tree)
        .current_dir(dir.path())
        .run()
        .assert_code(1);
    // up failed within its start second: the rerun must not be taken for that run.
    let run = dpc(["rerun", "up", "--yes", "--output", "json"])
        .current_dir(dir.path())
        .run();
    run.assert_code(0);
    let out = lines(&run);
    assert_eq!(
        of(&out[1..], &["started", "succeeded", "failed", "triggered"]),
        [
            ("up", "started"),
            ("up", "succeeded"),
            ("down", "triggered"),
            ("down", "started"),
            ("down", "succeeded"),
        ],
        "{}",
        run.report()
    );
}

/// `--time`: the rerun's steps see that logical time (`{{run.date}}`), e.g. the failed run's
/// day; its dependents still follow at the rerun's own time. A time that is no time is refused.
#[test]
fn a_rerun_processes_the_day_given_with_time() {
    let dir = tempfile::tempdir().expect("tmp");
    local_run(dir.path(), "case-study", &["--fail", "searches"]).assert_code(1);
    let run = dpc(["rerun", "searches", "--yes", "--time", "2026-11-20"])
        .args(["--output", "json"])
        .current_dir(dir.path())
        .run();
    run.assert_code(0);
    let steps: Vec<(String, String)> = lines(&run)
        .iter()
        .filter(|e| e["event"] == "step-started")
        .map(|e| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (text(&e["pipeline"]), text(&e["detail"]))
        })
        .collect();
    assert_eq!(steps.len(), 2, "{}", run.report());
    assert!(steps[0].1.ends_with("--date 2026-11-20"), "{steps:?}");
    assert_eq!(steps[1].0, "pipeline-x");
    assert!(steps[1].1.ends_with("--date 2026-11-26"), "{steps:?}");
    dpc(["rerun", "searches", "--yes", "--time", "yesterday"])
        .current_dir(dir.path())
        .run()
        .assert_code(2)
        .assert_stderr_contains("--time: `yesterday` is neither RFC 3339 nor YYYY-MM-DD");
}
