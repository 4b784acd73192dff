//! `dpc local execute` end to end: a compiled state machine from `dpc synth` run with mocks
//! through its paths, the one JSON document, the history, the exit codes, invalid input with
//! its JSON path, and a closed stdout.

use std::path::{Path, PathBuf};

use crate::common::dpc;

const TRIGGERED: &str =
    r#"{"run": {"type": "TRIGGERED", "triggerId": "t-1", "time": "2026-11-26T03:00:00Z"}}"#;

/// `dpc synth examples/case-study` into a temporary folder; the pipeline-x definition.
fn pipeline_x(dir: &Path) -> PathBuf {
    let out = dir.join("out");
    dpc(["synth", "examples/case-study", "--out"])
        .arg(&out)
        .run()
        .assert_code(0);
    out.join("pipeline-x/state-machine.asl.json")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const MOCKS_OK: &str = r#"{
  "Claim trigger": {"Return": {}},
  "Create cluster": {"Return": {"ClusterId": "j-1"}, "Duration": 300},
  "Step measure-x started": {"Return": {"FailedEntryCount": 0}},
  "Step measure-x": {"Return": {}, "Duration": 600},
  "Step measure-x succeeded": {"Return": {"FailedEntryCount": 0}},
  "Terminate cluster": {"Return": {}},
  "Publish": {"Return": {"Entries": [{"EventId": "e-1"}]}}
}"#;

#[test]
fn a_triggered_run_succeeds_and_shows_the_path_taken() {
    let dir = tempfile::tempdir().expect("tmp");
    let definition = pipeline_x(dir.path());
    let mocks = write(dir.path(), "mocks.json", MOCKS_OK);
    let run = dpc(["local", "execute", "--definition"])
        .arg(&definition)
        .args(["--input", TRIGGERED, "--mock"])
        .arg(&mocks)
        .args(["--start-time", "2026-11-26T03:00:00Z"])
        .run();
    run.assert_code(0);
    let out = run.stdout();
    let states: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    // pipeline-x notifies FULL_EXECUTION: its step is wrapped in step status events.
    assert_eq!(
        &states[..10],
        [
            "Start",
            "Claim",
            "Run",
            "Create",
            "Step",
            "Step",
            "Step",
            "Terminate",
            "Publish",
            "Succeeded"
        ]
    );
    run.assert_stdout_contains("03:15:00.000  Terminate cluster")
        .assert_stdout_contains("SUCCEEDED after 900 s of virtual time, 10 transition(s)")
        .assert_stdout_contains(r#""cluster":{"ClusterId":"j-1"}"#);
}

#[test]
fn json_output_is_one_document_with_the_history() {
    let dir = tempfile::tempdir().expect("tmp");
    let definition = pipeline_x(dir.path());
    let run = dpc([
        "local",
        "execute",
        "--output",
        "json",
        "--history",
        "--definition",
    ])
    .arg(&definition)
    .args(["--input", TRIGGERED, "--mock", MOCKS_OK])
    .args(["--start-time", "2026-11-26T03:00:00Z", "--name", "run-1"])
    .run();
    run.assert_code(0);
    let doc = run.json();
    assert_eq!(doc["status"], "SUCCEEDED");
    assert_eq!(doc["output"]["ctx"]["id"], "run-1");
    assert_eq!(doc["output"]["ctx"]["date"], "2026-11-26");
    let history = doc["history"].as_array().expect("history");
    assert_eq!(history[0]["type"], "ExecutionStarted");
    assert_eq!(history[0]["id"], 1);
    assert_eq!(
        history.last().map(|e| e["type"].clone()),
        Some("ExecutionSucceeded".into())
    );
    let scheduled: Vec<&serde_json::Value> = history
        .iter()
        .filter(|e| e["type"] == "TaskScheduled")
        .collect();
    assert_eq!(scheduled.len(), 7);
    let emr = &scheduled[1]["taskScheduledEventDetails"];
    assert_eq!(emr["resourceType"], "elasticmapreduce");
    assert_eq!(emr["resource"], "createCluster.sync");
    let params: serde_json::Value =
        serde_json::from_str(emr["parameters"].as_str().expect("text")).expect("json");
    assert_eq!(params["Name"], "dpc-pipeline-x-run-1");
    // Exactly one JSON document on stdout.
    assert_eq!(run.stdout().trim_end().lines().count(), 1);
}

#[test]
fn a_step_failing_for_good_terminates_the_cluster_and_fails_with_its_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let definition = pipeline_x(dir.path());
    let mocks = r#"{
      "Claim trigger": {"Return": {}},
      "Create cluster": {"Return": {"ClusterId": "j-1"}},
      "Step measure-x": {"Throw": {"Error": "States.TaskFailed", "Cause": "exit 1"}},
      "Terminate cluster after failure": {"Return": {}}
    }"#;
    let run = dpc(["local", "execute", "--output", "json", "--definition"])
        .arg(&definition)
        .args(["--input", TRIGGERED, "--mock", mocks])
        .run();
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["status"], "FAILED");
    assert_eq!(doc["error"], "States.TaskFailed");
    assert_eq!(doc["cause"], "exit 1");
}

