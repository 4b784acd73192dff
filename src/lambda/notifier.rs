//! The `dpc-notifier` function: reads an SQS batch of EventBridge events from the central bus
//! (status changes of `dpc-*` state machines, step status events, SLA missed alerts), renders
//! them with `notify::slack` and posts them to the pipeline's Slack channels — one thread per
//! run and channel: the root on the run's first event, step and final messages as replies,
//! the root updated with the final status — as far as the registration's notification type
//! asks ([`wanted`]), with its team; and publishes email and OpsGenie messages to the
//! pipeline's topics (`topics`). Slack only with a token secret. Produces `batchItemFailures`
//! (what could not be delivered comes back, and after the queue's retries goes to its DLQ)
//! and one JSON log line per event.
//!
//! Never twice: every message has an idempotency key — (execution ARN, kind, step, attempt,
//! status) and the channel — recorded in the manager's table as the item
//! `NOTIFY#<executionArn>` / `SLACK#<channel>[#<kind>#<step>#<attempt>#<status>]` (the root's
//! item keeps the thread's `ts`). A message is first claimed (`pending`, with a lease, written
//! only if absent or its lease expired), then posted, then recorded `done` with its `ts`. A
//! redelivery finds it `done` and calls nothing; a concurrent delivery finds it leased and is
//! retried later. The one duplicate window: a crash (or a failed write) after Slack took the
//! message and before `done` was written — once the lease expires the message is posted
//! again. The other way round (recording before posting) would lose messages instead.

use std::collections::BTreeMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use super::slack::Slack;
use crate::events::{self, ExecutionStatusChange, StepStatusChange};
use crate::notify::{self, RunView, StartedBy, Status, StepView};
use crate::pipeline::raw::NotificationType;

/// The Secrets Manager secret holding the bot token (an ARN).
pub const TOKEN_SECRET_VAR: &str = "DPC_SLACK_TOKEN_SECRET_ARN";
/// The Slack Web API's base URL (default [`super::slack::DEFAULT_BASE`]).
pub const API_URL_VAR: &str = "DPC_SLACK_API_URL";
/// Channels per pipeline name (`{"pipeline-x": ["C0123"], "*": [...]}`) for pipelines whose
/// registration names none (registered before `SlackChannels`, or tests).
pub const CHANNELS_VAR: &str = "DPC_SLACK_CHANNELS_JSON";

/// How long a claimed message is its claimer's to post (longer than a Slack call with its
/// 429 waits).
const LEASE_MS: i64 = 150_000;
/// Records are kept 35 days (as event ids), longer than any redelivery.
const KEEP_SECS: i64 = 35 * 24 * 3600;

/// The Slack channels of each pipeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Channels(BTreeMap<String, Vec<String>>);

impl Channels {
    /// From `{"<pipeline>": ["<channel>", …], "*": [...]}`.
    pub fn parse(text: &str) -> Result<Channels, String> {
        serde_json::from_str(text)
            .map(Channels)
            .map_err(|e| format!("{CHANNELS_VAR} is not a JSON object of channel lists: {e}"))
    }

    /// A pipeline's channels (its own, else those under `*`).
    pub fn of(&self, pipeline: &str) -> Vec<String> {
        self.0
            .get(pipeline)
            .or_else(|| self.0.get("*"))
            .cloned()
            .unwrap_or_default()
    }
}

/// The bot token from its secret: the secret string itself, or its `token` field when JSON.
pub async fn token(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<String, String> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| format!("GetSecretValue {arn}: {}", crate::aws::describe(&e)))?;
    let text = out
        .secret_string()
        .ok_or_else(|| format!("the secret {arn} has no string value"))?
        .trim();
    Ok(serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["token"].as_str().map(String::from))
        .unwrap_or_else(|| text.to_string()))
}

