//! What-if: reads the store as it stands and produces the plan of what would follow if a
//! pipeline SUCCEEDED now (`dpc rerun`) or a data product were refreshed now (`dpc publish`):
//! which triggers fire, then, as each triggered pipeline succeeds in turn, which fire after
//! it, transitively. The decisions are the manager's own ([`super::process_in`]: registry of
//! dependents, windows, dependency states, compiled patterns), played on an [`Overlay`] that
//! reads through to the store and keeps every write to itself, so nothing is stored.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use super::decision::Prepared;
use super::lifecycle::{DependentState, HistoryEntry};
use super::registry::{PipelineId, Registration};
use super::runlog::{self, Observation, Run, execution_arn, state_machine_arn};
use super::store::{Millis, OutboxItem, OutboxKind, StoreError, TriggerRecord, Tx};
use super::time::format_time;
use super::window::{self, Periods};
use crate::events::{DataProductRefresh, ExecutionStatusChange};

/// A chain longer than this is not a plan but a loop (validate rejects cycles; a registry
/// written by hand might still hold one).
const MAX_FACTS: usize = 10_000;

/// What is supposed to happen now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A pipeline's run succeeds (started as RERUN).
    Success(PipelineId),
    /// A data product is refreshed by an external producer in `account`.
    Refresh {
        domain: String,
        name: String,
        account: String,
    },
}

/// Who would follow, and who would not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// In the order they would be triggered.
    pub follows: Vec<Follow>,
    /// Dependents of something that would succeed that would not be triggered.
    pub waiting: Vec<Waiting>,
}

/// A pipeline that would be triggered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Follow {
    pub pipeline: PipelineId,
    /// 1 for a direct dependent of the origin, 2 for theirs, …
    pub depth: usize,
    /// The leaves that would fire it (`listings SUCCEEDED`, `raw/RD1`).
    pub after: Vec<String>,
}

/// A dependent that would not be triggered, with what it still waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub pipeline: PipelineId,
    /// Leaves not satisfied, with the statuses they need (`searches FAILED|TIMED_OUT`).
    pub waits_for: Vec<String>,
    /// It has a schedule period and was triggered in the current one (at most one run each).
    pub ran_this_period: bool,
}

impl Plan {
    /// The plan for people, one line each (empty when nothing depends on the origin).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.follows {
            out.push(format!(
                "{}will follow: {} ({}) after {}",
                "  ".repeat(f.depth.saturating_sub(1)),
                f.pipeline.name,
                f.pipeline.account,
                f.after.join(", ")
            ));
        }
        for w in &self.waiting {
            let why = if w.ran_this_period {
                "it was triggered in this schedule period already (at most once a period)"
                    .to_string()
            } else if w.waits_for.is_empty() {
                "its condition does not hold".to_string()
            } else {
                format!("still waits for {}", w.waits_for.join(", "))
            };
            out.push(format!(
                "will not follow: {} ({}): {why}",
                w.pipeline.name, w.pipeline.account
            ));
        }
        out
    }
}

