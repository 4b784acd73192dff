//! The trigger manager: records upstream facts once, evaluates the
//! dependents of what changed, and emits exactly one trigger per satisfied window.
//!
//! The manager is pure decision logic over a [`Store`]: no clock (every entry point takes
//! `now`), no network. Each event is handled in one store transaction, so its effects — run
//! log, dependency states, history, trigger records and the outbox of events to send — are
//! committed together or not at all. The same code runs in `dpc test` (virtual time, memory
//! or SQLite) and `dpc status`; it is written to run unchanged behind other stores.
//!
//! Modules: [`registry`] (what is registered, and the upstream → dependents index),
//! [`runlog`] (facts and de-duplication), [`window`] (which results count), [`decision`]
//! (the candidate trigger tested by the compiled pattern), [`lifecycle`] (phases, leaves and
//! history), [`sla`] (SLA deadlines and alerts), [`whatif`] (who would follow a success),
//! [`store`] (the interface) with [`memory`], [`sqlite`] and [`dynamo`]
//! implementations.

pub mod decision;
#[allow(clippy::disallowed_methods)] // an edge: the network and the clock (expiry)
pub mod dynamo;
pub mod lifecycle;
pub mod memory;
pub mod registry;
pub mod runlog;
pub mod sla;
pub mod sqlite;
pub mod store;
pub mod time;
pub mod whatif;
pub mod window;

#[cfg(test)]
pub(crate) mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::events::{
    self, DataProductRefresh, Envelope, ExecutionStatusChange, Producer, RefreshEvent,
    StatusChangeEvent, TriggerEvent,
};
use decision::Prepared;
use lifecycle::{DependentState, HistoryEntry, LeafState, Phase, leaf_changes};
use registry::{PipelineId, Registration};
use runlog::{Observation, Run};
use store::{Millis, OutboxItem, OutboxKind, Store, StoreError, TriggerRecord, Tx};
use time::{format_time, parse_time};
use window::Bound;

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Disposition {
    /// A new fact, recorded and evaluated.
    Recorded,
    /// Seen before (same event id, or same execution, status and redrive attempt).
    Duplicate,
    /// Older than what is known of the execution (a status never moves backwards).
    Stale,
    /// Not a fact the manager tracks (foreign state machine, malformed).
    Ignored(String),
}

/// The effects of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub disposition: Disposition,
    /// Triggers decided (also in the outbox).
    pub triggers: Vec<TriggerEvent>,
    /// Refresh events of published data products (also in the outbox).
    pub refreshes: Vec<RefreshEvent>,
    /// Dependents for which the event came outside the window (recorded as LATE).
    pub late: Vec<String>,
}

impl Outcome {
    fn of(disposition: Disposition) -> Outcome {
        Outcome {
            disposition,
            triggers: Vec::new(),
            refreshes: Vec::new(),
            late: Vec::new(),
        }
    }
}

/// A pipeline's state as `dpc status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStatus {
    pub pipeline: PipelineId,
    pub phase: Phase,
    pub leaves: Vec<LeafState>,
    pub last_trigger_id: Option<String>,
    pub last_trigger_at: Option<String>,
    /// The leaves that fired the last trigger, with their runs.
    pub fired: Vec<LeafState>,
}

/// The trigger manager over a store.
pub struct Manager<S: Store> {
    store: S,
    /// Compiled patterns and parsed periods, by registry key (a cache: always checked
    /// against the stored registration, which is the truth).
    prepared: HashMap<String, Arc<Prepared>>,
}

impl<S: Store> Manager<S> {
    pub fn new(store: S) -> Self {
        Manager {
            store,
            prepared: HashMap::new(),
        }
    }

    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Registers or updates a pipeline. An update keeps the dependency state.
    pub fn register(&mut self, reg: &Registration, now: Millis) -> Result<(), StoreError> {
        Prepared::new(reg.clone())?;
        self.prepared.remove(&reg.key());
        self.store.transaction(|tx| {
            let key = reg.key();
            let kind = match tx.registration(&key)? {
                Some(old) if &old == reg => return Ok(()),
                Some(_) => "UPDATED",
                None => "REGISTERED",
            };
            tx.put_registration(reg)?;
            if tx.state(&key)?.is_none() {
                tx.put_state(&key, &DependentState::new(now))?;
            }
            tx.add_history(&HistoryEntry::new(&key, now, kind, kind, "registry"))
        })
    }

    /// Deregisters a pipeline (its history stays); false when it was not registered.
    pub fn deregister(&mut self, id: &PipelineId, now: Millis) -> Result<bool, StoreError> {
        let key = id.key();
        self.prepared.remove(&key);
        self.store.transaction(|tx| {
            let removed = tx.delete_registration(&key)?;
            if removed {
                let entry =
                    HistoryEntry::new(&key, now, "DEREGISTERED", "DEREGISTERED", "registry");
                tx.add_history(&entry)?;
            }
            Ok(removed)
        })
    }

