//! Plays a scenario in virtual time: loads and validates its projects, registers them with a
//! manager over an in-memory SQLite store, delivers the scripted events in time order, and
//! checks the expectations. With `autoRun`, the scenario runs on the local runtime of
//! `dpc local run` (`local::runtime`): schedules fire, the compiled state machines run in the
//! interpreter with each step simulated (it takes `after`, split over the steps, and ends as
//! the status given), and their status and refresh events reach the same manager.
//!
//! Order at one instant: deliveries and schedule fires first (in the order they were queued),
//! then state checks. A triggered pipeline starts one second after its trigger (the time
//! EventBridge and Step Functions take), so TRIGGERED is observable.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use super::{ExecutionSpec, Expect, Expectation, ProductSpec, Scenario, Scripted, TargetSpec};
use crate::diag::diagnostic::Diagnostic;
use crate::events::{self, DataProductRefresh, Envelope, RefreshEvent, StatusChangeEvent};
use crate::manager::registry::{self, LOCAL_ACCOUNT, LOCAL_REGION, PipelineId, Registration};
use crate::manager::runlog::StatusFact;
use crate::manager::sqlite::SqliteStore;
use crate::manager::store::Millis;
use crate::manager::time::format_time;
use crate::manager::{Manager, Outcome, PipelineStatus};
use crate::pipeline::load::Validated;

/// A trigger that happened during the scenario.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerLog {
    pub at: String,
    #[serde(skip)]
    pub at_ms: Millis,
    pub account: String,
    pub region: String,
    pub pipeline: String,
    pub trigger_id: String,
}

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub line: usize,
    pub expectation: String,
    pub passed: bool,
    /// What was found (on failure: why it failed).
    pub detail: String,
}

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub file: PathBuf,
    pub name: String,
    pub passed: bool,
    pub checks: Vec<Check>,
    pub triggers: Vec<TriggerLog>,
    /// Events handled (including duplicates).
    pub events: usize,
}

enum Action {
    Status(Box<StatusChangeEvent>),
    Refresh(Box<RefreshEvent>),
    Check(usize),
}

struct Sim<'a> {
    scenario: &'a Scenario,
    manager: Manager<SqliteStore>,
    regs: Vec<Registration>,
    /// (time, class, seq) → action; class 0 deliveries, 1 checks.
    queue: BTreeMap<(Millis, u8, u64), Action>,
    seq: u64,
    triggers: Vec<TriggerLog>,
    checks: Vec<Option<Check>>,
    events: usize,
}

/// Runs a scenario; `Err` when its projects cannot be loaded or the store fails.
pub fn run(scenario: &Scenario) -> Result<ScenarioResult, String> {
    let store = SqliteStore::in_memory().map_err(|e| e.to_string())?;
    run_in(scenario, store)
}

/// Runs a scenario over `store` (which should be empty), leaving its final state there.
pub fn run_in(scenario: &Scenario, store: SqliteStore) -> Result<ScenarioResult, String> {
    if let Some(auto) = &scenario.auto_run {
        return super::auto::run(scenario, auto, store);
    }
    let regs = load(scenario)?;
    let mut sim = Sim {
        scenario,
        manager: Manager::new(store),
        regs,
        queue: BTreeMap::new(),
        seq: 0,
        triggers: Vec::new(),
        checks: vec![None; scenario.expect.len()],
        events: 0,
    };
    sim.setup()?;
    sim.play()?;
    Ok(sim.finish())
}

/// Validates the scenario's projects; `Err` lists the errors.
pub(super) fn validated(scenario: &Scenario) -> Result<Validated, String> {
    let now = chrono::DateTime::from_timestamp_millis(scenario.start)
        .map(|t| t.naive_utc())
        .unwrap_or_default();
    let outcome = crate::pipeline::load::validate_tree(&scenario.pipelines, now)
        .map_err(|e| e.to_string())?;
    let errors: Vec<String> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(diagnostic_line)
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "the scenario's pipelines are invalid (run `dpc validate`):\n{}",
            errors.join("\n")
        ));
    }
    Ok(outcome)
}

