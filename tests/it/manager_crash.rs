//! Crash test (SPEC §4.4): a worker process handles a stream of upstream events against a
//! SQLite file and is killed (SIGKILL) at random points, then restarted, again and again.
//! Each restart redelivers the whole stream from the start (events arrive at least once).
//! At the end, the triggers decided and the triggers sent must equal those of one clean run
//! in memory: no trigger lost, none twice.
//!
//! Sending is at least once (a kill between sending and removing an outbox entry re-sends it),
//! so the sink does what the consumer's state machine does: it claims each triggerId once
//! (SPEC §4.4) and counts every re-sent copy.
//!
//! The worker is this same test binary, started again by the test with `--exact` so that it
//! runs only this test, and with [`WORKER_DIR`] in its environment, which turns the test into
//! the worker. So the crash test is an ordinary test of the one test binary.
//!
//! The same test runs on the DynamoDB store against moto server: the worker reaches moto through
//! the endpoint in its environment and uses the table named by [`WORKER_TABLE`]. Scaled down,
//! as moto takes about 4 ms a call, an event takes about 17 calls, and moto copies the whole
//! table in every TransactWriteItems (28 ms at 1,000 items): [`DYNAMO_RUNS`] upstream runs
//! instead of 1,000 (about 300 deliveries, 29 triggers) and [`DYNAMO_KILLS`] kills instead of 25,
//! each after 0.3 to 6.3 s of work. The worker journals every transaction of
//! [`DYNAMO_MAX_ITEMS`] items or more, so kills also land between a journal's commit and its
//! apply (the summary counts those; typically 1 or 2 of the 5).

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dpc::events::StatusChangeEvent;
use dpc::manager::Manager;
use dpc::manager::dynamo::DynamoStore;
use dpc::manager::memory::MemoryStore;
use dpc::manager::registry::Registration;
use dpc::manager::sqlite::SqliteStore;
use dpc::manager::store::{Millis, OutboxKind, Store};

use crate::common::dynamo::Dynamo;
use crate::common::manager::{Rng, registration, status_event, upstream};

/// In a worker's environment: the folder of its `state.db` and `sent.txt`.
const WORKER_DIR: &str = "DPC_CRASH_TEST_WORKER_DIR";
/// In a worker's environment: the DynamoDB table to use instead of `state.db`.
const WORKER_TABLE: &str = "DPC_CRASH_TEST_WORKER_TABLE";
/// In a worker's environment: the number of upstream runs in the stream.
const WORKER_RUNS: &str = "DPC_CRASH_TEST_WORKER_RUNS";
/// In a DynamoDB worker's environment: journal every transaction writing this many items or
/// more (DynamoDB's limit is 100), so that kills also land inside journaled commits.
const WORKER_MAX_ITEMS: &str = "DPC_CRASH_TEST_WORKER_MAX_ITEMS";
const DYNAMO_MAX_ITEMS: usize = 4;
/// The names of the tests, as libtest knows them (`manager_crash::…`).
const TEST: &str = "triggers_are_neither_lost_nor_doubled_when_the_worker_is_killed";
const DYNAMO_TEST: &str = "triggers_are_neither_lost_nor_doubled_when_a_dynamodb_worker_is_killed";

const ACCOUNT: &str = "111111111111";
const RUNS: u32 = 1000;
const KILLS: usize = 25;
const DYNAMO_RUNS: u32 = 100;
const DYNAMO_KILLS: usize = 5;

fn registrations() -> Vec<Registration> {
    let leaf = |n: &str, s: &str| {
        format!("      - {{name: {n}, account: \"{ACCOUNT}\", status: [{s}]}}\n")
    };
    let head = |n: &str| {
        format!(
            "name: {n}\nteam: t\naccount: \"222222222222\"\ncompute: {{type: NONE}}\ntrigger:\n  executions:\n"
        )
    };
    [
        format!(
            "{}    allOf:\n{}{}",
            head("both"),
            leaf("a", "SUCCEEDED"),
            leaf("b", "SUCCEEDED")
        ),
        format!(
            "{}    anyOf:\n{}{}",
            head("fallback"),
            leaf("a", "FAILED"),
            leaf("c", "FAILED")
        ),
        format!(
            "{}    allOf:\n{}{}",
            head("bc"),
            leaf("b", "SUCCEEDED"),
            leaf("c", "SUCCEEDED")
        ),
    ]
    .iter()
    .map(|y| registration(y))
    .collect()
}