    /// Handles an upstream status change.
    pub fn handle_status(
        &mut self,
        event: &StatusChangeEvent,
        now: Millis,
    ) -> Result<Outcome, StoreError> {
        let time = event.time.as_deref().and_then(parse_time).unwrap_or(now);
        match runlog::observe_status(event.id.as_deref(), &event.detail, time) {
            Ok(obs) => self.process(&obs, now),
            Err(why) => Ok(Outcome::of(Disposition::Ignored(why.to_string()))),
        }
    }

    /// Handles a data product refresh.
    pub fn handle_refresh(
        &mut self,
        event: &RefreshEvent,
        now: Millis,
    ) -> Result<Outcome, StoreError> {
        match runlog::observe_refresh(event.id.as_deref(), &event.detail) {
            Ok(obs) => self.process(&obs, now),
            Err(why) => Ok(Outcome::of(Disposition::Ignored(why.to_string()))),
        }
    }

    /// The reconciler's entry point: executions observed by polling go through the same
    /// de-duplicated path (what was already seen is a duplicate; what was missed is recorded).
    pub fn reconcile(
        &mut self,
        executions: &[ExecutionStatusChange],
        now: Millis,
    ) -> Result<Vec<Outcome>, StoreError> {
        executions
            .iter()
            .map(|detail| match runlog::observe_status(None, detail, now) {
                Ok(obs) => self.process(&obs, now),
                Err(why) => Ok(Outcome::of(Disposition::Ignored(why.to_string()))),
            })
            .collect()
    }

    /// Events waiting to be sent, oldest first.
    pub fn outbox(&mut self) -> Result<Vec<OutboxItem>, StoreError> {
        self.store.transaction(|tx| tx.outbox())
    }

    /// Marks an outbox event as sent.
    pub fn sent(&mut self, seq: i64) -> Result<(), StoreError> {
        self.store.transaction(|tx| tx.remove_outbox(seq))
    }

    /// Every trigger decided so far.
    pub fn triggers(&mut self) -> Result<Vec<TriggerRecord>, StoreError> {
        self.store.transaction(|tx| tx.triggers())
    }

    /// The audit history of one pipeline, oldest first.
    pub fn history(&mut self, id: &PipelineId) -> Result<Vec<HistoryEntry>, StoreError> {
        self.store.transaction(|tx| tx.history(&id.key()))
    }

    /// Every registered pipeline with its phase and its leaves as of `now`.
    pub fn status(&mut self, now: Millis) -> Result<Vec<PipelineStatus>, StoreError> {
        let Manager { store, prepared } = self;
        store.transaction(|tx| {
            let mut out = Vec::new();
            for reg in tx.registrations()? {
                let p = prepare(prepared, reg)?;
                out.push(status_of(tx, &p, now)?);
            }
            Ok(out)
        })
    }

    /// The SLA alerts due at `now` of every registered pipeline with an SLA, each at most
    /// once per pipeline and SLA day (the central reconciler's tick). One transaction per
    /// pipeline, so a store's transaction size limits never depend on how many are late.
    pub fn check_slas(&mut self, now: Millis) -> Result<Vec<sla::SlaAlert>, StoreError> {
        let ids: Vec<PipelineId> = self
            .registrations()?
            .into_iter()
            .filter(|r| r.sla.is_some())
            .map(|r| r.id)
            .collect();
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.check_sla(&id, now)?);
        }
        Ok(out)
    }

    /// The SLA alert of one pipeline due at `now`, at most once per SLA day (`dpc local run`
    /// at the pipeline's deadline).
    pub fn check_sla(
        &mut self,
        id: &PipelineId,
        now: Millis,
    ) -> Result<Option<sla::SlaAlert>, StoreError> {
        let Manager { store, prepared } = self;
        store.transaction(|tx| match tx.registration(&id.key())? {
            Some(reg) => sla::check(tx, &*prepare(prepared, reg)?, now),
            None => Ok(None),
        })
    }

    /// What would follow if `origin` happened at `now` (see [`whatif`]); nothing is stored.
    pub fn what_if(
        &mut self,
        origin: &whatif::Origin,
        now: Millis,
    ) -> Result<whatif::Plan, StoreError> {
        let Manager { store, prepared } = self;
        store.transaction(|tx| whatif::plan(&*tx, prepared, origin, now))
    }

    /// The time of the latest thing the store knows of: a history entry or a registered
    /// pipeline's latest run (where `dpc local run` stopped, for `dpc rerun` to go on from).
    pub fn last_event_at(&mut self) -> Result<Option<Millis>, StoreError> {
        self.store.transaction(|tx| {
            let mut last = None;
            for reg in tx.registrations()? {
                let history = tx.history(&reg.key())?;
                let run = tx.latest_run(&reg.id.upstream_key(), None, true)?;
                let times = history.iter().map(|h| h.at).chain(run.map(|r| r.time));
                last = times.chain(last).max();
            }
            Ok(last)
        })
    }

    /// All registrations.
    pub fn registrations(&mut self) -> Result<Vec<Registration>, StoreError> {
        self.store.transaction(|tx| tx.registrations())
    }

    fn process(&mut self, obs: &Observation, now: Millis) -> Result<Outcome, StoreError> {
        let Manager { store, prepared } = self;
        store.transaction(|tx| process_in(tx, prepared, obs, now))
    }
}