/// The plan for `origin` at `now`, decided inside `tx` without writing to it.
pub(super) fn plan(
    tx: &dyn Tx,
    cache: &mut std::collections::HashMap<String, Arc<Prepared>>,
    origin: &Origin,
    now: Millis,
) -> Result<Plan, StoreError> {
    let mut overlay = Overlay::new(tx);
    let first = match origin {
        Origin::Success(id) => success(id, "RERUN", None, 0, now)?,
        Origin::Refresh {
            domain,
            name,
            account,
        } => refresh(domain, name, account, now)?,
    };
    let mut queue = VecDeque::from([(first, 1usize)]);
    let mut follows = Vec::new();
    let mut succeeded: Vec<String> = Vec::new();
    let mut seq = 0usize;
    while let Some((obs, depth)) = queue.pop_front() {
        seq += 1;
        if seq > MAX_FACTS {
            return Err(StoreError(format!(
                "the plan does not end after {MAX_FACTS} runs: the registry holds a cycle"
            )));
        }
        // Each fact a millisecond after the previous: runs take time, and a reset at one
        // instant must not hide what happens after it.
        let at = now + i64::try_from(seq).unwrap_or(i64::MAX / 4);
        succeeded.push(obs.run.upstream.clone());
        let out = super::process_in(&mut overlay, cache, &obs, at)?;
        for t in &out.triggers {
            let target = &t.detail.target;
            let id = PipelineId {
                account: target.account.clone(),
                region: target.region.clone(),
                name: target.pipeline.clone(),
            };
            let mut after: Vec<String> = t
                .detail
                .upstreams
                .values()
                .flat_map(|r| r.values())
                .flat_map(|n| n.iter().map(|(name, u)| format!("{name} {}", u.status)))
                .collect();
            after.extend(
                t.detail
                    .data_products
                    .iter()
                    .flat_map(|(d, n)| n.keys().map(move |n| format!("{d}/{n}"))),
            );
            let run = success(&id, "TRIGGERED", Some(&t.detail.trigger_id), seq, at + 1)?;
            queue.push_back((run, depth + 1));
            follows.push(Follow {
                pipeline: id,
                depth,
                after,
            });
        }
        for r in &out.refreshes {
            let d = &r.detail;
            queue.push_back((refresh(&d.domain, &d.name, &d.account, at + 1)?, depth));
        }
    }
    let end = now + i64::try_from(seq).unwrap_or(i64::MAX / 4);
    let waiting = waiting(&overlay, &succeeded, &follows, end)?;
    Ok(Plan { follows, waiting })
}

/// The dependents of what would succeed that would not follow, and their unsatisfied leaves.
fn waiting(
    overlay: &Overlay<'_>,
    succeeded: &[String],
    follows: &[Follow],
    now: Millis,
) -> Result<Vec<Waiting>, StoreError> {
    let followed: HashSet<String> = follows.iter().map(|f| f.pipeline.key()).collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for upstream in succeeded {
        for key in overlay.dependents(upstream)? {
            if followed.contains(&key) || !seen.insert(key.clone()) {
                continue;
            }
            let Some(reg) = overlay.registration(&key)? else {
                continue;
            };
            let state = overlay.state(&key)?;
            let periods = Periods::of(&reg);
            let start = window::view(&reg, &periods, None, now).period_start;
            let last = state.as_ref().and_then(|s| s.last_trigger_at);
            out.push(Waiting {
                waits_for: unsatisfied(&reg, state.as_ref()),
                ran_this_period: start.zip(last).is_some_and(|(s, l)| l >= s),
                pipeline: reg.id,
            });
        }
    }
    Ok(out)
}

fn unsatisfied(reg: &Registration, state: Option<&DependentState>) -> Vec<String> {
    reg.leaves
        .iter()
        .filter(|leaf| {
            let label = leaf.upstream.label();
            !state.is_some_and(|s| {
                s.leaves
                    .iter()
                    .any(|l| l.label == label && l.arrived.is_some())
            })
        })
        .map(|leaf| format!("{} {}", leaf.upstream.label(), leaf.statuses.join("|")))
        .collect()
}

/// A SUCCEEDED run of `id` at `at`, as its status event would be read.
fn success(
    id: &PipelineId,
    kind: &str,
    trigger_id: Option<&str>,
    n: usize,
    at: Millis,
) -> Result<Observation, StoreError> {
    let name = format!("what-if-{n}-{at}");
    let mut run = serde_json::json!({"type": kind, "time": format_time(at)});
    if let Some(t) = trigger_id {
        run["triggerId"] = serde_json::Value::String(t.to_string());
    }
    let detail = ExecutionStatusChange {
        execution_arn: execution_arn(id, &name),
        state_machine_arn: state_machine_arn(id),
        name: Some(name),
        status: "SUCCEEDED".into(),
        start_date: Some(at),
        stop_date: Some(at),
        input: Some(serde_json::json!({ "run": run }).to_string()),
        redrive_count: None,
    };
    runlog::observe_status(None, &detail, at).map_err(|e| StoreError(e.to_string()))
}

