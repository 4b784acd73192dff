//! The DynamoDB store: the manager's [`Store`] over the one `pk`/`sk` table of the central
//! account (`deploy::central_stack::TABLE_DESIGN` lists its items). Reads items with consistent
//! GetItem/Query calls and produces one atomic commit per transaction.
//!
//! A transaction reads the global version item (`META`/`VERSION`) first, then reads through an
//! overlay that also holds the transaction's own writes; nothing is written until the closure
//! returns `Ok`. The commit is one TransactWriteItems: the version item updated from the version
//! read to the next one (the optimistic lock that serialises registration changes with event
//! processing; on a conflict the closure runs again from scratch, a bounded number of times)
//! plus every write, claims (event ids, facts, trigger ids) conditioned on
//! `attribute_not_exists` as a second guard. A read-only transaction checks at its end that the
//! version did not move, so what it read was one state.
//!
//! TransactWriteItems takes at most 100 items. A larger write set is journaled: the whole set
//! is written into the version item together with the version bump (one conditional update,
//! so the commit is still atomic), then applied in chunks, each conditioned on the journal
//! still being the current one (a slow applier can never overwrite newer data), and cleared.
//! Every transaction first finishes a journal it finds (a process that died between the
//! commit and the apply), so the journal is crash safe. The journal must fit in one item
//! (400 KB); a larger transaction fails with an error saying so.
//!
//! Items that expire carry `expiresAt` (epoch seconds, wall clock at commit): event ids after
//! [`EVENT_ID_RETENTION_DAYS`], history after [`HISTORY_RETENTION_DAYS`], runs, facts and
//! trigger ids after [`RUN_RETENTION_DAYS`] (more than a yearly schedule period or `resetAt`
//! cron, the longest windows look back; see `window`). The latest run of every upstream is also
//! kept in a `LATEST` item that never expires, so "the latest run" without a bound (a dependent
//! that never triggered) is answered exactly however old it is. What differs from the SQLite
//! store once items expired: a `within` window longer than the run retention, and a window
//! reaching back past the retention whose latest-started run finished before it while an
//! older, overlapping run finished inside it.
//!
//! The trait is synchronous; the store bridges to the async SDK with
//! `tokio::task::block_in_place(|| Handle::current().block_on(..))`, so callers must run inside
//! a multi-thread tokio runtime (a worker thread, or `Runtime::block_on` of one); elsewhere
//! every call fails with an error saying so.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, PointInTimeRecoverySpecification, Projection, ProjectionType, Put,
    ScalarAttributeType, SseSpecification, TimeToLiveSpecification, TransactWriteItem,
};
use serde::{Deserialize, Serialize};

use super::lifecycle::{DependentState, HistoryEntry};
use super::registry::Registration;
use super::runlog::Run;
use super::store::{Millis, OutboxItem, OutboxKind, Store, StoreError, TriggerRecord, Tx};
use crate::aws::describe;

/// How long an event id is remembered (SQS keeps a message at most 14 days).
pub const EVENT_ID_RETENTION_DAYS: i64 = 35;
/// How long runs, facts and trigger ids are kept: more than a year, the longest period a
/// schedule or `resetAt` cron can have.
pub const RUN_RETENTION_DAYS: i64 = 400;
/// How long history entries are kept (`dpc history --central`).
pub const HISTORY_RETENTION_DAYS: i64 = 90;
/// Items per TransactWriteItems (DynamoDB's limit).
pub const MAX_TRANSACT_ITEMS: usize = 100;
/// Times a transaction is run before a conflict is reported.
pub const MAX_ATTEMPTS: u32 = 12;
/// The largest journal (bytes of JSON) the version item can carry next to its other
/// attributes (an item holds at most 400 KB).
pub const MAX_JOURNAL_BYTES: usize = 390_000;
/// TransactWriteItems' total request size (4 MB), with room for names and framing.
const MAX_TRANSACT_BYTES: usize = 3_900_000;

const DAY: i64 = 86_400;
const META: &str = "META";
const VERSION: &str = "VERSION";
pub const REGISTRY: &str = "REGISTRY";
const TRIGGERS: &str = "TRIGGERS";
const OUTBOX: &str = "OUTBOX";
const LATEST: &str = "LATEST";

