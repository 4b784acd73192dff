//! Reads nothing; produces the execution history events, typed and serialisable in the shape of Step Functions' GetExecutionHistory.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

/// One event of the execution history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEvent {
    /// 1-based, in time order.
    pub id: u64,
    /// The event this one follows from (0 for the first).
    pub previous_event_id: u64,
    /// Virtual time of the event.
    #[serde(serialize_with = "ser_time")]
    pub timestamp: DateTime<Utc>,
    /// Event type, e.g. `TaskScheduled`.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The `…EventDetails` object, when the type has one.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<Details>,
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// History event types (the subset this interpreter emits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub enum EventType {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapStateSucceeded,
    MapStateFailed,
    MapStateExited,
}

impl EventType {
    /// `…StateEntered` for a state type name.
    pub(crate) fn entered(ty: &str) -> EventType {
        match ty {
            "Pass" => EventType::PassStateEntered,
            "Task" => EventType::TaskStateEntered,
            "Choice" => EventType::ChoiceStateEntered,
            "Wait" => EventType::WaitStateEntered,
            "Succeed" => EventType::SucceedStateEntered,
            "Fail" => EventType::FailStateEntered,
            "Parallel" => EventType::ParallelStateEntered,
            _ => EventType::MapStateEntered,
        }
    }

    /// `…StateExited` for a state type name (Fail states never exit).
    pub(crate) fn exited(ty: &str) -> EventType {
        match ty {
            "Pass" => EventType::PassStateExited,
            "Task" => EventType::TaskStateExited,
            "Choice" => EventType::ChoiceStateExited,
            "Wait" => EventType::WaitStateExited,
            "Succeed" => EventType::SucceedStateExited,
            "Parallel" => EventType::ParallelStateExited,
            _ => EventType::MapStateExited,
        }
    }
}

/// The details object; its variant name becomes the JSON key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub enum Details {
    ExecutionStartedEventDetails(ExecutionStarted),
    ExecutionSucceededEventDetails(Output),
    ExecutionFailedEventDetails(ErrorCause),
    ExecutionTimedOutEventDetails(ErrorCause),
    ExecutionAbortedEventDetails(ErrorCause),
    StateEnteredEventDetails(StateEntered),
    StateExitedEventDetails(StateExited),
    TaskScheduledEventDetails(TaskScheduled),
    TaskStartedEventDetails(TaskRef),
    TaskSucceededEventDetails(TaskSucceeded),
    TaskFailedEventDetails(TaskError),
    TaskTimedOutEventDetails(TaskError),
    MapStateStartedEventDetails(MapStarted),
    MapIterationStartedEventDetails(MapIteration),
    MapIterationSucceededEventDetails(MapIteration),
    MapIterationFailedEventDetails(MapIteration),
}

/// `{"truncated": false}`: payloads are never truncated here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Truncated {
    /// Always false.
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ExecutionStarted {
    pub input: String,
    pub input_details: Truncated,
    pub role_arn: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Output {
    pub output: String,
    pub output_details: Truncated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct ErrorCause {
    pub error: String,
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct StateEntered {
    pub name: String,
    pub input: String,
    pub input_details: Truncated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct StateExited {
    pub name: String,
    pub output: String,
    pub output_details: Truncated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TaskScheduled {
    pub resource_type: String,
    pub resource: String,
    pub region: String,
    pub parameters: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_in_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_in_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TaskRef {
    pub resource_type: String,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TaskSucceeded {
    pub resource_type: String,
    pub resource: String,
    pub output: String,
    pub output_details: Truncated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TaskError {
    pub resource_type: String,
    pub resource: String,
    pub error: String,
    pub cause: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct MapStarted {
    pub length: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct MapIteration {
    pub name: String,
    pub index: usize,
}

/// Splits a Task `Resource` into history's `resourceType` and `resource`.
pub fn split_resource(arn: &str) -> (String, String) {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "states", _, _, "aws-sdk", svc, rest @ ..] => {
            (format!("aws-sdk:{svc}"), rest.join(":"))
        }
        ["arn", _, "states", "", "", svc, rest @ ..] => ((*svc).to_string(), rest.join(":")),
        ["arn", _, "states", _, _, "activity", ..] => ("activity".into(), arn.into()),
        ["arn", _, "lambda", ..] => ("lambda".into(), "invoke".into()),
        ["arn", _, svc, ..] => ((*svc).to_string(), arn.into()),
        _ => ("unknown".into(), arn.into()),
    }
}

/// The region named in an ARN, if any.
pub fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}
