//! Reads nothing; produces the typed model of a checked definition (states, transitions, data-flow fields, retriers, catchers).

use super::choice::Rule;
use super::intrinsic::Call;
use super::jsonpath::Path;
use super::payload::Template;
use serde_json::Value;

/// A checked state machine definition, ready to run.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) comment: Option<String>,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) machine: Machine,
}

impl Definition {
    /// The top-level `Comment`.
    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// The execution's `TimeoutSeconds`, if any.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }

    /// The name of the first state.
    pub fn start_at(&self) -> &str {
        self.machine
            .states
            .get(self.machine.start)
            .map_or("", |s| s.name.as_str())
    }

    /// Names of the top-level states, in definition order.
    pub fn state_names(&self) -> Vec<&str> {
        self.machine
            .states
            .iter()
            .map(|s| s.name.as_str())
            .collect()
    }
}

/// A set of states with a start: the whole machine, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub start: usize,
    pub states: Vec<State>,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: String,
    pub kind: Kind,
    pub io: Io,
    pub next: Next,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    To(usize),
    End,
}

/// `InputPath`/`OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone)]
pub(crate) enum IoPath {
    Root,
    Null,
    Path(Path),
}

/// `ResultPath`: absent means `$`, `null` discards the result.
#[derive(Debug, Clone)]
pub(crate) enum ResultPath {
    Root,
    Discard,
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) struct Io {
    pub input_path: IoPath,
    pub output_path: IoPath,
    pub result_path: ResultPath,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
}

impl Default for Io {
    fn default() -> Io {
        Io {
            input_path: IoPath::Root,
            output_path: IoPath::Root,
            result_path: ResultPath::Root,
            parameters: None,
            result_selector: None,
        }
    }
}

/// A number given literally or through a reference path.
#[derive(Debug, Clone)]
pub(crate) enum Num {
    Lit(f64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Pass {
        result: Option<Value>,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<(Rule, usize)>,
        default: Option<usize>,
    },
    Wait(Wait),
    Succeed,
    Fail(Box<Fail>),
    Parallel(Box<Parallel>),
    Map(Box<MapState>),
}

impl Kind {
    /// The state type's name as AWS spells it in event types.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail(_) => "Fail",
            Kind::Parallel(_) => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Recovery {
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub resource: String,
    pub timeout: Option<Num>,
    pub heartbeat: Option<Num>,
    pub recovery: Recovery,
}

#[derive(Debug, Clone)]
pub(crate) enum Wait {
    Seconds(f64),
    Timestamp(i64),
    SecondsPath(Path),
    TimestampPath(Path),
}

/// A string given literally, by path or by an intrinsic call.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    Lit(String),
    Path(Path),
    Call(Call),
}

#[derive(Debug, Clone)]
pub(crate) struct Fail {
    pub error: Option<Text>,
    pub cause: Option<Text>,
}

#[derive(Debug, Clone)]
pub(crate) struct Parallel {
    pub branches: Vec<Machine>,
    pub recovery: Recovery,
}

#[derive(Debug, Clone)]
pub(crate) struct MapState {
    pub processor: Machine,
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    pub max_concurrency: Option<Num>,
    pub tolerated_percentage: Option<Num>,
    pub tolerated_count: Option<Num>,
    pub recovery: Recovery,
}

#[derive(Debug, Clone)]
pub(crate) struct Retrier {
    pub errors: Vec<String>,
    pub interval: f64,
    pub max_attempts: u64,
    pub backoff: f64,
    pub max_delay: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Catcher {
    pub errors: Vec<String>,
    pub next: usize,
    pub result_path: ResultPath,
}
