//! End-to-end tests of `dpc test-event`, running the built binary.

use crate::common::{Run, dpc};

const PATTERN: &str = r#"{"source": ["aws.states"], "detail": {"status": ["SUCCEEDED"]}}"#;
const MATCHING: &str = r#"{"source": "aws.states", "detail": {"status": "SUCCEEDED"}}"#;
const FAILED: &str = r#"{"source": "aws.states", "detail": {"status": "FAILED"}}"#;

fn test_event(pattern: &str, event: &str, extra: &[&str]) -> Run {
    dpc(["test-event", "--pattern", pattern, "--event", event])
        .args(extra)
        .run()
}

#[test]
fn match_exits_0_and_says_match() {
    test_event(PATTERN, MATCHING, &[])
        .assert_code(0)
        .assert_stdout("match\n");
}

#[test]
fn no_match_exits_1_and_says_no_match() {
    let out = test_event(PATTERN, FAILED, &[]);
    out.assert_code(1).assert_stdout("no match\n");
    assert!(out.stderr().is_empty());
}

#[test]
fn an_invalid_pattern_exits_2_with_what_and_where() {
    let out = test_event(
        r#"{"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}}"#,
        MATCHING,
        &[],
    );
    out.assert_code(2);
    assert!(out.stdout().is_empty());
    let err = out.stderr();
    assert!(err.contains("invalid pattern"), "{err}");
    assert!(err.contains("bottom must be less than top"), "{err}");
    assert!(err.contains("detail.n[0].numeric"), "{err}");
}

#[test]
fn an_invalid_event_exits_2_with_its_location() {
    let out = test_event(PATTERN, "{\"source\": \"aws.states\",\n \"detail\": }", &[]);
    out.assert_code(2);
    let err = out.stderr();
    assert!(
        err.contains("invalid event") && err.contains("line 2"),
        "{err}"
    );
    test_event(PATTERN, "[1, 2]", &[])
        .assert_code(2)
        .assert_stderr_contains("must be a JSON object");
}

#[test]
fn reads_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("pattern.json");
    let event = dir.path().join("event.json");
    std::fs::write(&pattern, PATTERN).unwrap();
    std::fs::write(&event, MATCHING).unwrap();
    let (p, e) = (pattern.to_str().unwrap(), event.to_str().unwrap());
    test_event(p, e, &[]).assert_code(0);
    dpc(["test-event", "--pattern", p, "--event", "-"])
        .stdin(FAILED)
        .run()
        .assert_code(1)
        .assert_stdout("no match\n");
    dpc(["test-event", "--pattern", "-", "--event", e])
        .stdin(PATTERN)
        .run()
        .assert_code(0);
    let missing = dir.path().join("missing.json");
    test_event(missing.to_str().unwrap(), e, &[]).assert_code(2);
}

#[test]
fn stdin_cannot_serve_both_inputs() {
    dpc(["test-event", "--pattern", "-", "--event", "-"])
        .stdin(PATTERN)
        .run()
        .assert_code(2)
        .assert_stderr_contains("only one of --pattern and --event");
}

#[test]
fn json_format_and_global_output_json_agree() {
    let by_format = test_event(PATTERN, FAILED, &["--format", "json"]);
    let by_output = dpc([
        "--output",
        "json",
        "test-event",
        "--pattern",
        PATTERN,
        "--event",
        FAILED,
    ])
    .run();
    by_format.assert_code(1);
    assert_eq!(by_format.stdout(), by_output.stdout());
    assert!(by_format.stdout().starts_with(r#"{"matched":false,"#));
    let v = by_format.json();
    assert_eq!(v["matched"], false);
    assert!(v.get("branches").is_none());
    assert_eq!(v["combinations"], 1);
    assert_eq!(v["length"], 59); // compact: {"source":["aws.states"],"detail":{"status":["SUCCEEDED"]}}
}

#[test]
fn explain_names_the_failing_field_per_or_branch() {
    let pattern = r#"{"source": ["aws.states"], "$or": [{"detail": {"status": ["SUCCEEDED"]}}, {"detail": {"retries": [{"numeric": [">", 2]}]}}]}"#;
    let out = test_event(pattern, FAILED, &["--explain"]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(text.starts_with("no match\n"), "{text}");
    assert!(
        text.contains("$or branch 1 of 2 (source, detail.status): failed"),
        "{text}"
    );
    assert!(
        text.contains(r#"expected ["SUCCEEDED"], found "FAILED""#),
        "{text}"
    );
    assert!(
        text.contains("detail.retries: the field is missing"),
        "{text}"
    );

    let out = test_event(pattern, FAILED, &["--explain", "--format", "json"]);
    let v = out.json();
    assert_eq!(v["matched"], false);
    assert_eq!(v["branches"][0]["failures"][0]["field"], "detail.status");
    assert_eq!(v["branches"][1]["failures"][0]["field"], "detail.retries");
}

#[test]
fn explain_on_a_match_exits_0() {
    test_event(PATTERN, MATCHING, &["--explain"])
        .assert_code(0)
        .assert_stdout("match\n  pattern: matched\n");
}
