//! Reads the examples of the Step Functions developer guide (input, definition) and a few
//! behaviours its text states; checks the documented status and output.

use dpc::asl::{Status, TaskCall, TaskOutcome, run};
use serde_json::{Value, json};

use super::{def, go, opts};

/// Runs a machine whose every task returns `result` (by state name when `result` maps names).
fn with_tasks(d: Value, input: Value, result: Value) -> dpc::asl::Execution {
    let mut h = move |c: &TaskCall<'_>| match result.get(c.state) {
        Some(r) => TaskOutcome::ok(r.clone()),
        None => TaskOutcome::ok(result.clone()),
    };
    run(&def(d), input, &opts(), &mut h)
}

/// A one-Pass machine with `Parameters`: the output, or the error.
fn params(p: Value, input: Value) -> Result<Value, String> {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": p, "End": true}}}),
        input,
    );
    match ex.status {
        Status::Succeeded => Ok(ex.output.unwrap_or_default()),
        _ => Err(ex.error.unwrap_or_default()),
    }
}

/// "Input and output processing": InputPath selects the task's input, ResultPath merges the
/// result into the *state's* input (not the InputPath selection), OutputPath filters that.
#[test]
fn input_result_output_path_together() {
    let d = json!({"StartAt": "Lambda", "States": {"Lambda": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction",
        "InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data", "End": true}}});
    let input = json!({"comment": "An input comment.", "data": {"val1": 23, "val2": 17},
                       "extra": "foo", "lambda": {"who": "AWS Step Functions"}});
    let ex = with_tasks(d, input, json!("Hello, AWS Step Functions!"));
    assert_eq!(
        ex.output,
        Some(json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"}))
    );
}

/// "ResultPath": the result replaces a nested field, the rest of the input stays.
#[test]
fn result_path_into_nested_existing_object() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": 1},
            "ResultPath": "$.x.y", "End": true}}}),
        json!({"x": {"y": {"old": true}, "z": 2}, "k": [1]}),
    );
    assert_eq!(
        ex.output,
        Some(json!({"x": {"y": {"a": 1}, "z": 2}, "k": [1]}))
    );
}

/// "Map state": ItemsPath, ItemSelector with `$$.Map.Item.Value` and a path into the Map's input.
#[test]
fn map_item_selector_example() {
    let d = json!({"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "ItemsPath": "$.shipped", "End": true,
        "ItemSelector": {"parcel.$": "$$.Map.Item.Value", "courier.$": "$.delivery-partner"},
        "ItemProcessor": {"StartAt": "Ship", "States": {"Ship": {"Type": "Pass", "End": true}}}}}});
    let input = json!({"delivery-partner": "UQS", "shipped": [
        {"prod": "R31", "dest-code": 9511, "quantity": 1344},
        {"prod": "S39", "dest-code": 9511, "quantity": 40}]});
    let ex = go(d, input);
    assert_eq!(
        ex.output,
        Some(json!([
            {"parcel": {"prod": "R31", "dest-code": 9511, "quantity": 1344}, "courier": "UQS"},
            {"parcel": {"prod": "S39", "dest-code": 9511, "quantity": 40}, "courier": "UQS"}
        ]))
    );
}

/// "Context object": `$$.Map.Item.Index` and `$$.Map.Item.Value` in a Map's ItemSelector.
#[test]
fn map_context_index_and_value() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemSelector": {"ContextIndex.$": "$$.Map.Item.Index", "ContextValue.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let ex = go(d, json!([{"who": "bob"}, {"who": "meg"}, {"who": "joe"}]));
    assert_eq!(
        ex.output,
        Some(json!([
            {"ContextIndex": 0, "ContextValue": {"who": "bob"}},
            {"ContextIndex": 1, "ContextValue": {"who": "meg"}},
            {"ContextIndex": 2, "ContextValue": {"who": "joe"}}
        ]))
    );
}

/// "Map state": ResultSelector and ResultPath apply to the array of results.
#[test]
fn map_result_selector_and_result_path() {
    let d = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.xs", "End": true,
        "ResultSelector": {"n.$": "States.ArrayLength($)", "all.$": "$"}, "ResultPath": "$.out",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": true}}}}}});
    let ex = go(d, json!({"xs": [1, 2]}));
    assert_eq!(
        ex.output,
        Some(json!({"xs": [1, 2], "out": {"n": 2, "all": [{"v": 1}, {"v": 2}]}}))
    );
}

