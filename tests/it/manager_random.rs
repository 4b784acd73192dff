//! Randomized delivery orders (SPEC §8): generated upstream runs, delivered with random delays
//! (so out of order) and duplicates, through the manager and through a deliberately simple
//! reference model (a full scan over plain maps, conditions evaluated as booleans, no store,
//! no patterns). Over 10,000 delivery orders the trigger sequences must be identical, with no
//! trigger id emitted twice: 0 double and 0 missed triggers.
//!
//! The same test runs on the DynamoDB store against moto server, scaled down to the first
//! [`DYNAMO_STREAMS`] streams with [`DYNAMO_ORDERS_PER_STREAM`] orders each (a fresh table per
//! order; moto answers a call in milliseconds, and every event takes about 15 of them).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use dpc::events::StatusChangeEvent;
use dpc::manager::Manager;
use dpc::manager::memory::MemoryStore;
use dpc::manager::store::{Millis, Store};

use crate::common::dynamo::Dynamo;
use crate::common::manager::{Rng, registration, status_event, upstream};

const ACCOUNT: &str = "111111111111";
const MINUTE: Millis = 60_000;
const STREAMS: u64 = 200;
const ORDERS_PER_STREAM: u64 = 50;
const DYNAMO_STREAMS: u64 = 6;
const DYNAMO_ORDERS_PER_STREAM: u64 = 2;

/// The dependents, as YAML for the manager and as plain data for the model.
struct Dependent {
    name: &'static str,
    yaml: String,
    /// (upstream, statuses) that must all hold.
    all_of: Vec<(&'static str, Vec<&'static str>)>,
    /// (upstream, statuses) of which one must hold (ignored when empty).
    any_of: Vec<(&'static str, Vec<&'static str>)>,
    manual: bool,
    /// At most one trigger per this many minutes (epoch-anchored), results since its start.
    period_minutes: Option<Millis>,
}

fn dependents() -> Vec<Dependent> {
    let head = |name: &str| {
        format!("name: {name}\nteam: t\naccount: \"222222222222\"\ncompute: {{type: NONE}}\n")
    };
    let leaf = |n: &str, s: &str| {
        format!("      - {{name: {n}, account: \"{ACCOUNT}\", status: [{s}]}}\n")
    };
    let ok = || vec!["SUCCEEDED"];
    vec![
        Dependent {
            name: "both",
            yaml: format!(
                "{}trigger:\n  executions:\n    allOf:\n{}{}",
                head("both"),
                leaf("a", "SUCCEEDED"),
                leaf("b", "SUCCEEDED")
            ),
            all_of: vec![("a", ok()), ("b", ok())],
            any_of: vec![],
            manual: false,
            period_minutes: None,
        },
        Dependent {
            name: "fallback",
            yaml: format!(
                "{}trigger:\n  executions:\n    anyOf:\n{}{}",
                head("fallback"),
                leaf("a", "FAILED"),
                leaf("c", "FAILED")
            ),
            all_of: vec![],
            any_of: vec![("a", vec!["FAILED"]), ("c", vec!["FAILED"])],
            manual: false,
            period_minutes: None,
        },
        Dependent {
            name: "all-manual",
            yaml: format!(
                "{}trigger:\n  propagate: [MANUAL]\n  executions:\n    allOf:\n{}{}{}",
                head("all-manual"),
                leaf("a", "SUCCEEDED"),
                leaf("b", "SUCCEEDED"),
                leaf("c", "SUCCEEDED")
            ),
            all_of: vec![("a", ok()), ("b", ok()), ("c", ok())],
            any_of: vec![],
            manual: true,
            period_minutes: None,
        },
        Dependent {
            name: "hourly",
            yaml: format!(
                "{}trigger:\n  schedule: {{rate: \"1 hour\"}}\n  executions:\n    allOf:\n{}{}",
                head("hourly"),
                leaf("b", "SUCCEEDED"),
                leaf("c", "SUCCEEDED")
            ),
            all_of: vec![("b", ok()), ("c", ok())],
            any_of: vec![],
            manual: false,
            period_minutes: Some(60),
        },
    ]
}

/// One generated event: upstream, execution, status, times, manual.
#[derive(Debug, Clone)]
struct Gen {
    upstream: &'static str,
    exec: String,
    status: &'static str,
    started: Millis,
    time: Millis,
    manual: bool,
}

