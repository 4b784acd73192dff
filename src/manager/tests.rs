//! Behaviour of the manager over the in-memory store (and the same suite over SQLite).

use std::path::Path;
use std::sync::Arc;

use super::memory::MemoryStore;
use super::registry::{self, PipelineId, Registration};
use super::runlog::StatusFact;
use super::sqlite::SqliteStore;
use super::store::{Millis, Store};
use super::time::parse_time;
use super::*;
use crate::diag::source::SourceFile;
use crate::events::Envelope;
use crate::pipeline::validate::{self, Context};

pub(crate) fn reg(yaml: &str) -> Registration {
    let file = Arc::new(SourceFile::new("pipeline.yaml", yaml.to_string()));
    let ctx = Context {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        file_exists: &|_| true,
    };
    let checked = validate::pipeline(&file, Path::new("."), &ctx);
    let pipeline = checked
        .value
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    registry::registration(&pipeline, None).unwrap()
}

fn t(text: &str) -> Millis {
    parse_time(&format!("2026-11-21T{text}:00Z")).unwrap()
}

fn id(account: &str, name: &str) -> PipelineId {
    PipelineId {
        account: account.into(),
        region: registry::LOCAL_REGION.into(),
        name: name.into(),
    }
}

/// A status event of `name` in `account`; the event id is unique per (execution, status).
pub(crate) fn status(
    account: &str,
    name: &str,
    exec: &str,
    st: &str,
    at: Millis,
    kind: &str,
) -> StatusChangeEvent {
    let p = id(account, name);
    let running = st == "RUNNING";
    let input = format!(r#"{{"run":{{"type":"{kind}"}}}}"#);
    StatusFact {
        pipeline: &p,
        execution: exec,
        status: st,
        started: if running { at } else { at - 60_000 },
        stopped: (!running).then_some(at),
        input: &input,
        redrive: 0,
    }
    .event()
}

/// Delivers `(account, name, execution, status)` at its own time and expects no store error.
fn deliver<S: Store>(
    m: &mut Manager<S>,
    run: (&str, &str, &str, &str),
    at: Millis,
    kind: &str,
) -> Outcome {
    let (account, name, exec, st) = run;
    m.handle_status(&status(account, name, exec, st, at, kind), at)
        .unwrap()
}

const X: &str = "name: x\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\ntrigger:\n  executions:\n    allOf:\n      - {name: a, account: \"111111111111\"}\n      - {name: b, account: \"222222222222\"}\n";
const FALLBACK: &str = "name: fb\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\ntrigger:\n  executions:\n    anyOf:\n      - {name: a, account: \"111111111111\", status: [FAILED]}\n      - {name: b, account: \"222222222222\", status: [FAILED]}\n";

fn manager_with<S: Store>(store: S, yamls: &[&str]) -> Manager<S> {
    let mut m = Manager::new(store);
    for y in yamls {
        m.register(&reg(y), 0).unwrap();
    }
    m
}

fn count(m: &mut Manager<impl Store>, event: &StatusChangeEvent, now: Millis) -> usize {
    m.handle_status(event, now).unwrap().triggers.len()
}

fn all_of_triggers_once_with_duplicates(store: impl Store) {
    let mut m = manager_with(store, &[X, FALLBACK]);
    let a = status(
        "111111111111",
        "a",
        "a1",
        "SUCCEEDED",
        t("03:20"),
        "SCHEDULED",
    );
    assert_eq!(count(&mut m, &a, t("03:20")), 0);
    assert_eq!(
        m.handle_status(&a, t("03:21")).unwrap().disposition,
        Disposition::Duplicate
    );
    let b = status(
        "222222222222",
        "b",
        "b1",
        "SUCCEEDED",
        t("05:20"),
        "SCHEDULED",
    );
    let out = m.handle_status(&b, t("05:20")).unwrap();
    assert_eq!(out.triggers.len(), 1);
    let trig = &out.triggers[0].detail;
    assert_eq!(trig.target.pipeline, "x");
    assert_eq!(
        trig.upstreams["111111111111"]["local"]["a"].status,
        "SUCCEEDED"
    );
    // The same facts under a new event id are still duplicates; nothing triggers again.
    let mut again = b.clone();
    again.id = Some("other-id".into());
    assert_eq!(
        m.handle_status(&again, t("05:30")).unwrap().disposition,
        Disposition::Duplicate
    );
    assert_eq!(m.triggers().unwrap().len(), 1);
    assert_eq!(m.outbox().unwrap().len(), 1);
    let st = m.status(t("05:30")).unwrap();
    let x = st.iter().find(|s| s.pipeline.name == "x").unwrap();
    assert_eq!(x.phase, Phase::Triggered);
    assert!(x.leaves.iter().all(|l| l.arrived.is_none()), "leaves reset");
}

#[test]
fn all_of_triggers_once_memory() {
    all_of_triggers_once_with_duplicates(MemoryStore::new());
}

#[test]
fn all_of_triggers_once_sqlite() {
    all_of_triggers_once_with_duplicates(SqliteStore::in_memory().unwrap());
}

#[test]
fn a_succeeding_twice_before_b_runs_the_child_once_with_the_latest_a() {
    let mut m = manager_with(MemoryStore::new(), &[X]);
    count(
        &mut m,
        &status(
            "111111111111",
            "a",
            "a1",
            "SUCCEEDED",
            t("01:00"),
            "SCHEDULED",
        ),
        t("01:00"),
    );
    count(
        &mut m,
        &status(
            "111111111111",
            "a",
            "a2",
            "SUCCEEDED",
            t("02:00"),
            "SCHEDULED",
        ),
        t("02:00"),
    );
    let out = deliver(
        &mut m,
        ("222222222222", "b", "b1", "SUCCEEDED"),
        t("03:00"),
        "SCHEDULED",
    );
    assert_eq!(out.triggers.len(), 1);
    let arn = &out.triggers[0].detail.upstreams["111111111111"]["local"]["a"].execution_arn;
    assert!(arn.ends_with(":a2"), "{arn}");
}

#[test]
fn failed_upstream_triggers_only_the_fallback() {
    let mut m = manager_with(MemoryStore::new(), &[X, FALLBACK]);
    let out = deliver(
        &mut m,
        ("111111111111", "a", "a1", "FAILED"),
        t("03:20"),
        "SCHEDULED",
    );
    let targets: Vec<_> = out
        .triggers
        .iter()
        .map(|e| e.detail.target.pipeline.clone())
        .collect();
    assert_eq!(targets, ["fb"]);
    let out = deliver(
        &mut m,
        ("222222222222", "b", "b1", "SUCCEEDED"),
        t("05:20"),
        "SCHEDULED",
    );
    assert!(out.triggers.is_empty(), "x needs a SUCCEEDED a");
}

#[test]
fn status_never_moves_backwards_and_reordered_running_is_stale() {
    let mut m = manager_with(MemoryStore::new(), &[X]);
    let done = status(
        "111111111111",
        "a",
        "a1",
        "SUCCEEDED",
        t("03:20"),
        "SCHEDULED",
    );
    let running = status(
        "111111111111",
        "a",
        "a1",
        "RUNNING",
        t("03:00"),
        "SCHEDULED",
    );
    m.handle_status(&done, t("03:20")).unwrap();
    assert_eq!(
        m.handle_status(&running, t("03:21")).unwrap().disposition,
        Disposition::Stale
    );
    let out = deliver(
        &mut m,
        ("222222222222", "b", "b1", "SUCCEEDED"),
        t("05:20"),
        "SCHEDULED",
    );
    assert_eq!(out.triggers.len(), 1, "a's leaf still holds SUCCEEDED");
}

#[test]
fn late_event_for_a_fired_window_triggers_nothing() {
    let mut m = manager_with(MemoryStore::new(), &[X]);
    deliver(
        &mut m,
        ("111111111111", "a", "a2", "SUCCEEDED"),
        t("04:00"),
        "SCHEDULED",
    );
    deliver(
        &mut m,
        ("222222222222", "b", "b1", "SUCCEEDED"),
        t("05:00"),
        "SCHEDULED",
    );
    // An older run of a, delivered after the trigger.
    let late = m
        .handle_status(
            &status(
                "111111111111",
                "a",
                "a1",
                "SUCCEEDED",
                t("03:00"),
                "SCHEDULED",
            ),
            t("05:10"),
        )
        .unwrap();
    assert_eq!(late.late, ["333333333333/local/x"]);
    let out = deliver(
        &mut m,
        ("222222222222", "b", "b2", "SUCCEEDED"),
        t("06:00"),
        "SCHEDULED",
    );
    assert!(out.triggers.is_empty());
    let history = m.history(&id("333333333333", "x")).unwrap();
    assert!(history.iter().any(|h| h.kind == "LATE"));
}

#[test]
fn manual_runs_count_only_under_propagate() {
    let with = X
        .replace("trigger:\n", "trigger:\n  propagate: [MANUAL]\n")
        .replace("name: x", "name: y");
    let mut m = manager_with(MemoryStore::new(), &[X, &with]);
    deliver(
        &mut m,
        ("111111111111", "a", "a1", "SUCCEEDED"),
        t("01:00"),
        "MANUAL",
    );
    let out = deliver(
        &mut m,
        ("222222222222", "b", "b1", "SUCCEEDED"),
        t("02:00"),
        "RERUN",
    );
    let targets: Vec<_> = out
        .triggers
        .iter()
        .map(|e| e.detail.target.pipeline.clone())
        .collect();
    assert_eq!(targets, ["y"]);
}

#[test]
fn schedule_with_dependencies_fires_at_most_once_per_period() {
    let daily = X.replace("trigger:\n", "trigger:\n  schedule: {hour: 0}\n");
    let mut m = manager_with(MemoryStore::new(), &[&daily]);
    // Yesterday's b does not count for today's period.
    m.handle_status(
        &status(
            "222222222222",
            "b",
            "b0",
            "SUCCEEDED",
            t("00:00") - 3_600_000,
            "SCHEDULED",
        ),
        t("00:30"),
    )
    .unwrap();
    assert_eq!(
        count(
            &mut m,
            &status(
                "111111111111",
                "a",
                "a1",
                "SUCCEEDED",
                t("03:00"),
                "SCHEDULED"
            ),
            t("03:00")
        ),
        0
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "222222222222",
                "b",
                "b1",
                "SUCCEEDED",
                t("05:00"),
                "SCHEDULED"
            ),
            t("05:00")
        ),
        1
    );
    // Both again the same day: still at most once per period.
    count(
        &mut m,
        &status(
            "111111111111",
            "a",
            "a2",
            "SUCCEEDED",
            t("07:00"),
            "SCHEDULED",
        ),
        t("07:00"),
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "222222222222",
                "b",
                "b2",
                "SUCCEEDED",
                t("08:00"),
                "SCHEDULED"
            ),
            t("08:00")
        ),
        0
    );
    // Next day, a fresh period.
    let day = 86_400_000;
    count(
        &mut m,
        &status(
            "111111111111",
            "a",
            "a3",
            "SUCCEEDED",
            t("03:00") + day,
            "SCHEDULED",
        ),
        t("03:00") + day,
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "222222222222",
                "b",
                "b3",
                "SUCCEEDED",
                t("05:00") + day,
                "SCHEDULED"
            ),
            t("05:00") + day
        ),
        1
    );
}

