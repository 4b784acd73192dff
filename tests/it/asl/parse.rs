//! Reads malformed definitions; checks that each problem is reported with its JSON path and code, and that JSONata is refused.

use dpc::asl::{Definition, Problem};
use serde_json::{Value, json};

use super::merged;

fn problems(v: Value) -> Vec<Problem> {
    Definition::parse(&v)
        .err()
        .unwrap_or_else(|| panic!("accepted {v}"))
}

fn has(v: Value, path: &str, code: &str) {
    let p = problems(v);
    assert!(
        p.iter().any(|x| x.path == path && x.code == code),
        "want {path} {code}, got {p:#?}"
    );
}

fn task(extra: Value) -> Value {
    let t = merged(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}),
        extra,
    );
    json!({"StartAt": "T", "States": {"T": t, "Z": {"Type": "Succeed"}, "S": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "Z"}], "Default": "T"}}})
}

#[test]
fn structure() {
    has(json!([]), "$", "BAD_TYPE");
    has(
        json!({"States": {"A": {"Type": "Succeed"}}}),
        "$",
        "MISSING_FIELD",
    );
    has(
        json!({"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}),
        "$.StartAt",
        "MISSING_TRANSITION_TARGET",
    );
    has(
        json!({"StartAt": "A", "States": {}}),
        "$.States",
        "BAD_VALUE",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Bogus": 1}),
        "$.Bogus",
        "UNKNOWN_FIELD",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "TimeoutSeconds": 0}),
        "$.TimeoutSeconds",
        "BAD_VALUE",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Nope"}}}),
        "$.States['A'].Type",
        "BAD_VALUE",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}),
        "$.States",
        "MISSING_END_STATE",
    );
}

#[test]
fn transitions() {
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}),
        "$.States['A']",
        "MISSING_TRANSITION",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}}),
        "$.States['A']",
        "NEXT_AND_END",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nope"}}}),
        "$.States['A'].Next",
        "MISSING_TRANSITION_TARGET",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "A"}}}),
        "$.States['A'].Next",
        "UNKNOWN_FIELD",
    );
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}),
        "$.States['B']",
        "MISSING_TRANSITION_TARGET",
    );
    has(
        task(json!({"Catch": [{"ErrorEquals": ["X"], "Next": "Nope"}]})),
        "$.States['T'].Catch[0].Next",
        "MISSING_TRANSITION_TARGET",
    );
}

#[test]
fn required_fields_per_type() {
    has(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "End": true}}}),
        "$.States['T']",
        "MISSING_FIELD",
    );
    has(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice"}}}),
        "$.States['C'].Choices",
        "MISSING_FIELD",
    );
    has(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "End": true}}}),
        "$.States['W']",
        "WAIT_DURATION",
    );
    has(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}}}),
        "$.States['W']",
        "WAIT_DURATION",
    );
    has(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true}}}),
        "$.States['P'].Branches",
        "MISSING_FIELD",
    );
    has(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true}}}),
        "$.States['M']",
        "MISSING_FIELD",
    );
    has(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}}}),
        "$.States['F']",
        "EXCLUSIVE_FIELDS",
    );
}

#[test]
fn field_types_and_unknown_fields() {
    has(
        task(json!({"Resource": 5})),
        "$.States['T'].Resource",
        "BAD_TYPE",
    );
    has(
        task(json!({"TimeoutSeconds": "10"})),
        "$.States['T'].TimeoutSeconds",
        "BAD_VALUE",
    );
    has(
        task(json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 10})),
        "$.States['T'].HeartbeatSeconds",
        "BAD_VALUE",
    );
    has(
        task(json!({"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"})),
        "$.States['T']",
        "EXCLUSIVE_FIELDS",
    );
    has(
        task(json!({"Result": 1})),
        "$.States['T'].Result",
        "UNKNOWN_FIELD",
    );
    has(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "InputPath": "$"}}}),
        "$.States['F'].InputPath",
        "UNKNOWN_FIELD",
    );
    has(
        task(json!({"Assign": {"x": 1}})),
        "$.States['T'].Assign",
        "UNSUPPORTED",
    );
}

