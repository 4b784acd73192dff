//! The `dpc-reconciler` function (on a schedule): reads the registrations, and for every
//! upstream state machine they wait on lists its executions in the upstream account (through
//! that account's read-only role `dpc-reconciler-read`), compares them with the manager's run
//! log, and sends each status the log is missing to the manager's FIFO queue as the status
//! change event AWS would have delivered. The manager de-duplicates, so a status that arrives
//! both ways counts once. Produces a summary (also the function's result) with the failures
//! per account and state machine; one account failing does not stop the others.
//!
//! How far back: a watermark per state machine (the start time of its oldest execution still
//! running at the last pass, else of its newest execution seen), kept in the manager's table
//! (`pk = RECONCILER#<stateMachineArn>`, `sk = WATERMARK`). A pass lists newest first and
//! stops [`MARGIN_MS`] before the watermark (listings are eventually consistent); a state
//! machine seen for the first time is looked at over [`FIRST_LOOK_BACK_MS`]. A watermark only
//! moves after everything found was sent. So each pass reads what is new (one
//! `ListExecutions` page for most state machines, one run log read per execution listed and a
//! `DescribeExecution` only for a status the log is missing, for the execution input), and a
//! reconciler that was down catches up from where it stopped instead of from a fixed window.
//! Not found: the redrive of an execution that started before the watermark (the live event
//! still brings it).
//!
//! The pass then checks the SLAs of the registered pipelines ([`Manager::check_slas`]): a
//! missed one is claimed once per pipeline and day and put into the outbox as a `dpc SLA
//! Missed` event. Last it looks at the manager's outbox: when triggers or alerts are waiting
//! there (alerts, or triggers the bus refused for longer than their messages were retried),
//! it sends the manager a message ([`super::manager::NUDGE_SOURCE`]), whose invocation sends
//! the outbox first (to the central bus, where the central notifier takes the alerts).

use std::collections::BTreeMap;

