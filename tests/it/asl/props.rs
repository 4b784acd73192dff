//! Reads random definitions, paths, intrinsic calls, mock files and inputs; checks that parsing and running never panic and always end.

use dpc::asl::{Definition, MockHandler, Options, TaskCall, TaskOutcome, run};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const KEYS: &[&str] = &[
    "Type",
    "Next",
    "End",
    "Resource",
    "Parameters",
    "ResultPath",
    "InputPath",
    "OutputPath",
    "ResultSelector",
    "Result",
    "Retry",
    "Catch",
    "ErrorEquals",
    "Choices",
    "Default",
    "Variable",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "Branches",
    "StartAt",
    "States",
    "ItemsPath",
    "ItemProcessor",
    "Iterator",
    "ItemSelector",
    "MaxConcurrency",
    "Error",
    "Cause",
    "ErrorPath",
    "CausePath",
    "And",
    "Or",
    "Not",
    "StringEquals",
    "NumericLessThan",
    "IsPresent",
    "StringMatches",
    "TimeoutSeconds",
    "HeartbeatSeconds",
    "BackoffRate",
    "MaxAttempts",
    "IntervalSeconds",
    "JitterStrategy",
    "x.$",
    "A",
    "B",
];

const STRINGS: &[&str] = &[
    "Pass",
    "Task",
    "Choice",
    "Wait",
    "Succeed",
    "Fail",
    "Parallel",
    "Map",
    "A",
    "B",
    "C",
    "$",
    "$.a",
    "$.a[0]",
    "$..a",
    "$.a[*].b",
    "$.a[?(@.b > 1)]",
    "$$.Execution.Id",
    "$$.Map.Item.Value",
    "States.ALL",
    "States.TaskFailed",
    "States.Format('{}', $.a)",
    "States.Array($.a, 1)",
    "States.MathAdd($.a, 1)",
    "States.StringSplit($.a, ',')",
    "States.ArrayRange(1, $.a, 1)",
    "States.Hash($.a, 'MD5')",
    "States.JsonMerge($.a, $.b, false)",
    "States.UUID()",
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "2026-01-01T00:00:00Z",
    "FULL",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..2000).prop_map(Value::from),
        (-10.0f64..10.0).prop_map(Value::from),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        "[$@.\\[\\]\\(\\)'a-c0-9*?=<>&|!,:S -]{0,16}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<String, Value>>(),
                )
            }),
        ]
    })
}

/// Random machines with plausible shapes: states A, B, C pointing at each other.
fn machine() -> impl Strategy<Value = Value> {
    let state = (
        proptest::sample::select(
            &[
                "Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map",
            ][..],
        ),
        prop::collection::vec((proptest::sample::select(KEYS), json_value()), 0..5),
        proptest::sample::select(&["A", "B", "C"][..]),
        any::<bool>(),
    );
    prop::collection::vec(state, 1..4).prop_map(|states| {
        let mut m = Map::new();
        for (i, (ty, fields, next, end)) in states.into_iter().enumerate() {
            let mut s = Map::new();
            s.insert("Type".into(), json!(ty));
            if end {
                s.insert("End".into(), json!(true));
            } else {
                s.insert("Next".into(), json!(next));
            }
            for (k, v) in fields {
                s.insert(k.to_string(), v);
            }
            m.insert(
                ["A", "B", "C"].get(i).copied().unwrap_or("A").to_string(),
                Value::Object(s),
            );
        }
        json!({"StartAt": "A", "States": m})
    })
}

fn outcome(seed: u64) -> TaskOutcome {
    match seed % 4 {
        0 => TaskOutcome::ok(json!({"a": [1, 2], "b": "x"})),
        1 => TaskOutcome::err("Boom", "c"),
        2 => TaskOutcome::Ok {
            output: json!(seed),
            duration: (seed % 1000) as f64,
            heartbeats: vec![1.0, 1e9],
        },
        _ => TaskOutcome::Err {
            error: "States.Timeout".into(),
            cause: String::new(),
            duration: f64::MAX,
        },
    }
}

fn run_it(def: &Definition, input: Value, seed: u64) {
    let opts = Options {
        max_transitions: 300,
        seed,
        ..Options::default()
    };
    let mut n = seed;
    let mut h = |_: &TaskCall<'_>| {
        n = n.wrapping_mul(6364136223846793005).wrapping_add(1);
        outcome(n >> 33)
    };
    let ex = run(def, input, &opts, &mut h);
    assert!(ex.transitions <= 301);
    assert!(ex.stopped >= ex.started);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(def in json_value(), input in json_value(), seed in any::<u64>()) {
        if let Ok(d) = Definition::parse(&def) {
            run_it(&d, input, seed);
        }
    }

    #[test]
    fn shaped_machines_never_panic(def in machine(), input in json_value(), seed in any::<u64>()) {
        if let Ok(d) = Definition::parse(&def) {
            run_it(&d, input, seed);
        }
    }

    #[test]
    fn paths_and_intrinsics_never_panic(expr in "[$@.\\[\\]\\(\\)'a-c0-9*?=<>&|!,:S -]{0,24}", tail in proptest::sample::select(STRINGS), input in json_value()) {
        for e in [expr.clone(), format!("{tail}{expr}"), format!("States.Array({expr})")] {
            let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"r.$": e, "s.$": tail}, "Next": "C"},
                "C": {"Type": "Choice", "Choices": [{"Variable": e, "IsPresent": true, "Next": "D"}], "Default": "D"}, "D": {"Type": "Succeed"}}});
            if let Ok(d) = Definition::parse(&def) {
                run_it(&d, input.clone(), 1);
            }
        }
    }

    #[test]
    fn mock_files_never_panic(v in json_value()) {
        let _ = MockHandler::parse(&v);
        let _ = MockHandler::parse(&json!({"A": v.clone()}));
        let _ = MockHandler::parse_test_case(&json!({"StateMachines": {"S": {"TestCases": {"T": {"A": "M"}}}}, "MockedResponses": {"M": v}}), "S", "T");
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let mut rule = json!({"Variable": "$.a", "IsNull": true});
    // serde_json refuses text nested deeper than 128, so definitions read from files stay below that.
    for _ in 0..120 {
        rule = json!({"Not": rule});
    }
    let def = json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Not": rule, "Next": "D"}]}, "D": {"Type": "Succeed"}}});
    assert!(Definition::parse(&def).is_err());
    let mut call = "1".to_string();
    for _ in 0..10_000 {
        call = format!("States.Array({call})");
    }
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"r.$": call}, "End": true}}});
    assert!(Definition::parse(&def).is_err());
    let deep_filter = format!("$[?({}@.a{})]", "(".repeat(10_000), ")".repeat(10_000));
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": deep_filter, "End": true}}});
    assert!(Definition::parse(&def).is_err());
}