/// `runs` runs of a, b and c (through a day for 1,000), each delivered once or twice, slightly
/// out of order.
fn stream(runs: u32) -> Vec<(Millis, StatusChangeEvent)> {
    let mut rng = Rng::new(42);
    let mut out = Vec::new();
    for n in 0..runs {
        let up = ["a", "b", "c"][rng.below(3) as usize];
        let started = Millis::from(n) * 60_000;
        let stopped = started + 30_000;
        let status = if rng.chance(75) {
            "SUCCEEDED"
        } else {
            "FAILED"
        };
        let id = upstream(ACCOUNT, up);
        let exec = format!("{up}-{n}");
        for _ in 0..(1 + rng.below(2)) {
            let delay = Millis::try_from(rng.below(5)).unwrap_or(0) * 60_000;
            out.push((
                started + delay,
                status_event(&id, &exec, "RUNNING", started, None, "SCHEDULED"),
            ));
            out.push((
                stopped + delay,
                status_event(&id, &exec, status, started, Some(stopped), "SCHEDULED"),
            ));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Handles the whole stream; after each event, sends the outbox to `sink`.
fn process<S: Store>(
    manager: &mut Manager<S>,
    runs: u32,
    sink: &mut dyn FnMut(&str),
) -> Result<(), String> {
    for r in registrations() {
        manager.register(&r, 0).map_err(|e| e.to_string())?;
    }
    for (now, event) in stream(runs) {
        manager
            .handle_status(&event, now)
            .map_err(|e| e.to_string())?;
        for item in manager.outbox().map_err(|e| e.to_string())? {
            if item.kind == OutboxKind::Trigger {
                sink(&item.id);
            }
            manager.sent(item.seq).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// The child: appends every sent triggerId to `sink` (durably, before it is marked sent).
///
/// A line is one `write` of the id and its newline: with `writeln!` (one `write` for the id,
/// another for the newline) a kill between the two left a torn line, to which the restarted
/// worker appended the same id again (rightly re-sent: it was never marked sent), giving one
/// line `<id><id>`: "lost 1, unexpected 1" in the sink although dpc lost nothing. A torn last
/// line (a send the kill interrupted, so not delivered) is also cut off before appending.
fn worker<S: Store>(store: S, runs: u32, sink: &Path) -> Result<(), String> {
    let mut manager = Manager::new(store);
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(sink)
        .map_err(|e| e.to_string())?;
    let sent = fs::read(sink).map_err(|e| e.to_string())?;
    let whole = sent.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if whole < sent.len() {
        file.set_len(whole as u64).map_err(|e| e.to_string())?;
    }
    let mut send = |id: &str| {
        // A failed write would be a lost trigger: the test then fails on the comparison.
        let _ = file
            .write_all(format!("{id}\n").as_bytes())
            .and_then(|_| file.sync_data());
    };
    process(&mut manager, runs, &mut send)
}

/// The worker's store: `state.db` in `dir`, or the DynamoDB table its environment names.
fn run_worker(dir: &Path) -> Result<(), String> {
    let sink = dir.join("sent.txt");
    let runs = std::env::var(WORKER_RUNS)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(RUNS);
    let Some(table) = std::env::var_os(WORKER_TABLE) else {
        let store = SqliteStore::open(&dir.join("state.db")).map_err(|e| e.to_string())?;
        return worker(store, runs, &sink);
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let _entered = runtime.enter();
    let config = runtime.block_on(aws_config::load_from_env());
    let client = aws_sdk_dynamodb::Client::new(&config);
    let mut store = DynamoStore::new(client, table.to_string_lossy());
    if let Some(n) = std::env::var(WORKER_MAX_ITEMS)
        .ok()
        .and_then(|n| n.parse().ok())
    {
        store = store.with_max_transact_items(n);
    }
    worker(store, runs, &sink)
}

fn expected(runs: u32) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut manager = Manager::new(MemoryStore::new());
    process(&mut manager, runs, &mut |id| ids.push(id.to_string()))?;
    Ok(ids)
}

/// Where the workers keep their state.
enum Backend<'a> {
    Sqlite,
    Dynamo { dynamo: &'a Dynamo, table: String },
}

/// Starts a worker on `dir`: this test binary, running only `test`.
fn spawn_worker(dir: &Path, test: &str, backend: &Backend) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, m)| m);
    let mut command = Command::new(exe);
    command
        .args(["--exact", &format!("{module}::{test}")])
        // The worker's panic message on stderr; libtest's lines nowhere.
        .args(["--nocapture", "--test-threads=1"])
        .env(WORKER_DIR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if let Backend::Dynamo { dynamo, table } = backend {
        command
            .envs(dynamo.moto.env())
            .env(WORKER_TABLE, table)
            .env(WORKER_RUNS, DYNAMO_RUNS.to_string())
            .env(WORKER_MAX_ITEMS, DYNAMO_MAX_ITEMS.to_string());
    }
    command
        .spawn()
        .map_err(|e| format!("the worker could not be started: {e}"))
}

/// True when the table's version item holds a journal (a commit not yet applied).
fn journal_pending(dynamo: &Dynamo, table: &str) -> bool {
    let get = dynamo
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
        .send();
    dynamo
        .runtime
        .block_on(get)
        .ok()
        .and_then(|out| out.item().map(|item| item.contains_key("journal")))
        .unwrap_or(false)
}

/// Kills and restarts workers until one finishes, then compares what was sent with a clean
/// run: `kills` kills, each after `delay_ms` (a range) of work.
fn orchestrate(
    test: &str,
    backend: &Backend,
    runs: u32,
    kills: usize,
    delay_ms: (u64, u64),
) -> Result<(), String> {
    let want = expected(runs)?;
    let unique: BTreeSet<&String> = want.iter().collect();
    if want.len() < runs as usize / 5 || unique.len() != want.len() {
        return Err(format!(
            "the stream must trigger often and once per id ({} triggers)",
            want.len()
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (db, sink) = (dir.path().join("state.db"), dir.path().join("sent.txt"));
    let mut rng = Rng::new(7);
    let (mut killed, mut attempts, mut finished, mut journals) = (0, 0, false, 0);
    while !finished {
        let mut child = spawn_worker(dir.path(), test, backend)?;
        // Kill until enough kills landed mid-stream (a restart that finishes first is fine).
        if killed < kills && attempts < 20 * kills {
            attempts += 1;
            let (least, spread) = delay_ms;
            std::thread::sleep(Duration::from_millis(least + rng.below(spread)));
            if child.try_wait().map_err(|e| e.to_string())?.is_none() {
                child.kill().map_err(|e| e.to_string())?;
                child.wait().map_err(|e| e.to_string())?;
                killed += 1;
                if let Backend::Dynamo { dynamo, table } = backend {
                    journals += usize::from(journal_pending(dynamo, table));
                }
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        finished = status.success();
        if !finished && status.code().is_some() {
            return Err(format!("worker failed: {status}"));
        }
    }
    let sent = fs::read_to_string(&sink).map_err(|e| e.to_string())?;
    let lines: Vec<&str> = sent.lines().collect();
    let claimed: BTreeSet<&str> = lines.iter().copied().collect();
    let decided = match backend {
        Backend::Sqlite => Manager::new(SqliteStore::open(&db).map_err(|e| e.to_string())?)
            .triggers()
            .map_err(|e| e.to_string())?,
        Backend::Dynamo { dynamo, table } => {
            let _entered = dynamo.enter();
            Manager::new(DynamoStore::new(dynamo.client.clone(), table))
                .triggers()
                .map_err(|e| e.to_string())?
        }
    };
    let decided_ids: BTreeSet<&str> = decided.iter().map(|t| t.trigger_id.as_str()).collect();
    let want_ids: BTreeSet<&str> = want.iter().map(String::as_str).collect();
    let lost: Vec<&str> = want_ids.difference(&claimed).copied().collect();
    let extra: Vec<&str> = claimed.difference(&want_ids).copied().collect();
    let summary = format!(
        "crash test: {killed} kills, {} triggers expected, {} decided, {} claimed; lost {}, unexpected {}, re-sent copies claimed away {}",
        want.len(),
        decided.len(),
        claimed.len(),
        lost.len(),
        extra.len(),
        lines.len() - claimed.len()
    );
    eprintln!("{summary}");
    if let Backend::Dynamo { .. } = backend {
        eprintln!("crash test: {journals} of the kills left a committed journal to finish");
    }
    if killed < kills {
        return Err(format!(
            "only {killed} kills landed: the worker finished too fast to test anything\n{summary}"
        ));
    }
    if decided.len() != want.len()
        || decided_ids != want_ids
        || !lost.is_empty()
        || !extra.is_empty()
    {
        return Err(format!(
            "triggers lost or doubled across crashes\n{summary}\nlost: {lost:?}\nunexpected: {extra:?}"
        ));
    }
    Ok(())
}

#[test]
fn triggers_are_neither_lost_nor_doubled_when_the_worker_is_killed() {
    let result = match std::env::var_os(WORKER_DIR) {
        Some(dir) => run_worker(Path::new(&dir)),
        None => orchestrate(TEST, &Backend::Sqlite, RUNS, KILLS, (2, 40)),
    };
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn triggers_are_neither_lost_nor_doubled_when_a_dynamodb_worker_is_killed() {
    let result = match std::env::var_os(WORKER_DIR) {
        Some(dir) => run_worker(Path::new(&dir)),
        None => {
            let dynamo = Dynamo::start();
            let started = std::time::Instant::now();
            let backend = Backend::Dynamo {
                table: dynamo.table(),
                dynamo: &dynamo,
            };
            let result = orchestrate(
                DYNAMO_TEST,
                &backend,
                DYNAMO_RUNS,
                DYNAMO_KILLS,
                (300, 6000),
            );
            eprintln!(
                "crash test on DynamoDB (moto): {:.1} s",
                started.elapsed().as_secs_f64()
            );
            result
        }
    };
    if let Err(e) = result {
        panic!("{e}");
    }
}
