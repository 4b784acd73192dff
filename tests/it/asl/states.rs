//! Reads small state machines; checks each state type and the data flow (InputPath, Parameters, ResultSelector, ResultPath, OutputPath) and the context object, mostly with the developer guide's examples.

use dpc::asl::{Execution, Status, TaskCall, TaskOutcome, run};
use serde_json::{Value, json};

use super::{def, go, merged, opts};

/// A one-Task machine whose task returns `result`; `state` holds the data-flow fields.
fn task_with(state: Value, input: Value, result: Value) -> Execution {
    let st = merged(
        json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}),
        state,
    );
    let mut h = move |_: &TaskCall<'_>| TaskOutcome::ok(result.clone());
    run(
        &def(json!({"StartAt": "T", "States": {"T": st}})),
        input,
        &opts(),
        &mut h,
    )
}

#[test]
fn pass_result_and_result_path() {
    let ex = go(
        json!({"StartAt": "No-op", "States": {"No-op": {"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords", "End": true}}}),
        json!({"georefOf": "Home"}),
    );
    assert_eq!(
        ex.output,
        Some(
            json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
        )
    );
}

#[test]
fn pass_without_fields_passes_input() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        json!({"a": [1]}),
    );
    assert_eq!(ex.output, Some(json!({"a": [1]})));
}

#[test]
fn input_path_example() {
    let input = json!({"comment": "Example for InputPath.", "dataset1": {"val1": 1, "val2": 2, "val3": 3}, "dataset2": {"val1": "a", "val2": "b", "val3": "c"}});
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.dataset2", "End": true}}}),
        input,
    );
    assert_eq!(
        ex.output,
        Some(json!({"val1": "a", "val2": "b", "val3": "c"}))
    );
}

#[test]
fn parameters_example() {
    let input = json!({"comment": "Example for Parameters.", "product": {"details": {"color": "blue", "size": "small", "material": "cotton"}, "availability": "in stock", "sku": "2317", "cost": "$23"}});
    let params = json!({"comment": "Selecting what I care about.", "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}});
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": params, "End": true}}}),
        input,
    );
    assert_eq!(
        ex.output,
        Some(
            json!({"comment": "Selecting what I care about.", "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}})
        )
    );
}

#[test]
fn result_selector_example() {
    let result = json!({"resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"}});
    let ex = task_with(
        json!({"ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"}, "ResultPath": "$.EMROutput"}),
        json!({}),
        result,
    );
    assert_eq!(
        ex.output,
        Some(
            json!({"EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}})
        )
    );
}

fn hello_input() -> Value {
    json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"})
}

#[test]
fn result_path_examples() {
    let hello = json!("Hello, AWS Step Functions!");
    let out = |rp: Value| task_with(json!({"ResultPath": rp}), hello_input(), hello.clone()).output;
    assert_eq!(
        task_with(json!({}), hello_input(), hello.clone()).output,
        Some(hello.clone())
    );
    assert_eq!(out(Value::Null), Some(hello_input()));
    let mut with = hello_input();
    with["taskresult"] = hello.clone();
    assert_eq!(out(json!("$.taskresult")), Some(with));
    let mut nested = hello_input();
    nested["strings"] = json!({"lambdaresult": hello.clone()});
    assert_eq!(out(json!("$.strings.lambdaresult")), Some(nested));
    let mut over = hello_input();
    over["comment"] = hello.clone();
    assert_eq!(out(json!("$.comment")), Some(over));
}

#[test]
fn output_path_example() {
    let ex = task_with(
        json!({"ResultPath": "$.taskresult", "OutputPath": "$.taskresult"}),
        hello_input(),
        json!("Hello"),
    );
    assert_eq!(ex.output, Some(json!("Hello")));
}

#[test]
fn null_paths() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": null, "End": true}}}),
        json!({"a": 1}),
    );
    assert_eq!(ex.output, Some(json!({})));
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": null, "End": true}}}),
        json!({"a": 1}),
    );
    assert_eq!(ex.output, Some(json!({})));
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": null, "End": true}}}),
        json!({"a": 1}),
    );
    assert_eq!(ex.output, Some(json!({"a": 1})));
}