/// DynamoDB calls made by a store (and its clones), for cost estimates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// GetItem calls and Query pages (all consistent reads).
    pub reads: u64,
    /// TransactWriteItems and UpdateItem calls.
    pub writes: u64,
    /// Items returned by reads.
    pub items_read: u64,
    /// Items written or deleted (the version item included).
    pub items_written: u64,
}

impl std::ops::Sub for Calls {
    type Output = Calls;
    fn sub(self, o: Calls) -> Calls {
        Calls {
            reads: self.reads - o.reads,
            writes: self.writes - o.writes,
            items_read: self.items_read - o.items_read,
            items_written: self.items_written - o.items_written,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    reads: AtomicU64,
    writes: AtomicU64,
    items_read: AtomicU64,
    items_written: AtomicU64,
}

/// The manager's store on a DynamoDB table laid out as `TABLE_DESIGN` says.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    counters: Arc<Counters>,
    max_items: usize,
    stop_after_journal: bool,
}

impl DynamoStore {
    /// A store on `table` (created as the `dpc-central` stack does, see [`create_table`]).
    /// Transactions block on the current tokio runtime, which must be a multi-thread one.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            counters: Arc::default(),
            max_items: MAX_TRANSACT_ITEMS,
            stop_after_journal: false,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The calls made so far by this store and its clones.
    pub fn calls(&self) -> Calls {
        let c = &self.counters;
        Calls {
            reads: c.reads.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            items_read: c.items_read.load(Ordering::Relaxed),
            items_written: c.items_written.load(Ordering::Relaxed),
        }
    }

    /// For tests: journal every transaction writing more than `n - 1` items (2 to 100).
    pub fn with_max_transact_items(mut self, n: usize) -> DynamoStore {
        self.max_items = n.clamp(2, MAX_TRANSACT_ITEMS);
        self
    }

    /// For tests: a journaled commit stops right after the journal is committed (as a process
    /// killed there would) and the transaction returns an error; the next transaction, on any
    /// store of the table, finishes it.
    pub fn stop_after_journal(mut self) -> DynamoStore {
        self.stop_after_journal = true;
        self
    }

    fn fail(&self, call: &str, err: impl std::error::Error) -> StoreError {
        StoreError(format!(
            "DynamoDB {call} on table `{}`: {}",
            self.table,
            describe(&err)
        ))
    }

    fn count_read(&self, items: usize) {
        self.counters.reads.fetch_add(1, Ordering::Relaxed);
        self.counters
            .items_read
            .fetch_add(items as u64, Ordering::Relaxed);
    }

    fn count_write(&self, items: usize) {
        self.counters.writes.fetch_add(1, Ordering::Relaxed);
        self.counters
            .items_written
            .fetch_add(items as u64, Ordering::Relaxed);
    }

    fn get_raw(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send();
        let out = block(call)?.map_err(|e| self.fail("GetItem", e))?;
        self.count_read(usize::from(out.item().is_some()));
        Ok(out.item)
    }

    fn get_item(&self, pk: &str, sk: &str) -> Result<Option<Doc>, StoreError> {
        Ok(self.get_raw(pk, sk)?.as_ref().map(Doc::of))
    }