#[test]
fn within_window_drops_old_results() {
    let within = X.replace("trigger:\n", "trigger:\n  window: {within: 1h}\n");
    let mut m = manager_with(MemoryStore::new(), &[&within]);
    count(
        &mut m,
        &status(
            "111111111111",
            "a",
            "a1",
            "SUCCEEDED",
            t("01:00"),
            "SCHEDULED",
        ),
        t("01:00"),
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "222222222222",
                "b",
                "b1",
                "SUCCEEDED",
                t("03:00"),
                "SCHEDULED"
            ),
            t("03:00")
        ),
        0
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "111111111111",
                "a",
                "a2",
                "SUCCEEDED",
                t("03:30"),
                "SCHEDULED"
            ),
            t("03:30")
        ),
        1
    );
}

#[test]
fn reset_at_discards_partial_progress() {
    let reset = X.replace(
        "trigger:\n",
        "trigger:\n  window: {resetAt: {cron: \"0 4 * * ? *\"}}\n",
    );
    let mut m = manager_with(MemoryStore::new(), &[&reset]);
    count(
        &mut m,
        &status(
            "111111111111",
            "a",
            "a1",
            "SUCCEEDED",
            t("03:00"),
            "SCHEDULED",
        ),
        t("03:00"),
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "222222222222",
                "b",
                "b1",
                "SUCCEEDED",
                t("04:30"),
                "SCHEDULED"
            ),
            t("04:30")
        ),
        0
    );
    assert_eq!(
        count(
            &mut m,
            &status(
                "111111111111",
                "a",
                "a2",
                "SUCCEEDED",
                t("05:00"),
                "SCHEDULED"
            ),
            t("05:00")
        ),
        1
    );
}