/// The cached preparation of `reg`, rebuilt when the registration changed.
fn prepare(
    cache: &mut HashMap<String, Arc<Prepared>>,
    reg: Registration,
) -> Result<Arc<Prepared>, StoreError> {
    let key = reg.key();
    if let Some(p) = cache.get(&key).filter(|p| p.reg == reg) {
        return Ok(Arc::clone(p));
    }
    let p = Arc::new(Prepared::new(reg)?);
    cache.insert(key, Arc::clone(&p));
    Ok(p)
}

fn status_of(tx: &dyn Tx, p: &Prepared, now: Millis) -> Result<PipelineStatus, StoreError> {
    let state = tx
        .state(&p.reg.key())?
        .unwrap_or_else(|| DependentState::new(now));
    let view = window::view(&p.reg, &p.periods, state.reset, now);
    let results = decision::gather(tx, p, view.bound)?;
    Ok(PipelineStatus {
        pipeline: p.reg.id.clone(),
        phase: state.phase,
        leaves: decision::leaf_states(&p.reg, &results),
        last_trigger_id: state.last_trigger_id,
        last_trigger_at: state.last_trigger_at.map(format_time),
        fired: state.fired,
    })
}

/// One event, inside its transaction.
fn process_in(
    tx: &mut dyn Tx,
    cache: &mut HashMap<String, Arc<Prepared>>,
    obs: &Observation,
    now: Millis,
) -> Result<Outcome, StoreError> {
    if let Some(id) = &obs.event_id
        && !tx.claim_event_id(id)?
    {
        return Ok(Outcome::of(Disposition::Duplicate));
    }
    if !tx.claim_fact(&obs.fact)? {
        return Ok(Outcome::of(Disposition::Duplicate));
    }
    if let Some(known) = tx.run(&obs.run.upstream, &obs.run.id)?
        && obs.run.progress() <= known.progress()
    {
        return Ok(Outcome::of(Disposition::Stale));
    }
    tx.put_run(&obs.run)?;
    for key in &obs.also {
        tx.put_run(&Run {
            upstream: key.clone(),
            ..obs.run.clone()
        })?;
    }
    let mut out = Outcome::of(Disposition::Recorded);
    if let Some(pipeline) = &obs.pipeline {
        own_run(tx, pipeline, &obs.run, now, &mut out)?;
    }
    for dependent in tx.dependents(&obs.run.upstream)? {
        let Some(reg) = tx.registration(&dependent)? else {
            continue;
        };
        let p = prepare(cache, reg)?;
        evaluate(tx, &p, &obs.run, now, &mut out)?;
    }
    Ok(out)
}

/// A run of a registered pipeline moves its own lifecycle, and a SUCCEEDED run publishes
/// its data products.
fn own_run(
    tx: &mut dyn Tx,
    id: &PipelineId,
    run: &Run,
    now: Millis,
    out: &mut Outcome,
) -> Result<(), StoreError> {
    let key = id.key();
    let Some(reg) = tx.registration(&key)? else {
        return Ok(());
    };
    let mut state = tx.state(&key)?.unwrap_or_else(|| DependentState::new(now));
    let phase = Phase::of_own_run(&run.status);
    if phase != state.phase {
        let change = format!("{} -> {}", state.phase.as_str(), phase.as_str());
        tx.add_history(&HistoryEntry::new(
            &key,
            now,
            "PHASE",
            change,
            cause_of(run),
        ))?;
        state.phase = phase;
        state.updated_at = now;
        tx.put_state(&key, &state)?;
    }
    if run.status == crate::pipeline::model::Status::Succeeded.as_str() {
        for (domain, name) in &reg.publishes {
            let event = refresh_event(&reg, run, domain, name);
            let id = event.id.clone().unwrap_or_default();
            tx.push_outbox(&id, OutboxKind::Refresh, &serde_json::to_string(&event)?)?;
            out.refreshes.push(event);
        }
    }
    Ok(())
}

fn cause_of(run: &Run) -> String {
    format!("{} {} ({})", run.status, run.id, run.run_type.as_str())
}