/// Where the notifier records what it posted: the manager's table.
#[derive(Clone)]
pub struct Records {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

/// A message's state in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Claim {
    /// Posted before: its `ts`.
    Done(String),
    /// Ours to post.
    Mine,
    /// Another delivery holds it now.
    Busy,
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl Records {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<(String, String)>, String> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("GetItem: {}", crate::aws::describe(&e)))?;
        Ok(out.item().map(|item| {
            let text = |k: &str| {
                item.get(k)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default()
            };
            (text("state"), text("ts"))
        }))
    }

    pub(super) async fn claim(&self, pk: &str, sk: &str, now: i64) -> Result<Claim, String> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("state", s("pending"))
            .item("leaseUntil", n(now + LEASE_MS))
            .item("expiresAt", n(now / 1000 + KEEP_SECS))
            .condition_expression(
                "attribute_not_exists(pk) OR (#state = :pending AND leaseUntil < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Mine),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                match self.get(pk, sk).await? {
                    Some((state, ts)) if state == "done" => Ok(Claim::Done(ts)),
                    _ => Ok(Claim::Busy),
                }
            }
            Err(e) => Err(format!("PutItem: {}", crate::aws::describe(&e))),
        }
    }

    async fn registration(
        &self,
        key: &str,
    ) -> Result<Option<crate::manager::registry::Registration>, String> {
        super::read_registration(&self.client, &self.table, key).await
    }

    /// Gives a claim up after Slack refused the message (it was not posted).
    pub(super) async fn release(&self, pk: &str, sk: &str) -> Result<(), String> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .condition_expression("#state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("DeleteItem: {}", crate::aws::describe(&e)))
    }

    pub(super) async fn done(&self, pk: &str, sk: &str, ts: &str, now: i64) -> Result<(), String> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("state", s("done"))
            .item("ts", s(ts))
            .item("expiresAt", n(now / 1000 + KEEP_SECS))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("PutItem: {}", crate::aws::describe(&e)))
    }
}

/// What one event did.
#[derive(Debug, Default)]
struct Done {
    posted: u32,
    updated: u32,
    skipped: u32,
}

/// The notifier's parts.
pub struct Notifier {
    /// `None`: no Slack token secret was given; email and OpsGenie only.
    pub slack: Option<Slack>,
    /// Publishes to the pipelines' topics (`topics`).
    pub sns: aws_sdk_sns::Client,
    pub records: Records,
    /// For pipelines whose registration names no channel.
    pub channels: Channels,
}

/// An event the notifier handles.
enum Event {
    Status {
        run: Box<RunView>,
    },
    Step {
        run: Box<RunView>,
        step: StepView,
    },
    Sla {
        alert: Box<notify::sla::SlaAlert>,
        /// From the registration, when it is there.
        team: String,
    },
}

impl Event {
    /// Roots first, then steps, then final statuses, so a batch builds threads in order.
    fn rank(&self) -> u8 {
        match self {
            Event::Status { run } if !run.is_final() => 0,
            Event::Step { .. } | Event::Sla { .. } => 1,
            Event::Status { .. } => 2,
        }
    }

    fn pipeline(&self) -> &str {
        match self {
            Event::Status { run } | Event::Step { run, .. } => &run.pipeline,
            Event::Sla { alert, .. } => &alert.pipeline.name,
        }
    }

    /// The registry key of the pipeline (`account/region/name`).
    fn registry_key(&self) -> String {
        match self {
            Event::Status { run } | Event::Step { run, .. } => {
                format!("{}/{}/{}", run.account, run.region, run.pipeline)
            }
            Event::Sla { alert, .. } => alert.pipeline.key(),
        }
    }
}

