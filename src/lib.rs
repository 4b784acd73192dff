//! dpc: event-driven, cross-account data pipeline orchestration on AWS.
//!
//! Layers run one way: `pipeline` (pipeline.yaml → raw → validate → model) → `compile`
//! (artifacts) → `deploy` / `manager` / `scenario`. The pure core touches no file system,
//! network, process or clock; the edges (`cli`, `aws`, the SQLite store, loading files) do, and
//! pass what they read in. Clippy enforces it (see `clippy.toml` and README's Development).

#![deny(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

// Edges are marked where they are declared: the only modules allowed to print, or to touch
// files, processes or the clock.
pub mod asl;
#[allow(clippy::disallowed_methods)]
pub mod aws;
#[allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]
pub mod cli;
pub mod compile;
pub mod cron;
pub mod deploy;
pub mod diag;
pub mod events;
#[allow(clippy::print_stdout, clippy::disallowed_methods)]
pub mod lambda;
pub mod lineage;
pub mod local;
pub mod manager;
pub mod notify;
pub mod pattern;
pub mod pipeline;
#[allow(clippy::disallowed_methods)]
pub mod scaffold;
pub mod scenario;