fn refresh(domain: &str, name: &str, account: &str, at: Millis) -> Result<Observation, StoreError> {
    let detail = DataProductRefresh {
        domain: domain.into(),
        name: name.into(),
        account: account.into(),
        refreshed_at: format_time(at),
        producer: None,
        attributes: None,
    };
    runlog::observe_refresh(None, &detail).map_err(|e| StoreError(e.to_string()))
}

/// A transaction that reads through to `base` and keeps its writes to itself. The facts a
/// plan records are new by construction (their ids are made up), so the de-duplication and
/// trigger records need not consult `base`.
struct Overlay<'t> {
    base: &'t dyn Tx,
    runs: BTreeMap<String, BTreeMap<String, Run>>,
    states: BTreeMap<String, DependentState>,
    claimed: HashSet<String>,
    triggers: BTreeMap<String, TriggerRecord>,
    outbox: Vec<OutboxItem>,
}

impl<'t> Overlay<'t> {
    fn new(base: &'t dyn Tx) -> Self {
        Overlay {
            base,
            runs: BTreeMap::new(),
            states: BTreeMap::new(),
            claimed: HashSet::new(),
            triggers: BTreeMap::new(),
            outbox: Vec::new(),
        }
    }
}

fn read_only() -> StoreError {
    StoreError("internal error: a what-if changed the registry".into())
}

