//! End-to-end tests of `dpc test`: the shipped scenarios pass, a failing expectation exits 1,
//! a malformed scenario exits 2 naming file, line and column.

use serde_json::Value;

use crate::common::dpc;

#[test]
fn shipped_scenarios_pass() {
    let o = dpc(["test", "examples", "tests/scenarios"]).run();
    o.assert_code(0);
    let out = o.stdout();
    assert!(
        out.contains("PASS examples/data-mesh/tests/chain.scenario.yaml"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn json_output_lists_every_expectation_and_trigger() {
    let o = dpc([
        "--output",
        "json",
        "test",
        "examples/data-mesh/tests/chain.scenario.yaml",
    ])
    .run();
    o.assert_code(0);
    let v = o.json();
    assert_eq!(v["summary"]["passed"], 1);
    let scenario = &v["scenarios"][0];
    let targets: Vec<&str> = scenario["triggers"]
        .as_array()
        .expect("triggers")
        .iter()
        .filter_map(|t| t["pipeline"].as_str())
        .collect();
    assert_eq!(targets, ["d1-ds1", "d1-ds2", "d1-ds3", "d1-ds4"]);
    assert!(
        scenario["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["passed"] == true)
    );
}

#[test]
fn a_failed_expectation_exits_1_and_says_what_happened() {
    let o = dpc(["test", "tests/scenario-fixtures/failing"]).run();
    o.assert_code(1);
    let out = o.stdout();
    assert!(
        out.contains("FAIL tests/scenario-fixtures/failing/wrong.scenario.yaml"),
        "{out}"
    );
    assert!(out.contains("never triggered"), "{out}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn a_malformed_scenario_exits_2_with_every_error_placed() {
    let o = dpc(["test", "tests/scenario-fixtures/broken"]).run();
    o.assert_code(2);
    let err = o.stderr();
    let file = "tests/scenario-fixtures/broken/typos.scenario.yaml";
    assert!(
        err.contains(&format!("{file}:5:")) && err.contains("unknown status `DONE`"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:6:")) && err.contains("`yesterday` is not an RFC 3339 time"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:9:")) && err.contains("unknown key `triggerd`"),
        "{err}"
    );
}

#[test]
fn no_scenarios_is_a_usage_error() {
    dpc(["test", "src"]).run().assert_code(2);
}

#[test]
fn status_reads_the_store_a_scenario_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state.db");
    let db = db.to_str().expect("utf-8 path");
    dpc([
        "test",
        "--store",
        db,
        "examples/case-study/tests/failed-fallback.scenario.yaml",
    ])
    .run()
    .assert_code(0);
    let o = dpc([
        "--output",
        "json",
        "status",
        "--store",
        db,
        "--at",
        "2026-11-21T08:00:00Z",
    ])
    .run();
    o.assert_code(0);
    let rows: Value = o.json();
    let x = rows
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["pipeline"]["name"] == "pipeline-x")
        .expect("pipeline-x");
    // The scenario ends with the rerun of listings triggering pipeline-x (no run of it yet).
    assert_eq!(x["phase"], "TRIGGERED");
    let arrived: Vec<&str> = x["leaves"]
        .as_array()
        .expect("leaves")
        .iter()
        .filter(|l| !l["arrived"].is_null())
        .filter_map(|l| l["label"].as_str())
        .collect();
    assert!(
        arrived.is_empty(),
        "the trigger reset every leaf: {arrived:?}"
    );
    assert!(x["lastTriggerAt"] == "2026-11-21T07:30:00Z");
    let human = dpc(["status", "--store", db, "pipeline-x-fallback"])
        .run()
        .stdout();
    assert!(
        human.contains("333333333333/eu-west-1/pipeline-x-fallback  TRIGGERED"),
        "{human}"
    );
    dpc(["status", "--store", db, "nope"]).run().assert_code(1);
    dpc(["status", "--store", "/nonexistent/x.db"])
        .run()
        .assert_code(2);
}

#[test]
fn history_reads_the_trail_a_scenario_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("state.db");
    let db = db.to_str().expect("utf-8 path");
    dpc([
        "test",
        "--store",
        db,
        "examples/case-study/tests/failed-fallback.scenario.yaml",
    ])
    .run()
    .assert_code(0);
    let o = dpc(["--output", "json", "history", "--store", db, "pipeline-x"]).run();
    o.assert_code(0);
    let trail: Value = o.json();
    assert_eq!(trail["pipeline"], "333333333333/eu-west-1/pipeline-x");
    let kinds: Vec<&str> = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"REGISTERED"), "{kinds:?}");
    assert!(kinds.contains(&"TRIGGER"), "{kinds:?}");
    let human = dpc(["history", "--store", db, "pipeline-x"]).run().stdout();
    assert!(
        human.starts_with("333333333333/eu-west-1/pipeline-x\n"),
        "{human}"
    );
    assert!(human.contains("WAITING -> TRIGGERED"), "{human}");
    let missing = dpc(["history", "--store", db, "nope"]).run();
    missing.assert_code(1);
    assert!(
        missing
            .stderr()
            .contains("no registered pipeline is named `nope`")
    );
}
