//! The run log: turns upstream status events and data product refresh events
//! into [`Run`] facts, and decides whether a fact is new. An event is recorded once:
//! de-duplicated by its event id and by `(executionArn, status, redrive attempt)`, and an
//! execution's status never moves backwards (a RUNNING delivered after its SUCCEEDED is stale).

use serde::{Deserialize, Serialize};

use super::registry::{PipelineId, Upstream, product_key};
use super::store::Millis;
use super::time::{format_time, parse_time};
use crate::compile::trigger_pattern::ARRIVED;
use crate::events::{DataProductRefresh, ExecutionStatusChange};
use crate::pipeline::model::Status;

/// State machines dpc deploys are named `dpc-<pipeline>`.
pub const STATE_MACHINE_PREFIX: &str = "dpc-";

/// How a run was started (read from the execution input's `run.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunType {
    Scheduled,
    Triggered,
    Rerun,
    Manual,
}

impl RunType {
    pub fn parse(text: &str) -> Option<RunType> {
        match text.to_ascii_uppercase().as_str() {
            "SCHEDULED" => Some(RunType::Scheduled),
            "TRIGGERED" => Some(RunType::Triggered),
            "RERUN" => Some(RunType::Rerun),
            "MANUAL" => Some(RunType::Manual),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunType::Scheduled => "SCHEDULED",
            RunType::Triggered => "TRIGGERED",
            RunType::Rerun => "RERUN",
            RunType::Manual => "MANUAL",
        }
    }
}

/// One execution of an upstream pipeline, or one refresh of a data product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// The run log key of the upstream ([`Upstream::key`]).
    pub upstream: String,
    /// The execution ARN, or `<account>@<refreshedAt>` for a refresh.
    pub id: String,
    /// Canonical status, or `ARRIVED` for a refresh.
    pub status: String,
    /// Redrive attempt (0 for the first).
    pub redrive: u32,
    pub run_type: RunType,
    /// Start time (the refresh time for a refresh); orders runs: the latest run is the one
    /// that started last.
    pub started: Millis,
    /// When the result happened (stop time, else start time): what windows compare.
    pub time: Millis,
    /// ISO 8601 text of the result time, as trigger events carry it.
    pub stop_date: Millis,
    /// The triggerId that started this run (from its input), if any.
    pub trigger_id: Option<String>,
}

impl Run {
    /// Position in the execution's life: a later redrive, then terminal after RUNNING.
    /// Statuses only move forward along it.
    pub fn progress(&self) -> (u32, u8) {
        let rank = u8::from(self.status != Status::Running.as_str());
        (self.redrive, rank)
    }

    pub fn is_manual(&self) -> bool {
        self.run_type == RunType::Manual
    }

    /// Whether a `latest_run(since, include_manual)` query counts this run: its result time
    /// at or after `since` (strictly after when flagged), manual runs only when asked.
    pub fn counts(&self, since: Option<(Millis, bool)>, include_manual: bool) -> bool {
        (include_manual || !self.is_manual())
            && match since {
                None => true,
                Some((at, true)) => self.time > at,
                Some((at, false)) => self.time >= at,
            }
    }
}

/// The latest of `runs` by start time, then id; of two versions of one run, the later given.
pub fn latest<'a>(runs: impl Iterator<Item = &'a Run>) -> Option<&'a Run> {
    runs.max_by(|a, b| (a.started, &a.id).cmp(&(b.started, &b.id)))
}

/// A fact read from an event, not yet checked against the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub event_id: Option<String>,
    /// The natural de-duplication key: `(executionArn, status, redrive)` or the refresh.
    pub fact: String,
    pub run: Run,
    /// The pipeline that ran (for executions): its own lifecycle follows the run.
    pub pipeline: Option<PipelineId>,
    /// Other run log keys the fact is also filed under (a refresh narrowed to its account).
    pub also: Vec<String>,
}

/// Why an event is not a fact the manager tracks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("state machine `{0}` is not a dpc pipeline (dpc-*)")]
    NotDpc(String),
    #[error("status `{0}` is not tracked")]
    Status(String),
    #[error("malformed {what}: `{value}`")]
    Malformed { what: &'static str, value: String },
}

