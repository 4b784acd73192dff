//! Reads mock files in both layouts; checks response order, repetition, durations, the MockConfig layout and located parse errors.

use dpc::asl::{Definition, MockHandler, Options, Status, run};
use serde_json::json;

use super::def;

fn two_tasks() -> Definition {
    def(json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 5}], "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "ResultPath": "$.b", "End": true}}}))
}

#[test]
fn per_state_sequences() {
    let mut m = MockHandler::parse(&json!({
        "A": [{"Throw": {"Error": "E", "Cause": "c"}}, {"Throw": {"Error": "E"}}, {"Return": 1, "Duration": 10}],
        "B": {"Return": "ok"}
    }))
    .unwrap_or_else(|p| panic!("{p:?}"));
    let ex = run(&two_tasks(), json!({}), &Options::default(), &mut m);
    assert_eq!(ex.output, Some(json!({"a": 1, "b": "ok"})));
    assert_eq!((m.calls("A"), m.calls("B")), (3, 1));
    assert_eq!((ex.stopped - ex.started).num_seconds(), 1 + 2 + 10);
}

#[test]
fn numbered_keys_and_last_repeats() {
    let mut m = MockHandler::parse(&json!({"A": {"0": {"Throw": {"Error": "E"}}, "1-2": {"Throw": {"Error": "E"}}, "3": {"Return": 7}}, "B": {"0": {"Return": 0}}}))
        .unwrap_or_else(|p| panic!("{p:?}"));
    let ex = run(&two_tasks(), json!({}), &Options::default(), &mut m);
    assert_eq!(ex.output, Some(json!({"a": 7, "b": 0})));
    assert_eq!(m.calls("A"), 4);
    let ex = run(&two_tasks(), json!({}), &Options::default(), &mut m);
    assert_eq!(
        ex.output,
        Some(json!({"a": 7, "b": 0})),
        "the last response repeats"
    );
}

#[test]
fn mock_config_layout() {
    let cfg = json!({
        "StateMachines": {"Two": {"TestCases": {
            "Happy": {"A": "AOk", "B": "BOk"},
            "Sad": {"A": "AFails"}
        }}},
        "MockedResponses": {
            "AOk": {"0": {"Return": {"x": 1}}},
            "BOk": {"0": {"Return": true}},
            "AFails": {"0-5": {"Throw": {"Error": "E", "Cause": "always"}}}
        }
    });
    assert!(
        MockHandler::parse(&cfg).is_err(),
        "two test cases: which one?"
    );
    let mut happy =
        MockHandler::parse_test_case(&cfg, "Two", "Happy").unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(
        run(&two_tasks(), json!({}), &Options::default(), &mut happy).output,
        Some(json!({"a": {"x": 1}, "b": true}))
    );
    let mut sad =
        MockHandler::parse_test_case(&cfg, "Two", "Sad").unwrap_or_else(|p| panic!("{p:?}"));
    let ex = run(&two_tasks(), json!({}), &Options::default(), &mut sad);
    assert_eq!(
        (ex.status, ex.cause.as_deref()),
        (Status::Failed, Some("always"))
    );
    let missing = MockHandler::parse_test_case(&cfg, "Two", "Nope")
        .err()
        .unwrap_or_default();
    assert_eq!(
        missing.first().map(|p| p.path.as_str()),
        Some("$.StateMachines['Two'].TestCases['Nope']")
    );
}

#[test]
fn parse_errors_are_located() {
    let bad = json!({
        "A": {"Return": 1, "Throw": {"Error": "E"}},
        "B": [{"Return": 1, "Duration": -1}],
        "C": {"0": {"Return": 1}, "2": {"Return": 2}},
        "D": {"Throw": {"Cause": "no error"}},
        "E": 5,
        "F": {"x-y": {"Return": 1}}
    });
    let p = MockHandler::parse(&bad).err().unwrap_or_default();
    let paths: Vec<&str> = p.iter().map(|x| x.path.as_str()).collect();
    for want in [
        "$['A']",
        "$['B'][0].Duration",
        "$['C']",
        "$['D'].Throw",
        "$['E']",
        "$['F']['x-y']",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
}
