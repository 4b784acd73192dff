//! Reads nothing; produces the `TaskHandler` interface through which Task states reach the outside world, with its call and outcome types.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What a Task state asks its handler to do.
#[derive(Debug, Clone)]
pub struct TaskCall<'a> {
    /// Name of the Task state.
    pub state: &'a str,
    /// The `Resource` ARN.
    pub resource: &'a str,
    /// Effective parameters (after InputPath and Parameters).
    pub parameters: &'a Value,
    /// Virtual time the task starts.
    pub started: DateTime<Utc>,
    /// Effective TimeoutSeconds (99999999 when not set).
    pub timeout_seconds: u64,
    /// Effective HeartbeatSeconds, if set.
    pub heartbeat_seconds: Option<u64>,
    /// The task token, for `.waitForTaskToken` resources.
    pub task_token: Option<&'a str>,
    /// Retries of this state so far (`$$.State.RetryCount`).
    pub retry_count: u32,
}

/// What the task did.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    /// The task succeeded.
    Ok {
        /// Its result.
        output: Value,
        /// Virtual seconds it took.
        duration: f64,
        /// Seconds after the start at which it sent heartbeats.
        heartbeats: Vec<f64>,
    },
    /// The task failed.
    Err {
        /// Error name, e.g. `DynamoDB.ConditionalCheckFailedException`.
        error: String,
        /// Human-readable cause.
        cause: String,
        /// Virtual seconds before it failed.
        duration: f64,
    },
}

impl TaskOutcome {
    /// Immediate success.
    pub fn ok(output: Value) -> TaskOutcome {
        TaskOutcome::Ok {
            output,
            duration: 0.0,
            heartbeats: Vec::new(),
        }
    }

    /// Immediate failure.
    pub fn err(error: impl Into<String>, cause: impl Into<String>) -> TaskOutcome {
        TaskOutcome::Err {
            error: error.into(),
            cause: cause.into(),
            duration: 0.0,
        }
    }
}

/// Runs Task states.
pub trait TaskHandler {
    /// Performs one attempt of a Task state.
    fn call(&mut self, call: &TaskCall<'_>) -> TaskOutcome;
}

/// Error name given when no handler knows a task.
pub const NO_HANDLER: &str = "dpc.NoHandler";

/// The failure for a Task nobody handles.
pub fn no_handler(call: &TaskCall<'_>) -> TaskOutcome {
    TaskOutcome::err(
        NO_HANDLER,
        format!(
            "no handler for {} (state '{}'); give one with --mock",
            call.resource, call.state
        ),
    )
}

impl<F: FnMut(&TaskCall<'_>) -> TaskOutcome> TaskHandler for F {
    fn call(&mut self, call: &TaskCall<'_>) -> TaskOutcome {
        self(call)
    }
}