/// Reads one record's body; `Ok(None)`: not an event for the notifier.
fn parse(body: &str) -> Result<Option<Event>, String> {
    let value: Value = serde_json::from_str(body).map_err(|e| format!("not JSON: {e}"))?;
    let source = value["source"].as_str().unwrap_or_default();
    let kind = value["detail-type"].as_str().unwrap_or_default();
    let account = value["account"].as_str().unwrap_or_default();
    let region = value["region"].as_str().unwrap_or_default();
    let detail = &value["detail"];
    if source == events::STATUS_SOURCE && kind == events::STATUS_DETAIL_TYPE {
        let change: ExecutionStatusChange = serde_json::from_value(detail.clone())
            .map_err(|e| format!("a status change without its fields: {e}"))?;
        // The pipeline's account and region from its state machine's ARN (the envelope's
        // are the sender's, which a replayed or re-sent event may not keep).
        let parts: Vec<&str> = change.state_machine_arn.split(':').collect();
        let (region, account, machine) = match parts.as_slice() {
            [_, _, "states", r, a, "stateMachine", m, ..] => (*r, *a, *m),
            _ => (region, account, ""),
        };
        let Some(pipeline) = machine.strip_prefix("dpc-") else {
            return Ok(None);
        };
        let mut run = RunView::from_status(&change, pipeline, "", account, region);
        run.error = detail["error"].as_str().map(String::from);
        run.cause = detail["cause"].as_str().map(String::from);
        return Ok(Some(Event::Status { run: Box::new(run) }));
    }
    if source == events::STEP_SOURCE && kind == events::STEP_DETAIL_TYPE {
        let change: StepStatusChange = serde_json::from_value(detail.clone())
            .map_err(|e| format!("a step status event without its fields: {e}"))?;
        let step = StepView::from_event(&change)
            .ok_or_else(|| format!("the step event's time {:?} is not ISO 8601", change.time))?;
        let run = RunView {
            pipeline: change.pipeline.clone(),
            team: String::new(),
            account: change.account.clone(),
            region: change.region.clone(),
            execution_arn: change.execution_arn.clone(),
            execution_name: change
                .execution_arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string(),
            started_by: StartedBy::Manual,
            status: Status::Running,
            started_ms: step.at_ms,
            stopped_ms: None,
            error: None,
            cause: None,
        };
        return Ok(Some(Event::Step {
            run: Box::new(run),
            step,
        }));
    }
    if source == events::SLA_SOURCE && kind == events::SLA_DETAIL_TYPE {
        let alert: notify::sla::SlaAlert = serde_json::from_value(detail.clone())
            .map_err(|e| format!("an SLA event without its fields: {e}"))?;
        if alert.key.is_empty() {
            return Err("an SLA event without its key".into());
        }
        return Ok(Some(Event::Sla {
            alert: Box::new(alert),
            team: String::new(),
        }));
    }
    Ok(None)
}

impl Notifier {
    fn slack(&self) -> Result<&Slack, String> {
        self.slack
            .as_ref()
            .ok_or_else(|| "no Slack token secret is configured".to_string())
    }

    /// Email and OpsGenie for a run's status or a step's event (`topics`).
    async fn publish_event(
        &self,
        event: &Event,
        reg: &crate::manager::registry::Registration,
        now: i64,
    ) -> Result<super::topics::Published, String> {
        match event {
            Event::Status { run } => self.publish(reg, run, None, now).await,
            Event::Step { run, step } => self.publish(reg, run, Some(step), now).await,
            Event::Sla { alert, team } => self.publish_sla(reg, alert, team, now).await,
        }
    }

    /// Posts `body` once under the key (`pk`, `sk`), in the thread of `thread` when given;
    /// its `ts`.
    async fn post_once(
        &self,
        (pk, sk): (&str, &str),
        channel: &str,
        body: &Value,
        thread: Option<&str>,
        now: i64,
        done: &mut Done,
    ) -> Result<String, String> {
        match self.records.claim(pk, sk, now).await? {
            Claim::Done(ts) => {
                done.skipped += 1;
                Ok(ts)
            }
            Claim::Busy => Err(format!(
                "{sk} is being posted by another delivery: try again"
            )),
            Claim::Mine => {
                let ts = match self.slack()?.post(channel, body, thread).await {
                    Ok(ts) => ts,
                    Err(e) => return Err(self.refused(pk, sk, channel, e).await),
                };
                done.posted += 1;
                self.records.done(pk, sk, &ts, now).await?;
                Ok(ts)
            }
        }
    }