#[test]
fn result_path_into_array_index() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "x", "ResultPath": "$.a[1]", "End": true}}}),
        json!({"a": [0, 1]}),
    );
    assert_eq!(ex.output, Some(json!({"a": [0, "x"]})));
}

#[test]
fn result_path_mismatch() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "ResultPath": "$.a.b", "End": true}}}),
        json!({"a": "string"}),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(ex.error.as_deref(), Some("States.ResultPathMatchFailure"));
    let d = def(json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": "$.a.b",
              "Catch": [{"ErrorEquals": ["States.ResultPathMatchFailure"], "ResultPath": "$.err", "Next": "C"}], "End": true},
        "C": {"Type": "Succeed"}}}));
    let mut h = |_: &TaskCall<'_>| TaskOutcome::ok(json!(1));
    let ex = run(&d, json!({"a": 5}), &opts(), &mut h);
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(
        ex.output.map(|o| o["err"]["Error"].clone()),
        Some(json!("States.ResultPathMatchFailure"))
    );
}

#[test]
fn missing_parameter_path_is_runtime() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"missing.$": "$.nope.deep"}, "End": true}}}),
        json!({"other": 1}),
    );
    assert_eq!(ex.status, Status::Failed);
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        ex.cause.as_deref(),
        Some(
            "The JSONPath '$.nope.deep' specified for the field 'missing.$' could not be found in the input '{\"other\":1}'"
        )
    );
}

#[test]
fn missing_input_path_is_runtime() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.x", "End": true}}}),
        json!({}),
    );
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn jsonpath_features_in_parameters() {
    let input = json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}, {"id": 3, "ok": true}], "m": {"a": {"id": 9}}});
    let params = json!({
        "ids.$": "$.items[*].id",
        "last.$": "$.items[-1].id",
        "slice.$": "$.items[0:2].id",
        "good.$": "$.items[?(@.ok == true)].id",
        "big.$": "$.items[?(@.id > 1 && @.ok == true)].id",
        "either.$": "$.items[?(@.id == 1 || @.id == 2)].id",
        "all.$": "$..id",
        "n.$": "$.items.length()",
        "b.$": "$['m']['a'].id"
    });
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": params, "End": true}}}),
        input,
    );
    let out = ex.output.unwrap_or_default();
    assert_eq!(out["ids"], json!([1, 2, 3]));
    assert_eq!(out["last"], json!(3));
    assert_eq!(out["slice"], json!([1, 2]));
    assert_eq!(out["good"], json!([1, 3]));
    assert_eq!(out["big"], json!([3]));
    assert_eq!(out["either"], json!([1, 2]));
    let mut all: Vec<i64> = out["all"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    all.sort_unstable();
    assert_eq!(all, vec![1, 2, 3, 9]);
    assert_eq!(out["n"], json!(3));
    assert_eq!(out["b"], json!(9));
}

#[test]
fn context_object() {
    let params = json!({
        "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "start.$": "$$.Execution.StartTime",
        "input.$": "$$.Execution.Input", "role.$": "$$.Execution.RoleArn", "redrive.$": "$$.Execution.RedriveCount",
        "sm.$": "$$.StateMachine.Id", "smName.$": "$$.StateMachine.Name",
        "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "retry.$": "$$.State.RetryCount"
    });
    let ex = go(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 90, "Next": "P"}, "P": {"Type": "Pass", "Parameters": params, "End": true}}}),
        json!({"k": 1}),
    );
    assert_eq!(
        ex.output,
        Some(json!({
            "id": "arn:aws:states:us-east-1:123456789012:execution:StateMachine:exec-1", "name": "exec-1",
            "start": "2026-11-26T03:00:00.000Z", "input": {"k": 1}, "role": "arn:aws:iam::123456789012:role/StepFunctionsRole",
            "redrive": 0, "sm": "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine", "smName": "StateMachine",
            "state": "P", "entered": "2026-11-26T03:01:30.000Z", "retry": 0
        }))
    );
}