/// Reads an execution status change.
pub fn observe_status(
    event_id: Option<&str>,
    detail: &ExecutionStatusChange,
    event_time: Millis,
) -> Result<Observation, Ignored> {
    let pipeline = pipeline_of(&detail.state_machine_arn)?;
    let status = Status::parse(&detail.status)
        .filter(|_| !detail.status.eq_ignore_ascii_case("PENDING_REDRIVE"))
        .ok_or_else(|| Ignored::Status(detail.status.clone()))?;
    let (run_type, trigger_id) = run_context(detail.input.as_deref());
    let started = detail.start_date.unwrap_or(event_time);
    let time = match status {
        Status::Running => started,
        _ => detail.stop_date.unwrap_or(event_time),
    };
    let redrive = detail.redrive_count.unwrap_or(0);
    let run = Run {
        upstream: pipeline.upstream_key(),
        id: detail.execution_arn.clone(),
        status: status.as_str().to_string(),
        redrive,
        run_type,
        started,
        time,
        stop_date: detail.stop_date.unwrap_or(0),
        trigger_id,
    };
    Ok(Observation {
        event_id: event_id.map(str::to_string),
        fact: format!("x|{}|{}|{}", detail.execution_arn, run.status, redrive),
        run,
        pipeline: Some(pipeline),
        also: Vec::new(),
    })
}

/// Reads a data product refresh.
pub fn observe_refresh(
    event_id: Option<&str>,
    detail: &DataProductRefresh,
) -> Result<Observation, Ignored> {
    let time = parse_time(&detail.refreshed_at).ok_or_else(|| Ignored::Malformed {
        what: "refreshedAt",
        value: detail.refreshed_at.clone(),
    })?;
    let upstream = Upstream::Product {
        domain: detail.domain.clone(),
        name: detail.name.clone(),
        account: None,
    };
    let id = format!("{}@{}", detail.account, detail.refreshed_at);
    let run = Run {
        upstream: upstream.key(),
        status: ARRIVED.to_string(),
        redrive: 0,
        // A refresh always counts: it is a fact about data, whoever produced it.
        run_type: RunType::Scheduled,
        started: time,
        time,
        stop_date: time,
        trigger_id: None,
        id: id.clone(),
    };
    Ok(Observation {
        event_id: event_id.map(str::to_string),
        fact: format!("p|{}|{}|{}", detail.domain, detail.name, id),
        run,
        pipeline: None,
        also: vec![product_key(
            &detail.domain,
            &detail.name,
            Some(&detail.account),
        )],
    })
}

/// `arn:aws:states:<region>:<account>:stateMachine:dpc-<name>` → the pipeline.
pub fn pipeline_of(state_machine_arn: &str) -> Result<PipelineId, Ignored> {
    let malformed = || Ignored::Malformed {
        what: "stateMachineArn",
        value: state_machine_arn.to_string(),
    };
    let parts: Vec<&str> = state_machine_arn.split(':').collect();
    let [_, _, "states", region, account, "stateMachine", name] = parts.as_slice() else {
        return Err(malformed());
    };
    let name = name
        .strip_prefix(STATE_MACHINE_PREFIX)
        .ok_or_else(|| Ignored::NotDpc(name.to_string()))?;
    Ok(PipelineId {
        account: account.to_string(),
        region: region.to_string(),
        name: name.to_string(),
    })
}

/// The state machine ARN of a pipeline.
pub fn state_machine_arn(id: &PipelineId) -> String {
    format!(
        "arn:aws:states:{}:{}:stateMachine:{STATE_MACHINE_PREFIX}{}",
        id.region, id.account, id.name
    )
}

/// An execution ARN of a pipeline.
pub fn execution_arn(id: &PipelineId, execution: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:execution:{STATE_MACHINE_PREFIX}{}:{execution}",
        id.region, id.account, id.name
    )
}

/// One execution's status change as AWS emits it. The event id is the fact
/// itself — (execution, status, redrive attempt) — so a repeated delivery is a duplicate.
pub struct StatusFact<'a> {
    pub pipeline: &'a PipelineId,
    pub execution: &'a str,
    pub status: &'a str,
    pub started: Millis,
    pub stopped: Option<Millis>,
    /// The execution input (carries `run.type`).
    pub input: &'a str,
    pub redrive: u32,
}

