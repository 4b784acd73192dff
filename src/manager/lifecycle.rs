//! Lifecycle and audit: per dependent a phase WAITING → TRIGGERED → RUNNING →
//! COMPLETED | ERROR, per leaf WAITING | ARRIVED with the run that satisfied it, and a history
//! entry for every transition with its cause.

use serde::{Deserialize, Serialize};

use super::runlog::Run;
use super::store::Millis;
use super::window::Bound;
use crate::pipeline::model::Status;

/// Where a dependent is in its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    Waiting,
    Triggered,
    Running,
    Completed,
    Error,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Waiting => "WAITING",
            Phase::Triggered => "TRIGGERED",
            Phase::Running => "RUNNING",
            Phase::Completed => "COMPLETED",
            Phase::Error => "ERROR",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        [
            Phase::Waiting,
            Phase::Triggered,
            Phase::Running,
            Phase::Completed,
            Phase::Error,
        ]
        .into_iter()
        .find(|p| p.as_str().eq_ignore_ascii_case(text))
    }

    /// The phase a run of the pipeline itself in `status` puts it in.
    pub fn of_own_run(status: &str) -> Phase {
        match Status::parse(status) {
            Some(Status::Running) => Phase::Running,
            Some(Status::Succeeded) => Phase::Completed,
            _ => Phase::Error,
        }
    }
}

/// The run (or refresh) that satisfied a leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRef {
    pub id: String,
    pub status: String,
    pub time: Millis,
}

impl From<&Run> for RunRef {
    fn from(run: &Run) -> Self {
        RunRef {
            id: run.id.clone(),
            status: run.status.clone(),
            time: run.time,
        }
    }
}

/// One leaf's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafState {
    /// `listings` or `domain/name`.
    pub label: String,
    /// `Some`: ARRIVED, with the run that satisfied it; `None`: WAITING.
    pub arrived: Option<RunRef>,
}

/// A dependent's stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependentState {
    pub phase: Phase,
    pub leaves: Vec<LeafState>,
    /// Results at or before this no longer count (set when the dependent triggers).
    pub reset: Option<Bound>,
    pub last_trigger_id: Option<String>,
    pub last_trigger_at: Option<Millis>,
    /// The leaves as they stood when the last trigger fired (what it was fired by).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<LeafState>,
    pub updated_at: Millis,
}

impl DependentState {
    pub fn new(now: Millis) -> DependentState {
        DependentState {
            phase: Phase::Waiting,
            leaves: Vec::new(),
            reset: None,
            last_trigger_id: None,
            last_trigger_at: None,
            fired: Vec::new(),
            updated_at: now,
        }
    }
}

/// One audited transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub pipeline: String,
    pub at: Millis,
    /// `PHASE`, `LEAF`, `TRIGGER`, `LATE`, `SLA`, `REGISTERED`, `DEREGISTERED`.
    pub kind: String,
    /// `WAITING -> TRIGGERED`, `listings: WAITING -> ARRIVED`, …
    pub change: String,
    /// The event, run or trigger that caused it.
    pub cause: String,
}

impl HistoryEntry {
    pub fn new(
        pipeline: &str,
        at: Millis,
        kind: &str,
        change: impl Into<String>,
        cause: impl Into<String>,
    ) -> Self {
        HistoryEntry {
            pipeline: pipeline.to_string(),
            at,
            kind: kind.to_string(),
            change: change.into(),
            cause: cause.into(),
        }
    }
}

/// History entries for the leaves whose state changed (WAITING ⇄ ARRIVED).
pub fn leaf_changes(
    pipeline: &str,
    at: Millis,
    before: &[LeafState],
    after: &[LeafState],
    cause: &str,
) -> Vec<HistoryEntry> {
    let mut out = Vec::new();
    for leaf in after {
        let old = before.iter().find(|l| l.label == leaf.label);
        let was = old.and_then(|l| l.arrived.as_ref());
        if was.map(|r| &r.id) == leaf.arrived.as_ref().map(|r| &r.id) {
            continue;
        }
        let change = match &leaf.arrived {
            Some(run) => format!("{}: ARRIVED ({} {})", leaf.label, run.status, run.id),
            None => format!("{}: WAITING", leaf.label),
        };
        out.push(HistoryEntry::new(pipeline, at, "LEAF", change, cause));
    }
    out
}
