//! The decision: for one dependent, read the latest counting result of each leaf inside its
//! window, build the trigger event those results would make, and test it with the
//! dependent's compiled pattern through dpc's EventBridge-compatible engine. The event tested
//! is the event emitted, and EventBridge tests the same pattern on it in the consumer account,
//! so the manager and EventBridge can never disagree.
//!
//! The candidate event carries only the leaves that are ARRIVED (their latest result has one
//! of the leaf's statuses). Compiled trigger patterns only ever test that a status is one of
//! some values, so leaving out a result that satisfies no leaf cannot turn a match into a
//! miss; it keeps the trigger free of unrelated runs and its id independent of them.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::lifecycle::{LeafState, RunRef};
use super::registry::{Registration, Upstream};
use super::runlog::Run;
use super::store::{Millis, StoreError, Tx};
use super::time::format_time;
use super::window::{Bound, Periods};
use crate::events::{self, Envelope, ProductArrival, Target, Trigger, TriggerEvent, UpstreamRun};
use crate::pattern::{Event, Pattern};

/// A registration with what is derived from it once: its pattern compiled by the engine and
/// its periods parsed.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub reg: Registration,
    pub pattern: Option<Pattern>,
    pub periods: Periods,
}

impl Prepared {
    /// `Err` when the stored pattern does not parse (a registry written by another version).
    pub fn new(reg: Registration) -> Result<Prepared, StoreError> {
        let pattern = match &reg.pattern {
            Some(text) => Some(Pattern::parse(text).map_err(|e| {
                StoreError(format!("pattern of {} does not parse: {e}", reg.key()))
            })?),
            None => None,
        };
        let periods = Periods::of(&reg);
        Ok(Prepared {
            reg,
            pattern,
            periods,
        })
    }
}

/// Each leaf's latest counting result inside `bound`, in leaf order.
pub fn gather(
    tx: &dyn Tx,
    prepared: &Prepared,
    bound: Option<Bound>,
) -> Result<Vec<Option<Run>>, StoreError> {
    let include_manual = prepared.reg.propagate_manual;
    prepared
        .reg
        .leaves
        .iter()
        .map(|leaf| {
            tx.latest_run(
                &leaf.upstream.read_key(),
                Bound::as_pair(bound),
                include_manual,
            )
        })
        .collect()
}

/// WAITING or ARRIVED per leaf, from the gathered results.
pub fn leaf_states(reg: &Registration, results: &[Option<Run>]) -> Vec<LeafState> {
    reg.leaves
        .iter()
        .zip(results)
        .map(|(leaf, run)| LeafState {
            label: leaf.upstream.label(),
            arrived: run
                .as_ref()
                .filter(|r| leaf.statuses.contains(&r.status))
                .map(RunRef::from),
        })
        .collect()
}

/// The results that satisfy their leaf (what a trigger would carry).
pub fn arrived<'a>(
    reg: &'a Registration,
    results: &'a [Option<Run>],
) -> Vec<(&'a Upstream, &'a Run)> {
    reg.leaves
        .iter()
        .zip(results)
        .filter_map(|(leaf, run)| {
            let run = run.as_ref()?;
            leaf.statuses
                .contains(&run.status)
                .then_some((&leaf.upstream, run))
        })
        .collect()
}

/// The deterministic trigger id: a hash of the target and the runs that satisfy it, so the
/// same condition satisfied by the same runs always gives the same id (and redelivered or
/// re-processed events can be recognised downstream).
pub fn trigger_id(reg: &Registration, runs: &[(&Upstream, &Run)]) -> String {
    let mut facts: Vec<String> = runs
        .iter()
        .map(|(u, r)| format!("{}={}|{}|{}", u.key(), r.id, r.status, r.redrive))
        .collect();
    facts.sort();
    facts.dedup();
    let mut hasher = Sha256::new();
    hasher.update(reg.key().as_bytes());
    for f in &facts {
        hasher.update(b"\n");
        hasher.update(f.as_bytes());
    }
    let digest = hasher.finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The trigger event for `reg` carrying `runs`.
pub fn trigger_event(reg: &Registration, runs: &[(&Upstream, &Run)], now: Millis) -> TriggerEvent {
    let id = trigger_id(reg, runs);
    let mut upstreams: BTreeMap<String, BTreeMap<String, BTreeMap<String, UpstreamRun>>> =
        BTreeMap::new();
    let mut products: BTreeMap<String, BTreeMap<String, ProductArrival>> = BTreeMap::new();
    for (upstream, run) in runs {
        match upstream {
            Upstream::Execution(p) => {
                upstreams
                    .entry(p.account.clone())
                    .or_default()
                    .entry(p.region.clone())
                    .or_default()
                    .insert(
                        p.name.clone(),
                        UpstreamRun {
                            status: run.status.clone(),
                            execution_arn: run.id.clone(),
                            stop_date: run.stop_date,
                        },
                    );
            }
            Upstream::Product { domain, name, .. } => {
                products.entry(domain.clone()).or_default().insert(
                    name.clone(),
                    ProductArrival {
                        status: run.status.clone(),
                        refreshed_at: format_time(run.time),
                    },
                );
            }
        }
    }
    Envelope {
        id: Some(id.clone()),
        source: events::TRIGGER_SOURCE.into(),
        detail_type: events::TRIGGER_DETAIL_TYPE.into(),
        account: reg.central_account.clone(),
        region: reg.central_region.clone(),
        time: Some(format_time(now)),
        resources: Vec::new(),
        detail: Trigger {
            target: Target {
                account: reg.id.account.clone(),
                region: reg.id.region.clone(),
                pipeline: reg.id.name.clone(),
            },
            trigger_id: id,
            upstreams,
            data_products: products,
        },
    }
}

/// True when the compiled pattern matches `event`.
pub fn matches(pattern: &Pattern, event: &TriggerEvent) -> Result<bool, StoreError> {
    let text = serde_json::to_string(event)?;
    let event = Event::parse(text).map_err(|e| StoreError(format!("trigger event: {e}")))?;
    Ok(pattern.matches(&event))
}