    /// Every item of partition `pk` (with `sk` between the bounds, inclusive), by `sk`.
    fn query(
        &self,
        pk: &str,
        range: Option<(&str, &str)>,
    ) -> Result<Vec<(String, Doc)>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut call = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            call = match range {
                None => call.key_condition_expression("pk = :pk"),
                Some((lo, hi)) => call
                    .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
                    .expression_attribute_values(":lo", s(lo))
                    .expression_attribute_values(":hi", s(hi)),
            };
            let page = block(call.send())?.map_err(|e| self.fail("Query", e))?;
            self.count_read(page.items().len());
            for item in page.items() {
                let sk = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .ok_or_else(|| StoreError(format!("an item of `{pk}` has no string `sk`")))?;
                out.push((sk.clone(), Doc::of(item)));
            }
            match page.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => return Ok(out),
            }
        }
    }

    fn meta(&self) -> Result<Meta, StoreError> {
        let Some(item) = self.get_raw(META, VERSION)? else {
            return Ok(Meta::default());
        };
        let number = |name: &str| -> Result<i64, StoreError> {
            match item.get(name) {
                None => Ok(0),
                Some(v) => v.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| {
                    StoreError(format!("the version item's `{name}` is not a number"))
                }),
            }
        };
        let journal = match item.get("journal") {
            None => None,
            Some(v) => {
                let text = v.as_s().map_err(|_| {
                    StoreError("the version item's `journal` is not a string".into())
                })?;
                Some(serde_json::from_str::<Vec<Entry>>(text)?)
            }
        };
        Ok(Meta {
            exists: true,
            version: number("version")?,
            next_seq: number("nextSeq")?,
            journal,
        })
    }

    /// The version item's update: `SET` these, from `meta.version` (the condition).
    fn meta_update(
        meta: &Meta,
        new_version: i64,
        next_seq: i64,
    ) -> (String, String, Vec<(&'static str, AttributeValue)>) {
        let condition = if meta.exists {
            "version = :old".to_string()
        } else {
            "attribute_not_exists(pk)".to_string()
        };
        let mut values = vec![(":new", n(new_version)), (":seq", n(next_seq))];
        if meta.exists {
            values.push((":old", n(meta.version)));
        }
        (
            "SET version = :new, nextSeq = :seq".to_string(),
            condition,
            values,
        )
    }

    /// Commits a write set; `Ok(false)` on a conflict.
    fn commit(&self, meta: &Meta, next_seq: i64, writes: Vec<Entry>) -> Result<bool, StoreError> {
        let new_version = meta.version + 1;
        let (mut set, condition, values) = Self::meta_update(meta, new_version, next_seq);
        let size: usize = writes.iter().map(Entry::size).sum();
        if writes.len() < self.max_items && size <= MAX_TRANSACT_BYTES {
            if meta.journal.is_some() {
                set.push_str(" REMOVE journal");
            }
            let mut update = aws_sdk_dynamodb::types::Update::builder()
                .table_name(&self.table)
                .key("pk", s(META))
                .key("sk", s(VERSION))
                .update_expression(set)
                .condition_expression(condition);
            for (k, v) in values {
                update = update.expression_attribute_values(k, v);
            }
            let mut items = vec![
                TransactWriteItem::builder()
                    .update(
                        update
                            .build()
                            .map_err(|e| self.fail("TransactWriteItems", e))?,
                    )
                    .build(),
            ];
            for entry in &writes {
                items.push(self.transact_item(entry, true)?);
            }
            return self.transact(items);
        }
        let journal = serde_json::to_string(&writes)?;
        if journal.len() > MAX_JOURNAL_BYTES {
            return Err(StoreError(format!(
                "one transaction writes {} items ({} bytes): more than the journal of a large commit holds in one DynamoDB item ({MAX_JOURNAL_BYTES} bytes)",
                writes.len(),
                journal.len()
            )));
        }
        set.push_str(", journal = :journal");
        let mut call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(META))
            .key("sk", s(VERSION))
            .update_expression(set)
            .condition_expression(condition)
            .expression_attribute_values(":journal", s(&journal));
        for (k, v) in values {
            call = call.expression_attribute_values(k, v);
        }
        match block(call.send())? {
            Ok(_) => self.count_write(1),
            Err(e) => {
                self.count_write(0);
                let conflict = e
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception());
                return if conflict {
                    Ok(false)
                } else {
                    Err(self.fail("UpdateItem", e))
                };
            }
        }
        if self.stop_after_journal {
            return Err(StoreError(
                "stopped after committing the journal (test hook)".into(),
            ));
        }
        // Committed: whether this process or another finishes the apply does not matter.
        if self.apply_journal(new_version, &writes)? {
            self.clear_journal(new_version)?;
        }
        Ok(true)
    }

    /// Applies a committed journal in chunks; false when another transaction already finished
    /// it (the version moved on).
    fn apply_journal(&self, version: i64, writes: &[Entry]) -> Result<bool, StoreError> {
        let mut chunk = Vec::new();
        let mut size = 0;
        let mut chunks = Vec::new();
        for entry in writes {
            if chunk.len() + 2 > self.max_items || size + entry.size() > MAX_TRANSACT_BYTES {
                chunks.push(std::mem::take(&mut chunk));
                size = 0;
            }
            size += entry.size();
            chunk.push(entry);
        }
        chunks.push(chunk);
        for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
            let guard = ConditionCheck::builder()
                .table_name(&self.table)
                .key("pk", s(META))
                .key("sk", s(VERSION))
                .condition_expression("version = :v AND attribute_exists(journal)")
                .expression_attribute_values(":v", n(version))
                .build()
                .map_err(|e| self.fail("TransactWriteItems", e))?;
            let mut items = vec![TransactWriteItem::builder().condition_check(guard).build()];
            for entry in chunk {
                items.push(self.transact_item(entry, false)?);
            }
            if !self.transact(items)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Removes an applied journal (unless the version moved on, which removed it already).
    fn clear_journal(&self, version: i64) -> Result<(), StoreError> {
        let call = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(META))
            .key("sk", s(VERSION))
            .update_expression("REMOVE journal")
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(version))
            .send();
        match block(call)? {
            Ok(_) => {
                self.count_write(1);
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                self.count_write(0);
                Ok(())
            }
            Err(e) => Err(self.fail("UpdateItem", e)),
        }
    }

    fn transact_item(&self, entry: &Entry, guarded: bool) -> Result<TransactWriteItem, StoreError> {
        let fail = |e| self.fail("TransactWriteItems", e);
        Ok(match &entry.doc {
            Some(doc) => {
                let mut put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(doc.item(&entry.pk, &entry.sk)));
                if guarded && entry.claim {
                    put = put.condition_expression("attribute_not_exists(pk)");
                }
                TransactWriteItem::builder()
                    .put(put.build().map_err(fail)?)
                    .build()
            }
            None => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .key("pk", s(&entry.pk))
                        .key("sk", s(&entry.sk))
                        .build()
                        .map_err(fail)?,
                )
                .build(),
        })
    }

    /// One TransactWriteItems; `Ok(false)` when a condition failed, another transaction
    /// interfered or an item was throttled (a conflict: run again).
    fn transact(&self, items: Vec<TransactWriteItem>) -> Result<bool, StoreError> {
        let count = items.len();
        let call = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send();
        match block(call)? {
            Ok(_) => {
                self.count_write(count);
                Ok(true)
            }
            Err(e) => {
                self.count_write(0);
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
                let conflict = match e.as_service_error() {
                    Some(E::TransactionCanceledException(c)) => {
                        c.cancellation_reasons().iter().any(|r| {
                            matches!(
                                r.code(),
                                Some(
                                    "ConditionalCheckFailed"
                                        | "TransactionConflict"
                                        | "ThrottlingError"
                                        | "ProvisionedThroughputExceeded"
                                )
                            )
                        })
                    }
                    Some(E::TransactionInProgressException(_)) => true,
                    _ => false,
                };
                if conflict {
                    Ok(false)
                } else {
                    Err(self.fail("TransactWriteItems", e))
                }
            }
        }
    }
}

