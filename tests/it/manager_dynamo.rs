//! The DynamoDB store against moto server (real TransactWriteItems with conditions): the same
//! randomized sequences of store operations on SQLite, in memory and on DynamoDB give the same
//! result for every operation (also with every write set journaled); large transactions go
//! through the journal and one interrupted after its commit is finished by the next
//! transaction; a conflicting writer makes the closure run again; the table is the one the
//! `dpc-central` stack deploys; and the DynamoDB calls of one case-study status event.
//! (The randomized-delivery and crash tests run on DynamoDB in `manager_random` and
//! `manager_crash`.)

use std::time::Instant;

use dpc::events::StatusChangeEvent;
use dpc::manager::Manager;
use dpc::manager::dynamo::DynamoStore;
use dpc::manager::lifecycle::{DependentState, HistoryEntry, Phase};
use dpc::manager::memory::MemoryStore;
use dpc::manager::registry::{Leaf, PipelineId, Registration, Upstream};
use dpc::manager::runlog::{Run, RunType};
use dpc::manager::sqlite::SqliteStore;
use dpc::manager::store::{Millis, OutboxKind, Store, StoreError, TriggerRecord, Tx};
use dpc::manager::window::Bound;

use crate::common::ROOT;
use crate::common::dynamo::Dynamo;
use crate::common::manager::{Rng, registration, status_event, upstream};

const UPSTREAMS: [&str; 3] = ["x:111111111111/local/a", "x:111111111111/local/b", "p:d/n"];
const PIPELINES: [&str; 3] = ["p0", "p1", "p2"];

fn pipeline_key(name: &str) -> String {
    format!("222222222222/local/{name}")
}

