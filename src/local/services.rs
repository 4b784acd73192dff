//! The AWS services a compiled state machine calls, played locally: reads a Task state's
//! resource and parameters and produces its result — the claims table's conditional write,
//! EMR and Glue step runs (the step's `local.command` through a [`StepRunner`], or a
//! simulated success), cluster creation and termination, and `events:putEvents` (the events
//! are handed back to the runtime to deliver at their virtual time).

use std::path::Path;

use serde_json::{Value, json};

use super::runtime::{Claims, Entry, FailSpec, StepRun, StepRunner};
use super::world::{LocalPipeline, LocalStep};
use crate::asl::{TaskCall, TaskHandler, TaskOutcome, no_handler};
use crate::manager::time::{Millis, format_time};

/// What a run's steps see: the `{{run.*}}` values of its execution.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub id: String,
    pub arn: String,
    pub kind: String,
    pub trigger_id: String,
    pub time: String,
}

impl RunContext {
    /// The UTC date of `run.time`, as the state machine's `Run context` state computes it.
    pub fn date(&self) -> &str {
        self.time.split('T').next().unwrap_or_default()
    }
}

/// One execution's services.
pub struct Services<'a, C: Claims, R: StepRunner> {
    pub pipeline: &'a LocalPipeline,
    pub run: RunContext,
    pub claims: &'a mut C,
    pub runner: &'a mut R,
    pub fail: &'a [FailSpec],
    /// Events put on buses: `(virtual time, event)`.
    pub put: Vec<(Millis, Value)>,
    /// What happened, for the timeline.
    pub entries: Vec<Entry>,
    /// The claim was refused: this execution is a duplicate.
    pub duplicate: bool,
    clusters: u32,
}

impl<'a, C: Claims, R: StepRunner> Services<'a, C, R> {
    pub fn new(
        pipeline: &'a LocalPipeline,
        run: RunContext,
        claims: &'a mut C,
        runner: &'a mut R,
        fail: &'a [FailSpec],
    ) -> Self {
        Services {
            pipeline,
            run,
            claims,
            runner,
            fail,
            put: Vec::new(),
            entries: Vec::new(),
            duplicate: false,
            clusters: 0,
        }
    }

    fn entry(&self, at: Millis, event: &'static str, detail: String) -> Entry {
        let id = self.pipeline.id();
        Entry::new(at, &id.account, &id.name, event, detail).execution(&self.run.id)
    }

    fn claim(&mut self, call: &TaskCall<'_>, at: Millis) -> TaskOutcome {
        let Some(id) = call.parameters["Item"]["claimId"]["S"].as_str() else {
            return TaskOutcome::err("DynamoDB.ValidationException", "no Item.claimId.S");
        };
        match self.claims.claim(id, &self.run.arn, at) {
            Ok(true) => TaskOutcome::ok(json!({})),
            Ok(false) => {
                self.duplicate = true;
                let e = self.entry(
                    at,
                    "duplicate",
                    format!(
                        "trigger {} was already claimed: nothing runs",
                        self.run.trigger_id
                    ),
                );
                self.entries.push(e);
                TaskOutcome::err(
                    "DynamoDB.ConditionalCheckFailedException",
                    "The conditional request failed",
                )
            }
            Err(e) => TaskOutcome::err("DynamoDB.InternalServerErrorException", e.to_string()),
        }
    }

    fn put_events(&mut self, call: &TaskCall<'_>, at: Millis) -> TaskOutcome {
        let entries = call.parameters["Entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut ids = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let id = format!("{}-event-{i}", self.run.id);
            let event = json!({
                "version": "0",
                "id": id,
                "source": e["Source"],
                "detail-type": e["DetailType"],
                "account": self.pipeline.id().account,
                "region": self.pipeline.id().region,
                "time": format_time(at),
                "resources": [],
                "detail": e["Detail"],
                "bus": e["EventBusName"],
            });
            self.put.push((at, event));
            ids.push(json!({"EventId": id}));
        }
        TaskOutcome::ok(json!({"Entries": ids, "FailedEntryCount": 0}))
    }