/// Creates the manager's table as the `dpc-central` stack defines it (for tests and
/// development against an emulator): `pk`/`sk`, the index `gsi1` on `gsi1pk`/`gsi1sk`,
/// on-demand, encrypted, TTL on `expiresAt`, point-in-time recovery.
pub async fn create_table(client: &Client, name: &str) -> Result<(), String> {
    let fail = |call: &str, text: String| format!("DynamoDB {call} of table `{name}`: {text}");
    let attribute = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| fail("CreateTable", describe(&e)))
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| fail("CreateTable", describe(&e)))
    };
    let index = GlobalSecondaryIndex::builder()
        .index_name("gsi1")
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| fail("CreateTable", describe(&e)))?;
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .attribute_definitions(attribute("gsi1pk")?)
        .attribute_definitions(attribute("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(index)
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .send()
        .await
        .map_err(|e| fail("CreateTable", describe(&e)))?;
    for _ in 0..600 {
        let status = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| fail("DescribeTable", describe(&e)))?
            .table()
            .and_then(|t| t.table_status().cloned());
        if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("expiresAt")
        .enabled(true)
        .build()
        .map_err(|e| fail("UpdateTimeToLive", describe(&e)))?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| fail("UpdateTimeToLive", describe(&e)))?;
    let pitr = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .map_err(|e| fail("UpdateContinuousBackups", describe(&e)))?;
    client
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(pitr)
        .send()
        .await
        .map_err(|e| fail("UpdateContinuousBackups", describe(&e)))?;
    Ok(())
}

