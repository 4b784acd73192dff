//! `autoRun` scenarios, played on the local runtime of `dpc local run`: reads a scenario and
//! produces its result. The runtime builds the pipelines from the compiled artifacts and runs
//! their state machines in the interpreter; the steps are simulated by [`Simulated`] (each
//! step of a run takes `after` divided by the number of steps, and exits as the pipeline's
//! status says), scripted events go on the central bus, and `state` expectations are checked
//! on the same manager at their times.

use super::run::{Check, ScenarioResult, Script, TriggerLog, result, state_check, state_checks};
use super::{AutoRun, Scenario, Scripted};
use crate::local::runtime::{Runtime, Settings, StepResult, StepRun, StepRunner, Virtual};
use crate::local::world::{self, LocalPipeline};
use crate::manager::registry::{LOCAL_ACCOUNT, LOCAL_REGION, Registration};
use crate::manager::sqlite::SqliteStore;
use crate::manager::time::format_time;
use crate::pipeline::model::Central;

/// Steps that take their share of `after` and end as the pipeline's `autoRun` status.
struct Simulated<'a> {
    auto: &'a AutoRun,
    /// Steps per pipeline name.
    steps: Vec<(String, usize)>,
}

impl StepRunner for Simulated<'_> {
    fn run(&mut self, step: &StepRun<'_>) -> StepResult {
        let name = &step.pipeline.name;
        let count = self
            .steps
            .iter()
            .find(|(n, _)| n == name)
            .map_or(1, |(_, c)| (*c).max(1));
        let seconds = self.auto.after_ms as f64 / 1000.0 / count as f64;
        let (exit, seconds) = match self.auto.status_of(name) {
            "SUCCEEDED" => (Some(0), seconds),
            "TIMED_OUT" => (None, seconds.max(step.timeout_seconds as f64)),
            "RUNNING" => (Some(0), f64::from(u32::MAX)),
            _ => (Some(1), seconds),
        };
        StepResult {
            exit,
            seconds,
            log: "(simulated)".into(),
            tail: String::new(),
            error: None,
        }
    }
}

/// Plays `scenario` with every pipeline running by itself.
pub fn run(
    scenario: &Scenario,
    auto: &AutoRun,
    store: SqliteStore,
) -> Result<ScenarioResult, String> {
    if let Some((name, _)) = auto.overrides.iter().find(|(_, s)| s == "ABORTED") {
        return Err(format!(
            "autoRun: a state machine cannot end ABORTED by itself (`{name}`): script that status event instead"
        ));
    }
    let tree = super::run::validated(scenario)?;
    let pipelines = world::build(&tree)?;
    let regs: Vec<Registration> = pipelines.iter().map(|p| p.reg.clone()).collect();
    let central = central(&pipelines);
    let runner = Simulated {
        auto,
        steps: pipelines
            .iter()
            .map(|p| (p.id().name.clone(), p.steps.len()))
            .collect(),
    };
    let settings = Settings {
        from: scenario.start,
        until: scenario.until,
        fail: Vec::new(),
        central,
        twice: false,
    };
    let mut runtime = Runtime::new(&pipelines, store, runner, settings)?;
    let mut script = Script::new(&regs);
    for e in &scenario.events {
        for _ in 0..e.repeat {
            let event = match &e.what {
                Scripted::Execution(x) => serde_json::to_value(script.status(x, e.at)),
                Scripted::DataProduct(p) => serde_json::to_value(script.refresh(p, e.at)),
            }
            .map_err(|e| e.to_string())?;
            runtime.inject(e.at, event);
        }
    }
    for (i, at) in state_checks(scenario) {
        runtime.probe(at, i);
    }
    let mut checks: Vec<Option<Check>> = vec![None; scenario.expect.len()];
    let (played, _) = runtime.play_probed(&mut Virtual, &mut |_| {}, &mut |i, now, manager| {
        let statuses = manager.status(now).map_err(|e| e.to_string())?;
        if let Some(x) = scenario.expect.get(i) {
            checks[i] = state_check(x, &statuses);
        }
        Ok(())
    })?;
    let triggers = played
        .triggers
        .iter()
        .map(|(at, target, id)| TriggerLog {
            at: format_time(*at),
            at_ms: *at,
            account: target.account.clone(),
            region: target.region.clone(),
            pipeline: target.pipeline.clone(),
            trigger_id: id.clone(),
        })
        .collect();
    Ok(result(scenario, checks, triggers, played.handled))
}

/// The central account the pipelines' registrations name (the local one offline).
fn central(pipelines: &[LocalPipeline]) -> Central {
    pipelines
        .first()
        .map(|p| Central {
            account: p.reg.central_account.clone(),
            region: p.reg.central_region.clone(),
            bus: "dpc-central".into(),
        })
        .unwrap_or_else(|| Central {
            account: LOCAL_ACCOUNT.into(),
            region: LOCAL_REGION.into(),
            bus: "dpc-central".into(),
        })
}