/// The refresh event a SUCCEEDED run emits for one published product; its id is derived
/// from the run, so emitting it again is de-duplicated by the receiver.
fn refresh_event(reg: &Registration, run: &Run, domain: &str, name: &str) -> RefreshEvent {
    let mut hasher = Sha256::new();
    hasher.update(format!("{}\n{domain}\n{name}", run.id).as_bytes());
    let id: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Envelope {
        id: Some(format!("refresh-{id}")),
        source: events::REFRESH_SOURCE.into(),
        detail_type: events::REFRESH_DETAIL_TYPE.into(),
        account: reg.id.account.clone(),
        region: reg.id.region.clone(),
        time: Some(format_time(run.time)),
        resources: Vec::new(),
        detail: DataProductRefresh {
            domain: domain.into(),
            name: name.into(),
            account: reg.id.account.clone(),
            refreshed_at: format_time(run.time),
            producer: Some(Producer {
                pipeline: reg.id.name.clone(),
                execution_arn: run.id.clone(),
            }),
            attributes: None,
        },
    }
}

/// Evaluates one dependent after `changed` was recorded.
fn evaluate(
    tx: &mut dyn Tx,
    p: &Prepared,
    changed: &Run,
    now: Millis,
    out: &mut Outcome,
) -> Result<(), StoreError> {
    let key = p.reg.key();
    let Some(pattern) = &p.pattern else {
        return Ok(());
    };
    let mut state = tx.state(&key)?.unwrap_or_else(|| DependentState::new(now));
    let view = window::view(&p.reg, &p.periods, state.reset, now);
    if view.bound.is_some_and(|b| !b.counts(changed.time)) {
        let entry = HistoryEntry::new(
            &key,
            now,
            "LATE",
            "LATE: outside the window",
            cause_of(changed),
        );
        out.late.push(key);
        return tx.add_history(&entry);
    }
    let results = decision::gather(tx, p, view.bound)?;
    let leaves = decision::leaf_states(&p.reg, &results);
    let cause = cause_of(changed);
    for entry in leaf_changes(&key, now, &state.leaves, &leaves, &cause) {
        tx.add_history(&entry)?;
    }
    state.leaves = leaves;
    let fired_this_period = view
        .period_start
        .zip(state.last_trigger_at)
        .is_some_and(|(start, last)| last >= start);
    let arrived = decision::arrived(&p.reg, &results);
    let event = decision::trigger_event(&p.reg, &arrived, now);
    if !fired_this_period && !arrived.is_empty() && decision::matches(pattern, &event)? {
        let reset = arrived
            .iter()
            .map(|(_, r)| r.time)
            .max()
            .unwrap_or(now)
            .max(now);
        if fire(tx, &key, &mut state, &event, now, reset)? {
            out.triggers.push(event);
            return Ok(());
        }
    }
    let any_arrived = state.leaves.iter().any(|l| l.arrived.is_some());
    if any_arrived && matches!(state.phase, Phase::Completed | Phase::Error) {
        let change = format!("{} -> WAITING", state.phase.as_str());
        tx.add_history(&HistoryEntry::new(&key, now, "PHASE", change, &cause))?;
        state.phase = Phase::Waiting;
    }
    state.updated_at = now;
    tx.put_state(&key, &state)
}

/// Records a trigger together with the reset of every leaf; false when this trigger id was
/// recorded before (which would be a double trigger).
fn fire(
    tx: &mut dyn Tx,
    key: &str,
    state: &mut DependentState,
    event: &TriggerEvent,
    now: Millis,
    reset: Millis,
) -> Result<bool, StoreError> {
    let id = &event.detail.trigger_id;
    let record = TriggerRecord {
        trigger_id: id.clone(),
        pipeline: key.to_string(),
        at: now,
    };
    if !tx.insert_trigger(&record)? {
        return Ok(false);
    }
    tx.push_outbox(id, OutboxKind::Trigger, &serde_json::to_string(event)?)?;
    let change = format!("{} -> TRIGGERED", state.phase.as_str());
    tx.add_history(&HistoryEntry::new(
        key,
        now,
        "TRIGGER",
        change,
        format!("trigger {id}"),
    ))?;
    for leaf in &state.leaves {
        if leaf.arrived.is_some() {
            let change = format!("{}: WAITING (reset)", leaf.label);
            tx.add_history(&HistoryEntry::new(
                key,
                now,
                "LEAF",
                change,
                format!("trigger {id}"),
            ))?;
        }
    }
    state.phase = Phase::Triggered;
    state.fired = state.leaves.clone();
    state.leaves.iter_mut().for_each(|l| l.arrived = None);
    state.reset = Some(Bound {
        at: reset,
        strict: true,
    });
    state.last_trigger_id = Some(id.clone());
    state.last_trigger_at = Some(now);
    state.updated_at = now;
    tx.put_state(key, state)?;
    Ok(true)
}
