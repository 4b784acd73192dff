//! Reads Parallel and Map machines; checks outputs, virtual-time concurrency (MaxConcurrency), failure handling, tolerated failures, ItemSelector and the Map context.

use dpc::asl::{Definition, EventType, MockHandler, Options, Status, TaskCall, TaskOutcome, run};
use serde_json::{Value, json};

use super::{def, merged, secs};

/// A task state named `name` on a lambda ARN.
fn task(name: &str) -> Value {
    json!({"StartAt": name, "States": {name: {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true}}})
}

/// Handler: each task takes `$.d` seconds (or its Parameters' d) and returns its input doubled, failing when `$.fail` is set.
fn worker() -> impl FnMut(&TaskCall<'_>) -> TaskOutcome {
    |c: &TaskCall<'_>| {
        let d = c.parameters.get("d").and_then(Value::as_f64).unwrap_or(0.0);
        if c.parameters.get("fail").is_some() {
            return TaskOutcome::Err {
                error: "ItemBoom".into(),
                cause: format!("{}", c.parameters),
                duration: d,
            };
        }
        TaskOutcome::Ok {
            output: json!(d * 2.0),
            duration: d,
            heartbeats: vec![],
        }
    }
}

#[test]
fn parallel_branches_start_together() {
    let d = def(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 10, "Next": "A2"}, "A2": {"Type": "Pass", "Result": "a", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 30, "Next": "B2"}, "B2": {"Type": "Pass", "Result": "b", "End": true}}}
        ]}}}),
    );
    let ex = run(
        &d,
        json!({}),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(ex.output, Some(json!(["a", "b"])));
    assert_eq!(secs(&ex), 30, "the state ends with its slowest branch");
    let kinds: Vec<EventType> = ex.history.iter().map(|e| e.kind).collect();
    let pos = |k: EventType| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    assert!(pos(EventType::ParallelStateStarted) < pos(EventType::WaitStateEntered));
    assert_eq!(kinds.last(), Some(&EventType::ExecutionSucceeded));
    let a2 = ex
        .history
        .iter()
        .find(|e| {
            serde_json::to_string(e)
                .unwrap_or_default()
                .contains("\"name\":\"A2\"")
        })
        .map(|e| e.timestamp);
    assert_eq!(a2.map(|t| (t - ex.started).num_seconds()), Some(10));
}

#[test]
fn parallel_parameters_result_selector_and_failure() {
    let d = def(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
        "Parameters": {"d.$": "$.wait"}, "ResultSelector": {"first.$": "$[0]"}, "ResultPath": "$.res",
        "Branches": [task("A"), task("B")]}}}),
    );
    let ex = run(&d, json!({"wait": 4}), &Options::default(), &mut worker());
    assert_eq!(ex.output, Some(json!({"wait": 4, "res": {"first": 8.0}})));
    let ex = run(
        &d,
        json!({"wait": 4, "fail": 1}),
        &Options::default(),
        &mut |c: &TaskCall<'_>| {
            if c.state == "B" {
                TaskOutcome::Err {
                    error: "BBoom".into(),
                    cause: "b".into(),
                    duration: 2.0,
                }
            } else {
                TaskOutcome::Ok {
                    output: json!(1),
                    duration: 5.0,
                    heartbeats: vec![],
                }
            }
        },
    );
    assert_eq!(
        (ex.status, ex.error.as_deref()),
        (Status::Failed, Some("BBoom"))
    );
    assert_eq!(secs(&ex), 2, "fails when the first branch fails");
    assert!(
        !ex.history
            .iter()
            .any(|e| e.kind == EventType::TaskSucceeded),
        "A's later success is cut off"
    );
    assert!(
        ex.history
            .iter()
            .any(|e| e.kind == EventType::ParallelStateFailed)
    );
}

fn map_def(extra: Value) -> Definition {
    let m = merged(
        json!({"Type": "Map", "End": true, "ItemProcessor": task("Work")}),
        extra,
    );
    def(json!({"StartAt": "M", "States": {"M": m}}))
}

