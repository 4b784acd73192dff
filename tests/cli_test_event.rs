//! End-to-end tests of `dpc test-event`, running the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const PATTERN: &str = r#"{"source": ["aws.states"], "detail": {"status": ["SUCCEEDED"]}}"#;
const MATCHING: &str = r#"{"source": "aws.states", "detail": {"status": "SUCCEEDED"}}"#;
const FAILED: &str = r#"{"source": "aws.states", "detail": {"status": "FAILED"}}"#;

fn dpc(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dpc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dpc runs");
    let mut input = child.stdin.take().expect("stdin");
    // dpc may rightly exit before reading stdin (e.g. when refusing `-` twice).
    if let Err(e) = input.write_all(stdin.unwrap_or("").as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    drop(input);
    child.wait_with_output().expect("dpc finishes")
}

fn test_event(pattern: &str, event: &str, extra: &[&str]) -> Output {
    let mut args = vec!["test-event", "--pattern", pattern, "--event", event];
    args.extend_from_slice(extra);
    dpc(&args, None)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn match_exits_0_and_says_match() {
    let out = test_event(PATTERN, MATCHING, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "match\n");
}

#[test]
fn no_match_exits_1_and_says_no_match() {
    let out = test_event(PATTERN, FAILED, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "no match\n");
    assert!(stderr(&out).is_empty());
}

#[test]
fn an_invalid_pattern_exits_2_with_what_and_where() {
    let out = test_event(
        r#"{"detail": {"n": [{"numeric": [">", 5, "<", 1]}]}}"#,
        MATCHING,
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(err.contains("invalid pattern"), "{err}");
    assert!(err.contains("bottom must be less than top"), "{err}");
    assert!(err.contains("detail.n[0].numeric"), "{err}");
}

#[test]
fn an_invalid_event_exits_2_with_its_location() {
    let out = test_event(PATTERN, "{\"source\": \"aws.states\",\n \"detail\": }", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("invalid event") && err.contains("line 2"),
        "{err}"
    );
    let out = test_event(PATTERN, "[1, 2]", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("must be a JSON object"));
}

#[test]
fn reads_files_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("pattern.json");
    let event = dir.path().join("event.json");
    std::fs::write(&pattern, PATTERN).unwrap();
    std::fs::write(&event, MATCHING).unwrap();
    let (p, e) = (pattern.to_str().unwrap(), event.to_str().unwrap());
    assert_eq!(test_event(p, e, &[]).status.code(), Some(0));
    let out = dpc(
        &["test-event", "--pattern", p, "--event", "-"],
        Some(FAILED),
    );
    assert_eq!(
        (out.status.code(), stdout(&out)),
        (Some(1), "no match\n".to_string())
    );
    let out = dpc(
        &["test-event", "--pattern", "-", "--event", e],
        Some(PATTERN),
    );
    assert_eq!(out.status.code(), Some(0));
    let missing = dir.path().join("missing.json");
    let out = test_event(missing.to_str().unwrap(), e, &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stdin_cannot_serve_both_inputs() {
    let out = dpc(
        &["test-event", "--pattern", "-", "--event", "-"],
        Some(PATTERN),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("only one of --pattern and --event"));
}

#[test]
fn json_format_and_global_output_json_agree() {
    let by_format = test_event(PATTERN, FAILED, &["--format", "json"]);
    let by_output = dpc(
        &[
            "--output",
            "json",
            "test-event",
            "--pattern",
            PATTERN,
            "--event",
            FAILED,
        ],
        None,
    );
    assert_eq!(by_format.status.code(), Some(1));
    assert_eq!(stdout(&by_format), stdout(&by_output));
    assert!(stdout(&by_format).starts_with(r#"{"matched":false,"#));
    let v: serde_json::Value = serde_json::from_str(&stdout(&by_format)).unwrap();
    assert_eq!(v["matched"], false);
    assert!(v.get("branches").is_none());
    assert_eq!(v["combinations"], 1);
    assert_eq!(v["length"], 59); // compact: {"source":["aws.states"],"detail":{"status":["SUCCEEDED"]}}
}

#[test]
fn explain_names_the_failing_field_per_or_branch() {
    let pattern = r#"{"source": ["aws.states"], "$or": [{"detail": {"status": ["SUCCEEDED"]}}, {"detail": {"retries": [{"numeric": [">", 2]}]}}]}"#;
    let out = test_event(pattern, FAILED, &["--explain"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
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
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["matched"], false);
    assert_eq!(v["branches"][0]["failures"][0]["field"], "detail.status");
    assert_eq!(v["branches"][1]["failures"][0]["field"], "detail.retries");
}

#[test]
fn explain_on_a_match_exits_0() {
    let out = test_event(PATTERN, MATCHING, &["--explain"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "match\n  pattern: matched\n");
}
