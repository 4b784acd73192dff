//! Pattern engine benchmarks (`cargo bench --bench pattern`): median ns per match.
//!
//! (a) quamina's status-event benchmark: one pattern matched against a 9.4 KB event
//!     (`eventbridge-conformance/status-event-benchmark.json` in the shared data folder
//!     `../shared/` beside the checkout, or under `$DPC_SHARED_DIR`).
//! (b) 1,000 trigger-shaped patterns in one `Machine` against one trigger event.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

#[path = "../tests/it/common/shared.rs"]
mod shared;

use std::hint::black_box;
use std::time::Instant;

use dpc::pattern::{Machine, Pattern};

/// Runs `f` for a warm-up, then in 25 timed rounds; returns the median ns per call.
fn median_ns(mut f: impl FnMut() -> bool) -> f64 {
    let warmup = Instant::now();
    let mut calls = 0u64;
    while warmup.elapsed().as_millis() < 200 {
        assert!(black_box(f()), "the benchmarked call must match");
        calls += 1;
    }
    // Rounds of about 40 ms each.
    let per_round = (calls / 5).max(1);
    let mut rounds: Vec<f64> = (0..25)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_round {
                black_box(f());
            }
            start.elapsed().as_nanos() as f64 / per_round as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn status_event() {
    let event = shared::read("eventbridge-conformance/status-event-benchmark.json");
    println!(
        "(a) status event, {} bytes, one pattern (ns per match, median):",
        event.len()
    );
    let cases = [
        (
            "context",
            r#"{ "context": { "user_id": [9034], "friends_count": [158] } }"#,
            373,
        ),
        (
            "middle field",
            r#"{ "payload": { "user": { "id_str": ["903487807"] } } }"#,
            6_719,
        ),
        (
            "last field",
            r#"{ "payload": { "lang_value": ["ja"] } }"#,
            7_010,
        ),
    ];
    for (name, text, quamina) in cases {
        let pattern = Pattern::parse(text).expect("benchmark pattern is valid");
        let ns = median_ns(|| {
            pattern
                .matches_json(black_box(event.as_str()))
                .unwrap_or(false)
        });
        let mut machine = Machine::new();
        machine.add(name, &pattern);
        let ns_machine = median_ns(|| {
            machine
                .matches_json(black_box(event.as_str()))
                .is_ok_and(|m| m.len() == 1)
        });
        println!(
            "  {name:<13} dpc Pattern {ns:>8.0} ns | dpc Machine {ns_machine:>8.0} ns | quamina {quamina:>6} ns | {:.1}x quamina's speed",
            quamina as f64 / ns
        );
    }
}

const CENTRAL: &str = "999999999999";

fn account(i: usize) -> String {
    format!("{}", 100_000_000_000u64 + (i % 100) as u64)
}

/// A consumer rule for pipeline `i`: pins the trigger and re-checks its two upstreams
/// (every third one as `anyOf`, i.e. `$or`).
fn trigger_pattern(i: usize) -> String {
    let (a, b) = (account(i + 1), account(i + 2));
    let up_a =
        format!(r#"{{"{a}": {{"eu-west-1": {{"up-{i}-a": {{"status": ["SUCCEEDED"]}}}}}}}}"#);
    let up_b = format!(
        r#"{{"{b}": {{"eu-west-1": {{"up-{i}-b": {{"status": ["SUCCEEDED", "FAILED"]}}}}}}}}"#
    );
    let upstreams = if i.is_multiple_of(3) {
        format!(r#""$or": [{{"upstreams": {up_a}}}, {{"upstreams": {up_b}}}]"#)
    } else {
        let inner_a = &up_a[1..up_a.len() - 1];
        let inner_b = &up_b[1..up_b.len() - 1];
        format!(r#""upstreams": {{{inner_a}, {inner_b}}}"#)
    };
    format!(
        r#"{{"source": ["dpc.trigger-manager"], "detail-type": ["dpc Pipeline Trigger"], "account": ["{CENTRAL}"],
            "detail": {{"target": {{"account": ["{}"], "region": ["eu-west-1"], "pipeline": ["pipeline-{i}"]}}, {upstreams}}}}}"#,
        account(i)
    )
}

fn trigger_event(i: usize) -> String {
    let (a, b) = (account(i + 1), account(i + 2));
    format!(
        r#"{{"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "dpc Pipeline Trigger",
            "source": "dpc.trigger-manager", "account": "{CENTRAL}", "time": "2026-11-21T03:00:00Z", "region": "eu-west-1", "resources": [],
            "detail": {{"target": {{"account": "{}", "region": "eu-west-1", "pipeline": "pipeline-{i}"}},
              "triggerId": "3f1c0d0e9b6a4f55a1d2",
              "upstreams": {{"{a}": {{"eu-west-1": {{"up-{i}-a": {{"status": "SUCCEEDED", "executionArn": "arn:aws:states:eu-west-1:{a}:execution:dpc-up-{i}-a:1", "stopDate": 0}}}}}},
                            "{b}": {{"eu-west-1": {{"up-{i}-b": {{"status": "SUCCEEDED", "executionArn": "arn:aws:states:eu-west-1:{b}:execution:dpc-up-{i}-b:1", "stopDate": 0}}}}}}}},
              "dataProducts": {{}}}}}}"#,
        account(i)
    )
}

fn triggers() {
    println!("(b) trigger patterns in one Machine, one trigger event (ns per event, median):");
    let event = trigger_event(500);
    let patterns: Vec<Pattern> = (0..1000)
        .map(|i| Pattern::parse(&trigger_pattern(i)).expect("trigger pattern is valid"))
        .collect();
    for count in [10, 1000] {
        let mut machine = Machine::new();
        // Always include the pattern the event targets.
        for (i, p) in patterns
            .iter()
            .enumerate()
            .skip(500 - count / 2)
            .take(count)
        {
            machine.add(format!("pipeline-{i}"), p);
        }
        let ns = median_ns(|| {
            machine
                .matches_json(black_box(&event))
                .is_ok_and(|m| m == ["pipeline-500"])
        });
        println!("  {count:>5} patterns in a Machine: {ns:>8.0} ns per event");
    }
    let ns = median_ns(|| {
        let hits = patterns
            .iter()
            .filter(|p| p.matches_json(&event).unwrap_or(false))
            .count();
        hits == 1
    });
    println!(
        "  {:>5} patterns one by one:    {ns:>8.0} ns per event (no index, for comparison)",
        patterns.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is configurable.
    status_event();
    triggers();
}