/// Validates the scenario's projects and builds their registrations.
fn load(scenario: &Scenario) -> Result<Vec<Registration>, String> {
    let outcome = validated(scenario)?;
    let loaded = &outcome.loaded;
    let mut regs: Vec<Registration> = Vec::new();
    for unit in &loaded.units {
        let Some(pipeline) = &unit.checked.value else {
            continue;
        };
        let reg = registry::registration(pipeline, loaded.config_of(unit))
            .map_err(|e| format!("{}: {e}", pipeline.file.display()))?;
        if !regs.iter().any(|r| r.id == reg.id) {
            regs.push(reg);
        }
    }
    Ok(regs)
}

/// `file:line:column: message [code]`.
fn diagnostic_line(d: &Diagnostic) -> String {
    match d.primary() {
        Some(l) => {
            let at = l.file.line_col(l.span.offset);
            format!(
                "{}:{}:{}: {} [{}]",
                l.file.name(),
                at.line,
                at.column,
                d.message,
                d.code.id
            )
        }
        None => format!("{} [{}]", d.message, d.code.id),
    }
}

impl Sim<'_> {
    fn push(&mut self, at: Millis, class: u8, action: Action) {
        self.seq += 1;
        self.queue.insert((at, class, self.seq), action);
    }

    fn setup(&mut self) -> Result<(), String> {
        let s = self.scenario;
        for reg in &self.regs {
            self.manager
                .register(reg, s.start)
                .map_err(|e| e.to_string())?;
        }
        let mut script = Script::new(&self.regs);
        let mut actions = Vec::new();
        for e in &s.events {
            for _ in 0..e.repeat {
                let action = match &e.what {
                    Scripted::Execution(x) => Action::Status(Box::new(script.status(x, e.at))),
                    Scripted::DataProduct(p) => Action::Refresh(Box::new(script.refresh(p, e.at))),
                };
                actions.push((e.at, action));
            }
        }
        for (at, action) in actions {
            self.push(at, 0, action);
        }
        for (i, at) in state_checks(s) {
            self.push(at, 1, Action::Check(i));
        }
        Ok(())
    }

    fn play(&mut self) -> Result<(), String> {
        while let Some(entry) = self.queue.first_entry() {
            let (now, _, _) = *entry.key();
            if now > self.scenario.until {
                break;
            }
            let action = entry.remove();
            self.step(now, action)?;
        }
        Ok(())
    }

    fn step(&mut self, now: Millis, action: Action) -> Result<(), String> {
        let outcome = match action {
            Action::Status(e) => self.manager.handle_status(&e, now),
            Action::Refresh(e) => self.manager.handle_refresh(&e, now),
            Action::Check(i) => return self.check_state(i, now),
        }
        .map_err(|e| e.to_string())?;
        self.events += 1;
        self.follow(outcome, now)
    }

    /// Records triggers and delivers the refreshes of published data products.
    fn follow(&mut self, outcome: Outcome, now: Millis) -> Result<(), String> {
        for t in &outcome.triggers {
            let target = &t.detail.target;
            self.triggers.push(TriggerLog {
                at: format_time(now),
                at_ms: now,
                account: target.account.clone(),
                region: target.region.clone(),
                pipeline: target.pipeline.clone(),
                trigger_id: t.detail.trigger_id.clone(),
            });
        }
        for r in outcome.refreshes {
            self.push(now, 0, Action::Refresh(Box::new(r)));
        }
        // Events are "sent" by the queue above; keep the outbox empty.
        for item in self.manager.outbox().map_err(|e| e.to_string())? {
            self.manager.sent(item.seq).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn check_state(&mut self, i: usize, now: Millis) -> Result<(), String> {
        let statuses = self.manager.status(now).map_err(|e| e.to_string())?;
        self.checks[i] = state_check(&self.scenario.expect[i], &statuses);
        Ok(())
    }

    fn finish(self) -> ScenarioResult {
        result(self.scenario, self.checks, self.triggers, self.events)
    }
}

/// When each `state` expectation is checked: its `at`, else the end.
pub(super) fn state_checks(s: &Scenario) -> Vec<(usize, Millis)> {
    s.expect
        .iter()
        .enumerate()
        .filter(|(_, x)| matches!(x.what, Expect::State { .. }))
        .map(|(i, x)| (i, x.at.unwrap_or(s.until)))
        .collect()
}

/// The scenario's result: trigger expectations are checked against every trigger.
pub(super) fn result(
    s: &Scenario,
    mut checks: Vec<Option<Check>>,
    triggers: Vec<TriggerLog>,
    events: usize,
) -> ScenarioResult {
    for (i, x) in s.expect.iter().enumerate() {
        if checks[i].is_none() {
            checks[i] = Some(check_triggers(x, &triggers, s.until));
        }
    }
    let checks: Vec<Check> = checks.into_iter().flatten().collect();
    ScenarioResult {
        file: s.file.clone(),
        name: s.name.clone(),
        passed: checks.iter().all(|c| c.passed),
        checks,
        triggers,
        events,
    }
}

/// The check of a `state` expectation against the manager's states (`None` for others).
pub(super) fn state_check(x: &Expectation, statuses: &[PipelineStatus]) -> Option<Check> {
    let Expect::State {
        target,
        phase,
        arrived,
        waiting,
    } = &x.what
    else {
        return None;
    };
    let desc = describe(x);
    let found = statuses
        .iter()
        .find(|s| target.matches(&s.pipeline.account, &s.pipeline.region, &s.pipeline.name));
    let check = match found {
        None => fail(x, desc, format!("{} is not registered", target.describe())),
        Some(s) => {
            let got_arrived: Vec<String> = s
                .leaves
                .iter()
                .filter(|l| l.arrived.is_some())
                .map(|l| l.label.clone())
                .collect();
            let got_waiting: Vec<String> = s
                .leaves
                .iter()
                .filter(|l| l.arrived.is_none())
                .map(|l| l.label.clone())
                .collect();
            let mut problems = Vec::new();
            if let Some(p) = phase.as_deref().filter(|p| *p != s.phase.as_str()) {
                problems.push(format!("is {} (expected {p})", s.phase.as_str()));
            }
            if let Some(a) = arrived.as_ref().filter(|a| !same_set(a, &got_arrived)) {
                problems.push(format!("arrived {got_arrived:?} (expected {a:?})"));
            }
            if let Some(w) = waiting.as_ref().filter(|w| !same_set(w, &got_waiting)) {
                problems.push(format!("waiting {got_waiting:?} (expected {w:?})"));
            }
            let summary = format!("{}, arrived {got_arrived:?}", s.phase.as_str());
            match problems.is_empty() {
                true => pass(x, desc, summary),
                false => fail(x, desc, problems.join("; ")),
            }
        }
    };
    Some(check)
}

/// Turns scripted events into the events AWS would deliver.
pub(super) struct Script<'a> {
    pub regs: &'a [Registration],
    /// The start time of each scripted execution, by `pipeline#execution`.
    started: HashMap<String, Millis>,
}