/// Registrations of p0..p2 with varying leaves (an update re-indexes).
fn registrations() -> Vec<Registration> {
    let leaf = |n: &str| {
        format!("      - {{name: {n}, account: \"111111111111\", status: [SUCCEEDED]}}\n")
    };
    let yaml = |name: &str, leaves: &[&str]| {
        let all: String = leaves.iter().map(|l| leaf(l)).collect();
        format!(
            "name: {name}\nteam: t\naccount: \"222222222222\"\ncompute: {{type: NONE}}\ntrigger:\n  executions:\n    allOf:\n{all}"
        )
    };
    vec![
        registration(&yaml("p0", &["a", "b"])),
        registration(&yaml("p0", &["b"])),
        registration(&yaml("p1", &["a"])),
        registration(&yaml("p1", &["a", "b"])),
        registration(&yaml("p2", &["b"])),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Registration(usize),
    PutRegistration(usize),
    DeleteRegistration(usize),
    Registrations,
    Dependents(usize),
    ClaimEvent(u64),
    ClaimFact(u64),
    Run(usize, u64),
    PutRun(Run),
    LatestRun(usize, Option<(Millis, bool)>, bool),
    State(usize),
    PutState(usize, DependentState),
    AddHistory(HistoryEntry),
    History(usize),
    InsertTrigger(TriggerRecord),
    Triggers,
    PushOutbox(u64, OutboxKind),
    Outbox,
    RemoveOutbox(i64),
}

/// A transaction: its operations, then commit (true) or roll back.
type Script = Vec<(Vec<Op>, bool)>;

fn script(seed: u64, base: Millis) -> Script {
    let mut rng = Rng::new(seed);
    let minutes =
        |rng: &mut Rng, n: u64| base + Millis::try_from(rng.below(n)).unwrap_or(0) * 60_000;
    let mut out = Vec::new();
    for _ in 0..40 {
        let mut ops = Vec::new();
        for _ in 0..(1 + rng.below(7)) {
            let p = rng.below(3) as usize;
            let u = rng.below(3) as usize;
            let op = match rng.below(19) {
                0 => Op::Registration(rng.below(5) as usize),
                1 | 2 => Op::PutRegistration(rng.below(5) as usize),
                3 => Op::DeleteRegistration(rng.below(5) as usize),
                4 => Op::Registrations,
                5 => Op::Dependents(u),
                6 => Op::ClaimEvent(rng.below(8)),
                7 => Op::ClaimFact(rng.below(8)),
                8 => Op::Run(u, rng.below(6)),
                9 | 10 => {
                    let started = minutes(&mut rng, 100);
                    let time = started + Millis::try_from(rng.below(50)).unwrap_or(0) * 60_000;
                    Op::PutRun(Run {
                        upstream: UPSTREAMS[u].to_string(),
                        id: format!("e{}", rng.below(6)),
                        status: ["RUNNING", "SUCCEEDED", "FAILED"][rng.below(3) as usize].into(),
                        redrive: u32::try_from(rng.below(2)).unwrap_or(0),
                        run_type: if rng.chance(25) {
                            RunType::Manual
                        } else {
                            RunType::Scheduled
                        },
                        started,
                        time,
                        stop_date: time,
                        trigger_id: rng.chance(30).then(|| format!("t{}", rng.below(4))),
                    })
                }
                11 | 12 => {
                    let since = (!rng.chance(20)).then(|| (minutes(&mut rng, 150), rng.chance(50)));
                    Op::LatestRun(u, since, rng.chance(50))
                }
                13 => Op::State(p),
                14 => {
                    let mut state = DependentState::new(minutes(&mut rng, 100));
                    state.phase = [Phase::Waiting, Phase::Triggered][rng.below(2) as usize];
                    state.reset = rng.chance(50).then(|| Bound {
                        at: minutes(&mut rng, 100),
                        strict: true,
                    });
                    Op::PutState(p, state)
                }
                15 => Op::AddHistory(HistoryEntry::new(
                    &pipeline_key(PIPELINES[p]),
                    minutes(&mut rng, 100),
                    "LEAF",
                    format!("change {}", rng.below(100)),
                    "cause",
                )),
                16 => {
                    if rng.chance(50) {
                        Op::History(p)
                    } else {
                        Op::Triggers
                    }
                }
                17 => {
                    if rng.chance(50) {
                        Op::InsertTrigger(TriggerRecord {
                            trigger_id: format!("t{}", rng.below(6)),
                            pipeline: pipeline_key(PIPELINES[p]),
                            at: minutes(&mut rng, 100),
                        })
                    } else {
                        Op::PushOutbox(
                            rng.below(4),
                            [OutboxKind::Trigger, OutboxKind::Refresh][rng.below(2) as usize],
                        )
                    }
                }
                _ => {
                    if rng.chance(50) {
                        Op::Outbox
                    } else {
                        Op::RemoveOutbox(i64::try_from(1 + rng.below(12)).unwrap_or(1))
                    }
                }
            };
            ops.push(op);
        }
        out.push((ops, !rng.chance(15)));
    }
    out
}

fn apply(tx: &mut dyn Tx, regs: &[Registration], op: &Op) -> Result<String, StoreError> {
    Ok(match op {
        Op::Registration(i) => format!("{:?}", tx.registration(&regs[*i].key())?),
        Op::PutRegistration(i) => format!("{:?}", tx.put_registration(&regs[*i])?),
        Op::DeleteRegistration(i) => format!("{:?}", tx.delete_registration(&regs[*i].key())?),
        Op::Registrations => format!("{:?}", tx.registrations()?),
        Op::Dependents(u) => format!("{:?}", tx.dependents(UPSTREAMS[*u])?),
        Op::ClaimEvent(k) => format!("{:?}", tx.claim_event_id(&format!("ev-{k}"))?),
        Op::ClaimFact(k) => format!("{:?}", tx.claim_fact(&format!("x|arn:e{k}|SUCCEEDED|0"))?),
        Op::Run(u, k) => format!("{:?}", tx.run(UPSTREAMS[*u], &format!("e{k}"))?),
        Op::PutRun(run) => format!("{:?}", tx.put_run(run)?),
        Op::LatestRun(u, since, manual) => {
            format!("{:?}", tx.latest_run(UPSTREAMS[*u], *since, *manual)?)
        }
        Op::State(p) => format!("{:?}", tx.state(&pipeline_key(PIPELINES[*p]))?),
        Op::PutState(p, s) => format!("{:?}", tx.put_state(&pipeline_key(PIPELINES[*p]), s)?),
        Op::AddHistory(e) => format!("{:?}", tx.add_history(e)?),
        Op::History(p) => format!("{:?}", tx.history(&pipeline_key(PIPELINES[*p]))?),
        Op::InsertTrigger(r) => format!("{:?}", tx.insert_trigger(r)?),
        Op::Triggers => format!("{:?}", tx.triggers()?),
        Op::PushOutbox(k, kind) => {
            let body = format!("{{\"n\":{k}}}");
            format!("{:?}", tx.push_outbox(&format!("id-{k}"), *kind, &body)?)
        }
        Op::Outbox => format!("{:?}", tx.outbox()?),
        Op::RemoveOutbox(seq) => format!("{:?}", tx.remove_outbox(*seq)?),
    })
}

/// Everything the store holds that the operations can reach.
fn dump(tx: &mut dyn Tx, regs: &[Registration]) -> Result<Vec<String>, StoreError> {
    let mut out = vec![
        format!("{:?}", tx.registrations()?),
        format!("{:?}", tx.triggers()?),
        format!("{:?}", tx.outbox()?),
    ];
    for r in regs {
        out.push(format!("{:?}", tx.registration(&r.key())?));
    }
    for u in UPSTREAMS {
        out.push(format!("{:?}", tx.dependents(u)?));
        for manual in [false, true] {
            out.push(format!("{:?}", tx.latest_run(u, None, manual)?));
        }
        for k in 0..6 {
            out.push(format!("{:?}", tx.run(u, &format!("e{k}"))?));
        }
    }
    for p in PIPELINES {
        out.push(format!("{:?}", tx.state(&pipeline_key(p))?));
        out.push(format!("{:?}", tx.history(&pipeline_key(p))?));
    }
    for k in 0..8 {
        out.push(format!("{:?}", tx.claim_event_id(&format!("ev-{k}"))?));
    }
    Ok(out)
}

/// The result of every operation of `script` on `store`, then its final contents.
fn play<S: Store>(store: &mut S, regs: &[Registration], script: &Script) -> Vec<String> {
    let mut results = Vec::new();
    for (ops, commit) in script {
        let mut seen = Vec::new();
        let outcome = store.transaction(|tx| {
            seen.clear();
            for op in ops {
                seen.push(apply(tx, regs, op)?);
            }
            if *commit {
                Ok(())
            } else {
                Err(StoreError("rolled back".into()))
            }
        });
        results.extend(seen);
        results.push(format!("{outcome:?}"));
    }
    let end = store.transaction(|tx| {
        let dumped = dump(tx, regs)?;
        // The claims in the dump are only reads: roll them back.
        Err::<(), _>(StoreError(dumped.join("\n")))
    });
    results.push(format!("{end:?}"));
    results
}

fn compare(what: &str, want: &[String], got: &[String]) {
    assert_eq!(want.len(), got.len(), "{what}: number of results");
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        assert_eq!(w, g, "{what}: result {i} differs");
    }
}