#[test]
fn a_duplicate_trigger_ends_at_once_without_running_a_step() {
    let dir = tempfile::tempdir().expect("tmp");
    let definition = pipeline_x(dir.path());
    let mocks = r#"{"Claim trigger": {"Throw": {"Error": "DynamoDB.ConditionalCheckFailedException", "Cause": "claimed"}}}"#;
    let run = dpc(["local", "execute", "--definition"])
        .arg(&definition)
        .args(["--input", TRIGGERED, "--mock", mocks])
        .run();
    run.assert_code(0)
        .assert_stdout_contains("Duplicate")
        .assert_stdout_contains("SUCCEEDED");
    assert!(!run.stdout().contains("Create cluster"), "{}", run.report());
}

#[test]
fn a_task_without_a_mock_fails_naming_the_resource() {
    let dir = tempfile::tempdir().expect("tmp");
    let definition = pipeline_x(dir.path());
    let run = dpc(["local", "execute", "--output", "json", "--definition"])
        .arg(&definition)
        .args(["--input", TRIGGERED])
        .run();
    run.assert_code(1);
    let doc = run.json();
    assert_eq!(doc["error"], "dpc.NoHandler");
    let cause = doc["cause"].as_str().expect("cause");
    assert!(
        cause.contains("arn:aws:states:::dynamodb:putItem"),
        "{cause}"
    );
    assert!(cause.contains("Claim trigger"), "{cause}");
}

#[test]
fn invalid_definition_input_and_mock_exit_2_with_the_json_path() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = write(
        dir.path(),
        "bad.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Nxt": "B"}}}"#,
    );
    dpc(["local", "execute", "--definition"])
        .arg(&bad)
        .run()
        .assert_code(2)
        .assert_stderr_contains("$.States['A'].Nxt");
    let jsonata = write(
        dir.path(),
        "jsonata.asl.json",
        r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#,
    );
    dpc(["local", "execute", "--definition"])
        .arg(&jsonata)
        .run()
        .assert_code(2)
        .assert_stderr_contains("JSONata");
    let good = write(
        dir.path(),
        "good.asl.json",
        r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#,
    );
    dpc(["local", "execute", "--input", "{not json", "--definition"])
        .arg(&good)
        .run()
        .assert_code(2)
        .assert_stderr_contains("--input:1:2");
    dpc([
        "local",
        "execute",
        "--mock",
        r#"{"A": {"Retrun": 1}}"#,
        "--definition",
    ])
    .arg(&good)
    .run()
    .assert_code(2)
    .assert_stderr_contains("$['A']");
}

#[test]
fn an_endless_loop_is_aborted() {
    let dir = tempfile::tempdir().expect("tmp");
    let looping = write(
        dir.path(),
        "loop.asl.json",
        r#"{"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": false, "Next": "A"}], "Default": "Done"},
            "Done": {"Type": "Succeed"}}}"#,
    );
    let run = dpc([
        "local",
        "execute",
        "--max-transitions",
        "1000",
        "--output",
        "json",
    ])
    .arg("--definition")
    .arg(&looping)
    .run();
    run.assert_code(1);
    assert_eq!(run.json()["status"], "ABORTED");
}

#[test]
fn a_closed_stdout_is_a_normal_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let definition = pipeline_x(dir.path());
    let bin = env!("CARGO_BIN_EXE_dpc");
    let script = format!(
        "{bin} local execute --history --definition {} --input '{TRIGGERED}' --mock '{}' | head -c1; echo \" ${{PIPESTATUS[0]}}\"",
        definition.display(),
        MOCKS_OK.replace('\n', " ")
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.ends_with(" 0\n"), "exit status: {text:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
