//! EventBridge-compatible event pattern engine (pure: no I/O, no clock).
//!
//! Reads event patterns and events as JSON text and answers whether they match, with the
//! semantics of Amazon EventBridge as implemented by aws/event-ruler (whose test corpus this
//! engine passes in full): exact strings, numbers (compared by value: `300` = `3.0e2`),
//! booleans and null; `prefix`, `suffix` (and their `equals-ignore-case` forms),
//! `equals-ignore-case`, `wildcard`, `anything-but` (values, lists, `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard`), `numeric` ranges, `exists`, `cidr` (IPv4 and IPv6)
//! and nested `$or`. An event array matches when any element does, and the fields one
//! branch tests must come from the same element of any array of objects they share.
//!
//! # API
//!
//! ```
//! use dpc::pattern::{Event, Machine, Pattern};
//!
//! let p = Pattern::parse(r#"{"source": ["aws.states"], "detail": {"status": ["SUCCEEDED"]}}"#)?;
//! assert!(p.matches_json(r#"{"source": "aws.states", "detail": {"status": "SUCCEEDED"}}"#)?);
//! assert_eq!((p.combinations(), p.len()), (1, p.to_json().len()));
//!
//! let event = Event::parse(r#"{"source": "aws.states", "detail": {"status": "FAILED"}}"#)?;
//! assert!(!p.matches(&event));
//! println!("{}", p.explain(&event)); // which field failed, and why, per $or branch
//!
//! let mut m = Machine::new();
//! m.add("on-success", &p);
//! m.add("on-any", &Pattern::parse(r#"{"source": ["aws.states"]}"#)?);
//! assert_eq!(m.matches(&event), ["on-any"]);
//! assert!(m.remove("on-any"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`Pattern::parse`] validates like EventBridge: what it rejects is a [`PatternError`]
//!   naming the problem and its JSON path (e.g. `detail.state[0].numeric`).
//! - [`Pattern::matches`] / [`Pattern::matches_json`] answer for one event;
//!   [`Pattern::explain`] also says why not.
//! - [`Pattern::combinations`] and [`Pattern::len`] measure a pattern as EventBridge limits
//!   it ([`MAX_COMBINATIONS`], [`DEFAULT_MAX_LENGTH`]); [`Pattern::check_size`] enforces both.
//! - [`Machine`] holds many named patterns and returns all that match an event, at a cost
//!   that does not grow with their number.
//!
//! Events are read lazily: only the fields some pattern refers to are decoded, the rest is
//! skipped over, and reading stops once everything referenced has been seen (see `event`).

mod cidr;
mod compile;
mod event;
mod explain;
mod glob;
mod json;
mod machine;
mod matcher;
mod number;
mod parse;
mod paths;
mod size;

pub use compile::Pattern;
pub use event::{Event, EventError};
pub use explain::{BranchReport, Explanation, FieldFailure};
pub use json::SyntaxError;
pub use machine::Machine;
pub(crate) use parse::RESERVED_IN_OR;
pub use parse::{MAX_EXPANDED_COMBINATIONS, PatternError};
pub use size::{DEFAULT_MAX_LENGTH, MAX_COMBINATIONS, SizeError};
