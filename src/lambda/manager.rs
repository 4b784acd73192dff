//! The `dpc-manager` function: reads an SQS FIFO batch of EventBridge events (status changes
//! of `dpc-*` state machines, data product refreshes, and the reconciler's re-sent status
//! changes), hands each to the trigger manager in its own store transaction, and puts what the
//! manager decided (its outbox) on the central bus; produces the `batchItemFailures` answer
//! and one JSON log line per event.
//!
//! Order and failures: the queue has one message group, so records arrive in order. From the
//! first record that fails on, every record is reported as a failure, so SQS gives them back
//! in the same order. A record the store failed on is not recorded, so nothing after it is
//! processed; a record whose outbox the bus refused is recorded, so processing goes on (the
//! reports only keep messages coming back to send the outbox again, as duplicates). One
//! exception keeps a poison message from dragging the messages behind it into the
//! dead-letter queue: a record the store fails on at its last receive
//! ([`central_stack::MAX_RECEIVES`]) is given up (reported, so SQS moves it to the DLQ) and the
//! records after it go on. A body that is not an event the manager tracks is not a failure:
//! it is logged as `IGNORED` and deleted.
//!
//! The outbox is at-least-once: it is written with the decision, put on the bus after the
//! commit, and removed once the bus took it; what was left (a crash, a refused entry) is sent
//! again first by the next invocation. Trigger ids are deterministic, so a consumer
//! de-duplicates a second delivery.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::{Value, json};

use crate::deploy::central_stack;
use crate::events::{self, RefreshEvent, StatusChangeEvent};
use crate::manager::store::{Millis, OutboxItem, Store};
use crate::manager::{Disposition, Manager, Outcome};

/// Where the outbox goes: the central bus (EventBridge `PutEvents`), or a recorder in tests.
pub trait Bus {
    /// Puts the events; one result per item, in order (`Err`: the reason it was refused).
    fn put(
        &self,
        items: &[OutboxItem],
    ) -> impl std::future::Future<Output = Vec<Result<(), String>>> + Send;
}

/// `PutEvents` takes at most 10 entries.
pub const PUT_EVENTS_MAX: usize = 10;

/// The central bus through EventBridge.
pub struct EventBridgeBus {
    pub client: aws_sdk_eventbridge::Client,
    /// The bus ARN (EventBridge accepts an ARN as `EventBusName`).
    pub bus: String,
    /// `PutEvents` calls made (for the log's cost figures).
    pub calls: std::sync::atomic::AtomicU64,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: String) -> EventBridgeBus {
        EventBridgeBus {
            client,
            bus,
            calls: Default::default(),
        }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Bus for EventBridgeBus {
    async fn put(&self, items: &[OutboxItem]) -> Vec<Result<(), String>> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(PUT_EVENTS_MAX) {
            let mut request = self.client.put_events();
            let mut bad = Vec::new();
            for item in chunk {
                match entry(item, &self.bus) {
                    Ok(e) => request = request.entries(e),
                    Err(e) => bad.push(e),
                }
            }
            if !bad.is_empty() {
                // An outbox body dpc wrote itself and cannot read back: a bug, reported as such.
                out.extend(chunk.iter().map(|_| Err(bad.join("; "))));
                continue;
            }
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match request.send().await {
                Ok(answer) => {
                    let entries = answer.entries();
                    for (i, _) in chunk.iter().enumerate() {
                        let result = match entries.get(i) {
                            Some(e) if e.error_code().is_some() => Err(format!(
                                "{}: {}",
                                e.error_code().unwrap_or_default(),
                                e.error_message().unwrap_or_default()
                            )),
                            Some(_) => Ok(()),
                            None => Err("PutEvents answered no entry".to_string()),
                        };
                        out.push(result);
                    }
                }
                Err(e) => {
                    let why = format!("PutEvents: {}", crate::aws::describe(&e));
                    out.extend(chunk.iter().map(|_| Err(why.clone())));
                }
            }
        }
        out
    }
}

/// One outbox item as a `PutEvents` entry: the envelope's source, detail-type, time and detail.
fn entry(
    item: &OutboxItem,
    bus: &str,
) -> Result<aws_sdk_eventbridge::types::PutEventsRequestEntry, String> {
    let body: Value = serde_json::from_str(&item.body)
        .map_err(|e| format!("outbox item {} is not JSON: {e}", item.id))?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let mut entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .set_source(text("source"))
        .set_detail_type(text("detail-type"))
        .detail(
            body.get("detail")
                .cloned()
                .unwrap_or(Value::Null)
                .to_string(),
        );
    if let Some(t) = text("time")
        .and_then(|t| crate::manager::time::parse_time(&t))
        .map(aws_sdk_eventbridge::primitives::DateTime::from_millis)
    {
        entry = entry.time(t);
    }
    Ok(entry.build())
}

