//! Reads error names and `ErrorEquals` lists; produces `Fault` values and the AWS matching rules for Retry and Catch.

/// A named error with its cause, as a state reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Error name, e.g. `States.TaskFailed`.
    pub error: String,
    /// Human-readable cause.
    pub cause: String,
}

impl Fault {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Fault {
        Fault {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// `States.Runtime`, which no Retry or Catch sees.
    pub fn runtime(cause: impl Into<String>) -> Fault {
        Fault::new(RUNTIME, cause)
    }
}

pub const ALL: &str = "States.ALL";
pub const RUNTIME: &str = "States.Runtime";
pub const DATA_LIMIT: &str = "States.DataLimitExceeded";
pub const TASK_FAILED: &str = "States.TaskFailed";
pub const TIMEOUT: &str = "States.Timeout";
pub const HEARTBEAT: &str = "States.HeartbeatTimeout";
pub const INTRINSIC: &str = "States.IntrinsicFailure";
pub const NO_CHOICE: &str = "States.NoChoiceMatched";
pub const RESULT_PATH: &str = "States.ResultPathMatchFailure";
pub const TOLERATED: &str = "States.ExceedToleratedFailureThreshold";

/// Terminal errors: Retry and Catch never apply to them.
pub fn is_terminal(error: &str) -> bool {
    error == RUNTIME || error == DATA_LIMIT
}

/// Whether one `ErrorEquals` entry matches `error`.
pub fn matches(pattern: &str, error: &str) -> bool {
    if is_terminal(error) {
        return false;
    }
    match pattern {
        ALL => true,
        TASK_FAILED => error != TIMEOUT,
        p => p == error,
    }
}

/// Whether any entry of an `ErrorEquals` list matches.
pub fn any_matches(list: &[String], error: &str) -> bool {
    list.iter().any(|p| matches(p, error))
}
