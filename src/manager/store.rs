//! The storage interface of the trigger manager. Every event is processed inside one
//! [`Store::transaction`]: what the closure writes is committed together or not at all, which
//! is what makes the manager crash safe (a killed process leaves either the whole effect of an
//! event, including its triggers in the outbox, or none of it; redelivery then de-duplicates).
//!
//! Implementations: [`super::memory::MemoryStore`] (tests), [`super::sqlite::SqliteStore`]
//! (the embedded store) and [`super::dynamo::DynamoStore`] (the central account's table).

use serde::{Deserialize, Serialize};

use super::lifecycle::{DependentState, HistoryEntry};
use super::registry::Registration;
use super::runlog::Run;

/// Milliseconds since the Unix epoch; the manager's only notion of time.
pub type Millis = i64;

/// A storage failure (I/O, corruption, serialisation).
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(format!("serialisation: {e}"))
    }
}

/// A trigger decision as recorded (one row per triggerId, never two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub trigger_id: String,
    pub pipeline: String,
    pub at: Millis,
}

/// An event waiting to be put on the bus: written in the same transaction as the decision
/// that produced it, removed once sent (at-least-once; ids are deterministic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Insertion order.
    pub seq: i64,
    /// The triggerId, the refresh event's id, or the SLA alert's key.
    pub id: String,
    pub kind: OutboxKind,
    /// The event as JSON.
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxKind {
    Trigger,
    Refresh,
    /// A missed SLA's alert.
    Sla,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Trigger => "trigger",
            OutboxKind::Refresh => "refresh",
            OutboxKind::Sla => "sla",
        }
    }

    pub fn parse(text: &str) -> Option<OutboxKind> {
        match text {
            "trigger" => Some(OutboxKind::Trigger),
            "refresh" => Some(OutboxKind::Refresh),
            "sla" => Some(OutboxKind::Sla),
            _ => None,
        }
    }
}

/// The operations one transaction may perform.
pub trait Tx {
    // Registry.
    fn registration(&self, id: &str) -> Result<Option<Registration>, StoreError>;
    /// Inserts or replaces, re-indexing the registration's upstreams.
    fn put_registration(&mut self, reg: &Registration) -> Result<(), StoreError>;
    /// Removes the registration and its index rows; false when it was not registered.
    fn delete_registration(&mut self, id: &str) -> Result<bool, StoreError>;
    /// Every registration, ordered by id.
    fn registrations(&self) -> Result<Vec<Registration>, StoreError>;
    /// The ids of the registrations with a leaf on `upstream` (an index lookup), sorted.
    fn dependents(&self, upstream: &str) -> Result<Vec<String>, StoreError>;

    // De-duplication: each returns true when the key is new (and remembers it).
    fn claim_event_id(&mut self, id: &str) -> Result<bool, StoreError>;
    fn claim_fact(&mut self, key: &str) -> Result<bool, StoreError>;

    // Run log.
    fn run(&self, upstream: &str, id: &str) -> Result<Option<Run>, StoreError>;
    fn put_run(&mut self, run: &Run) -> Result<(), StoreError>;
    /// The latest run of `upstream` (by start time, then id) whose result time is at or after
    /// `since` (strictly after when `strict`), counting manual runs only when asked.
    fn latest_run(
        &self,
        upstream: &str,
        since: Option<(Millis, bool)>,
        include_manual: bool,
    ) -> Result<Option<Run>, StoreError>;

    // Dependency state and audit.
    fn state(&self, id: &str) -> Result<Option<DependentState>, StoreError>;
    fn put_state(&mut self, id: &str, state: &DependentState) -> Result<(), StoreError>;
    fn add_history(&mut self, entry: &HistoryEntry) -> Result<(), StoreError>;
    fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, StoreError>;

    // Triggers and the outbox.
    /// Records a trigger; false (and nothing written) when its id was recorded before.
    fn insert_trigger(&mut self, record: &TriggerRecord) -> Result<bool, StoreError>;
    fn triggers(&self) -> Result<Vec<TriggerRecord>, StoreError>;
    fn push_outbox(&mut self, id: &str, kind: OutboxKind, body: &str) -> Result<(), StoreError>;
    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError>;
    fn remove_outbox(&mut self, seq: i64) -> Result<(), StoreError>;
}

/// A store: runs closures as transactions.
pub trait Store {
    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    /// A store with optimistic concurrency may run `f` again from scratch after a conflict,
    /// so `f` must not have effects outside the transaction that a second run would repeat.
    fn transaction<R>(
        &mut self,
        f: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError>;
}