/// Runs `fut` to completion from synchronous code inside a multi-thread runtime.
fn block<F: Future>(fut: F) -> Result<F::Output, StoreError> {
    let handle = tokio::runtime::Handle::try_current().map_err(|_| {
        StoreError("the DynamoDB store runs inside a tokio runtime, and none is running".into())
    })?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(StoreError(
            "the DynamoDB store needs a multi-thread tokio runtime (it blocks in place)".into(),
        ));
    }
    Ok(tokio::task::block_in_place(|| handle.block_on(fut)))
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A sort key part that orders like the number (i64 → 20 digits, offset so negatives sort
/// first).
fn ordered(number: i64) -> String {
    format!("{:020}", (number as u64) ^ (1 << 63))
}

/// What an item holds besides its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Doc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

impl Doc {
    fn of(item: &HashMap<String, AttributeValue>) -> Doc {
        Doc {
            body: item.get("body").and_then(|v| v.as_s().ok()).cloned(),
            expires_at: item
                .get("expiresAt")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok()),
        }
    }

    fn item(&self, pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        let mut item = HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]);
        if let Some(body) = &self.body {
            item.insert("body".into(), s(body));
        }
        if let Some(at) = self.expires_at {
            item.insert("expiresAt".into(), n(at));
        }
        item
    }
}

/// One write of a transaction (a put when `doc` is set, else a delete); also the journal's
/// entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    pk: String,
    sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    doc: Option<Doc>,
    /// A claim: put only when the item does not exist.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    claim: bool,
}

impl Entry {
    fn size(&self) -> usize {
        let doc = self.doc.as_ref();
        self.pk.len()
            + self.sk.len()
            + 40
            + doc.and_then(|d| d.body.as_ref()).map_or(0, String::len)
    }
}

/// The version item: the commit counter, the outbox sequence and a pending journal.
#[derive(Debug, Clone, Default)]
struct Meta {
    exists: bool,
    version: i64,
    next_seq: i64,
    journal: Option<Vec<Entry>>,
}

impl Store for DynamoStore {
    fn transaction<R>(
        &mut self,
        mut f: impl FnMut(&mut dyn Tx) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt)?;
            }
            let meta = self.meta()?;
            if let Some(journal) = &meta.journal
                && !self.apply_journal(meta.version, journal)?
            {
                continue;
            }
            let mut tx = DynTx::new(self, &meta);
            let result = f(&mut tx);
            if let Some(e) = tx.failure.take() {
                return Err(StoreError(e));
            }
            let value = match result {
                Ok(value) => value,
                // An error from reads that straddled another commit is no error of the state.
                Err(e) if self.meta()?.version != meta.version => {
                    let _ = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let DynTx {
                writes, next_seq, ..
            } = tx;
            if writes.is_empty() {
                if self.meta()?.version != meta.version {
                    continue;
                }
                if meta.journal.is_some() {
                    self.clear_journal(meta.version)?;
                }
                return Ok(value);
            }
            let writes: Vec<Entry> = writes.into_values().collect();
            if self.commit(&meta, next_seq, writes)? {
                return Ok(value);
            }
        }
        Err(StoreError(format!(
            "DynamoDB table `{}`: the transaction conflicted with other writers {MAX_ATTEMPTS} times in a row",
            self.table
        )))
    }
}

/// Sleeps a little longer after each conflict, with jitter so two writers part ways.
fn backoff(attempt: u32) -> Result<(), StoreError> {
    let jitter = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()) % 20);
    let ms = (5 * u64::from(attempt)).min(100) + jitter;
    block(tokio::time::sleep(Duration::from_millis(ms)))
}

/// The latest run of an upstream (by start time, then id), counting manual runs or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Latest {
    all: Option<Run>,
    auto: Option<Run>,
}

fn newer(a: &Run, b: &Run) -> bool {
    (a.started, &a.id) >= (b.started, &b.id)
}

/// One transaction: reads go through `writes` (its own writes) and `cache` (what it read).
struct DynTx<'a> {
    store: &'a DynamoStore,
    cache: RefCell<HashMap<(String, String), Option<Doc>>>,
    writes: BTreeMap<(String, String), Entry>,
    /// The version this transaction commits (the one read plus one).
    version: i64,
    next_seq: i64,
    history: u32,
    now: i64,
    /// The first failed call: the transaction must not commit after it.
    failure: RefCell<Option<String>>,
}