#[test]
fn task_token_and_retry_count() {
    let d = def(json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token", "retry.$": "$$.State.RetryCount"},
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1}], "End": true}}}));
    let mut seen: Vec<(Value, Option<String>)> = Vec::new();
    let mut h = |c: &TaskCall<'_>| {
        seen.push((c.parameters.clone(), c.task_token.map(str::to_string)));
        if c.retry_count == 0 {
            TaskOutcome::err("Flaky", "once")
        } else {
            TaskOutcome::ok(json!("done"))
        }
    };
    let ex = run(&d, json!({}), &opts(), &mut h);
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(seen.len(), 2);
    for (i, (params, token)) in seen.iter().enumerate() {
        assert_eq!(params["retry"], json!(i));
        assert_eq!(params["token"].as_str(), token.as_deref());
        assert!(token.as_deref().is_some_and(|t| !t.is_empty()));
    }
}

#[test]
fn wait_forms_advance_virtual_time() {
    let cases = [
        (json!({"Seconds": 10}), json!({}), 10),
        (
            json!({"Timestamp": "2026-11-26T04:00:00Z"}),
            json!({}),
            3600,
        ),
        (json!({"Timestamp": "2020-01-01T00:00:00Z"}), json!({}), 0),
        (json!({"SecondsPath": "$.s"}), json!({"s": 5}), 5),
        (
            json!({"TimestampPath": "$.t"}),
            json!({"t": "2026-11-26T03:00:30Z"}),
            30,
        ),
    ];
    for (fields, input, secs) in cases {
        let w = merged(json!({"Type": "Wait", "End": true}), fields.clone());
        let ex = go(json!({"StartAt": "W", "States": {"W": w}}), input.clone());
        assert_eq!(ex.status, Status::Succeeded, "{fields}");
        assert_eq!((ex.stopped - ex.started).num_seconds(), secs, "{fields}");
        assert_eq!(ex.output, Some(input));
    }
    let ex = go(
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}),
        json!({"s": -1}),
    );
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn succeed_with_paths() {
    let ex = go(
        json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}}}),
        json!({"a": {"b": 2}}),
    );
    assert_eq!(ex.output, Some(json!(2)));
}

#[test]
fn fail_state_forms() {
    let ex = go(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "MyError", "Cause": "because"}}}),
        json!({}),
    );
    assert_eq!(
        (ex.status, ex.error.as_deref(), ex.cause.as_deref()),
        (Status::Failed, Some("MyError"), Some("because"))
    );
    let ex = go(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e.Error", "CausePath": "States.Format('cause: {}', $.e.Cause)"}}}),
        json!({"e": {"Error": "E1", "Cause": "C1"}}),
    );
    assert_eq!(
        (ex.error.as_deref(), ex.cause.as_deref()),
        (Some("E1"), Some("cause: C1"))
    );
    let ex = go(
        json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.n"}}}),
        json!({"n": 5}),
    );
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn intrinsic_at_parameters_root_of_array() {
    let ex = go(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"Entries": [{"Detail": {"x.$": "$.a"}}, "lit"]}, "End": true}}}),
        json!({"a": 1}),
    );
    assert_eq!(
        ex.output,
        Some(json!({"Entries": [{"Detail": {"x": 1}}, "lit"]}))
    );
}

#[test]
fn counter_loop_runs_to_completion() {
    let d = json!({
        "StartAt": "Inc",
        "States": {
            "Inc": {"Type": "Pass", "Parameters": {"count.$": "States.MathAdd($.count, 1)"}, "Next": "Loop?"},
            "Loop?": {"Type": "Choice", "Choices": [{"Variable": "$.count", "NumericLessThan": 1000, "Next": "Inc"}], "Default": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let ex = go(d, json!({"count": 0}));
    assert_eq!(ex.output, Some(json!({"count": 1000})));
    assert_eq!(ex.transitions, 2001);
}
