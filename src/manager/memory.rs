//! An in-memory [`Store`] for tests and `dpc test`: maps with the same indexes as the SQLite
//! schema. A transaction works on a copy and replaces the data only when it succeeds.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::lifecycle::{DependentState, HistoryEntry};
use super::registry::Registration;
use super::runlog::Run;
use super::store::{Millis, OutboxItem, OutboxKind, Store, StoreError, TriggerRecord, Tx};

#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Data,
}

#[derive(Debug, Clone, Default)]
struct Data {
    registrations: BTreeMap<String, Registration>,
    /// upstream key → dependents.
    index: BTreeMap<String, BTreeSet<String>>,
    event_ids: HashSet<String>,
    facts: HashSet<String>,
    /// upstream key → run id → run.
    runs: BTreeMap<String, BTreeMap<String, Run>>,
    states: BTreeMap<String, DependentState>,
    history: Vec<HistoryEntry>,
    triggers: BTreeMap<String, TriggerRecord>,
    outbox: BTreeMap<i64, OutboxItem>,
    next_seq: i64,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn transaction<R>(
        &mut self,
        mut f: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut copy = self.data.clone();
        let result = f(&mut copy)?;
        self.data = copy;
        Ok(result)
    }
}

impl Tx for Data {
    fn registration(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        Ok(self.registrations.get(id).cloned())
    }

    fn put_registration(&mut self, reg: &Registration) -> Result<(), StoreError> {
        let key = reg.key();
        self.delete_registration(&key)?;
        for leaf in &reg.leaves {
            self.index
                .entry(leaf.upstream.key())
                .or_default()
                .insert(key.clone());
        }
        self.registrations.insert(key, reg.clone());
        Ok(())
    }

    fn delete_registration(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(old) = self.registrations.remove(id) else {
            return Ok(false);
        };
        for leaf in &old.leaves {
            if let Some(set) = self.index.get_mut(&leaf.upstream.key()) {
                set.remove(id);
            }
        }
        Ok(true)
    }

    fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        Ok(self.registrations.values().cloned().collect())
    }

    fn dependents(&self, upstream: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .index
            .get(upstream)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default())
    }

    fn claim_event_id(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self.event_ids.insert(id.to_string()))
    }

    fn claim_fact(&mut self, key: &str) -> Result<bool, StoreError> {
        Ok(self.facts.insert(key.to_string()))
    }

    fn run(&self, upstream: &str, id: &str) -> Result<Option<Run>, StoreError> {
        Ok(self.runs.get(upstream).and_then(|m| m.get(id)).cloned())
    }

    fn put_run(&mut self, run: &Run) -> Result<(), StoreError> {
        self.runs
            .entry(run.upstream.clone())
            .or_default()
            .insert(run.id.clone(), run.clone());
        Ok(())
    }

    fn latest_run(
        &self,
        upstream: &str,
        since: Option<(Millis, bool)>,
        include_manual: bool,
    ) -> Result<Option<Run>, StoreError> {
        let Some(runs) = self.runs.get(upstream) else {
            return Ok(None);
        };
        let counted = runs.values().filter(|r| r.counts(since, include_manual));
        Ok(super::runlog::latest(counted).cloned())
    }

    fn state(&self, id: &str) -> Result<Option<DependentState>, StoreError> {
        Ok(self.states.get(id).cloned())
    }

    fn put_state(&mut self, id: &str, state: &DependentState) -> Result<(), StoreError> {
        self.states.insert(id.to_string(), state.clone());
        Ok(())
    }

    fn add_history(&mut self, entry: &HistoryEntry) -> Result<(), StoreError> {
        self.history.push(entry.clone());
        Ok(())
    }

    fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self
            .history
            .iter()
            .filter(|h| h.pipeline == id)
            .cloned()
            .collect())
    }

    fn insert_trigger(&mut self, record: &TriggerRecord) -> Result<bool, StoreError> {
        if self.triggers.contains_key(&record.trigger_id) {
            return Ok(false);
        }
        self.triggers
            .insert(record.trigger_id.clone(), record.clone());
        Ok(true)
    }

    fn triggers(&self) -> Result<Vec<TriggerRecord>, StoreError> {
        let mut all: Vec<TriggerRecord> = self.triggers.values().cloned().collect();
        all.sort_by(|a, b| (a.at, &a.trigger_id).cmp(&(b.at, &b.trigger_id)));
        Ok(all)
    }

    fn push_outbox(&mut self, id: &str, kind: OutboxKind, body: &str) -> Result<(), StoreError> {
        self.next_seq += 1;
        let item = OutboxItem {
            seq: self.next_seq,
            id: id.to_string(),
            kind,
            body: body.to_string(),
        };
        self.outbox.insert(item.seq, item);
        Ok(())
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self.outbox.values().cloned().collect())
    }

    fn remove_outbox(&mut self, seq: i64) -> Result<(), StoreError> {
        self.outbox.remove(&seq);
        Ok(())
    }
}
