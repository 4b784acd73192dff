//! Trigger manager benchmark (`cargo bench --bench manager`): a registry of 700
//! pipelines in 100 accounts in a SQLite file (WAL, one transaction per event); upstream
//! status events (RUNNING, then SUCCEEDED or FAILED, some delivered twice) for random
//! pipelines. Reports p50/p99/max latency per event (dedupe, run log, evaluation of every
//! dependent through its compiled pattern, trigger and commit) and events per second.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

use std::time::Instant;

use dpc::events::StatusChangeEvent;
use dpc::manager::Manager;
use dpc::manager::registry::{PipelineId, Registration};
use dpc::manager::sqlite::SqliteStore;
use dpc::manager::store::Millis;

#[path = "../tests/it/common/manager.rs"]
mod common;

const ACCOUNTS: usize = 100;
const PER_ACCOUNT: usize = 7;
const RUNS: usize = 10_000;
const REGION: &str = "eu-west-1";

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn account(i: usize) -> String {
    format!("{:012}", 100_000_000_000 + i)
}

/// Pipeline `p` of account `a`: the first three of each account only run on a schedule; the
/// others depend on two or three pipelines of other accounts (allOf SUCCEEDED), every fourth
/// with a daily period, every fifth a fallback on FAILED (anyOf).
fn yaml(a: usize, p: usize, rng: &mut Rng) -> String {
    let mut y = format!(
        "name: p{p}\nteam: t\naccount: \"{}\"\nregion: {REGION}\ncompute: {{type: NONE}}\ntrigger:\n",
        account(a)
    );
    if p < 3 {
        y.push_str("  schedule: {hour: 3}\n");
        return y;
    }
    if p.is_multiple_of(4) {
        y.push_str("  schedule: {hour: 0}\n");
    }
    let fallback = (a * PER_ACCOUNT + p).is_multiple_of(5);
    let (block, status) = if fallback {
        ("anyOf", "FAILED")
    } else {
        ("allOf", "SUCCEEDED")
    };
    y.push_str(&format!("  executions:\n    {block}:\n"));
    let mut used = Vec::new();
    while used.len() < 2 + rng.below(2) {
        let (ua, up) = (
            (a + 1 + rng.below(ACCOUNTS - 1)) % ACCOUNTS,
            rng.below(PER_ACCOUNT),
        );
        if !used.contains(&(ua, up)) {
            used.push((ua, up));
            y.push_str(&format!(
                "      - {{name: p{up}, account: \"{}\", region: {REGION}, status: [{status}]}}\n",
                account(ua)
            ));
        }
    }
    y
}

fn registrations() -> Vec<Registration> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut out = Vec::new();
    for a in 0..ACCOUNTS {
        for p in 0..PER_ACCOUNT {
            out.push(common::registration(&yaml(a, p, &mut rng)));
        }
    }
    out
}

fn event(
    id: &PipelineId,
    exec: &str,
    status: &str,
    started: Millis,
    stopped: Option<Millis>,
) -> StatusChangeEvent {
    common::status_event(id, exec, status, started, stopped, "SCHEDULED")
}

fn events(regs: &[Registration]) -> Vec<(Millis, StatusChangeEvent)> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start: Millis = 1_795_000_000_000;
    let mut out = Vec::with_capacity(RUNS * 3);
    for n in 0..RUNS {
        let id = &regs[rng.below(regs.len())].id;
        let t = start + n as Millis * 10_000;
        let exec = format!("run-{n}");
        let status = if rng.below(10) < 8 {
            "SUCCEEDED"
        } else {
            "FAILED"
        };
        out.push((t, event(id, &exec, "RUNNING", t, None)));
        let done = event(id, &exec, status, t, Some(t + 5_000));
        out.push((t + 5_000, done.clone()));
        if rng.below(10) == 0 {
            out.push((t + 6_000, done));
        }
    }
    out
}

fn main() {
    let regs = registrations();
    let dir = tempfile::tempdir().expect("tempdir");
    let leaves: usize = regs.iter().map(|r| r.leaves.len()).sum();
    let stream = events(&regs);
    // (label, WAL pages per automatic checkpoint — None keeps the store's default —,
    // checkpoint between events every n events)
    let modes: [(&str, Option<u32>, Option<usize>); 3] = [
        (
            "store default (checkpoint per 10,000 WAL pages)",
            None,
            None,
        ),
        (
            "SQLite's own default (checkpoint per 1,000 WAL pages)",
            Some(1000),
            None,
        ),
        (
            "checkpoint every 500 events, off the event path",
            Some(0),
            Some(500),
        ),
    ];
    for (i, (label, pages, every)) in modes.into_iter().enumerate() {
        let path = dir.path().join(format!("bench{i}.db"));
        let mut manager = Manager::new(SqliteStore::open(&path).expect("store"));
        if let Some(pages) = pages {
            manager
                .store_mut()
                .set_auto_checkpoint(pages)
                .expect("pragma");
        }
        let t = Instant::now();
        for r in &regs {
            manager.register(r, 0).expect("register");
        }
        if i == 0 {
            println!(
                "registry: {} pipelines in {ACCOUNTS} accounts, {leaves} leaves, registered in {:.1} ms",
                regs.len(),
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        run(&mut manager, &stream, label, every);
    }
}

/// Handles `stream`; with `checkpoint_every`, checkpoints between events (timed separately).
fn run(
    manager: &mut Manager<SqliteStore>,
    stream: &[(Millis, StatusChangeEvent)],
    label: &str,
    checkpoint_every: Option<usize>,
) {
    let mut micros = Vec::with_capacity(stream.len());
    let mut triggers = 0usize;
    let mut checkpoint_ms = 0.0;
    let all = Instant::now();
    for (i, (now, e)) in stream.iter().enumerate() {
        let t = Instant::now();
        let out = manager.handle_status(e, *now).expect("handled");
        micros.push(t.elapsed().as_secs_f64() * 1e6);
        triggers += out.triggers.len();
        if checkpoint_every.is_some_and(|n| (i + 1) % n == 0) {
            let c = Instant::now();
            manager.store_mut().checkpoint().expect("checkpoint");
            checkpoint_ms += c.elapsed().as_secs_f64() * 1e3;
        }
    }
    let total = all.elapsed().as_secs_f64();
    micros.sort_by(f64::total_cmp);
    let pct = |p: f64| micros[((micros.len() as f64 * p) as usize).min(micros.len() - 1)];
    println!(
        "{label}: {} upstream events ({triggers} triggers): p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs; {:.0} events/s (checkpoints {checkpoint_ms:.0} ms in total)",
        micros.len(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        micros[micros.len() - 1],
        micros.len() as f64 / total
    );
}