#[test]
fn map_items_path_and_output() {
    let d = map_def(json!({"ItemsPath": "$.items"}));
    let ex = run(
        &d,
        json!({"items": [{"d": 1}, {"d": 2}, {"d": 3}]}),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(ex.output, Some(json!([2.0, 4.0, 6.0])));
    assert_eq!(secs(&ex), 3);
    let started = ex
        .history
        .iter()
        .find(|e| e.kind == EventType::MapStateStarted)
        .and_then(|e| serde_json::to_value(e).ok());
    assert_eq!(
        started.map(|v| v["mapStateStartedEventDetails"]["length"].clone()),
        Some(json!(3))
    );
    assert_eq!(
        ex.history
            .iter()
            .filter(|e| e.kind == EventType::MapIterationSucceeded)
            .count(),
        3
    );
}

#[test]
fn map_max_concurrency_queues_items() {
    let d = map_def(json!({"MaxConcurrency": 2}));
    let ex = run(
        &d,
        json!([{"d": 10}, {"d": 10}, {"d": 10}, {"d": 5}]),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(secs(&ex), 20);
    let d = map_def(json!({"MaxConcurrency": 1}));
    let ex = run(
        &d,
        json!([{"d": 10}, {"d": 10}, {"d": 10}, {"d": 5}]),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(secs(&ex), 35);
    let d = map_def(json!({"MaxConcurrencyPath": "$.c", "ItemsPath": "$.i"}));
    let ex = run(
        &d,
        json!({"c": 0, "i": [{"d": 10}, {"d": 10}]}),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(secs(&ex), 10, "0 means no limit");
}

#[test]
fn map_item_selector_and_context() {
    let sel = json!({"d.$": "$$.Map.Item.Value.d", "index.$": "$$.Map.Item.Index", "shared.$": "$.shared"});
    let d = def(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "ItemsPath": "$.items", "ItemSelector": sel,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    );
    let ex = run(
        &d,
        json!({"shared": "s", "items": [{"d": 1}, {"d": 2}]}),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(
        ex.output,
        Some(json!([{"d": 1, "index": 0, "shared": "s"}, {"d": 2, "index": 1, "shared": "s"}]))
    );
    let legacy = def(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "Parameters": {"v.$": "$$.Map.Item.Value"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    );
    let ex = run(
        &legacy,
        json!([1, 2]),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(ex.output, Some(json!([{"v": 1}, {"v": 2}])));
}

#[test]
fn map_failure_and_tolerance() {
    let items = json!([{"d": 1}, {"d": 2, "fail": 1}, {"d": 3}, {"d": 4, "fail": 1}]);
    let ex = run(
        &map_def(json!({})),
        items.clone(),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(
        (ex.status, ex.error.as_deref()),
        (Status::Failed, Some("ItemBoom"))
    );
    assert_eq!(secs(&ex), 2);
    let ex = run(
        &map_def(json!({"ToleratedFailureCount": 2})),
        items.clone(),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(
        ex.output.map(|o| o[1]["Error"].clone()),
        Some(json!("ItemBoom"))
    );
    let ex = run(
        &map_def(json!({"ToleratedFailureCount": 1})),
        items.clone(),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(
        ex.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let ex = run(
        &map_def(json!({"ToleratedFailurePercentage": 50})),
        items.clone(),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(ex.status, Status::Succeeded);
    let ex = run(
        &map_def(json!({"ToleratedFailurePercentagePath": "$.p", "ItemsPath": "$.i"})),
        json!({"p": 25, "i": items}),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(
        ex.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
}

#[test]
fn map_items_must_be_an_array() {
    let ex = run(
        &map_def(json!({"ItemsPath": "$.x"})),
        json!({"x": 5}),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(ex.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn map_catch() {
    let d = def(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "Next": "Done", "ItemProcessor": task("Work"), "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}}));
    let ex = run(&d, json!([{"fail": 1}]), &Options::default(), &mut worker());
    assert_eq!(
        ex.status,
        Status::Failed,
        "the input array cannot take ResultPath $.err: that is a runtime error"
    );
    let d = def(json!({"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemsPath": "$.i", "Next": "Done", "ItemProcessor": task("Work"), "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}}));
    let ex = run(
        &d,
        json!({"i": [{"fail": 1}]}),
        &Options::default(),
        &mut worker(),
    );
    assert_eq!(
        ex.output.map(|o| o["err"]["Error"].clone()),
        Some(json!("ItemBoom"))
    );
}
