//! The OpenLineage events of a local play: reads the runs, their inputs and the pipelines'
//! registrations from what [`super::runtime`] played, and produces each run's RunEvents
//! ([`crate::lineage::openlineage`]) in time order. Duplicate starts, which ran nothing, are
//! no runs and yield none.

use std::collections::BTreeMap;

use serde_json::Value;

use super::runtime::{Played, RunRecord};
use super::world::LocalPipeline;
use crate::lineage::openlineage::{self, RunEnd, RunFacts};
use crate::manager::runlog::execution_arn;

/// Every run's events (START, then its end), ordered by event time; a run's START comes
/// before its end when both are at the same instant.
pub fn events(pipelines: &[LocalPipeline], played: &Played) -> Vec<Value> {
    of_runs(pipelines, &played.runs, &played.inputs)
}

/// The events of `runs` (as [`events`]), their inputs by execution name.
pub fn of_runs(
    pipelines: &[LocalPipeline],
    runs: &[RunRecord],
    inputs: &BTreeMap<String, Value>,
) -> Vec<Value> {
    let mut out: Vec<(i64, u8, usize, Value)> = Vec::new();
    for r in runs.iter().filter(|r| !r.duplicate) {
        let Some(p) = pipelines
            .iter()
            .find(|p| p.id().account == r.account && p.id().name == r.pipeline)
        else {
            continue;
        };
        let arn = execution_arn(p.id(), &r.execution);
        let input = inputs.get(&r.execution).cloned().unwrap_or(Value::Null);
        let run = RunFacts {
            execution_arn: &arn,
            input: &input,
            started: r.started_ms,
            nominal_end: openlineage::nominal_end(&p.reg, &input),
        };
        let end = RunEnd {
            status: &r.status,
            stopped: r.stopped_ms,
            error: r.error.as_deref(),
            cause: r.cause.as_deref(),
        };
        let n = out.len();
        out.push((r.started_ms, 0, n, openlineage::start(&p.reg, &run)));
        out.push((r.stopped_ms, 1, n, openlineage::end(&p.reg, &run, &end)));
    }
    out.sort_by_key(|(at, order, n, _)| (*at, *order, *n));
    out.into_iter().map(|(.., e)| e).collect()
}