#[test]
fn retry_and_catch_ranges() {
    let at = "$.States['T'].Retry[0]";
    has(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]})),
        &format!("{at}.BackoffRate"),
        "BAD_VALUE",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]})),
        &format!("{at}.MaxAttempts"),
        "BAD_VALUE",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]})),
        &format!("{at}.IntervalSeconds"),
        "BAD_VALUE",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}]})),
        &format!("{at}.MaxDelaySeconds"),
        "BAD_VALUE",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]})),
        &format!("{at}.JitterStrategy"),
        "BAD_VALUE",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": []}]})),
        &format!("{at}.ErrorEquals"),
        "BAD_VALUE",
    );
    has(
        task(json!({"Retry": [{"IntervalSeconds": 1}]})),
        at,
        "MISSING_FIELD",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["X"], "Bogus": 1}]})),
        &format!("{at}.Bogus"),
        "UNKNOWN_FIELD",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]})),
        &format!("{at}.ErrorEquals"),
        "STATES_ALL_NOT_ALONE",
    );
    has(
        task(json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]})),
        &format!("{at}.ErrorEquals"),
        "STATES_ALL_NOT_LAST",
    );
    has(
        task(
            json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Z"}, {"ErrorEquals": ["X"], "Next": "Z"}]}),
        ),
        "$.States['T'].Catch[0].ErrorEquals",
        "STATES_ALL_NOT_LAST",
    );
    has(
        task(json!({"Catch": [{"ErrorEquals": ["X"]}]})),
        "$.States['T'].Catch[0]",
        "MISSING_FIELD",
    );
}

#[test]
fn paths_and_intrinsics() {
    has(
        task(json!({"InputPath": "nope"})),
        "$.States['T'].InputPath",
        "BAD_PATH",
    );
    has(
        task(json!({"OutputPath": "$.a[?(@.x ==)]"})),
        "$.States['T'].OutputPath",
        "BAD_PATH",
    );
    has(
        task(json!({"ResultPath": "$.a[*]"})),
        "$.States['T'].ResultPath",
        "BAD_PATH",
    );
    has(
        task(json!({"Parameters": {"a": {"b.$": "$.x["}}})),
        "$.States['T'].Parameters.a['b.$']",
        "BAD_PATH",
    );
    has(
        task(json!({"Parameters": {"a.$": 5}})),
        "$.States['T'].Parameters['a.$']",
        "BAD_TYPE",
    );
    has(
        task(json!({"ResultSelector": {"a.$": "States.Bogus()"}})),
        "$.States['T'].ResultSelector['a.$']",
        "BAD_PATH",
    );
    has(
        task(json!({"TimeoutSecondsPath": "$.a[0:1]"})),
        "$.States['T'].TimeoutSecondsPath",
        "BAD_PATH",
    );
}

#[test]
fn jsonata_is_refused() {
    let p = problems(
        json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}}),
    );
    assert!(p.iter().any(|x| x.path == "$.QueryLanguage"
        && x.code == "JSONATA_UNSUPPORTED"
        && x.message == "JSONata is not supported; use JSONPath"));
    has(
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONata", "End": true}}}),
        "$.States['A'].QueryLanguage",
        "JSONATA_UNSUPPORTED",
    );
    has(
        task(json!({"Arguments": {}})),
        "$.States['T'].Arguments",
        "JSONATA_UNSUPPORTED",
    );
    assert!(Definition::parse(&json!({"QueryLanguage": "JSONPath", "StartAt": "A", "States": {"A": {"Type": "Succeed"}}})).is_ok());
}

#[test]
fn nested_machines_are_checked() {
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "P"}}}
    ]}}});
    has(
        d,
        "$.States['P'].Branches[0].States['X'].Next",
        "MISSING_TRANSITION_TARGET",
    );
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemProcessor": {
        "ProcessorConfig": {"Mode": "SIDEWAYS"}, "StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}});
    has(
        d,
        "$.States['M'].ItemProcessor.ProcessorConfig.Mode",
        "BAD_VALUE",
    );
    let d = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}
    ]}}});
    has(
        d,
        "$.States['P'].Branches[0].States['P']",
        "DUPLICATE_STATE_NAME",
    );
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemReader": {}, "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}}}});
    has(d, "$.States['M'].ItemReader", "UNSUPPORTED");
}

#[test]
fn all_problems_are_collected() {
    let p = problems(json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Nope"},
        "B": {"Type": "Task", "End": true, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0}]}
    }}));
    assert!(p.len() >= 3, "{p:#?}");
    let shown = p
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        shown.contains("$.States['B'].Retry[0].BackoffRate: "),
        "{shown}"
    );
}
