//! The States Language interpreter (`dpc::asl`): one module per area, and the helpers they
//! share. `machines` runs the state machines dpc compiles from `examples/`; `aws_docs` holds
//! the examples of the Step Functions developer guide with their documented results.

use dpc::asl::{Definition, EventType, Execution, MockHandler, Options, run};
use serde_json::Value;

mod aws_docs;
mod choice;
mod fanout;
mod history;
mod intrinsics;
mod machines;
mod mock;
mod parse;
mod props;
mod recovery;
mod states;

/// Parses a definition that must be valid.
pub fn def(v: Value) -> Definition {
    Definition::parse(&v).unwrap_or_else(|p| panic!("{p:?}"))
}

/// Options of most tests: a fixed start (2026-11-26T03:00:00Z) and execution name `exec-1`.
pub fn opts() -> Options {
    Options {
        start_time: "2026-11-26T03:00:00Z".parse().unwrap_or_default(),
        execution_name: "exec-1".into(),
        ..Options::default()
    }
}

/// Runs a definition without tasks under [`opts`].
pub fn go(d: Value, input: Value) -> Execution {
    run(&def(d), input, &opts(), &mut MockHandler::default())
}

/// `base` (an object) with the fields of `extra` added or replaced.
pub fn merged(base: Value, extra: Value) -> Value {
    let mut base = base;
    if let (Some(m), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        m.extend(e.clone());
    }
    base
}

/// Seconds of virtual time the execution took.
pub fn secs(ex: &Execution) -> i64 {
    (ex.stopped - ex.started).num_seconds()
}

/// Seconds after the start of each TaskScheduled event.
pub fn scheduled_at(ex: &Execution) -> Vec<f64> {
    ex.history
        .iter()
        .filter(|e| e.kind == EventType::TaskScheduled)
        .map(|e| (e.timestamp - ex.started).num_milliseconds() as f64 / 1000.0)
        .collect()
}