#[test]
fn lifecycle_follows_the_dependent_runs_and_publishes() {
    let publishing = format!("{X}publish:\n  dataProducts:\n    - {{domain: d, name: P}}\n");
    let mut m = manager_with(MemoryStore::new(), &[&publishing]);
    deliver(
        &mut m,
        ("111111111111", "a", "a1", "SUCCEEDED"),
        t("01:00"),
        "SCHEDULED",
    );
    deliver(
        &mut m,
        ("222222222222", "b", "b1", "SUCCEEDED"),
        t("02:00"),
        "SCHEDULED",
    );
    deliver(
        &mut m,
        ("333333333333", "x", "x1", "RUNNING"),
        t("02:01"),
        "TRIGGERED",
    );
    let phase = |m: &mut Manager<MemoryStore>| m.status(t("03:00")).unwrap()[0].phase;
    assert_eq!(phase(&mut m), Phase::Running);
    let out = deliver(
        &mut m,
        ("333333333333", "x", "x1", "SUCCEEDED"),
        t("02:30"),
        "TRIGGERED",
    );
    assert_eq!(out.refreshes.len(), 1);
    assert_eq!(out.refreshes[0].detail.name, "P");
    assert_eq!(phase(&mut m), Phase::Completed);
    let kinds: Vec<String> = m
        .history(&id("333333333333", "x"))
        .unwrap()
        .into_iter()
        .map(|h| h.change)
        .collect();
    for want in [
        "WAITING -> TRIGGERED",
        "TRIGGERED -> RUNNING",
        "RUNNING -> COMPLETED",
    ] {
        assert!(kinds.iter().any(|k| k == want), "{want} in {kinds:?}");
    }
}