    /// The error of a call Slack did not take; its claim is given up unless the call may
    /// have reached Slack (a transport error: the lease runs out instead).
    async fn refused(
        &self,
        pk: &str,
        sk: &str,
        channel: &str,
        e: super::slack::SlackError,
    ) -> String {
        let mut why = format!("{channel}: {e}");
        if e.code != "transport"
            && let Err(r) = self.records.release(pk, sk).await
        {
            why.push_str(&format!(" (and releasing its claim: {r})"));
        }
        why
    }

    /// The run's thread in `channel`: its root's `ts`, posting the root if it is not there.
    async fn root(
        &self,
        run: &RunView,
        channel: &str,
        now: i64,
        done: &mut Done,
    ) -> Result<String, String> {
        let pk = format!("NOTIFY#{}", run.execution_arn);
        let sk = format!("SLACK#{channel}");
        let body = notify::slack::root(run);
        self.post_once((&pk, &sk), channel, &body, None, now, done)
            .await
    }

    async fn one(
        &self,
        event: &Event,
        channel: &str,
        now: i64,
        done: &mut Done,
    ) -> Result<(), String> {
        match event {
            Event::Status { run } => {
                let thread = self.root(run, channel, now, done).await?;
                if !run.is_final() {
                    return Ok(());
                }
                let pk = format!("NOTIFY#{}", run.execution_arn);
                let status = run.status.as_str();
                let sk = format!("SLACK#{channel}#final#-#-#{status}");
                let body = notify::slack::final_message(run);
                self.post_once((&pk, &sk), channel, &body, Some(&thread), now, done)
                    .await?;
                let sk = format!("SLACK#{channel}#update#-#-#{status}");
                match self.records.claim(&pk, &sk, now).await? {
                    Claim::Done(_) => done.skipped += 1,
                    Claim::Busy => return Err(format!("{sk} is being updated: try again")),
                    Claim::Mine => {
                        let body = notify::slack::root_update(run);
                        if let Err(e) = self.slack()?.update(channel, &thread, &body).await {
                            return Err(self.refused(&pk, &sk, channel, e).await);
                        }
                        done.updated += 1;
                        self.records.done(&pk, &sk, &thread, now).await?;
                    }
                }
                Ok(())
            }
            Event::Step { run, step } => {
                let pk = format!("NOTIFY#{}", run.execution_arn);
                let root = self.records.get(&pk, &format!("SLACK#{channel}")).await?;
                let Some((_, thread)) = root.filter(|(state, _)| state == "done") else {
                    // The run's RUNNING event has not been handled yet: come back later.
                    return Err(format!(
                        "no thread yet for {} in {channel}: try again",
                        run.execution_arn
                    ));
                };
                let sk = format!(
                    "SLACK#{channel}#step#{}#{}#{}",
                    step.step,
                    step.attempt,
                    step.status.as_str()
                );
                let body = notify::slack::step(run, step);
                self.post_once((&pk, &sk), channel, &body, Some(&thread), now, done)
                    .await
                    .map(|_| ())
            }
            Event::Sla { alert, team } => {
                // A message of its own, once per alert key and channel.
                let pk = format!("NOTIFY#{}", alert.key);
                let sk = format!("SLACK#{channel}");
                let body = notify::sla::slack(alert, team);
                self.post_once((&pk, &sk), channel, &body, None, now, done)
                    .await
                    .map(|_| ())
            }
        }
    }