impl<'a> Script<'a> {
    pub(super) fn new(regs: &'a [Registration]) -> Self {
        Script {
            regs,
            started: HashMap::new(),
        }
    }

    /// The identity of a scripted pipeline: the registered one of that name, else the
    /// account and region given (or the scenario's common region).
    fn identity(&self, name: &str, account: Option<&str>, region: Option<&str>) -> PipelineId {
        let found = self.regs.iter().find(|r| {
            TargetSpec {
                pipeline: name.into(),
                account: account.map(str::to_string),
                region: region.map(str::to_string),
            }
            .matches(&r.id.account, &r.id.region, &r.id.name)
        });
        if let Some(r) = found {
            return r.id.clone();
        }
        PipelineId {
            account: account.unwrap_or(LOCAL_ACCOUNT).to_string(),
            region: region
                .map(str::to_string)
                .or_else(|| self.regs.first().map(|r| r.id.region.clone()))
                .unwrap_or_else(|| LOCAL_REGION.to_string()),
            name: name.to_string(),
        }
    }

    pub(super) fn status(&mut self, x: &ExecutionSpec, at: Millis) -> StatusChangeEvent {
        let id = self.identity(&x.pipeline, x.account.as_deref(), x.region.as_deref());
        let exec = x.id.clone().unwrap_or_else(|| {
            let day = format_time(at).chars().take(10).collect::<String>();
            format!("{}-{day}", x.pipeline)
        });
        let key = format!("{}#{exec}", id.key());
        let started = x
            .started
            .unwrap_or_else(|| *self.started.entry(key).or_insert(at));
        let running = x.status == "RUNNING";
        let stopped = (!running).then(|| x.stopped.unwrap_or(at));
        let input = format!(r#"{{"run":{{"type":"{}"}}}}"#, x.run_type);
        let mut event = status_event(&id, &exec, &x.status, started, stopped, &input, x.redrive);
        event.time = Some(format_time(at));
        event
    }

    pub(super) fn refresh(&self, p: &ProductSpec, at: Millis) -> RefreshEvent {
        let publisher = self.regs.iter().find(|r| {
            r.publishes
                .iter()
                .any(|(d, n)| *d == p.domain && *n == p.name)
        });
        let account = p
            .account
            .clone()
            .or_else(|| publisher.map(|r| r.id.account.clone()))
            .unwrap_or_else(|| LOCAL_ACCOUNT.to_string());
        let refreshed = format_time(p.refreshed_at.unwrap_or(at));
        Envelope {
            id: Some(format!(
                "refresh/{}/{}/{account}/{refreshed}",
                p.domain, p.name
            )),
            source: events::REFRESH_SOURCE.into(),
            detail_type: events::REFRESH_DETAIL_TYPE.into(),
            account: account.clone(),
            region: publisher.map_or_else(|| LOCAL_REGION.to_string(), |r| r.id.region.clone()),
            time: Some(format_time(at)),
            resources: Vec::new(),
            detail: DataProductRefresh {
                domain: p.domain.clone(),
                name: p.name.clone(),
                account,
                refreshed_at: refreshed,
                producer: None,
                attributes: None,
            },
        }
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn pass(x: &Expectation, expectation: String, detail: String) -> Check {
    Check {
        line: x.line,
        expectation,
        passed: true,
        detail,
    }
}

fn fail(x: &Expectation, expectation: String, detail: String) -> Check {
    Check {
        line: x.line,
        expectation,
        passed: false,
        detail,
    }
}

fn describe(x: &Expectation) -> String {
    let when =
        x.at.map(|t| format!(" at {}", format_time(t)))
            .unwrap_or_default();
    match &x.what {
        Expect::Triggered { target, count } => {
            let n = count.map_or_else(|| "at least once".to_string(), |c| format!("{c} time(s)"));
            format!("triggered {}{when} {n}", target.describe())
        }
        Expect::NotTriggered(target) => format!("not triggered {}{when}", target.describe()),
        Expect::State {
            target,
            phase,
            arrived,
            ..
        } => {
            let phase = phase.as_deref().unwrap_or("any state");
            let arrived = arrived
                .as_ref()
                .map(|a| format!(", arrived {a:?}"))
                .unwrap_or_default();
            format!("state of {} is {phase}{arrived}{when}", target.describe())
        }
    }
}

fn check_triggers(x: &Expectation, triggers: &[TriggerLog], until: Millis) -> Check {
    let desc = describe(x);
    let (target, want) = match &x.what {
        Expect::Triggered { target, count } => (target, count.map(Some).unwrap_or(None)),
        Expect::NotTriggered(target) => (target, Some(0)),
        Expect::State { .. } => return fail(x, desc, "internal: state checked late".into()),
    };
    let hits: Vec<&TriggerLog> = triggers
        .iter()
        .filter(|t| target.matches(&t.account, &t.region, &t.pipeline))
        .filter(|t| x.at.is_none_or(|at| t.at_ms == at))
        .collect();
    let n = u32::try_from(hits.len()).unwrap_or(u32::MAX);
    let times: Vec<&str> = hits.iter().map(|t| t.at.as_str()).collect();
    let detail = match times.is_empty() {
        true => format!("never triggered until {}", format_time(until)),
        false => format!("triggered {n} time(s): {}", times.join(", ")),
    };
    let ok = match want {
        Some(c) => n == c,
        None => n >= 1,
    };
    if ok {
        pass(x, desc, detail)
    } else {
        fail(x, desc, detail)
    }
}

/// A status event of `id`'s execution `exec`.
fn status_event(
    id: &PipelineId,
    exec: &str,
    status: &str,
    started: Millis,
    stopped: Option<Millis>,
    input: &str,
    redrive: u32,
) -> StatusChangeEvent {
    StatusFact {
        pipeline: id,
        execution: exec,
        status,
        started,
        stopped,
        input,
        redrive,
    }
    .event()
}