/// The message the reconciler sends when it finds the outbox not empty: the invocation it
/// causes sends the outbox first (after a bus outage longer than the messages' retries, no
/// other message may come for a while).
pub const NUDGE_SOURCE: &str = "dpc.reconciler";
pub const NUDGE_DETAIL_TYPE: &str = "dpc Outbox Waiting";

/// Reads a record body: the event, or why the manager does not track it.
pub enum Parsed {
    Status(Box<StatusChangeEvent>),
    Refresh(Box<RefreshEvent>),
    Ignored(String),
}

pub fn parse(body: &str) -> Parsed {
    let mut value: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return Parsed::Ignored(format!("body is not JSON: {e}")),
    };
    // The manager reads who ran from the detail; an envelope without `account` (moto's
    // EventBridge drops it on the way to SQS) gets the detail's.
    if let Some(object) = value.as_object_mut()
        && !object.contains_key("account")
    {
        let detail = object.get("detail");
        let account = detail
            .and_then(|d| d.get("account"))
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| {
                let arn = detail?.get("stateMachineArn")?.as_str()?;
                arn.split(':').nth(4).map(String::from)
            });
        if let Some(a) = account {
            object.insert("account".into(), Value::String(a));
        }
    }
    let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
    let (source, kind) = (text("source").to_string(), text("detail-type").to_string());
    let (source, kind) = (source.as_str(), kind.as_str());
    match (source, kind) {
        (events::STATUS_SOURCE, events::STATUS_DETAIL_TYPE) => {
            match serde_json::from_value(value) {
                Ok(e) => Parsed::Status(Box::new(e)),
                Err(e) => Parsed::Ignored(format!("malformed status event: {e}")),
            }
        }
        (events::REFRESH_SOURCE, events::REFRESH_DETAIL_TYPE) => {
            match serde_json::from_value(value) {
                Ok(e) => Parsed::Refresh(Box::new(e)),
                Err(e) => Parsed::Ignored(format!("malformed refresh event: {e}")),
            }
        }
        (NUDGE_SOURCE, NUDGE_DETAIL_TYPE) => {
            Parsed::Ignored("the reconciler's reminder of an unsent outbox".into())
        }
        _ => Parsed::Ignored(format!(
            "not a status or refresh event (source `{source}`, detail-type `{kind}`)"
        )),
    }
}

/// What one invocation did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BatchReport {
    pub response: SqsBatchResponse,
    /// One log line per record, in order.
    pub lines: Vec<Value>,
}

/// How one record went wrong.
enum Failed {
    /// The store failed: the event is not recorded.
    Store(String),
    /// The event is recorded, but the bus refused (some of) the outbox.
    Bus,
}

/// Handles one SQS batch. `now` reads the clock (called once per record); `on_line` sees
/// each record's log line as soon as the record is done.
///
/// A record the store failed on stops the batch there (FIFO: nothing may overtake it), unless
/// it is on its last receive. A refused outbox does not stop processing (what is decided is
/// committed, in order), but from that record on the records are reported as failures, so
/// that messages come back and their (duplicate) delivery sends the outbox again.
pub async fn handle_batch<S: Store, B: Bus>(
    manager: &mut Manager<S>,
    bus: &B,
    event: &SqsEvent,
    now: &impl Fn() -> Millis,
    on_line: &mut dyn FnMut(&Value),
) -> BatchReport {
    let mut report = BatchReport::default();
    // What an earlier invocation committed but could not send goes first.
    let mut unsent = flush(manager, bus).await.is_err();
    let mut stopped: Option<String> = None;
    let mut reporting = false;
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if let Some(why) = &stopped {
            let line = json!({"messageId": id, "disposition": "NOT_PROCESSED", "reason": why});
            on_line(&line);
            report.lines.push(line);
            report.response.batch_item_failures.push(failure(&id));
            continue;
        }
        let (mut line, result) = handle_record(manager, bus, record, now(), &mut unsent).await;
        let failed = match result {
            Ok(()) => false,
            Err(Failed::Bus) => {
                reporting = true;
                true
            }
            // On its last receive it goes to the dead-letter queue now; the rest need not
            // wait for it.
            Err(Failed::Store(_)) if receives(record) >= central_stack::MAX_RECEIVES => {
                line["givenUp"] = json!(true);
                true
            }
            Err(Failed::Store(why)) => {
                reporting = true;
                stopped = Some(format!("an earlier record ({id}) failed: {why}"));
                true
            }
        };
        if failed || reporting {
            report.response.batch_item_failures.push(failure(&id));
        }
        on_line(&line);
        report.lines.push(line);
    }
    report
}