impl<'a> DynTx<'a> {
    fn new(store: &'a DynamoStore, meta: &Meta) -> DynTx<'a> {
        DynTx {
            store,
            cache: RefCell::default(),
            writes: BTreeMap::new(),
            version: meta.version + 1,
            next_seq: meta.next_seq,
            history: 0,
            now: now_secs(),
            failure: RefCell::default(),
        }
    }

    fn check<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            self.failure.borrow_mut().get_or_insert_with(|| e.0.clone());
        }
        result
    }

    fn get(&self, pk: &str, sk: &str) -> Result<Option<Doc>, StoreError> {
        let key = (pk.to_string(), sk.to_string());
        if let Some(entry) = self.writes.get(&key) {
            return Ok(entry.doc.clone());
        }
        if let Some(doc) = self.cache.borrow().get(&key) {
            return Ok(doc.clone());
        }
        let doc = self.check(self.store.get_item(pk, sk))?;
        self.cache.borrow_mut().insert(key, doc.clone());
        Ok(doc)
    }

    fn query(
        &self,
        pk: &str,
        range: Option<(&str, &str)>,
    ) -> Result<Vec<(String, Doc)>, StoreError> {
        let fetched = self.check(self.store.query(pk, range))?;
        let mut merged: BTreeMap<String, Doc> = BTreeMap::new();
        {
            let mut cache = self.cache.borrow_mut();
            for (sk, doc) in fetched {
                cache.insert((pk.to_string(), sk.clone()), Some(doc.clone()));
                merged.insert(sk, doc);
            }
        }
        let inside = |sk: &str| range.is_none_or(|(lo, hi)| lo <= sk && sk <= hi);
        for ((p, sk), entry) in &self.writes {
            if p != pk || !inside(sk) {
                continue;
            }
            match &entry.doc {
                Some(doc) => merged.insert(sk.clone(), doc.clone()),
                None => merged.remove(sk),
            };
        }
        Ok(merged.into_iter().collect())
    }

    fn json<T: serde::de::DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.get(pk, sk)? {
            None => Ok(None),
            Some(doc) => parse(pk, sk, &doc).map(Some),
        }
    }

    /// Buffers a write; one that leaves the item as it was read is dropped.
    fn write(&mut self, pk: &str, sk: &str, doc: Option<Doc>, claim: bool) {
        let key = (pk.to_string(), sk.to_string());
        if !claim && self.cache.borrow().get(&key) == Some(&doc) {
            self.writes.remove(&key);
            return;
        }
        let claim = claim || self.writes.get(&key).is_some_and(|e| e.claim);
        self.writes.insert(
            key,
            Entry {
                pk: pk.to_string(),
                sk: sk.to_string(),
                doc,
                claim,
            },
        );
    }

    fn put(&mut self, pk: &str, sk: &str, body: String, retention_days: Option<i64>) {
        let doc = Doc {
            body: Some(body),
            expires_at: retention_days.map(|d| self.now + d * DAY),
        };
        self.write(pk, sk, Some(doc), false);
    }

    /// Claims `pk`/`sk`: true when it did not exist (and now does).
    fn claim(&mut self, pk: &str, sk: &str, retention_days: i64) -> Result<bool, StoreError> {
        if self.get(pk, sk)?.is_some() {
            return Ok(false);
        }
        let doc = Doc {
            body: None,
            expires_at: Some(self.now + retention_days * DAY),
        };
        self.write(pk, sk, Some(doc), true);
        Ok(true)
    }

    fn latest(&self, pk: &str) -> Result<Latest, StoreError> {
        Ok(self.json(pk, LATEST)?.unwrap_or_default())
    }

    /// The latest run among every retained run of `pk` (the rare case of a latest run that
    /// moved back or stopped counting).
    fn recompute(&self, pk: &str, include_manual: bool) -> Result<Option<Run>, StoreError> {
        let mut best: Option<Run> = None;
        for (sk, doc) in self.query(pk, Some(("ID#", "ID$")))? {
            let run: Run = parse(pk, &sk, &doc)?;
            if (include_manual || !run.is_manual()) && best.as_ref().is_none_or(|b| newer(&run, b))
            {
                best = Some(run);
            }
        }
        Ok(best)
    }
}

fn parse<T: serde::de::DeserializeOwned>(pk: &str, sk: &str, doc: &Doc) -> Result<T, StoreError> {
    let body = doc
        .body
        .as_deref()
        .ok_or_else(|| StoreError(format!("item `{pk}`/`{sk}` has no body")))?;
    serde_json::from_str(body).map_err(|e| StoreError(format!("item `{pk}`/`{sk}`: {e}")))
}