    /// Handles a batch; the answer and one log line per record.
    pub async fn handle_batch(
        &self,
        batch: &SqsEvent,
        now: &impl Fn() -> i64,
        on_line: &mut impl FnMut(&Value),
    ) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        let mut parsed = Vec::new();
        for record in &batch.records {
            let id = record.message_id.clone().unwrap_or_default();
            match parse(record.body.as_deref().unwrap_or_default()) {
                Ok(Some(event)) => parsed.push((id, event)),
                Ok(None) => on_line(&json!({"messageId": id, "result": "IGNORED"})),
                // A body that will never read is the DLQ's at once.
                Err(e) => {
                    on_line(&json!({"messageId": id, "result": "FAILED", "error": e}));
                    response.batch_item_failures.push(failure(&id));
                }
            }
        }
        parsed.sort_by_key(|(_, e)| e.rank());
        for (id, mut event) in parsed {
            let registered = self.records.registration(&event.registry_key()).await;
            let mut published: Result<super::topics::Published, String> = Ok(Default::default());
            let mut slack_wanted = true;
            let mut notification_type = None;
            if let Ok(Some(reg)) = &registered {
                if let Event::Status { run } | Event::Step { run, .. } = &mut event {
                    run.team.clone_from(&reg.team);
                }
                if let Event::Sla { team, .. } = &mut event {
                    team.clone_from(&reg.team);
                }
                // Email and OpsGenie decide for themselves (a success closes alerts, whatever
                // the type).
                published = self.publish_event(&event, reg, now()).await;
                slack_wanted = wanted(&event, reg.notification_type);
                notification_type = reg.notification_type;
            }
            let (mut channels, from) = match registered {
                Ok(Some(reg)) if !reg.slack_channels.is_empty() => {
                    (reg.slack_channels, "registration")
                }
                Ok(found) => (
                    self.channels.of(event.pipeline()),
                    if found.is_some() {
                        "environment (registered without channels)"
                    } else {
                        "environment (not registered)"
                    },
                ),
                Err(e) => {
                    on_line(&json!({"messageId": id, "result": "FAILED", "error": e}));
                    response.batch_item_failures.push(failure(&id));
                    continue;
                }
            };
            if !slack_wanted || self.slack.is_none() {
                channels.clear();
            }
            let mut done = Done::default();
            let mut errors = Vec::new();
            let published = published.unwrap_or_else(|e| {
                errors.push(e);
                Default::default()
            });
            for channel in &channels {
                if let Err(e) = self.one(&event, channel, now(), &mut done).await {
                    errors.push(e);
                }
            }
            let (kind, execution) = match &event {
                Event::Status { run } => {
                    (run.status.as_str().to_string(), run.execution_arn.clone())
                }
                Event::Step { run, step } => (
                    format!("step {} {}", step.step, step.status.as_str()),
                    run.execution_arn.clone(),
                ),
                Event::Sla { alert, .. } => ("SLA".to_string(), alert.key.clone()),
            };
            let result = match (errors.is_empty(), slack_wanted || !published.is_empty()) {
                (false, _) => "FAILED",
                (true, true) => "DELIVERED",
                (true, false) => "NOT_NOTIFIED",
            };
            let mut line = json!({
                "messageId": id, "pipeline": event.pipeline(), "event": kind, "execution": execution,
                "channels": channels.len(), "channelsFrom": from, "posted": done.posted, "updated": done.updated,
                "skipped": done.skipped, "topics": published.to_json(), "notificationType": notification_type,
                "result": result,
            });
            if !errors.is_empty() {
                line["error"] = json!(errors.join("; "));
                response.batch_item_failures.push(failure(&id));
            }
            on_line(&line);
        }
        response
    }
}

/// Whether the pipeline's notification type posts this event: FULL_EXECUTION everything,
/// PIPELINE_STATUS runs without their steps, FAILURE_ONLY the runs that did not succeed (their
/// thread starts at the end); SLA alerts always.
fn wanted(event: &Event, kind: Option<NotificationType>) -> bool {
    match (kind, event) {
        (_, Event::Sla { .. }) | (None | Some(NotificationType::FullExecution), _) => true,
        (Some(NotificationType::FailureOnly), Event::Status { run }) => run.is_failure(),
        (Some(NotificationType::PipelineStatus), Event::Status { .. }) => true,
        (Some(_), Event::Step { .. }) => false,
    }
}