#[test]
fn data_products_trigger_and_refresh_dedupes() {
    let ds = "name: ds\nteam: t\naccount: \"555555555555\"\ncompute: {type: NONE}\ntrigger:\n  dataProducts:\n    allOf:\n      - {domain: raw, name: RD1}\n      - {domain: raw, name: RD2, account: \"444444444444\"}\n";
    let mut m = manager_with(MemoryStore::new(), &[ds]);
    let refresh = |name: &str, account: &str, at: &str| Envelope {
        id: Some(format!("{name}{account}{at}")),
        source: crate::events::REFRESH_SOURCE.into(),
        detail_type: crate::events::REFRESH_DETAIL_TYPE.into(),
        account: account.into(),
        region: "local".into(),
        time: None,
        resources: vec![],
        detail: crate::events::DataProductRefresh {
            domain: "raw".into(),
            name: name.into(),
            account: account.into(),
            refreshed_at: format!("2026-11-21T{at}:00Z"),
            producer: None,
            attributes: None,
        },
    };
    assert!(
        m.handle_refresh(&refresh("RD1", "444444444444", "01:00"), t("01:00"))
            .unwrap()
            .triggers
            .is_empty()
    );
    // RD2 from the wrong account does not count.
    assert!(
        m.handle_refresh(&refresh("RD2", "999999999999", "02:00"), t("02:00"))
            .unwrap()
            .triggers
            .is_empty()
    );
    assert_eq!(
        m.handle_refresh(&refresh("RD2", "444444444444", "02:00"), t("02:00"))
            .unwrap()
            .triggers
            .len(),
        1
    );
    let dup = m
        .handle_refresh(&refresh("RD2", "444444444444", "02:00"), t("02:05"))
        .unwrap();
    assert_eq!(dup.disposition, Disposition::Duplicate);
}

#[test]
fn reconciler_feeds_missed_executions_through_the_same_path() {
    let mut m = manager_with(MemoryStore::new(), &[X]);
    let a = status(
        "111111111111",
        "a",
        "a1",
        "SUCCEEDED",
        t("01:00"),
        "SCHEDULED",
    );
    m.handle_status(&a, t("01:00")).unwrap();
    let b = status(
        "222222222222",
        "b",
        "b1",
        "SUCCEEDED",
        t("02:00"),
        "SCHEDULED",
    );
    let outs = m
        .reconcile(&[a.detail.clone(), b.detail.clone()], t("02:10"))
        .unwrap();
    assert_eq!(outs[0].disposition, Disposition::Duplicate);
    assert_eq!(outs[1].triggers.len(), 1);
    // The event itself arriving afterwards is a duplicate.
    assert_eq!(
        m.handle_status(&b, t("02:20")).unwrap().disposition,
        Disposition::Duplicate
    );
}

#[test]
fn index_finds_dependents_and_deregister_removes_them() {
    let mut m = manager_with(MemoryStore::new(), &[X, FALLBACK]);
    let deps = m
        .store_mut()
        .transaction(|tx| tx.dependents("x:111111111111/local/a"))
        .unwrap();
    assert_eq!(deps, ["333333333333/local/fb", "333333333333/local/x"]);
    assert!(m.deregister(&id("333333333333", "fb"), 1).unwrap());
    assert!(!m.deregister(&id("333333333333", "fb"), 1).unwrap());
    let deps = m
        .store_mut()
        .transaction(|tx| tx.dependents("x:111111111111/local/a"))
        .unwrap();
    assert_eq!(deps, ["333333333333/local/x"]);
}

#[test]
fn trigger_ids_are_deterministic() {
    let run = |store: MemoryStore| {
        let mut m = manager_with(store, &[X]);
        deliver(
            &mut m,
            ("111111111111", "a", "a1", "SUCCEEDED"),
            t("01:00"),
            "SCHEDULED",
        );
        m.handle_status(
            &status(
                "222222222222",
                "b",
                "b1",
                "SUCCEEDED",
                t("02:00"),
                "SCHEDULED",
            ),
            t("02:09"),
        )
        .unwrap()
        .triggers[0]
            .detail
            .trigger_id
            .clone()
    };
    assert_eq!(run(MemoryStore::new()), run(MemoryStore::new()));
}
