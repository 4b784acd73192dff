//! Reads Amazon States Language definitions (JSONPath query language) and inputs; produces checked definitions and executions run in virtual time with AWS-shaped history.
//!
//! Pure: no I/O, no clock, no threads. Time starts at [`Options::start_time`] and only
//! advances through Wait states, task durations and retry delays; randomness comes from
//! a PRNG seeded by [`Options::seed`].
//!
//! ```
//! use dpc::asl::{Definition, MockHandler, Options, Status, run};
//! use serde_json::json;
//!
//! let def = Definition::parse(&json!({
//!     "StartAt": "Hello",
//!     "States": {"Hello": {"Type": "Pass", "Result": "world", "ResultPath": "$.hello", "End": true}}
//! })).unwrap();
//! let mut mocks = MockHandler::default();
//! let ex = run(&def, json!({}), &Options::default(), &mut mocks);
//! assert_eq!(ex.status, Status::Succeeded);
//! assert_eq!(ex.output, Some(json!({"hello": "world"})));
//! ```

mod choice;
mod context;
mod encode;
mod errors;
mod exec;
mod fanout;
mod fields;
mod flow;
mod funcs;
mod handler;
mod history;
mod intrinsic;
mod jsonpath;
mod mock;
mod model;
mod parse;
mod payload;
mod problem;
mod rng;
mod run;
mod states;
mod task;
mod time;

pub use errors::Fault;
pub use exec::{Execution, Options, Status, TraceStep, run};
pub use handler::{NO_HANDLER, TaskCall, TaskHandler, TaskOutcome, no_handler};
pub use history::{Details, EventType, HistoryEvent};
pub use mock::{MockHandler, MockResponse};
pub use model::Definition;
pub use problem::Problem;
pub use rng::Rng;