#[test]
fn random_operations_give_the_same_results_as_sqlite_and_memory() {
    let dynamo = Dynamo::start();
    let _runtime = dynamo.enter();
    let regs = registrations();
    let started = Instant::now();
    // Times near the epoch reach past the run retention (the latest-run item is consulted);
    // times of today do not.
    let today = dpc::manager::time::parse_time("2026-11-21T00:00:00Z").expect("time");
    for (seed, base) in [(1, 0), (2, today), (3, 0), (4, today)] {
        let script = script(seed, base);
        let want = play(
            &mut SqliteStore::in_memory().expect("sqlite"),
            &regs,
            &script,
        );
        compare(
            &format!("seed {seed}: memory"),
            &want,
            &play(&mut MemoryStore::new(), &regs, &script),
        );
        compare(
            &format!("seed {seed}: dynamodb"),
            &want,
            &play(&mut dynamo.store(), &regs, &script),
        );
        // Every transaction with 3 or more writes journaled and applied in chunks of 3.
        let mut small = dynamo.store().with_max_transact_items(4);
        compare(
            &format!("seed {seed}: dynamodb, journaled"),
            &want,
            &play(&mut small, &regs, &script),
        );
        assert!(small.calls().writes > 0);
    }
    eprintln!(
        "differential: 4 scripts of 40 transactions on 4 stores in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A registration with `n` leaves (one index item each).
fn wide(n: usize) -> Registration {
    let mut reg = registrations()[0].clone();
    reg.leaves = (0..n)
        .map(|i| Leaf {
            upstream: Upstream::Execution(PipelineId {
                account: "111111111111".into(),
                region: "local".into(),
                name: format!("up-{i:03}"),
            }),
            statuses: vec!["SUCCEEDED".into()],
        })
        .collect();
    reg
}

fn index_of(store: &mut impl Store, reg: &Registration) -> Vec<Vec<String>> {
    store
        .transaction(|tx| {
            reg.leaves
                .iter()
                .map(|l| tx.dependents(&l.upstream.key()))
                .collect()
        })
        .expect("index")
}

#[test]
fn a_transaction_of_more_than_100_items_is_journaled_and_applied() {
    let dynamo = Dynamo::start();
    let _runtime = dynamo.enter();
    let reg = wide(150);
    let mut store = dynamo.store();
    let mut sqlite = SqliteStore::in_memory().expect("sqlite");
    let before = store.calls();
    store.put(&reg);
    // The journal with the version, two chunks (99 + 52 items), clearing the journal.
    let calls = store.calls() - before;
    assert_eq!(calls.writes, 4, "{calls:?}");
    sqlite.put(&reg);
    let got = index_of(&mut store, &reg);
    assert_eq!(got, index_of(&mut sqlite, &reg));
    assert!(got.iter().all(|d| d == &vec![reg.key()]));
    // Replacing it by a narrow registration deletes 150 index items (journaled again).
    let narrow = wide(2);
    store.put(&narrow);
    sqlite.put(&narrow);
    assert_eq!(index_of(&mut store, &reg), index_of(&mut sqlite, &reg));
    assert!(!meta(&dynamo, store.table()).contains_key("journal"));
}

/// Puts a registration in its own transaction (on any store).
trait PutRegistration {
    fn put(&mut self, reg: &Registration);
}

impl<S: Store> PutRegistration for S {
    fn put(&mut self, reg: &Registration) {
        self.transaction(|tx| tx.put_registration(reg))
            .expect("put");
    }
}

/// The version item, read raw.
fn meta(
    dynamo: &Dynamo,
    table: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    let out = dynamo
        .runtime
        .block_on(
            dynamo
                .client
                .get_item()
                .table_name(table)
                .key(
                    "pk",
                    aws_sdk_dynamodb::types::AttributeValue::S("META".into()),
                )
                .key(
                    "sk",
                    aws_sdk_dynamodb::types::AttributeValue::S("VERSION".into()),
                )
                .consistent_read(true)
                .send(),
        )
        .expect("get");
    out.item().cloned().unwrap_or_default()
}

#[test]
fn a_journal_interrupted_after_its_commit_is_finished_by_the_next_transaction() {
    let dynamo = Dynamo::start();
    let _runtime = dynamo.enter();
    let table = dynamo.table();
    let reg = wide(120);
    let mut crashing = DynamoStore::new(dynamo.client.clone(), &table).stop_after_journal();
    let err = crashing
        .transaction(|tx| {
            tx.put_registration(&reg)?;
            tx.add_history(&HistoryEntry::new(
                &reg.key(),
                5,
                "REGISTERED",
                "REGISTERED",
                "registry",
            ))
        })
        .expect_err("the hook stops the commit");
    assert!(err.0.contains("journal"), "{err}");
    // Committed (the version moved, the journal is there) but not applied.
    let raw = meta(&dynamo, &table);
    assert!(raw.contains_key("journal"));
    assert_eq!(
        raw.get("version")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some("1")
    );
    let mut fresh = DynamoStore::new(dynamo.client.clone(), &table);
    let mut sqlite = SqliteStore::in_memory().expect("sqlite");
    sqlite.put(&reg);
    // A read-only transaction finishes it first.
    let got = fresh
        .transaction(|tx| tx.registration(&reg.key()))
        .expect("read");
    assert_eq!(got.as_ref(), Some(&reg));
    assert!(!meta(&dynamo, &table).contains_key("journal"));
    assert_eq!(index_of(&mut fresh, &reg), index_of(&mut sqlite, &reg));
    let history = fresh
        .transaction(|tx| tx.history(&reg.key()))
        .expect("history");
    assert_eq!(history.len(), 1);
    // And the next write commits on top of it.
    fresh.put(&wide(1));
    assert_eq!(
        meta(&dynamo, &table)
            .get("version")
            .and_then(|v| v.as_n().ok())
            .map(String::as_str),
        Some("2")
    );
}

#[test]
fn a_conflicting_writer_makes_the_closure_run_again() {
    let dynamo = Dynamo::start();
    let _runtime = dynamo.enter();
    let table = dynamo.table();
    let mut a = DynamoStore::new(dynamo.client.clone(), &table);
    let mut b = DynamoStore::new(dynamo.client.clone(), &table);
    let mut runs = 0;
    let claimed = a
        .transaction(|tx| {
            runs += 1;
            let mine = tx.claim_event_id("ev")?;
            if runs == 1 {
                // Another writer commits the same claim between this read and the commit.
                assert!(b.transaction(|tx| tx.claim_event_id("ev")).expect("b"));
            }
            Ok(mine)
        })
        .expect("a");
    assert_eq!(
        runs, 2,
        "the first run conflicted and the closure ran again"
    );
    assert!(!claimed, "the second run saw the other writer's claim");
}

#[test]
fn the_table_is_the_one_the_central_stack_deploys() {
    let dynamo = Dynamo::start();
    let table = dynamo.table();
    let described = dynamo
        .runtime
        .block_on(dynamo.client.describe_table().table_name(&table).send())
        .expect("describe");
    let t = described.table().expect("table");
    let template = dpc::deploy::central_stack::template(&Default::default());
    let props = &template["Resources"]["ManagerTable"]["Properties"];
    let keys: Vec<(String, String)> = t
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect();
    let want_keys: Vec<(String, String)> = props["KeySchema"]
        .as_array()
        .expect("key schema")
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap_or_default().into(),
                k["KeyType"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(keys, want_keys);
    let mut attributes: Vec<String> = t
        .attribute_definitions()
        .iter()
        .map(|a| format!("{} {}", a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    let mut want_attributes: Vec<String> = props["AttributeDefinitions"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| {
            format!(
                "{} {}",
                a["AttributeName"].as_str().unwrap_or_default(),
                a["AttributeType"].as_str().unwrap_or_default()
            )
        })
        .collect();
    attributes.sort();
    want_attributes.sort();
    assert_eq!(attributes, want_attributes);
    let index = &t.global_secondary_indexes()[0];
    let want_index = &props["GlobalSecondaryIndexes"][0];
    assert_eq!(index.index_name(), want_index["IndexName"].as_str());
    let index_keys: Vec<&str> = index
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(index_keys, ["gsi1pk", "gsi1sk"]);
    assert_eq!(want_index["KeySchema"][0]["AttributeName"], "gsi1pk");
    let ttl = dynamo
        .runtime
        .block_on(
            dynamo
                .client
                .describe_time_to_live()
                .table_name(&table)
                .send(),
        )
        .expect("ttl");
    let ttl = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(
        ttl.attribute_name(),
        props["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
}

/// The case study registered; listings and searches run (at `day` + hours).
fn case_study_events(day: Millis) -> Vec<StatusChangeEvent> {
    let h = 3_600_000;
    let listings = upstream("111111111111", "listings");
    let searches = upstream("222222222222", "searches");
    vec![
        status_event(&listings, "l-1", "RUNNING", day + 3 * h, None, "SCHEDULED"),
        status_event(
            &listings,
            "l-1",
            "SUCCEEDED",
            day + 3 * h,
            Some(day + 4 * h),
            "SCHEDULED",
        ),
        status_event(&searches, "s-1", "RUNNING", day + 5 * h, None, "SCHEDULED"),
        status_event(
            &searches,
            "s-1",
            "SUCCEEDED",
            day + 5 * h,
            Some(day + 6 * h),
            "SCHEDULED",
        ),
    ]
}

fn case_study() -> Vec<Registration> {
    ["listings", "searches", "pipeline-x", "pipeline-x-fallback"]
        .iter()
        .map(|name| {
            let path = format!("{ROOT}/examples/case-study/{name}/pipeline.yaml");
            registration(&std::fs::read_to_string(&path).expect("pipeline.yaml"))
        })
        .collect()
}

/// The DynamoDB calls of one status event that triggers pipeline-x (the case study, all four
/// pipelines registered), and of sending its trigger: the manager's three transactions (the
/// event, reading the outbox, marking the trigger sent).
#[test]
fn calls_of_one_status_event_that_triggers_a_pipeline() {
    let dynamo = Dynamo::start();
    let _runtime = dynamo.enter();
    let store = dynamo.store();
    let counter = store.clone();
    let mut manager = Manager::new(store);
    let day = dpc::manager::time::parse_time("2026-11-25T00:00:00Z").expect("time");
    for reg in case_study() {
        manager.register(&reg, day).expect("register");
    }
    let events = case_study_events(day);
    let (last, first) = events.split_last().expect("events");
    let mut per_event = Vec::new();
    for (i, event) in first.iter().enumerate() {
        let before = counter.calls();
        let out = manager
            .handle_status(event, day + 7 * 3_600_000 + i as Millis)
            .expect("event");
        assert!(out.triggers.is_empty());
        per_event.push(counter.calls() - before);
    }
    let before = counter.calls();
    let out = manager
        .handle_status(last, day + 7 * 3_600_000 + 10)
        .expect("event");
    let handled = counter.calls() - before;
    assert_eq!(out.triggers.len(), 1);
    assert_eq!(out.triggers[0].detail.target.pipeline, "pipeline-x");
    let before = counter.calls();
    let outbox = manager.outbox().expect("outbox");
    assert_eq!(outbox.len(), 1);
    let read_outbox = counter.calls() - before;
    let before = counter.calls();
    manager.sent(outbox[0].seq).expect("sent");
    let sent = counter.calls() - before;
    let before = counter.calls();
    let duplicate = manager
        .handle_status(last, day + 7 * 3_600_000 + 20)
        .expect("duplicate");
    assert!(duplicate.triggers.is_empty());
    let redelivered = counter.calls() - before;
    eprintln!(
        "DynamoDB calls, case study: listings RUNNING {:?}; listings SUCCEEDED {:?}; searches RUNNING {:?}",
        per_event[0], per_event[1], per_event[2]
    );
    eprintln!("DynamoDB calls, searches SUCCEEDED (triggers pipeline-x): {handled:?}");
    eprintln!("DynamoDB calls, reading the outbox: {read_outbox:?}; marking it sent: {sent:?}");
    eprintln!("DynamoDB calls, the same event redelivered: {redelivered:?}");
    assert_eq!(handled.writes, 1, "one TransactWriteItems: {handled:?}");
    assert!(handled.items_written < 100, "{handled:?}");
    assert!(handled.reads <= 20, "{handled:?}");
    assert_eq!((sent.writes, redelivered.writes), (1, 0));
}
