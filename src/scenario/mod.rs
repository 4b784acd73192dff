//! Trigger scenarios (`*.scenario.yaml`, run by `dpc test`): a timeline of upstream events in
//! virtual time and the triggers and states expected, checked against the real registry,
//! compiler, pattern engine and manager.
//!
//! This module reads a scenario file into [`Scenario`]; every error names the file, line and
//! column. [`run`] plays it.

pub mod auto;
pub mod parse;
pub mod run;

use std::path::PathBuf;

use crate::manager::store::Millis;

/// A parsed scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub file: PathBuf,
    pub name: String,
    /// Project paths (resolved against the scenario's directory).
    pub pipelines: Vec<PathBuf>,
    pub start: Millis,
    /// End of virtual time (default: 24 h after the start or 1 h after the last time named).
    pub until: Millis,
    pub auto_run: Option<AutoRun>,
    pub events: Vec<ScriptedEvent>,
    pub expect: Vec<Expectation>,
}

/// Triggered and scheduled pipelines run by themselves and end so.
#[derive(Debug, Clone)]
pub struct AutoRun {
    pub status: String,
    pub after_ms: Millis,
    /// Per pipeline name: another final status.
    pub overrides: Vec<(String, String)>,
}

impl AutoRun {
    pub fn status_of(&self, pipeline: &str) -> &str {
        self.overrides
            .iter()
            .find(|(name, _)| name == pipeline)
            .map_or(self.status.as_str(), |(_, s)| s.as_str())
    }
}

/// One scripted delivery (repeated `repeat` times: duplicates of the same event).
#[derive(Debug, Clone)]
pub struct ScriptedEvent {
    pub at: Millis,
    pub repeat: u32,
    pub what: Scripted,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum Scripted {
    Execution(ExecutionSpec),
    DataProduct(ProductSpec),
}

#[derive(Debug, Clone)]
pub struct ExecutionSpec {
    pub pipeline: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub status: String,
    /// Links the events of one execution (default: `<pipeline>-<date>`).
    pub id: Option<String>,
    /// SCHEDULED (default), TRIGGERED, RERUN or MANUAL.
    pub run_type: String,
    pub redrive: u32,
    /// The execution's own times (default: when its RUNNING was delivered / `at`).
    pub started: Option<Millis>,
    pub stopped: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct ProductSpec {
    pub domain: String,
    pub name: String,
    pub account: Option<String>,
    pub refreshed_at: Option<Millis>,
}

/// Which pipeline an expectation is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub pipeline: String,
    pub account: Option<String>,
    pub region: Option<String>,
}

impl TargetSpec {
    pub fn matches(&self, account: &str, region: &str, pipeline: &str) -> bool {
        self.pipeline == pipeline
            && self.account.as_deref().is_none_or(|a| a == account)
            && self.region.as_deref().is_none_or(|r| r == region)
    }

    pub fn describe(&self) -> String {
        match &self.account {
            Some(a) => format!("{} ({a})", self.pipeline),
            None => self.pipeline.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expectation {
    pub line: usize,
    pub at: Option<Millis>,
    pub what: Expect,
}

#[derive(Debug, Clone)]
pub enum Expect {
    /// Triggered `count` times (default: at least once), at `at` when given.
    Triggered {
        target: TargetSpec,
        count: Option<u32>,
    },
    NotTriggered(TargetSpec),
    /// The dependency state at `at` (default: the end).
    State {
        target: TargetSpec,
        phase: Option<String>,
        arrived: Option<Vec<String>>,
        waiting: Option<Vec<String>>,
    },
}