use aws_config::{Region, SdkConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::deploy::central_stack;
use crate::events::{self, ExecutionStatusChange, StatusChangeEvent};
use crate::manager::Manager;
use crate::manager::registry::{PipelineId, Upstream};
use crate::manager::runlog::{self, Run};
use crate::manager::store::{Millis, OutboxItem, Store, StoreError};
use crate::manager::time::format_time;

/// How far before the watermark a pass looks.
pub const MARGIN_MS: Millis = 15 * 60 * 1000;
/// How far back the first pass over a state machine looks.
pub const FIRST_LOOK_BACK_MS: Millis = 24 * 60 * 60 * 1000;
/// `SendMessageBatch` takes at most 10 messages.
const SEND_MAX: usize = 10;

/// Where watermarks are kept.
pub trait Watermarks {
    fn get(
        &self,
        state_machine: &str,
    ) -> impl std::future::Future<Output = Result<Option<Millis>, String>> + Send;
    fn put(
        &self,
        state_machine: &str,
        at: Millis,
    ) -> impl std::future::Future<Output = Result<(), String>> + Send;
}

/// Watermarks as items of the manager's table.
pub struct TableWatermarks {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

fn watermark_key(state_machine: &str) -> [(&'static str, String); 2] {
    [
        ("pk", format!("RECONCILER#{state_machine}")),
        ("sk", "WATERMARK".to_string()),
    ]
}

impl Watermarks for TableWatermarks {
    async fn get(&self, state_machine: &str) -> Result<Option<Millis>, String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut get = self.client.get_item().table_name(&self.table);
        for (k, v) in watermark_key(state_machine) {
            get = get.key(k, AttributeValue::S(v));
        }
        let out = get.send().await.map_err(|e| {
            format!(
                "reading the watermark of {state_machine}: {}",
                crate::aws::describe(&e)
            )
        })?;
        Ok(out
            .item()
            .and_then(|i| i.get("startDate"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok()))
    }

    async fn put(&self, state_machine: &str, at: Millis) -> Result<(), String> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("startDate", AttributeValue::N(at.to_string()));
        for (k, v) in watermark_key(state_machine) {
            put = put.item(k, AttributeValue::S(v));
        }
        put.send().await.map(|_| ()).map_err(|e| {
            format!(
                "writing the watermark of {state_machine}: {}",
                crate::aws::describe(&e)
            )
        })
    }
}

/// Watermarks kept for the life of the process (tests, and a store without a table).
#[derive(Default)]
pub struct MemoryWatermarks(std::sync::Mutex<BTreeMap<String, Millis>>);

impl Watermarks for MemoryWatermarks {
    async fn get(&self, state_machine: &str) -> Result<Option<Millis>, String> {
        Ok(self
            .0
            .lock()
            .map_err(|_| "watermarks poisoned")?
            .get(state_machine)
            .copied())
    }

    async fn put(&self, state_machine: &str, at: Millis) -> Result<(), String> {
        self.0
            .lock()
            .map_err(|_| "watermarks poisoned")?
            .insert(state_machine.to_string(), at);
        Ok(())
    }
}

/// What the reconciler reaches AWS with.
pub struct Reach {
    /// The function's own configuration (central account).
    pub base: SdkConfig,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// One execution as `ListExecutions` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub start: Millis,
    pub stop: Option<Millis>,
    pub redrive: u32,
}

impl Listed {
    fn running(&self) -> bool {
        matches!(self.status.as_str(), "RUNNING" | "PENDING_REDRIVE")
    }
}

/// The decision for one state machine: which listed executions to send, and the next
/// watermark.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub send: Vec<usize>,
    pub watermark: Option<Millis>,
}

/// Pure: `listed` newest first, `known` what the run log has of each (same order).
pub fn plan(
    state_machine: &str,
    listed: &[Listed],
    known: &[Option<Run>],
    old: Option<Millis>,
) -> Plan {
    let mut send = Vec::new();
    for (i, (l, k)) in listed.iter().zip(known).enumerate() {
        let Ok(obs) = runlog::observe_status(None, &detail(state_machine, l, None), l.start) else {
            continue; // PENDING_REDRIVE and other statuses the manager does not track
        };
        if k.as_ref().is_none_or(|k| k.progress() < obs.run.progress()) {
            send.push(i);
        }
    }
    let running = listed.iter().filter(|l| l.running()).map(|l| l.start).min();
    let newest = listed.iter().map(|l| l.start).max();
    // The oldest running execution holds it back (it may still end); else it moves up to
    // the newest start seen.
    let watermark = match (running, newest) {
        (Some(r), _) => Some(r),
        (None, Some(n)) => Some(old.map_or(n, |o| o.max(n))),
        (None, None) => old,
    };
    send.reverse(); // oldest first, as they happened
    Plan { send, watermark }
}

fn detail(state_machine: &str, l: &Listed, input: Option<String>) -> ExecutionStatusChange {
    ExecutionStatusChange {
        execution_arn: l.arn.clone(),
        state_machine_arn: state_machine.to_string(),
        name: Some(l.name.clone()),
        status: l.status.clone(),
        start_date: Some(l.start),
        stop_date: l.stop,
        input,
        redrive_count: Some(l.redrive),
    }
}

/// The status change event as EventBridge delivers it from Step Functions (the id is the
/// fact itself, as the local runtime's).
pub fn event(
    pipeline: &PipelineId,
    state_machine: &str,
    l: &Listed,
    input: Option<String>,
) -> StatusChangeEvent {
    events::Envelope {
        id: Some(format!("{}/{}/{}", l.arn, l.status, l.redrive)),
        source: events::STATUS_SOURCE.into(),
        detail_type: events::STATUS_DETAIL_TYPE.into(),
        account: pipeline.account.clone(),
        region: pipeline.region.clone(),
        time: Some(format_time(l.stop.unwrap_or(l.start))),
        resources: vec![l.arn.clone()],
        detail: detail(state_machine, l, input),
    }
}

/// The FIFO de-duplication id: the same status of the same execution is one message.
pub fn dedup_id(l: &Listed) -> String {
    let mut h = Sha256::new();
    h.update(
        format!(
            "{}\n{}\n{}\n{}",
            l.arn,
            l.status,
            l.redrive,
            l.stop.unwrap_or(0)
        )
        .as_bytes(),
    );
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The upstream state machines of all registrations, by account.
pub fn upstreams<S: Store>(
    manager: &mut Manager<S>,
) -> Result<BTreeMap<String, Vec<PipelineId>>, StoreError> {
    let mut out: BTreeMap<String, Vec<PipelineId>> = BTreeMap::new();
    for reg in manager.registrations()? {
        for leaf in reg.leaves {
            if let Upstream::Execution(id) = leaf.upstream {
                let list = out.entry(id.account.clone()).or_default();
                if !list.contains(&id) {
                    list.push(id);
                }
            }
        }
    }
    for list in out.values_mut() {
        list.sort();
    }
    Ok(out)
}

/// One pass over every registered upstream; the summary (failures included).
pub async fn reconcile<S: Store, W: Watermarks>(
    manager: &mut Manager<S>,
    watermarks: &W,
    reach: &Reach,
    now: Millis,
) -> Value {
    let mut machines = Vec::new();
    let mut failures = Vec::new();
    let mut sent = 0;
    let by_account = match upstreams(manager) {
        Ok(u) => u,
        Err(e) => {
            return json!({"stateMachines": [], "sent": 0, "failures": [{"error": format!("reading the registrations: {e}")}]});
        }
    };
    for (account, pipelines) in by_account {
        let role = format!(
            "arn:aws:iam::{account}:role/{}",
            central_stack::RECONCILER_READ_ROLE
        );
        let config = crate::aws::assume_role(reach.base.clone(), &role, "dpc-reconciler").await;
        for pipeline in pipelines {
            let sm = runlog::state_machine_arn(&pipeline);
            let sfn = aws_sdk_sfn::Client::from_conf(
                aws_sdk_sfn::config::Builder::from(&config)
                    .region(Region::new(pipeline.region.clone()))
                    .build(),
            );
            match machine(manager, watermarks, reach, &sfn, &pipeline, &sm, now).await {
                Ok(summary) => {
                    sent += summary["sent"].as_u64().unwrap_or(0);
                    machines.push(summary);
                }
                Err(e) => {
                    failures.push(json!({"account": account, "stateMachine": sm, "error": e}))
                }
            }
        }
    }
    // SLAs missed by now: each alert once per pipeline and day, into the outbox (below).
    let slas = match manager.check_slas(now) {
        Ok(alerts) => alerts.into_iter().map(|a| a.key).collect(),
        Err(e) => {
            failures.push(json!({"error": format!("checking the SLAs: {e}")}));
            Vec::new()
        }
    };
    // Triggers decided but not sent (the bus refused them longer than their messages were
    // retried) and SLA alerts: a message makes the manager send them.
    match manager.outbox() {
        Ok(items) if !items.is_empty() => {
            if let Err(e) = nudge(reach, &items, now).await {
                failures
                    .push(json!({"error": format!("reminding the manager of its outbox: {e}")}));
            }
        }
        Ok(_) => {}
        Err(e) => failures.push(json!({"error": format!("reading the outbox: {e}")})),
    }
    json!({"stateMachines": machines, "sent": sent, "slaMissed": slas, "failures": failures})
}

async fn nudge(reach: &Reach, items: &[OutboxItem], now: Millis) -> Result<(), String> {
    let body = json!({
        "source": super::manager::NUDGE_SOURCE,
        "detail-type": super::manager::NUDGE_DETAIL_TYPE,
        "detail": {"waiting": items.len(), "oldest": items.first().map(|i| &i.id)},
    });
    reach
        .sqs
        .send_message()
        .queue_url(&reach.queue_url)
        .message_body(body.to_string())
        .message_group_id(central_stack::MESSAGE_GROUP)
        .message_deduplication_id(format!("outbox-{now}"))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("SendMessage: {}", crate::aws::describe(&e)))
}

async fn machine<S: Store, W: Watermarks>(
    manager: &mut Manager<S>,
    watermarks: &W,
    reach: &Reach,
    sfn: &aws_sdk_sfn::Client,
    pipeline: &PipelineId,
    sm: &str,
    now: Millis,
) -> Result<Value, String> {
    let old = watermarks.get(sm).await?;
    let bound = old.map_or(now - FIRST_LOOK_BACK_MS, |w| w - MARGIN_MS);
    let listed = list(sfn, sm, bound).await?;
    let upstream = pipeline.upstream_key();
    let known: Vec<Option<Run>> = manager
        .store_mut()
        .transaction(|tx| listed.iter().map(|l| tx.run(&upstream, &l.arn)).collect())
        .map_err(|e| format!("reading the run log: {e}"))?;
    let plan = plan(sm, &listed, &known, old);
    let mut events = Vec::new();
    for &i in &plan.send {
        let l = &listed[i];
        let described = sfn
            .describe_execution()
            .execution_arn(&l.arn)
            .send()
            .await
            .map_err(|e| format!("DescribeExecution {}: {}", l.arn, crate::aws::describe(&e)))?;
        // The description is newer than the listing: take its status and dates.
        let l = Listed {
            status: described.status().as_str().to_string(),
            stop: described.stop_date().map(millis),
            redrive: described
                .redrive_count()
                .map_or(l.redrive, |n| n.max(0) as u32),
            ..l.clone()
        };
        events.push((
            dedup_id(&l),
            event(pipeline, sm, &l, described.input().map(String::from)),
        ));
    }
    for chunk in events.chunks(SEND_MAX) {
        send(reach, chunk).await?;
    }
    if let Some(w) = plan.watermark.filter(|w| Some(*w) != old) {
        watermarks.put(sm, w).await?;
    }
    Ok(json!({
        "stateMachine": sm,
        "listed": listed.len(),
        "sent": events.len(),
        "executions": events.iter().map(|(_, e)| format!("{} {}", e.detail.execution_arn, e.detail.status)).collect::<Vec<_>>(),
        "watermark": plan.watermark.map(format_time),
    }))
}

fn millis(t: &aws_sdk_sfn::primitives::DateTime) -> Millis {
    t.to_millis().unwrap_or(0)
}

/// Executions started at or after `bound`, newest first.
async fn list(sfn: &aws_sdk_sfn::Client, sm: &str, bound: Millis) -> Result<Vec<Listed>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(sm)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| format!("ListExecutions {sm}: {}", crate::aws::describe(&e)))?;
        for item in page.executions() {
            let start = millis(item.start_date());
            if start < bound {
                return Ok(out);
            }
            out.push(Listed {
                arn: item.execution_arn().to_string(),
                name: item.name().to_string(),
                status: item.status().as_str().to_string(),
                start,
                stop: item.stop_date().map(millis),
                redrive: item.redrive_count().map_or(0, |n| n.max(0) as u32),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

async fn send(reach: &Reach, chunk: &[(String, StatusChangeEvent)]) -> Result<(), String> {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    let mut request = reach.sqs.send_message_batch().queue_url(&reach.queue_url);
    for (i, (dedup, event)) in chunk.iter().enumerate() {
        let body = serde_json::to_string(event).map_err(|e| e.to_string())?;
        let entry = SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(body)
            .message_group_id(central_stack::MESSAGE_GROUP)
            .message_deduplication_id(dedup)
            .build()
            .map_err(|e| e.to_string())?;
        request = request.entries(entry);
    }
    let out = request
        .send()
        .await
        .map_err(|e| format!("SendMessageBatch: {}", crate::aws::describe(&e)))?;
    match out.failed().first() {
        Some(f) => Err(format!(
            "SendMessageBatch refused {} message(s), first: {} {}",
            out.failed().len(),
            f.code(),
            f.message().unwrap_or_default()
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::runlog::RunType;

    const SM: &str = "arn:aws:states:eu-west-1:111111111111:stateMachine:dpc-a";

    fn listed(name: &str, status: &str, start: Millis) -> Listed {
        Listed {
            arn: format!("arn:aws:states:eu-west-1:111111111111:execution:dpc-a:{name}"),
            name: name.into(),
            status: status.into(),
            start,
            stop: (status != "RUNNING").then_some(start + 10),
            redrive: 0,
        }
    }

    fn known(l: &Listed) -> Option<Run> {
        Some(Run {
            upstream: "x:111111111111/eu-west-1/a".into(),
            id: l.arn.clone(),
            status: l.status.clone(),
            redrive: 0,
            run_type: RunType::Scheduled,
            started: l.start,
            time: l.start,
            stop_date: 0,
            trigger_id: None,
        })
    }

    #[test]
    fn only_what_the_log_misses_is_sent_oldest_first() {
        let all = [
            listed("c", "SUCCEEDED", 300),
            listed("b", "SUCCEEDED", 200),
            listed("a", "FAILED", 100),
        ];
        let mut running_b = all[1].clone();
        running_b.status = "RUNNING".into();
        let log = [None, known(&running_b), known(&all[2])];
        let p = plan(SM, &all, &log, None);
        assert_eq!(p.send, [1, 0]);
        assert_eq!(p.watermark, Some(300));
    }

    #[test]
    fn a_running_execution_holds_the_watermark_back() {
        let all = [
            listed("c", "SUCCEEDED", 300),
            listed("b", "RUNNING", 200),
            listed("z", "PENDING_REDRIVE", 250),
        ];
        let log = [known(&all[0]), known(&all[1]), None];
        let p = plan(SM, &all, &log, Some(150));
        assert!(p.send.is_empty(), "{p:?}");
        assert_eq!(p.watermark, Some(200));
        assert_eq!(plan(SM, &[], &[], Some(150)).watermark, Some(150));
    }

    #[test]
    fn the_event_is_the_one_step_functions_sends() {
        let l = listed("r1", "SUCCEEDED", 1_000);
        let id = PipelineId {
            account: "111111111111".into(),
            region: "eu-west-1".into(),
            name: "a".into(),
        };
        let e = event(&id, SM, &l, Some("{}".into()));
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["source"], "aws.states");
        assert_eq!(v["detail"]["stopDate"], 1_010);
        assert_eq!(v["detail"]["redriveCount"], 0);
        assert_eq!(v["resources"][0], l.arn);
        assert_eq!(dedup_id(&l).len(), 64);
        assert_ne!(dedup_id(&l), dedup_id(&listed("r1", "FAILED", 1_000)));
    }
}