fn failure(id: &str) -> BatchItemFailure {
    let mut f = BatchItemFailure::default();
    f.item_identifier = id.to_string();
    f
}

/// `ApproximateReceiveCount` (1 when absent).
fn receives(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// One record: handled in one transaction, then the outbox put on the bus when the record
/// added to it or something was left unsent (`unsent`, updated).
async fn handle_record<S: Store, B: Bus>(
    manager: &mut Manager<S>,
    bus: &B,
    record: &SqsMessage,
    now: Millis,
    unsent: &mut bool,
) -> (Value, Result<(), Failed>) {
    let id = record.message_id.clone().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or_default();
    let mut line = json!({"messageId": id, "receives": receives(record)});
    let handled = match parse(body) {
        Parsed::Status(e) => {
            line["event"] = json!(e.detail.execution_arn);
            line["status"] = json!(e.detail.status);
            manager.handle_status(&e, now)
        }
        Parsed::Refresh(e) => {
            line["event"] = json!(format!("{}/{}", e.detail.domain, e.detail.name));
            line["refreshedAt"] = json!(e.detail.refreshed_at);
            manager.handle_refresh(&e, now)
        }
        Parsed::Ignored(why) => Ok(Outcome {
            disposition: Disposition::Ignored(why),
            triggers: Vec::new(),
            refreshes: Vec::new(),
            late: Vec::new(),
        }),
    };
    let outcome = match handled {
        Ok(o) => o,
        Err(e) => {
            let why = e.to_string();
            line["disposition"] = json!("FAILED");
            line["error"] = json!(why);
            return (line, Err(Failed::Store(why)));
        }
    };
    match &outcome.disposition {
        Disposition::Ignored(why) => {
            line["disposition"] = json!("IGNORED");
            line["reason"] = json!(why);
        }
        other => line["disposition"] = json!(other),
    }
    line["triggers"] = json!(
        outcome
            .triggers
            .iter()
            .map(|t| json!({"triggerId": t.detail.trigger_id, "target": t.detail.target}))
            .collect::<Vec<_>>()
    );
    if !outcome.refreshes.is_empty() {
        line["refreshes"] = json!(
            outcome
                .refreshes
                .iter()
                .map(|r| format!("{}/{}", r.detail.domain, r.detail.name))
                .collect::<Vec<_>>()
        );
    }
    if !outcome.late.is_empty() {
        line["late"] = json!(outcome.late);
    }
    if outcome.triggers.is_empty() && outcome.refreshes.is_empty() && !*unsent {
        return (line, Ok(()));
    }
    match flush(manager, bus).await {
        Ok(sent) => {
            *unsent = false;
            line["sent"] = json!(sent);
            (line, Ok(()))
        }
        Err(why) => {
            *unsent = true;
            line["error"] = json!(why);
            (line, Err(Failed::Bus))
        }
    }
}

/// Puts the whole outbox on the bus, removing what it took; the count sent, or why some was
/// refused (what was taken is removed all the same).
pub async fn flush<S: Store, B: Bus>(manager: &mut Manager<S>, bus: &B) -> Result<usize, String> {
    let items = manager.outbox().map_err(|e| e.to_string())?;
    if items.is_empty() {
        return Ok(0);
    }
    let results = bus.put(&items).await;
    let mut sent = 0;
    let mut refused = Vec::new();
    for (item, result) in items.iter().zip(results) {
        match result {
            Ok(()) => {
                manager.sent(item.seq).map_err(|e| e.to_string())?;
                sent += 1;
            }
            Err(why) => refused.push(format!("{} {}: {why}", item.kind.as_str(), item.id)),
        }
    }
    if refused.is_empty() {
        Ok(sent)
    } else {
        Err(format!("the bus refused {}", refused.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::manager::memory::MemoryStore;
    use crate::manager::registry::PipelineId;
    use crate::manager::runlog::StatusFact;
    use crate::manager::store::{StoreError, Tx};

    /// Records what it took; refuses everything while `down`.
    #[derive(Default)]
    struct Recorder {
        taken: Mutex<Vec<String>>,
        down: Mutex<bool>,
    }

    impl Bus for Recorder {
        async fn put(&self, items: &[OutboxItem]) -> Vec<Result<(), String>> {
            let down = *self.down.lock().expect("lock");
            items
                .iter()
                .map(|i| {
                    if down {
                        Err("ThrottlingException: slow down".into())
                    } else {
                        self.taken.lock().expect("lock").push(i.id.clone());
                        Ok(())
                    }
                })
                .collect()
        }
    }

    /// A store that fails every transaction touching a run whose execution name is `poison`.
    struct Picky(MemoryStore);

    struct PickyTx<'a>(&'a mut dyn Tx);

    impl Store for Picky {
        fn transaction<R>(
            &mut self,
            mut f: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
        ) -> Result<R, StoreError> {
            self.0.transaction(|tx| f(&mut PickyTx(tx)))
        }
    }

    macro_rules! delegate {
        ($($name:ident(&self $(, $a:ident: $t:ty)*) -> $r:ty;)*) => {
            $(fn $name(&self $(, $a: $t)*) -> $r { self.0.$name($($a),*) })*
        };
    }

    impl Tx for PickyTx<'_> {
        delegate! {
            registration(&self, id: &str) -> Result<Option<crate::manager::registry::Registration>, StoreError>;
            registrations(&self) -> Result<Vec<crate::manager::registry::Registration>, StoreError>;
            dependents(&self, upstream: &str) -> Result<Vec<String>, StoreError>;
            run(&self, upstream: &str, id: &str) -> Result<Option<crate::manager::runlog::Run>, StoreError>;
            state(&self, id: &str) -> Result<Option<crate::manager::lifecycle::DependentState>, StoreError>;
            history(&self, id: &str) -> Result<Vec<crate::manager::lifecycle::HistoryEntry>, StoreError>;
            triggers(&self) -> Result<Vec<crate::manager::store::TriggerRecord>, StoreError>;
            outbox(&self) -> Result<Vec<OutboxItem>, StoreError>;
        }
        fn put_registration(
            &mut self,
            reg: &crate::manager::registry::Registration,
        ) -> Result<(), StoreError> {
            self.0.put_registration(reg)
        }
        fn delete_registration(&mut self, id: &str) -> Result<bool, StoreError> {
            self.0.delete_registration(id)
        }
        fn claim_event_id(&mut self, id: &str) -> Result<bool, StoreError> {
            self.0.claim_event_id(id)
        }
        fn claim_fact(&mut self, key: &str) -> Result<bool, StoreError> {
            self.0.claim_fact(key)
        }
        fn put_run(&mut self, run: &crate::manager::runlog::Run) -> Result<(), StoreError> {
            if run.id.ends_with(":poison") {
                return Err(StoreError("item too large".into()));
            }
            self.0.put_run(run)
        }
        fn latest_run(
            &self,
            upstream: &str,
            since: Option<(Millis, bool)>,
            include_manual: bool,
        ) -> Result<Option<crate::manager::runlog::Run>, StoreError> {
            self.0.latest_run(upstream, since, include_manual)
        }
        fn put_state(
            &mut self,
            id: &str,
            state: &crate::manager::lifecycle::DependentState,
        ) -> Result<(), StoreError> {
            self.0.put_state(id, state)
        }
        fn add_history(
            &mut self,
            entry: &crate::manager::lifecycle::HistoryEntry,
        ) -> Result<(), StoreError> {
            self.0.add_history(entry)
        }
        fn insert_trigger(
            &mut self,
            record: &crate::manager::store::TriggerRecord,
        ) -> Result<bool, StoreError> {
            self.0.insert_trigger(record)
        }
        fn push_outbox(
            &mut self,
            id: &str,
            kind: crate::manager::store::OutboxKind,
            body: &str,
        ) -> Result<(), StoreError> {
            self.0.push_outbox(id, kind, body)
        }
        fn remove_outbox(&mut self, seq: i64) -> Result<(), StoreError> {
            self.0.remove_outbox(seq)
        }
    }

    const X: &str = r#"
name: x
team: t
account: "333333333333"
region: eu-west-1
compute: {type: NONE}
trigger:
  executions:
    allOf:
      - { name: a, account: "111111111111", region: eu-west-1 }
      - { name: b, account: "222222222222", region: eu-west-1 }
"#;

    fn registration() -> crate::manager::registry::Registration {
        let file = std::sync::Arc::new(crate::diag::source::SourceFile::new(
            "pipeline.yaml",
            X.to_string(),
        ));
        let ctx = crate::pipeline::validate::Context {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
            file_exists: &|_| true,
        };
        let checked = crate::pipeline::validate::pipeline(&file, std::path::Path::new("."), &ctx);
        let pipeline = checked
            .value
            .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
        crate::manager::registry::registration(&pipeline, None).expect("compiles")
    }

    fn record(id: &str, body: String, receives: u32) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body);
        m.attributes
            .insert("ApproximateReceiveCount".into(), receives.to_string());
        m
    }

    fn status(account: &str, name: &str, exec: &str) -> String {
        let id = PipelineId {
            account: account.into(),
            region: "eu-west-1".into(),
            name: name.into(),
        };
        let e = StatusFact {
            pipeline: &id,
            execution: exec,
            status: "SUCCEEDED",
            started: 1_000,
            stopped: Some(2_000),
            input: r#"{"run":{"type":"SCHEDULED"}}"#,
            redrive: 0,
        }
        .event();
        serde_json::to_string(&e).expect("json")
    }

    fn batch(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    fn failed(r: &BatchReport) -> Vec<String> {
        r.response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect()
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn two_leaves_give_one_trigger_and_a_redelivery_none() {
        let mut m = Manager::new(MemoryStore::new());
        m.register(&registration(), 0).expect("register");
        let bus = Recorder::default();
        let now = || 5_000;
        let first = batch(vec![
            record("1", status("111111111111", "a", "r1"), 1),
            record("2", "not json".into(), 1),
            record("3", status("222222222222", "b", "r1"), 1),
        ]);
        let r = run(handle_batch(&mut m, &bus, &first, &now, &mut |_| {}));
        assert!(failed(&r).is_empty(), "{:?}", r.lines);
        assert_eq!(r.lines[1]["disposition"], "IGNORED");
        assert_eq!(r.lines[2]["triggers"].as_array().map(Vec::len), Some(1));
        assert_eq!(bus.taken.lock().expect("lock").len(), 1);
        let again = run(handle_batch(&mut m, &bus, &first, &now, &mut |_| {}));
        assert!(failed(&again).is_empty());
        assert_eq!(again.lines[2]["disposition"], "DUPLICATE");
        assert_eq!(bus.taken.lock().expect("lock").len(), 1);
    }

    #[test]
    fn a_refused_put_fails_from_that_record_on_and_is_sent_first_next_time() {
        let mut m = Manager::new(MemoryStore::new());
        m.register(&registration(), 0).expect("register");
        let bus = Recorder::default();
        *bus.down.lock().expect("lock") = true;
        let now = || 5_000;
        let first = batch(vec![
            record("1", status("111111111111", "a", "r1"), 1),
            record("2", status("222222222222", "b", "r1"), 1),
            record("3", status("111111111111", "a", "r2"), 1),
        ]);
        let r = run(handle_batch(&mut m, &bus, &first, &now, &mut |_| {}));
        assert_eq!(failed(&r), ["2", "3"]);
        // Recorded all the same: only the sending waits.
        assert_eq!(r.lines[2]["disposition"], "RECORDED");
        *bus.down.lock().expect("lock") = false;
        let retry = batch(vec![
            record("2", status("222222222222", "b", "r1"), 2),
            record("3", status("111111111111", "a", "r2"), 2),
        ]);
        let r = run(handle_batch(&mut m, &bus, &retry, &now, &mut |_| {}));
        assert!(failed(&r).is_empty(), "{:?}", r.lines);
        assert_eq!(r.lines[0]["disposition"], "DUPLICATE");
        assert_eq!(bus.taken.lock().expect("lock").len(), 1);
    }

    #[test]
    fn a_poison_record_holds_the_rest_back_until_its_last_receive() {
        let mut m = Manager::new(Picky(MemoryStore::new()));
        m.register(&registration(), 0).expect("register");
        let bus = Recorder::default();
        let now = || 5_000;
        let make = |n: u32| {
            batch(vec![
                record("p", status("111111111111", "a", "poison"), n),
                record("1", status("111111111111", "a", "r1"), n),
                record("2", status("222222222222", "b", "r1"), n),
            ])
        };
        for n in 1..central_stack::MAX_RECEIVES {
            let r = run(handle_batch(&mut m, &bus, &make(n), &now, &mut |_| {}));
            assert_eq!(failed(&r), ["p", "1", "2"]);
        }
        let last = run(handle_batch(
            &mut m,
            &bus,
            &make(central_stack::MAX_RECEIVES),
            &now,
            &mut |_| {},
        ));
        assert_eq!(failed(&last), ["p"]);
        assert_eq!(last.lines[0]["givenUp"], true);
        assert_eq!(bus.taken.lock().expect("lock").len(), 1);
    }
}