fn stream(rng: &mut Rng) -> Vec<Gen> {
    let mut events = Vec::new();
    for upstream in ["a", "b", "c"] {
        for n in 0..(2 + rng.below(2)) {
            let started = Millis::try_from(rng.below(240)).unwrap_or(0) * MINUTE;
            let stop = started + Millis::try_from(1 + rng.below(30)).unwrap_or(1) * MINUTE;
            let status = if rng.chance(70) {
                "SUCCEEDED"
            } else {
                "FAILED"
            };
            let manual = rng.chance(15);
            let exec = format!("{upstream}-{n}");
            let base = Gen {
                upstream,
                exec,
                status: "RUNNING",
                started,
                time: started,
                manual,
            };
            events.push(base.clone());
            events.push(Gen {
                status,
                time: stop,
                ..base
            });
        }
    }
    events
}

/// Delays every event (reordering) and duplicates some; returns (delivery time, event).
fn deliveries(rng: &mut Rng, events: &[Gen]) -> Vec<(Millis, Gen)> {
    let mut out = Vec::new();
    for e in events {
        let copies = if rng.chance(25) { 2 + rng.below(2) } else { 1 };
        for _ in 0..copies {
            let delay = Millis::try_from(rng.below(40)).unwrap_or(0) * MINUTE;
            out.push((e.time + delay, e.clone()));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

fn to_event(g: &Gen) -> StatusChangeEvent {
    let stopped = (g.status != "RUNNING").then_some(g.time);
    let kind = if g.manual { "MANUAL" } else { "SCHEDULED" };
    status_event(
        &upstream(ACCOUNT, g.upstream),
        &g.exec,
        g.status,
        g.started,
        stopped,
        kind,
    )
}

/// A trigger as both sides describe it: the dependent and the (upstream, execution) it used.
type Fired = (String, BTreeSet<(String, String)>);

/// (rank, status, started, result time, manual).
type ModelRun = (u8, String, Millis, Millis, bool);

/// The reference model.
#[derive(Default)]
struct Model {
    seen: HashSet<(String, String)>,
    /// (upstream, exec) → (rank, status, started, time, manual)
    runs: BTreeMap<(String, String), ModelRun>,
    /// dependent → (reset time, last trigger time)
    fired: BTreeMap<String, (Millis, Millis)>,
}

impl Model {
    fn deliver(&mut self, deps: &[Dependent], g: &Gen, now: Millis) -> Vec<Fired> {
        if !self.seen.insert((g.exec.clone(), g.status.to_string())) {
            return vec![];
        }
        let rank = u8::from(g.status != "RUNNING");
        let key = (g.upstream.to_string(), g.exec.clone());
        if self.runs.get(&key).is_some_and(|r| r.0 >= rank) {
            return vec![];
        }
        self.runs
            .insert(key, (rank, g.status.into(), g.started, g.time, g.manual));
        let mut out = Vec::new();
        for d in deps {
            let uses = d
                .all_of
                .iter()
                .chain(&d.any_of)
                .any(|(u, _)| *u == g.upstream);
            if uses && let Some(f) = self.evaluate(d, g.time, now) {
                out.push(f);
            }
        }
        out
    }

    fn evaluate(&mut self, d: &Dependent, changed_time: Millis, now: Millis) -> Option<Fired> {
        let (reset, last) = self
            .fired
            .get(d.name)
            .copied()
            .map_or((None, None), |(r, l)| (Some(r), Some(l)));
        let period_start = d
            .period_minutes
            .map(|m| now.div_euclid(m * MINUTE) * m * MINUTE);
        let counts = |t: Millis| reset.is_none_or(|r| t > r) && period_start.is_none_or(|p| t >= p);
        if !counts(changed_time) || period_start.zip(last).is_some_and(|(p, l)| l >= p) {
            return None;
        }
        let latest = |u: &str| {
            self.runs
                .iter()
                .filter(|((up, _), r)| up == u && counts(r.3) && (d.manual || !r.4))
                .max_by_key(|((_, exec), r)| (r.2, exec.clone()))
                .map(|((_, exec), r)| (exec.clone(), r.1.clone(), r.3))
        };
        let holds = |u: &str, statuses: &[&str]| {
            latest(u).filter(|(_, s, _)| statuses.contains(&s.as_str()))
        };
        let all = d.all_of.iter().all(|(u, s)| holds(u, s).is_some());
        let any = d.any_of.is_empty() || d.any_of.iter().any(|(u, s)| holds(u, s).is_some());
        if !(all && any) {
            return None;
        }
        let used: Vec<(String, String, Millis)> = d
            .all_of
            .iter()
            .chain(&d.any_of)
            .filter_map(|(u, s)| holds(u, s).map(|(e, _, t)| (u.to_string(), e, t)))
            .collect();
        let reset = used.iter().map(|u| u.2).max().unwrap_or(now).max(now);
        self.fired.insert(d.name.to_string(), (reset, now));
        Some((
            d.name.to_string(),
            used.into_iter().map(|(u, e, _)| (u, e)).collect(),
        ))
    }
}

fn fired_by_manager(t: &dpc::events::TriggerEvent) -> Fired {
    let mut used = BTreeSet::new();
    for regions in t.detail.upstreams.values() {
        for names in regions.values() {
            for (name, run) in names {
                let exec = run
                    .execution_arn
                    .rsplit(':')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                used.insert((name.clone(), exec));
            }
        }
    }
    (t.detail.target.pipeline.clone(), used)
}

/// What a run of delivery orders found.
#[derive(Debug, Default)]
struct Totals {
    orders: u64,
    expected: usize,
    doubles: usize,
    missed: usize,
}

/// Delivers `orders_per_stream` orders of each of the first `streams` streams through a
/// manager on a fresh store from `store`, checking every order against the model.
fn delivery_orders<S: Store>(
    streams: u64,
    orders_per_stream: u64,
    mut store: impl FnMut() -> S,
) -> Totals {
    let deps = dependents();
    let regs: Vec<_> = deps.iter().map(|d| registration(&d.yaml)).collect();
    let mut totals = Totals::default();
    for seed in 0..streams {
        let mut rng = Rng::new(seed + 1);
        let events = stream(&mut rng);
        for order in 0..orders_per_stream {
            let delivered = deliveries(&mut rng, &events);
            let mut manager = Manager::new(store());
            for r in &regs {
                manager.register(r, 0).expect("register");
            }
            let mut model = Model::default();
            let (mut got, mut want) = (Vec::new(), Vec::new());
            for (now, g) in &delivered {
                let out = manager.handle_status(&to_event(g), *now).expect("handled");
                // Within one event, dependents are evaluated in index order: compare as sets.
                let mut g1: Vec<Fired> = out.triggers.iter().map(fired_by_manager).collect();
                let mut w1 = model.deliver(&deps, g, *now);
                g1.sort();
                w1.sort();
                got.extend(g1);
                want.extend(w1);
            }
            let ids: Vec<String> = manager
                .triggers()
                .expect("triggers")
                .into_iter()
                .map(|t| t.trigger_id)
                .collect();
            let unique: HashSet<&String> = ids.iter().collect();
            totals.doubles += ids.len() - unique.len() + got.len().saturating_sub(want.len());
            totals.missed += want.iter().filter(|w| !got.contains(w)).count();
            assert_eq!(got, want, "stream {seed}, order {order}: manager vs model");
            assert_eq!(ids.len(), got.len());
            totals.expected += want.len();
            totals.orders += 1;
        }
    }
    eprintln!(
        "{} delivery orders, {} triggers expected: {} double, {} missed",
        totals.orders, totals.expected, totals.doubles, totals.missed
    );
    totals
}

#[test]
fn ten_thousand_delivery_orders_give_no_double_and_no_missed_trigger() {
    let totals = delivery_orders(STREAMS, ORDERS_PER_STREAM, MemoryStore::new);
    assert_eq!(totals.orders, 10_000);
    assert_eq!((totals.doubles, totals.missed), (0, 0));
    assert!(
        totals.expected > 10_000,
        "the streams must actually trigger ({})",
        totals.expected
    );
}

#[test]
fn delivery_orders_on_dynamodb_give_no_double_and_no_missed_trigger() {
    let dynamo = Dynamo::start();
    let _runtime = dynamo.enter();
    let started = std::time::Instant::now();
    let totals = delivery_orders(DYNAMO_STREAMS, DYNAMO_ORDERS_PER_STREAM, || dynamo.store());
    eprintln!(
        "on DynamoDB (moto): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(totals.orders, DYNAMO_STREAMS * DYNAMO_ORDERS_PER_STREAM);
    assert_eq!((totals.doubles, totals.missed), (0, 0));
    assert!(
        totals.expected >= totals.orders as usize,
        "the streams must actually trigger ({})",
        totals.expected
    );
}