/// "Parallel state": the output is an array with one element per branch, in branch order.
#[test]
fn parallel_output_is_in_branch_order() {
    let branch = |name: &str, wait: u64, result: Value| {
        let done = format!("{name} done");
        json!({"StartAt": name, "States": {name: {"Type": "Wait", "Seconds": wait, "Next": done},
            done: {"Type": "Pass", "Result": result, "End": true}}})
    };
    let d = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true, "Branches": [
        branch("Slow", 30, json!({"b": 1})), branch("Fast", 1, json!("two")), branch("Mid", 5, json!(null))]}}});
    let ex = go(d, json!({}));
    assert_eq!(ex.output, Some(json!([{"b": 1}, "two", null])));
}

/// "Handling errors": a Catch with `ResultPath` adds `{"Error", "Cause"}` to the input.
#[test]
fn catch_error_output_with_result_path() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:FailFunction",
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error-info", "Next": "Recover"}], "End": true},
        "Recover": {"Type": "Pass", "End": true}}});
    let mut h = |_: &TaskCall<'_>| TaskOutcome::err("CustomError", "This is a custom error!");
    let ex = run(&def(d), json!({"foo": "bar"}), &opts(), &mut h);
    assert_eq!(
        ex.output,
        Some(
            json!({"foo": "bar", "error-info": {"Error": "CustomError", "Cause": "This is a custom error!"}})
        )
    );
}

/// "Fail state": ErrorPath and CausePath, the latter with an intrinsic function.
#[test]
fn fail_state_error_path_and_cause_path_intrinsic() {
    let d = json!({"StartAt": "F", "States": {"F": {"Type": "Fail",
        "ErrorPath": "$.someError",
        "CausePath": "States.Format('this is the error: {}, and this is the cause: {}', $.Error, $.Cause)"}}});
    let ex = go(
        d,
        json!({"someError": "CustomError", "Error": "E", "Cause": "C"}),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(ex.error.as_deref(), Some("CustomError"));
    assert_eq!(
        ex.cause.as_deref(),
        Some("this is the error: E, and this is the cause: C")
    );
}

/// "Choice state": a Variable that is not in the input fails the execution with States.Runtime,
/// which a Catch on States.ALL does not see.
#[test]
fn choice_missing_variable_is_runtime_even_when_caught() {
    let d = json!({"StartAt": "Par", "States": {
        "Par": {"Type": "Parallel", "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "Branches": [{"StartAt": "C", "States": {
                "C": {"Type": "Choice", "Choices": [{"Variable": "$.missing", "NumericEquals": 1, "Next": "D"}], "Default": "D"},
                "D": {"Type": "Succeed"}}}]},
        "Caught": {"Type": "Succeed"}}});
    let ex = go(d, json!({}));
    assert_eq!(
        (ex.status, ex.error.as_deref()),
        (Status::Failed, Some("States.Runtime"))
    );
}

/// "Choice state" timestamps: equal instants in other offsets are equal; fractions count.
#[test]
fn timestamp_comparisons_parse_offsets_and_fractions() {
    let d = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"And": [
                {"Variable": "$.a", "TimestampEquals": "2016-03-14T01:59:00Z"},
                {"Variable": "$.b", "TimestampGreaterThan": "2016-03-14T01:59:00Z"},
                {"Variable": "$.a", "IsTimestamp": true},
                {"Not": {"Variable": "$.c", "IsTimestamp": true}}
            ], "Next": "Yes"}], "Default": "No"},
        "Yes": {"Type": "Pass", "Result": "yes", "End": true},
        "No": {"Type": "Pass", "Result": "no", "End": true}}});
    let ex = go(
        d,
        json!({"a": "2016-03-14T02:59:00+01:00", "b": "2016-03-14T01:59:00.001Z", "c": "2016-03-14 01:59:00Z"}),
    );
    assert_eq!(ex.output, Some(json!("yes")));
}

/// "Choice state": IsTimestamp wants the RFC 3339 profile with an upper-case `T` and `Z`.
#[test]
fn is_timestamp_profile() {
    let t = |s: &str| {
        let d = json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.t", "IsTimestamp": true, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}}});
        go(d, json!({"t": s})).output
    };
    assert_eq!(t("2016-03-14T01:59:00Z"), Some(json!(true)));
    assert_eq!(t("2016-03-14T01:59:00.5-05:00"), Some(json!(true)));
    assert_eq!(t("2016-03-14t01:59:00Z"), Some(json!(false)));
    assert_eq!(t("2016-03-14T01:59:00z"), Some(json!(false)));
    assert_eq!(t("2016-03-14T01:59:00"), Some(json!(false)));
    assert_eq!(t("2016-03-14"), Some(json!(false)));
}