fn dependents_pk(upstream: &str) -> String {
    format!("DEPENDENTS#{upstream}")
}

fn run_pk(upstream: &str) -> String {
    format!("RUN#{upstream}")
}

fn time_sk(run: &Run) -> String {
    format!("T#{}#{}", ordered(run.time), run.id)
}

fn pipeline_pk(id: &str) -> String {
    format!("PIPELINE#{id}")
}

fn seq_sk(seq: i64) -> String {
    format!("{seq:020}")
}

impl Tx for DynTx<'_> {
    fn registration(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        self.json(REGISTRY, id)
    }

    fn put_registration(&mut self, reg: &Registration) -> Result<(), StoreError> {
        let key = reg.key();
        self.delete_registration(&key)?;
        self.put(REGISTRY, &key, serde_json::to_string(reg)?, None);
        for leaf in &reg.leaves {
            let doc = Doc {
                body: None,
                expires_at: None,
            };
            self.write(&dependents_pk(&leaf.upstream.key()), &key, Some(doc), false);
        }
        Ok(())
    }

    fn delete_registration(&mut self, id: &str) -> Result<bool, StoreError> {
        let Some(old) = self.registration(id)? else {
            return Ok(false);
        };
        for leaf in &old.leaves {
            self.write(&dependents_pk(&leaf.upstream.key()), id, None, false);
        }
        self.write(REGISTRY, id, None, false);
        Ok(true)
    }

    fn registrations(&self) -> Result<Vec<Registration>, StoreError> {
        self.query(REGISTRY, None)?
            .iter()
            .map(|(sk, doc)| parse(REGISTRY, sk, doc))
            .collect()
    }

    fn dependents(&self, upstream: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .query(&dependents_pk(upstream), None)?
            .into_iter()
            .map(|(sk, _)| sk)
            .collect())
    }

    fn claim_event_id(&mut self, id: &str) -> Result<bool, StoreError> {
        self.claim(&format!("EVENT#{id}"), "EVENT", EVENT_ID_RETENTION_DAYS)
    }

    fn claim_fact(&mut self, key: &str) -> Result<bool, StoreError> {
        self.claim(&format!("FACT#{key}"), "FACT", RUN_RETENTION_DAYS)
    }

    fn run(&self, upstream: &str, id: &str) -> Result<Option<Run>, StoreError> {
        self.json(&run_pk(upstream), &format!("ID#{id}"))
    }

    fn put_run(&mut self, run: &Run) -> Result<(), StoreError> {
        let pk = run_pk(&run.upstream);
        let old = self.run(&run.upstream, &run.id)?;
        let body = serde_json::to_string(run)?;
        if let Some(old) = &old
            && time_sk(old) != time_sk(run)
        {
            self.write(&pk, &time_sk(old), None, false);
        }
        self.put(
            &pk,
            &format!("ID#{}", run.id),
            body.clone(),
            Some(RUN_RETENTION_DAYS),
        );
        self.put(&pk, &time_sk(run), body, Some(RUN_RETENTION_DAYS));
        let mut latest = self.latest(&pk)?;
        let before = latest.clone();
        for (slot, counts, include_manual) in [
            (&mut latest.all, true, true),
            (&mut latest.auto, !run.is_manual(), false),
        ] {
            match slot {
                Some(cur) if counts && newer(run, cur) => *slot = Some(run.clone()),
                None if counts => *slot = Some(run.clone()),
                Some(cur) if cur.id == run.id => *slot = self.recompute(&pk, include_manual)?,
                _ => {}
            }
        }
        if latest != before {
            self.put(&pk, LATEST, serde_json::to_string(&latest)?, None);
        }
        Ok(())
    }

    fn latest_run(
        &self,
        upstream: &str,
        since: Option<(Millis, bool)>,
        include_manual: bool,
    ) -> Result<Option<Run>, StoreError> {
        let pk = run_pk(upstream);
        let pointer = |tx: &Self| -> Result<Option<Run>, StoreError> {
            let latest = tx.latest(&pk)?;
            Ok(if include_manual {
                latest.all
            } else {
                latest.auto
            })
        };
        let Some((at, strict)) = since else {
            return pointer(self);
        };
        let counts = |r: &Run| {
            (include_manual || !r.is_manual()) && if strict { r.time > at } else { r.time >= at }
        };
        let lo = format!("T#{}", ordered(at));
        let mut best: Option<Run> = None;
        for (sk, doc) in self.query(&pk, Some((&lo, "T$")))? {
            let run: Run = parse(&pk, &sk, &doc)?;
            if counts(&run) && best.as_ref().is_none_or(|b| newer(&run, b)) {
                best = Some(run);
            }
        }
        // Runs older than the retention may be gone: the never-expiring latest run decides
        // when the window reaches back that far.
        let horizon = (self.now - RUN_RETENTION_DAYS * DAY).saturating_mul(1000);
        if at < horizon
            && let Some(p) = pointer(self)?.filter(counts)
            && best.as_ref().is_none_or(|b| newer(&p, b))
        {
            best = Some(p);
        }
        Ok(best)
    }

    fn state(&self, id: &str) -> Result<Option<DependentState>, StoreError> {
        self.json(&pipeline_pk(id), "STATE")
    }

    fn put_state(&mut self, id: &str, state: &DependentState) -> Result<(), StoreError> {
        self.put(
            &pipeline_pk(id),
            "STATE",
            serde_json::to_string(state)?,
            None,
        );
        Ok(())
    }

    fn add_history(&mut self, entry: &HistoryEntry) -> Result<(), StoreError> {
        self.history += 1;
        let sk = format!("HIST#{:020}#{:06}", self.version, self.history);
        let body = serde_json::to_string(entry)?;
        self.put(
            &pipeline_pk(&entry.pipeline),
            &sk,
            body,
            Some(HISTORY_RETENTION_DAYS),
        );
        Ok(())
    }

    fn history(&self, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let pk = pipeline_pk(id);
        self.query(&pk, Some(("HIST#", "HIST$")))?
            .iter()
            .map(|(sk, doc)| parse(&pk, sk, doc))
            .collect()
    }

    fn insert_trigger(&mut self, record: &TriggerRecord) -> Result<bool, StoreError> {
        if self.get(TRIGGERS, &record.trigger_id)?.is_some() {
            return Ok(false);
        }
        let doc = Doc {
            body: Some(serde_json::to_string(record)?),
            expires_at: Some(self.now + RUN_RETENTION_DAYS * DAY),
        };
        self.write(TRIGGERS, &record.trigger_id, Some(doc), true);
        Ok(true)
    }

    fn triggers(&self) -> Result<Vec<TriggerRecord>, StoreError> {
        let mut all = self
            .query(TRIGGERS, None)?
            .iter()
            .map(|(sk, doc)| parse::<TriggerRecord>(TRIGGERS, sk, doc))
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| (a.at, &a.trigger_id).cmp(&(b.at, &b.trigger_id)));
        Ok(all)
    }

    fn push_outbox(&mut self, id: &str, kind: OutboxKind, body: &str) -> Result<(), StoreError> {
        self.next_seq += 1;
        let item = OutboxItem {
            seq: self.next_seq,
            id: id.to_string(),
            kind,
            body: body.to_string(),
        };
        self.put(
            OUTBOX,
            &seq_sk(item.seq),
            serde_json::to_string(&item)?,
            None,
        );
        Ok(())
    }

    fn outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.query(OUTBOX, None)?
            .iter()
            .map(|(sk, doc)| parse(OUTBOX, sk, doc))
            .collect()
    }

    fn remove_outbox(&mut self, seq: i64) -> Result<(), StoreError> {
        self.write(OUTBOX, &seq_sk(seq), None, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_numbers_sort_as_text() {
        let numbers = [i64::MIN, -5, -1, 0, 1, 9, 10, 1_790_000_000_000, i64::MAX];
        let texts: Vec<String> = numbers.iter().map(|n| ordered(*n)).collect();
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(texts, sorted);
        assert!(texts.iter().all(|t| t.len() == 20));
    }

    #[test]
    fn journal_entries_round_trip() {
        let entry = Entry {
            pk: "EVENT#e".into(),
            sk: "EVENT".into(),
            doc: Some(Doc {
                body: None,
                expires_at: Some(5),
            }),
            claim: true,
        };
        let text = serde_json::to_string(&[&entry]).unwrap();
        assert_eq!(
            serde_json::from_str::<Vec<Entry>>(&text).unwrap(),
            vec![entry]
        );
    }
}
