//! Reads small executions; checks the history's event types, ids, links, timestamps and the AWS JSON shape of its details.

use dpc::asl::{EventType, MockHandler, Options, run};
use serde_json::json;

use super::def;

/// The shared options, in eu-west-1.
fn opts() -> Options {
    Options {
        region: "eu-west-1".into(),
        ..super::opts()
    }
}

#[test]
fn task_history_shape() {
    let d = def(json!({"StartAt": "Create", "States": {"Create": {
        "Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "Parameters": {"Name": "c"}, "TimeoutSeconds": 600, "HeartbeatSeconds": 60, "End": true}}}));
    let mut mocks = MockHandler::parse(
        &json!({"Create": {"Return": {"ClusterId": "j-1"}, "Duration": 30, "Heartbeats": [29]}}),
    )
    .unwrap_or_else(|p| panic!("{p:?}"));
    let ex = run(&d, json!({"a": 1}), &opts(), &mut mocks);
    let got = serde_json::to_value(&ex.history).unwrap_or_default();
    let want = json!([
        {"id": 1, "previousEventId": 0, "timestamp": "2026-11-26T03:00:00.000Z", "type": "ExecutionStarted",
         "executionStartedEventDetails": {"input": "{\"a\":1}", "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::123456789012:role/StepFunctionsRole"}},
        {"id": 2, "previousEventId": 1, "timestamp": "2026-11-26T03:00:00.000Z", "type": "TaskStateEntered",
         "stateEnteredEventDetails": {"name": "Create", "input": "{\"a\":1}", "inputDetails": {"truncated": false}}},
        {"id": 3, "previousEventId": 2, "timestamp": "2026-11-26T03:00:00.000Z", "type": "TaskScheduled",
         "taskScheduledEventDetails": {"resourceType": "elasticmapreduce", "resource": "createCluster.sync", "region": "eu-west-1",
                                       "parameters": "{\"Name\":\"c\"}", "timeoutInSeconds": 600, "heartbeatInSeconds": 60}},
        {"id": 4, "previousEventId": 3, "timestamp": "2026-11-26T03:00:00.000Z", "type": "TaskStarted",
         "taskStartedEventDetails": {"resourceType": "elasticmapreduce", "resource": "createCluster.sync"}},
        {"id": 5, "previousEventId": 4, "timestamp": "2026-11-26T03:00:30.000Z", "type": "TaskSucceeded",
         "taskSucceededEventDetails": {"resourceType": "elasticmapreduce", "resource": "createCluster.sync", "output": "{\"ClusterId\":\"j-1\"}", "outputDetails": {"truncated": false}}},
        {"id": 6, "previousEventId": 5, "timestamp": "2026-11-26T03:00:30.000Z", "type": "TaskStateExited",
         "stateExitedEventDetails": {"name": "Create", "output": "{\"ClusterId\":\"j-1\"}", "outputDetails": {"truncated": false}}},
        {"id": 7, "previousEventId": 6, "timestamp": "2026-11-26T03:00:30.000Z", "type": "ExecutionSucceeded",
         "executionSucceededEventDetails": {"output": "{\"ClusterId\":\"j-1\"}", "outputDetails": {"truncated": false}}}
    ]);
    assert_eq!(got, want);
}

#[test]
fn failure_events() {
    let d = def(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:eu-central-1:123:activity:x", "TimeoutSeconds": 5, "Next": "F",
        "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "F"}]}, "F": {"Type": "Fail", "Error": "E", "Cause": "C"}}}),
    );
    let mut mocks = MockHandler::parse(&json!({"T": {"Return": 1, "Duration": 9}}))
        .unwrap_or_else(|p| panic!("{p:?}"));
    let ex = run(&d, json!({}), &opts(), &mut mocks);
    let kinds: Vec<EventType> = ex.history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            EventType::ExecutionStarted,
            EventType::TaskStateEntered,
            EventType::TaskScheduled,
            EventType::TaskStarted,
            EventType::TaskTimedOut,
            EventType::TaskStateExited,
            EventType::FailStateEntered,
            EventType::ExecutionFailed
        ]
    );
    let v = serde_json::to_value(&ex.history).unwrap_or_default();
    assert_eq!(
        v[2]["taskScheduledEventDetails"]["region"],
        json!("eu-central-1")
    );
    assert_eq!(
        v[4]["taskTimedOutEventDetails"]["error"],
        json!("States.Timeout")
    );
    assert_eq!(
        v[7]["executionFailedEventDetails"],
        json!({"error": "E", "cause": "C"})
    );
    assert_eq!(v[7]["timestamp"], json!("2026-11-26T03:00:05.000Z"));
}

#[test]
fn every_state_type_enters_and_exits() {
    let d = def(json!({"StartAt": "P", "States": {
        "P": {"Type": "Pass", "Next": "C"},
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "IsPresent": true, "Next": "W"}]},
        "W": {"Type": "Wait", "Seconds": 1, "Next": "Par"},
        "Par": {"Type": "Parallel", "Next": "M", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}]},
        "M": {"Type": "Map", "Next": "S", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}},
        "S": {"Type": "Succeed"}}}));
    let ex = run(&d, json!({}), &opts(), &mut MockHandler::default());
    let kinds: Vec<EventType> = ex.history.iter().map(|e| e.kind).collect();
    use EventType::*;
    assert_eq!(
        kinds,
        vec![
            ExecutionStarted,
            PassStateEntered,
            PassStateExited,
            ChoiceStateEntered,
            ChoiceStateExited,
            WaitStateEntered,
            WaitStateExited,
            ParallelStateEntered,
            ParallelStateStarted,
            PassStateEntered,
            PassStateExited,
            ParallelStateSucceeded,
            ParallelStateExited,
            MapStateEntered,
            MapStateStarted,
            MapIterationStarted,
            PassStateEntered,
            PassStateExited,
            MapIterationSucceeded,
            MapStateSucceeded,
            MapStateExited,
            SucceedStateEntered,
            SucceedStateExited,
            ExecutionSucceeded
        ]
    );
    let map_iter = serde_json::to_value(ex.history.iter().find(|e| e.kind == MapIterationStarted))
        .unwrap_or_default();
    assert_eq!(
        map_iter["mapIterationStartedEventDetails"],
        json!({"name": "M", "index": 0})
    );
}

#[test]
fn history_can_be_off() {
    let d = def(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
    let ex = run(
        &d,
        json!({}),
        &Options {
            record_history: false,
            record_trace: false,
            ..opts()
        },
        &mut MockHandler::default(),
    );
    assert!(ex.history.is_empty() && ex.trace.is_empty());
    assert_eq!(ex.transitions, 1);
}
