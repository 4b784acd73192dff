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

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dpc::events::StatusChangeEvent;
use dpc::manager::Manager;
use dpc::manager::memory::MemoryStore;
use dpc::manager::registry::Registration;
use dpc::manager::sqlite::SqliteStore;
use dpc::manager::store::{Millis, OutboxKind, Store};

use crate::common::manager::{Rng, registration, status_event, upstream};

/// In a worker's environment: the folder of its `state.db` and `sent.txt`.
const WORKER_DIR: &str = "DPC_CRASH_TEST_WORKER_DIR";
/// The name of the test, as libtest knows it (`manager_crash::…`).
const TEST: &str = "triggers_are_neither_lost_nor_doubled_when_the_worker_is_killed";

const ACCOUNT: &str = "111111111111";
const KILLS: usize = 25;

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

/// Runs of a, b and c through a day, each delivered once or twice, slightly out of order.
fn stream() -> Vec<(Millis, StatusChangeEvent)> {
    let mut rng = Rng::new(42);
    let mut out = Vec::new();
    for n in 0..1000 {
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
fn process<S: Store>(manager: &mut Manager<S>, sink: &mut dyn FnMut(&str)) -> Result<(), String> {
    for r in registrations() {
        manager.register(&r, 0).map_err(|e| e.to_string())?;
    }
    for (now, event) in stream() {
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
fn worker(db: &Path, sink: &Path) -> Result<(), String> {
    let mut manager = Manager::new(SqliteStore::open(db).map_err(|e| e.to_string())?);
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
    process(&mut manager, &mut send)
}

fn expected() -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut manager = Manager::new(MemoryStore::new());
    process(&mut manager, &mut |id| ids.push(id.to_string()))?;
    Ok(ids)
}

/// Starts a worker on `dir`: this test binary, running only this test.
fn spawn_worker(dir: &Path) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let module = module_path!()
        .split_once("::")
        .map_or(module_path!(), |(_, m)| m);
    Command::new(exe)
        .args(["--exact", &format!("{module}::{TEST}")])
        // The worker's panic message on stderr; libtest's lines nowhere.
        .args(["--nocapture", "--test-threads=1"])
        .env(WORKER_DIR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("the worker could not be started: {e}"))
}

fn orchestrate() -> Result<(), String> {
    let want = expected()?;
    let unique: BTreeSet<&String> = want.iter().collect();
    if want.len() < 50 || unique.len() != want.len() {
        return Err(format!(
            "the stream must trigger often and once per id ({} triggers)",
            want.len()
        ));
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (db, sink) = (dir.path().join("state.db"), dir.path().join("sent.txt"));
    let mut rng = Rng::new(7);
    let (mut killed, mut attempts, mut finished) = (0, 0, false);
    while !finished {
        let mut child = spawn_worker(dir.path())?;
        // Kill until enough kills landed mid-stream (a restart that finishes first is fine).
        if killed < KILLS && attempts < 20 * KILLS {
            attempts += 1;
            std::thread::sleep(Duration::from_millis(2 + rng.below(40)));
            if child.try_wait().map_err(|e| e.to_string())?.is_none() {
                child.kill().map_err(|e| e.to_string())?;
                killed += 1;
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
    let decided = Manager::new(SqliteStore::open(&db).map_err(|e| e.to_string())?)
        .triggers()
        .map_err(|e| e.to_string())?;
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
    if killed < KILLS {
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
        Some(dir) => {
            let dir = Path::new(&dir);
            worker(&dir.join("state.db"), &dir.join("sent.txt"))
        }
        None => orchestrate(),
    };
    if let Err(e) = result {
        panic!("{e}");
    }
}
