//! Reads Choice rules and inputs; checks every comparison operator, its Path form, And/Or/Not, the type tests, StringMatches, Default and NoChoiceMatched.

use dpc::asl::{Definition, MockHandler, Options, Status, run};
use serde_json::{Value, json};

use super::def;

/// Runs one Choice rule on `input`: Some(true) when it matched, Some(false) when Default ran, None on failure.
fn rule(r: Value, input: Value) -> Option<bool> {
    let mut r = r;
    if let Some(m) = r.as_object_mut() {
        m.insert("Next".into(), json!("Yes"));
    }
    let d = def(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [r], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}
        }
    }));
    let ex = run(&d, input, &Options::default(), &mut MockHandler::default());
    (ex.status == Status::Succeeded).then(|| ex.output == Some(json!(true)))
}

fn cmp(op: &str, var: Value, val: Value) -> Option<bool> {
    let lit = rule(
        json!({"Variable": "$.v", op: val.clone()}),
        json!({"v": var.clone()}),
    );
    let path = rule(
        json!({"Variable": "$.v", format!("{op}Path"): "$.w"}),
        json!({"v": var, "w": val}),
    );
    assert_eq!(lit, path, "{op}: literal and Path forms agree");
    lit
}

#[test]
fn string_comparisons() {
    assert_eq!(cmp("StringEquals", json!("a"), json!("a")), Some(true));
    assert_eq!(cmp("StringEquals", json!("a"), json!("b")), Some(false));
    assert_eq!(cmp("StringLessThan", json!("a"), json!("b")), Some(true));
    assert_eq!(cmp("StringLessThan", json!("b"), json!("b")), Some(false));
    assert_eq!(cmp("StringGreaterThan", json!("c"), json!("b")), Some(true));
    assert_eq!(
        cmp("StringLessThanEquals", json!("b"), json!("b")),
        Some(true)
    );
    assert_eq!(
        cmp("StringGreaterThanEquals", json!("a"), json!("b")),
        Some(false)
    );
    assert_eq!(
        cmp("StringEquals", json!(1), json!("1")),
        Some(false),
        "type mismatch is no match"
    );
}

#[test]
fn numeric_comparisons() {
    assert_eq!(cmp("NumericEquals", json!(1), json!(1.0)), Some(true));
    assert_eq!(cmp("NumericLessThan", json!(1), json!(2)), Some(true));
    assert_eq!(cmp("NumericGreaterThan", json!(2.5), json!(2)), Some(true));
    assert_eq!(cmp("NumericLessThanEquals", json!(2), json!(2)), Some(true));
    assert_eq!(
        cmp("NumericGreaterThanEquals", json!(1), json!(2)),
        Some(false)
    );
    assert_eq!(cmp("NumericEquals", json!("1"), json!(1)), Some(false));
}

#[test]
fn boolean_and_timestamp_comparisons() {
    assert_eq!(cmp("BooleanEquals", json!(true), json!(true)), Some(true));
    assert_eq!(cmp("BooleanEquals", json!(false), json!(true)), Some(false));
    let (a, b) = (
        json!("2026-01-01T00:00:00Z"),
        json!("2026-01-01T01:00:00+01:00"),
    );
    assert_eq!(cmp("TimestampEquals", a.clone(), b.clone()), Some(true));
    let later = json!("2026-06-01T00:00:00Z");
    assert_eq!(
        cmp("TimestampLessThan", a.clone(), later.clone()),
        Some(true)
    );
    assert_eq!(
        cmp("TimestampGreaterThan", later.clone(), a.clone()),
        Some(true)
    );
    assert_eq!(
        cmp("TimestampLessThanEquals", a.clone(), b.clone()),
        Some(true)
    );
    assert_eq!(
        cmp("TimestampGreaterThanEquals", a.clone(), later),
        Some(false)
    );
    assert_eq!(cmp("TimestampEquals", json!("not a time"), a), Some(false));
}