impl StatusFact<'_> {
    pub fn event(&self) -> crate::events::StatusChangeEvent {
        let arn = execution_arn(self.pipeline, self.execution);
        crate::events::Envelope {
            id: Some(format!("{arn}/{}/{}", self.status, self.redrive)),
            source: crate::events::STATUS_SOURCE.into(),
            detail_type: crate::events::STATUS_DETAIL_TYPE.into(),
            account: self.pipeline.account.clone(),
            region: self.pipeline.region.clone(),
            time: Some(format_time(self.stopped.unwrap_or(self.started))),
            resources: vec![arn.clone()],
            detail: ExecutionStatusChange {
                execution_arn: arn,
                state_machine_arn: state_machine_arn(self.pipeline),
                name: Some(self.execution.to_string()),
                status: self.status.to_string(),
                start_date: Some(self.started),
                stop_date: self.stopped,
                input: Some(self.input.to_string()),
                redrive_count: (self.redrive > 0).then_some(self.redrive),
            },
        }
    }
}

/// `run.type` and `run.triggerId` from the execution input; a start without them was by
/// hand (the state machine itself labels such runs MANUAL).
fn run_context(input: Option<&str>) -> (RunType, Option<String>) {
    let value: Option<serde_json::Value> = input.and_then(|i| serde_json::from_str(i).ok());
    let run = value.as_ref().and_then(|v| v.get("run"));
    let kind = run
        .and_then(|r| r.get("type"))
        .and_then(|t| t.as_str())
        .and_then(RunType::parse)
        .unwrap_or(RunType::Manual);
    let trigger_id = run
        .and_then(|r| r.get("triggerId"))
        .and_then(|t| t.as_str())
        .map(str::to_string);
    (kind, trigger_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detail(status: &str, input: Option<&str>) -> ExecutionStatusChange {
        ExecutionStatusChange {
            execution_arn: "arn:aws:states:eu-west-1:111111111111:execution:dpc-listings:r1".into(),
            state_machine_arn: "arn:aws:states:eu-west-1:111111111111:stateMachine:dpc-listings"
                .into(),
            name: None,
            status: status.into(),
            start_date: Some(1_000),
            stop_date: Some(2_000),
            input: input.map(str::to_string),
            redrive_count: None,
        }
    }

    #[test]
    fn reads_pipeline_status_and_run_type() {
        let o = observe_status(
            Some("e1"),
            &detail(
                "SUCCEEDED",
                Some(r#"{"run":{"type":"TRIGGERED","triggerId":"t"}}"#),
            ),
            0,
        )
        .unwrap();
        assert_eq!(o.pipeline.unwrap().name, "listings");
        assert_eq!(o.run.run_type, RunType::Triggered);
        assert_eq!(o.run.trigger_id.as_deref(), Some("t"));
        assert_eq!(o.run.time, 2_000);
        let manual = observe_status(None, &detail("SUCCEEDED", Some("{}")), 0).unwrap();
        assert_eq!(manual.run.run_type, RunType::Manual);
        let running = observe_status(None, &detail("RUNNING", None), 0).unwrap();
        assert_eq!(running.run.time, 1_000);
        assert!(running.run.progress() < manual.run.progress());
    }

    #[test]
    fn ignores_foreign_state_machines_and_unknown_statuses() {
        let mut d = detail("SUCCEEDED", None);
        d.state_machine_arn = "arn:aws:states:eu-west-1:1:stateMachine:other".into();
        assert!(matches!(
            observe_status(None, &d, 0),
            Err(Ignored::NotDpc(_))
        ));
        assert!(matches!(
            observe_status(None, &detail("PENDING_REDRIVE", None), 0),
            Err(Ignored::Status(_))
        ));
        d.state_machine_arn = "garbage".into();
        assert!(matches!(
            observe_status(None, &d, 0),
            Err(Ignored::Malformed { .. })
        ));
    }

    #[test]
    fn redrive_moves_forward() {
        let first = observe_status(None, &detail("FAILED", None), 0)
            .unwrap()
            .run;
        let mut d = detail("RUNNING", None);
        d.redrive_count = Some(1);
        let again = observe_status(None, &d, 0).unwrap();
        assert!(again.run.progress() > first.progress());
        assert_ne!(
            again.fact,
            observe_status(None, &detail("RUNNING", None), 0)
                .unwrap()
                .fact
        );
    }
}