/// "Wait state": TimestampPath with an offset waits until that instant.
#[test]
fn wait_timestamp_path_with_offset() {
    let d = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.expirydate", "End": true}}});
    let ex = go(d, json!({"expirydate": "2026-11-26T05:30:00+02:00"}));
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(super::secs(&ex), 30 * 60);
}

/// "Intrinsic functions": the guide's examples with their documented results.
#[test]
fn intrinsic_examples_of_the_guide() {
    let cases = [
        (json!({"Id": 123456}), "States.Array($.Id)", json!([123456])),
        (
            json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
            "States.ArrayPartition($.inputArray,4)",
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ),
        (
            json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}),
            "States.ArrayContains($.inputArray, $.lookingFor)",
            json!(true),
        ),
        (
            json!({}),
            "States.ArrayRange(1, 9, 2)",
            json!([1, 3, 5, 7, 9]),
        ),
        (
            json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}),
            "States.ArrayGetItem($.inputArray, $.index)",
            json!(6),
        ),
        (
            json!({"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}),
            "States.ArrayLength($.inputArray)",
            json!(9),
        ),
        (
            json!({"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}),
            "States.ArrayUnique($.inputArray)",
            json!([1, 2, 3, 4]),
        ),
        (
            json!({"input": "Data to encode"}),
            "States.Base64Encode($.input)",
            json!("RGF0YSB0byBlbmNvZGU="),
        ),
        (
            json!({"base64": "RGF0YSB0byBlbmNvZGU="}),
            "States.Base64Decode($.base64)",
            json!("Data to encode"),
        ),
        (
            json!({"Data": "input data", "Algorithm": "SHA-1"}),
            "States.Hash($.Data, $.Algorithm)",
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ),
        (
            json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}}),
            "States.JsonMerge($.json1, $.json2, false)",
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ),
        (
            json!({"escapedJsonString": "{\"foo\": \"bar\"}"}),
            "States.StringToJson($.escapedJsonString)",
            json!({"foo": "bar"}),
        ),
        (
            json!({"unescapedJson": {"foo": "bar"}}),
            "States.JsonToString($.unescapedJson)",
            json!("{\"foo\":\"bar\"}"),
        ),
        (
            json!({"value1": 111, "step": -1}),
            "States.MathAdd($.value1, $.step)",
            json!(110),
        ),
        (
            json!({"inputString": "1,2,3,4,5", "splitter": ","}),
            "States.StringSplit($.inputString, $.splitter)",
            json!(["1", "2", "3", "4", "5"]),
        ),
        (
            json!({"inputString": "This.is+a,test=string", "splitter": ".+,="}),
            "States.StringSplit($.inputString, $.splitter)",
            json!(["This", "is", "a", "test", "string"]),
        ),
        (
            json!({"name": "Arnav", "template": "Hello, my name is {}."}),
            "States.Format($.template, $.name)",
            json!("Hello, my name is Arnav."),
        ),
    ];
    for (input, expr, want) in cases {
        assert_eq!(
            params(json!({"r.$": expr}), input),
            Ok(json!({"r": want})),
            "{expr}"
        );
    }
}

/// "States.MathAdd": a non-integer argument is rounded to the nearest integer (as Java's
/// `Math.round`, halves up); the result is an integer.
#[test]
fn math_add_rounds_non_integers() {
    let add = |a: Value, b: Value| {
        params(
            json!({"r.$": "States.MathAdd($.a, $.b)"}),
            json!({"a": a, "b": b}),
        )
    };
    assert_eq!(add(json!(1.5), json!(1)), Ok(json!({"r": 3})));
    assert_eq!(add(json!(1.4), json!(1.0)), Ok(json!({"r": 2})));
    assert_eq!(add(json!(-1.5), json!(0)), Ok(json!({"r": -1})));
    assert_eq!(add(json!(2.0), json!(3.0)), Ok(json!({"r": 5})));
    assert_eq!(
        add(json!("1"), json!(1)),
        Err("States.IntrinsicFailure".into())
    );
}