#[test]
fn boolean_logic() {
    let input = json!({"n": 5, "s": "x"});
    let and = json!({"And": [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.s", "StringEquals": "x"}]});
    assert_eq!(rule(and, input.clone()), Some(true));
    let or = json!({"Or": [{"Variable": "$.n", "NumericLessThan": 1}, {"Variable": "$.s", "StringEquals": "y"}]});
    assert_eq!(rule(or, input.clone()), Some(false));
    let not = json!({"Not": {"Variable": "$.s", "StringEquals": "y"}});
    assert_eq!(rule(not, input.clone()), Some(true));
    let nested = json!({"Not": {"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Or": [{"Variable": "$.s", "IsString": true}]}]}});
    assert_eq!(rule(nested, input), Some(false));
}

#[test]
fn type_tests() {
    let input = json!({"n": 1, "s": "x", "b": false, "z": null, "t": "2016-03-14T01:59:00Z"});
    let t =
        |op: &str, var: &str, want: bool| rule(json!({"Variable": var, op: want}), input.clone());
    assert_eq!(t("IsPresent", "$.n", true), Some(true));
    assert_eq!(t("IsPresent", "$.missing", true), Some(false));
    assert_eq!(t("IsPresent", "$.missing", false), Some(true));
    assert_eq!(t("IsNull", "$.z", true), Some(true));
    assert_eq!(t("IsNull", "$.n", true), Some(false));
    assert_eq!(t("IsNumeric", "$.n", true), Some(true));
    assert_eq!(t("IsNumeric", "$.s", false), Some(true));
    assert_eq!(t("IsString", "$.s", true), Some(true));
    assert_eq!(t("IsBoolean", "$.b", true), Some(true));
    assert_eq!(t("IsTimestamp", "$.t", true), Some(true));
    assert_eq!(t("IsTimestamp", "$.s", true), Some(false));
}

#[test]
fn string_matches() {
    let m = |pat: &str, s: &str| {
        rule(
            json!({"Variable": "$.v", "StringMatches": pat}),
            json!({"v": s}),
        )
    };
    assert_eq!(m("log-*.txt", "log-2026.txt"), Some(true));
    assert_eq!(m("*.log", "a.txt"), Some(false));
    assert_eq!(m("log-\\*.txt", "log-1.txt"), Some(false));
    assert_eq!(m("log-\\*.txt", "log-*.txt"), Some(true));
    assert_eq!(m("a\\\\b", "a\\b"), Some(true));
    assert_eq!(m("*", ""), Some(true));
}

#[test]
fn missing_variable_is_runtime_error() {
    let d = def(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.nope", "StringEquals": "a", "Next": "D"}], "Default": "D"},
            "D": {"Type": "Succeed"}
        }
    }));
    let ex = run(
        &d,
        json!({}),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn no_match_without_default() {
    let d = def(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "D"}]},
            "D": {"Type": "Succeed"}
        }
    }));
    let ex = run(
        &d,
        json!({"n": 2}),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(ex.error.as_deref(), Some("States.NoChoiceMatched"));
}

#[test]
fn first_matching_rule_wins_and_paths_apply() {
    let d = def(json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "InputPath": "$.in", "OutputPath": "$.keep",
                  "Choices": [
                    {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "A"},
                    {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "B"}]},
            "A": {"Type": "Pass", "Result": "A", "ResultPath": "$.went", "End": true},
            "B": {"Type": "Pass", "Result": "B", "ResultPath": "$.went", "End": true}
        }
    }));
    let ex = run(
        &d,
        json!({"in": {"n": 5, "keep": {"k": 1}}}),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(
        ex.output,
        Some(json!({"k": 1, "went": "A"})),
        "{:?} {:?}",
        ex.error,
        ex.cause
    );
}

#[test]
fn context_variable() {
    assert_eq!(
        rule(
            json!({"Variable": "$$.Execution.Name", "StringEquals": "execution"}),
            json!({})
        ),
        Some(true)
    );
}

#[test]
fn malformed_rules_are_problems() {
    let bad = [
        json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "D"}),
        json!({"Variable": "$.a", "Next": "D"}),
        json!({"StringEquals": "x", "Next": "D"}),
        json!({"Variable": "$.a", "NumericEquals": "x", "Next": "D"}),
        json!({"Variable": "$.a", "BooleanLessThan": true, "Next": "D"}),
        json!({"Variable": "$.a", "TimestampEquals": "yesterday", "Next": "D"}),
        json!({"Variable": "$.a", "StringEqualsPath": "nope", "Next": "D"}),
        json!({"And": [{"Variable": "$.a", "IsNull": true, "Next": "D"}], "Next": "D"}),
        json!({"Variable": "$.a", "IsNull": true}),
        json!({"Variable": "a.b", "IsNull": true, "Next": "D"}),
    ];
    for r in bad {
        let res = Definition::parse(&json!({
            "StartAt": "C",
            "States": {"C": {"Type": "Choice", "Choices": [r.clone()], "Default": "D"}, "D": {"Type": "Succeed"}}
        }));
        let problems = res.err().unwrap_or_else(|| panic!("accepted {r}"));
        assert!(
            problems
                .iter()
                .all(|p| p.path.starts_with("$.States['C'].Choices[0]")),
            "{r}: {problems:?}"
        );
    }
}