    fn step(&mut self, step: &'a LocalStep, call: &TaskCall<'_>, at: Millis) -> TaskOutcome {
        let attempt = call.retry_count + 1;
        let label = format!("step {} (attempt {attempt})", step.name);
        let id = self.pipeline.id();
        let forced = self
            .fail
            .iter()
            .any(|f| f.pipeline == id.name && f.step.as_ref().is_none_or(|s| *s == step.name));
        if forced {
            let e = self.entry(at, "step-failed", format!("{label} failed: --fail"));
            self.entries.push(e.step(&step.name));
            return TaskOutcome::err(
                "States.TaskFailed",
                format!("step {} failed: forced by --fail", step.name),
            );
        }
        let Some(command) = &step.command else {
            let e = self.entry(
                at,
                "step-simulated",
                format!("{label}: no local.command, simulated as a success"),
            );
            self.entries.push(e.step(&step.name));
            return TaskOutcome::ok(json!({"Simulated": true}));
        };
        let command = self.fill(command);
        let started = self.entry(at, "step-started", format!("{label}: {command}"));
        self.entries.push(started.step(&step.name));
        let result = self.runner.run(&StepRun {
            pipeline: id,
            execution: &self.run.id,
            step: &step.name,
            attempt,
            command: &command,
            dir: &self.pipeline.dir,
            env: self.environment(&step.name),
            timeout_seconds: call.timeout_seconds,
        });
        let end = at + (result.seconds * 1000.0).round() as Millis;
        let took = format!("{:.2} s", result.seconds);
        let (event, detail, outcome) = match (result.exit, &result.error) {
            (_, Some(why)) => (
                "step-failed",
                format!("{label} could not start: {why}"),
                TaskOutcome::Err {
                    error: "States.TaskFailed".into(),
                    cause: why.clone(),
                    duration: result.seconds,
                },
            ),
            (Some(0), None) => (
                "step-succeeded",
                format!("{label} succeeded in {took} (log {})", result.log),
                TaskOutcome::Ok {
                    output: json!({"Step": {"Status": {"State": "COMPLETED"}}}),
                    duration: result.seconds,
                    heartbeats: Vec::new(),
                },
            ),
            (Some(code), None) => (
                "step-failed",
                format!(
                    "{label} exited {code} after {took} (log {}){}",
                    result.log,
                    tail(&result.tail)
                ),
                TaskOutcome::Err {
                    error: "States.TaskFailed".into(),
                    cause: format!(
                        "step {} exited {code}: {}",
                        step.name,
                        result
                            .tail
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or_default()
                            .trim()
                    ),
                    duration: result.seconds,
                },
            ),
            (None, None) => (
                "step-timed-out",
                format!(
                    "{label} stopped at its timeout of {} s (log {}){}",
                    call.timeout_seconds,
                    result.log,
                    tail(&result.tail)
                ),
                TaskOutcome::Err {
                    error: "States.Timeout".into(),
                    cause: format!(
                        "step {} ran longer than {} s",
                        step.name, call.timeout_seconds
                    ),
                    duration: result.seconds.max(call.timeout_seconds as f64),
                },
            ),
        };
        let e = self
            .entry(end, event, detail)
            .step(&step.name)
            .seconds(result.seconds);
        self.entries.push(e);
        outcome
    }

    /// `{{run.*}}` and `{{pipeline.*}}` filled as the compiled state machine fills `args`.
    fn fill(&self, command: &str) -> String {
        let id = self.pipeline.id();
        [
            ("{{run.date}}", self.run.date()),
            ("{{run.time}}", self.run.time.as_str()),
            ("{{run.id}}", self.run.id.as_str()),
            ("{{run.type}}", self.run.kind.as_str()),
            ("{{run.triggerId}}", self.run.trigger_id.as_str()),
            ("{{pipeline.name}}", id.name.as_str()),
            ("{{pipeline.account}}", id.account.as_str()),
            ("{{pipeline.region}}", id.region.as_str()),
        ]
        .iter()
        .fold(command.to_string(), |text, (k, v)| text.replace(k, v))
    }

    fn environment(&self, step: &str) -> Vec<(String, String)> {
        let id = self.pipeline.id();
        [
            ("DPC_PIPELINE", id.name.as_str()),
            ("DPC_ACCOUNT", id.account.as_str()),
            ("DPC_REGION", id.region.as_str()),
            ("DPC_STEP", step),
            ("DPC_RUN_ID", self.run.id.as_str()),
            ("DPC_RUN_TYPE", self.run.kind.as_str()),
            ("DPC_RUN_TIME", self.run.time.as_str()),
            ("DPC_RUN_DATE", self.run.date()),
            ("DPC_TRIGGER_ID", self.run.trigger_id.as_str()),
            ("DPC_LOCAL", "1"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
    }

    fn find(&self, by: impl Fn(&LocalStep) -> bool) -> Option<&'a LocalStep> {
        self.pipeline.steps.iter().find(|s| by(s))
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown = lines[lines.len().saturating_sub(5)..].join("\n    ");
    format!("\n    {shown}")
}

impl<C: Claims, R: StepRunner> TaskHandler for Services<'_, C, R> {
    fn call(&mut self, call: &TaskCall<'_>) -> TaskOutcome {
        let at = call.started.timestamp_millis();
        let service = call.resource.rsplit(":::").next().unwrap_or_default();
        match service {
            "dynamodb:putItem" => self.claim(call, at),
            "events:putEvents" => self.put_events(call, at),
            "elasticmapreduce:createCluster.sync" => {
                self.clusters += 1;
                TaskOutcome::ok(
                    json!({"ClusterId": format!("j-LOCAL{}{}", self.run.id.len(), self.clusters)}),
                )
            }
            "elasticmapreduce:terminateCluster" => TaskOutcome::ok(json!({})),
            "elasticmapreduce:addStep.sync" => {
                let name = call.parameters["Step"]["Name"].as_str().unwrap_or_default();
                match self.find(|s| s.name == name) {
                    Some(step) => self.step(step, call, at),
                    None => no_handler(call),
                }
            }
            "glue:startJobRun.sync" => {
                let job = call.parameters["JobName"].as_str().unwrap_or_default();
                match self.find(|s| s.glue_job.as_deref() == Some(job)) {
                    Some(step) => self.step(step, call, at),
                    None => no_handler(call),
                }
            }
            _ => no_handler(call),
        }
    }
}

/// Where a step's log goes: `<root>/<pipeline>/<execution>/<step>-<attempt>.log`.
pub fn log_path(root: &Path, run: &StepRun<'_>) -> std::path::PathBuf {
    root.join(&run.pipeline.name)
        .join(run.execution)
        .join(format!("{}-{}.log", run.step, run.attempt))
}
