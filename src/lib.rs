//! dpc: event-driven, cross-account data pipeline orchestration on AWS.
//!
//! The library holds the pure core (parsing, validation, compilation, pattern matching,
//! trigger decisions) and the edges (CLI, AWS, store) that do I/O around it.

pub mod aws;
pub mod cli;
pub mod codes;
pub mod compile;
pub mod cron;
pub mod deploy;
pub mod diagnostic;
pub mod events;
pub mod manager;
pub mod model;
pub mod pattern;
pub mod project;
pub mod raw;
pub mod report;
pub mod scaffold;
pub mod scenario;
pub mod schema;
pub mod source;
pub mod tree;
pub mod validate;
pub mod yaml;