impl Tx for Overlay<'_> {
    fn registration(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        self.base.registration(id)
    }

    fn put_registration(&mut self, _reg: &Registration) -> Result<(), StoreError> {
        Err(read_only())
    }

    fn delete_registration(&mut self, _id: &str) -> Result<bool, StoreError> {
        Err(read_only())
    }

    fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        self.base.registrations()
    }

    fn dependents(&self, upstream: &str) -> Result<Vec<String>, StoreError> {
        self.base.dependents(upstream)
    }

    fn claim_event_id(&mut self, id: &str) -> Result<bool, StoreError> {
        Ok(self.claimed.insert(format!("e|{id}")))
    }

    fn claim_fact(&mut self, key: &str) -> Result<bool, StoreError> {
        Ok(self.claimed.insert(format!("f|{key}")))
    }

    fn run(&self, upstream: &str, id: &str) -> Result<Option<Run>, StoreError> {
        match self.runs.get(upstream).and_then(|m| m.get(id)) {
            Some(run) => Ok(Some(run.clone())),
            None => self.base.run(upstream, id),
        }
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
        let mine = self.runs.get(upstream);
        // A stored run this view has rewritten counts as rewritten (the view only adds runs, so
        // an older stored one is not looked for).
        let stored = self
            .base
            .latest_run(upstream, since, include_manual)?
            .filter(|r| !mine.is_some_and(|m| m.contains_key(&r.id)));
        let mine = mine.into_iter().flat_map(|m| m.values());
        let counted = mine.filter(|r| r.counts(since, include_manual));
        Ok(super::runlog::latest(stored.iter().chain(counted)).cloned())
    }

    fn state(&self, id: &str) -> Result<Option<DependentState>, StoreError> {
        match self.states.get(id) {
            Some(s) => Ok(Some(s.clone())),
            None => self.base.state(id),
        }
    }

    fn put_state(&mut self, id: &str, state: &DependentState) -> Result<(), StoreError> {
        self.states.insert(id.to_string(), state.clone());
        Ok(())
    }

    fn add_history(&mut self, _entry: &HistoryEntry) -> Result<(), StoreError> {
        Ok(())
    }

    fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.base.history(id)
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
        let mut all = self.base.triggers()?;
        all.extend(self.triggers.values().cloned());
        Ok(all)
    }

    fn push_outbox(&mut self, id: &str, kind: OutboxKind, body: &str) -> Result<(), StoreError> {
        let seq = i64::try_from(self.outbox.len()).unwrap_or(i64::MAX) + 1;
        self.outbox.push(OutboxItem {
            seq,
            id: id.to_string(),
            kind,
            body: body.to_string(),
        });
        Ok(())
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        Ok(self.outbox.clone())
    }

    fn remove_outbox(&mut self, seq: i64) -> Result<(), StoreError> {
        self.outbox.retain(|i| i.seq != seq);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::Manager;
    use crate::manager::memory::MemoryStore;
    use crate::manager::registry::LOCAL_REGION;
    use crate::manager::tests::{reg, status};
    use crate::manager::time::parse_time;

    const X: &str = "name: x\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\npublish: {dataProducts: [{domain: d, name: px}]}\ntrigger:\n  executions:\n    allOf:\n      - {name: a, account: \"111111111111\"}\n      - {name: b, account: \"222222222222\"}\n";
    const FALLBACK: &str = "name: fb\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\ntrigger:\n  executions:\n    anyOf:\n      - {name: a, account: \"111111111111\", status: [FAILED]}\n      - {name: b, account: \"222222222222\", status: [FAILED]}\n";
    const Y: &str = "name: y\nteam: t\naccount: \"444444444444\"\ncompute: {type: NONE}\ntrigger:\n  dataProducts:\n    allOf:\n      - {domain: d, name: px}\n";

    fn at(hm: &str) -> Millis {
        parse_time(&format!("2026-11-21T{hm}:00Z")).unwrap()
    }

    fn id(account: &str, name: &str) -> PipelineId {
        PipelineId {
            account: account.into(),
            region: LOCAL_REGION.into(),
            name: name.into(),
        }
    }

    fn manager() -> Manager<MemoryStore> {
        let mut m = Manager::new(MemoryStore::new());
        for yaml in [X, FALLBACK, Y] {
            m.register(&reg(yaml), at("00:00")).unwrap();
        }
        m
    }

    fn names(plan: &Plan) -> Vec<(&str, usize)> {
        plan.follows
            .iter()
            .map(|f| (f.pipeline.name.as_str(), f.depth))
            .collect()
    }

    #[test]
    fn a_success_of_the_missing_upstream_plans_the_dependent_and_its_consumers() {
        let mut m = manager();
        let a = status(
            "111111111111",
            "a",
            "a1",
            "SUCCEEDED",
            at("03:10"),
            "SCHEDULED",
        );
        m.handle_status(&a, at("03:10")).unwrap();
        let b = status(
            "222222222222",
            "b",
            "b1",
            "FAILED",
            at("05:10"),
            "SCHEDULED",
        );
        let failed = m.handle_status(&b, at("05:10")).unwrap();
        assert_eq!(failed.triggers.len(), 1, "the fallback fired");
        let before = (m.status(at("08:00")).unwrap(), m.outbox().unwrap());

        let plan = m
            .what_if(&Origin::Success(id("222222222222", "b")), at("08:00"))
            .unwrap();
        // x follows b, y follows x's published product.
        assert_eq!(names(&plan), vec![("x", 1), ("y", 2)]);
        assert_eq!(plan.follows[0].after, vec!["a SUCCEEDED", "b SUCCEEDED"]);
        assert_eq!(plan.follows[1].after, vec!["d/px"]);
        let fb = plan
            .waiting
            .iter()
            .find(|w| w.pipeline.name == "fb")
            .expect("the fallback does not follow");
        assert_eq!(fb.waits_for, vec!["a FAILED", "b FAILED"]);
        // Nothing was stored.
        let after = (m.status(at("08:00")).unwrap(), m.outbox().unwrap());
        assert_eq!(after, before);
    }

    #[test]
    fn without_the_other_upstream_nobody_follows() {
        let mut m = manager();
        let plan = m
            .what_if(&Origin::Success(id("222222222222", "b")), at("08:00"))
            .unwrap();
        assert!(plan.follows.is_empty(), "{plan:?}");
        let x = plan
            .waiting
            .iter()
            .find(|w| w.pipeline.name == "x")
            .unwrap();
        assert_eq!(x.waits_for, vec!["a SUCCEEDED"]);
        assert!(
            plan.lines()
                .iter()
                .any(|l| l.contains("x (333333333333): still waits for a SUCCEEDED"))
        );
    }

    #[test]
    fn a_refresh_plans_its_consumers() {
        let mut m = manager();
        let origin = Origin::Refresh {
            domain: "d".into(),
            name: "px".into(),
            account: "999999999999".into(),
        };
        let plan = m.what_if(&origin, at("08:00")).unwrap();
        assert_eq!(names(&plan), vec![("y", 1)]);
    }
}