/// "States.Format": numbers keep their JSON text (`1`, `2.5`, `1.0`), booleans and null their
/// literals, strings are inserted without quotes.
#[test]
fn format_value_text() {
    let r = params(
        json!({"r.$": "States.Format('{}|{}|{}|{}|{}|{}', $.i, $.f, $.w, $.b, $.n, $.s)"}),
        json!({"i": 1, "f": 2.5, "w": 1.0, "b": false, "n": null, "s": "q\"uote"}),
    );
    assert_eq!(r, Ok(json!({"r": "1|2.5|1.0|false|null|q\"uote"})));
}

/// `Parameters` build nested arrays whose objects hold `.$` keys; a `[*]` or filter path gives
/// an array, a definite path a single value.
#[test]
fn parameters_nested_arrays_and_path_shapes() {
    let p = json!({"Entries": [{"Detail": {"ids.$": "$.items[*].id", "first.$": "$.items[0].id"}},
                               [{"deep.$": "$.items[?(@.id == 2)]"}], 3]});
    let r = params(p, json!({"items": [{"id": 1}, {"id": 2}]}));
    assert_eq!(
        r,
        Ok(
            json!({"Entries": [{"Detail": {"ids": [1, 2], "first": 1}}, [{"deep": [{"id": 2}]}], 3]})
        )
    );
}

/// "Context object" in a ResultSelector: `$$` reads the context, `$` the task's result.
#[test]
fn result_selector_reads_the_context() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "ResultSelector": {"state.$": "$$.State.Name", "payload.$": "$.Payload", "exec.$": "$$.Execution.Name"}, "End": true}}});
    let ex = with_tasks(
        d,
        json!({}),
        json!({"Payload": {"ok": true}, "StatusCode": 200}),
    );
    assert_eq!(
        ex.output,
        Some(json!({"state": "T", "payload": {"ok": true}, "exec": "exec-1"}))
    );
}

/// "Retry": `MaxAttempts: 0` never retries; `$$.State.RetryCount` counts the retries.
#[test]
fn retry_count_in_context() {
    let d = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"try.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["Zero"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": true},
        "C": {"Type": "Pass", "End": true}}});
    let mut seen = Vec::new();
    let mut h = |c: &TaskCall<'_>| {
        seen.push(c.parameters["try"].clone());
        TaskOutcome::err("Flaky", "again")
    };
    let ex = run(&def(d.clone()), json!({}), &opts(), &mut h);
    assert_eq!(seen, vec![json!(0), json!(1), json!(2)]);
    assert_eq!(ex.output, Some(json!({"Error": "Flaky", "Cause": "again"})));
    let mut calls = 0;
    let mut h = |_: &TaskCall<'_>| {
        calls += 1;
        TaskOutcome::err("Zero", "z")
    };
    let ex = run(&def(d), json!({}), &opts(), &mut h);
    assert_eq!((calls, ex.status), (1, Status::Succeeded));
}

/// "Error names": States.ALL does not match States.Runtime (an OutputPath selecting nothing).
#[test]
fn states_all_does_not_catch_runtime() {
    let d = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "OutputPath": "$.nothing",
              "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": true},
        "C": {"Type": "Succeed"}}});
    let ex = with_tasks(d, json!({}), json!({"x": 1}));
    assert_eq!(
        (ex.status, ex.error.as_deref()),
        (Status::Failed, Some("States.Runtime"))
    );
}

/// "Pass state": `Result` with `ResultPath` and `OutputPath` (OutputPath on the merged output).
#[test]
fn pass_result_then_output_path() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r", "OutputPath": "$.r.x", "End": true}}}),
        json!({"a": 1}),
    );
    assert_eq!(ex.output, Some(json!(1)));
}

/// "Parallel state": Parameters feed every branch; a failing branch with a Catch on the Parallel.
#[test]
fn parallel_parameters_feed_each_branch() {
    let br = |n: &str| json!({"StartAt": n, "States": {n: {"Type": "Pass", "Parameters": {"who.$": "$.who", "branch": n}, "End": true}}});
    let d = json!({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": true,
        "Parameters": {"who.$": "$.name"}, "Branches": [br("A"), br("B")]}}});
    let ex = go(d, json!({"name": "n"}));
    assert_eq!(
        ex.output,
        Some(json!([{"who": "n", "branch": "A"}, {"who": "n", "branch": "B"}]))
    );
}