fn failure(id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id.to_string();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_type_decides_what_is_posted() {
        let status = |s: &str| {
            let body = json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                "account": "1", "region": "r",
                "detail": {"executionArn": "arn:aws:states:r:1:execution:dpc-p:e",
                    "stateMachineArn": "arn:aws:states:r:1:stateMachine:dpc-p", "status": s, "startDate": 1}});
            parse(&body.to_string()).unwrap().unwrap()
        };
        let step = parse(
            &json!({"source": events::STEP_SOURCE, "detail-type": events::STEP_DETAIL_TYPE,
            "detail": {"pipeline": "p", "account": "1", "region": "r", "executionArn": "a:b",
                "step": "load", "status": "FAILED", "attempt": 1, "time": "2026-01-01T00:00:00Z"}})
            .to_string(),
        )
        .unwrap()
        .unwrap();
        use NotificationType::*;
        let (running, failed, succeeded) =
            (status("RUNNING"), status("FAILED"), status("SUCCEEDED"));
        for kind in [None, Some(FullExecution)] {
            assert!(
                [&running, &failed, &succeeded, &step]
                    .iter()
                    .all(|e| wanted(e, kind))
            );
        }
        assert!(wanted(&running, Some(PipelineStatus)) && wanted(&succeeded, Some(PipelineStatus)));
        assert!(!wanted(&step, Some(PipelineStatus)));
        assert!(wanted(&failed, Some(FailureOnly)));
        assert!(!wanted(&running, Some(FailureOnly)) && !wanted(&succeeded, Some(FailureOnly)));
        assert!(!wanted(&step, Some(FailureOnly)));
    }

    #[test]
    fn channels_fall_back_to_the_default() {
        let c = Channels::parse(r##"{"pipeline-x": ["C1", "C2"], "*": ["#data"]}"##).unwrap();
        assert_eq!(c.of("pipeline-x"), ["C1", "C2"]);
        assert_eq!(c.of("searches"), ["#data"]);
        assert!(Channels::parse("[]").is_err());
        assert!(Channels::default().of("x").is_empty());
    }

    #[test]
    fn only_dpc_state_machines_and_known_events_are_read() {
        let status = |machine: &str, status: &str| {
            json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                "account": "111111111111", "region": "eu-west-1",
                "detail": {"executionArn": "arn:aws:states:eu-west-1:111111111111:execution:m:e1",
                    "stateMachineArn": format!("arn:aws:states:eu-west-1:111111111111:stateMachine:{machine}"),
                    "status": status, "startDate": 1, "error": "E", "cause": "C"}})
            .to_string()
        };
        assert!(parse(&status("other", "RUNNING")).unwrap().is_none());
        let Some(Event::Status { run }) = parse(&status("dpc-searches", "FAILED")).unwrap() else {
            panic!("a status");
        };
        assert_eq!(run.pipeline, "searches");
        assert_eq!(run.error.as_deref(), Some("E"));
        assert!(parse(r#"{"source": "x"}"#).unwrap().is_none());
        assert!(parse("nope").is_err());
        let step = json!({"source": events::STEP_SOURCE, "detail-type": events::STEP_DETAIL_TYPE,
            "detail": {"pipeline": "p", "account": "1", "region": "r", "executionArn": "a:b",
                "step": "load", "status": "STARTED", "attempt": 1, "time": "2026-01-01T00:00:00Z"}});
        let event = parse(&step.to_string()).unwrap().unwrap();
        assert_eq!(event.rank(), 1);
        assert_eq!(event.pipeline(), "p");
    }
}
