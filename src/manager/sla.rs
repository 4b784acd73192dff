//! SLA checks: from a pipeline's `sla.expectedBy` (minutes after local midnight in its IANA
//! zone), its own runs and its dependency state, the alert raised when it has not succeeded by
//! then, naming what it waits for. Pure: `now` is passed in.
//!
//! Decisions:
//! - The deadline of a day is `expectedBy` local time on that day. A local time that does not
//!   exist (skipped by a DST change) is the first minute that exists after it (the moment the
//!   clocks jump past it); an ambiguous one (repeated) is its first occurrence.
//! - The SLA day is the local date in the SLA's zone. A run counts for it from the earlier of
//!   local midnight and the start of the schedule period containing the deadline (so a daily
//!   run started the evening before, or a weekly run, counts for its whole period).
//! - The latest own run (by start) since then decides: SUCCEEDED meets the SLA. A check runs
//!   at or after the deadline (locally exactly then; centrally at the reconciler's next tick),
//!   so a success before that check counts.
//! - One alert per pipeline and SLA day: the key `sla:<pipeline key>:<date>` is claimed as a
//!   fact in the same store transaction, so every store (memory, SQLite, DynamoDB)
//!   de-duplicates it like a status fact; the alert goes into the outbox in that transaction
//!   (a `dpc SLA Missed` event, sent to the central bus like triggers: at least once, with
//!   the key as its id).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::decision::{self, Prepared};
use super::lifecycle::HistoryEntry;
use super::registry::{PipelineId, Upstream};
use super::runlog::Run;
use super::store::{Millis, OutboxKind, StoreError, Tx};
use super::time::format_time;
use super::window::{self, Period};
use crate::events::{self, Envelope};
use crate::pipeline::model::Status;

/// A pipeline's SLA as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaSpec {
    /// Minutes after local midnight (0..1440).
    pub expected_by_minutes: u32,
    /// IANA zone; `None` is UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl SlaSpec {
    fn tz(&self) -> Option<Tz> {
        self.timezone.as_deref().and_then(|z| z.parse().ok())
    }

    /// `09:00 Europe/Berlin`.
    pub fn label(&self) -> String {
        format!(
            "{:02}:{:02} {}",
            self.expected_by_minutes / 60 % 24,
            self.expected_by_minutes % 60,
            self.timezone.as_deref().unwrap_or("UTC")
        )
    }

    /// The SLA day of `now`: its local date.
    pub fn day_of(&self, now: Millis) -> Option<NaiveDate> {
        let utc = DateTime::from_timestamp_millis(now)?;
        Some(match self.tz() {
            Some(tz) => utc.with_timezone(&tz).date_naive(),
            None => utc.date_naive(),
        })
    }

    /// The local midnight starting `day`, as an instant.
    fn midnight(&self, day: NaiveDate) -> Option<Millis> {
        local_instant(day.and_hms_opt(0, 0, 0)?, self.tz())
    }
}

/// The deadline of `day`: `expectedBy` local time that day (see the module's decisions).
pub fn deadline(day: NaiveDate, sla: &SlaSpec) -> Option<Millis> {
    let local = day.and_hms_opt(0, 0, 0)? + Duration::minutes(i64::from(sla.expected_by_minutes));
    local_instant(local, sla.tz())
}

/// The first deadline at or after `at`.
pub fn next_deadline(at: Millis, sla: &SlaSpec) -> Option<Millis> {
    let day = sla.day_of(at)?;
    (0..3)
        .filter_map(|d| deadline(day + Duration::days(d), sla))
        .find(|t| *t >= at)
}

/// A local time as an instant: ambiguous → the first; nonexistent → the first minute after.
fn local_instant(local: NaiveDateTime, tz: Option<Tz>) -> Option<Millis> {
    let Some(tz) = tz else {
        return Some(local.and_utc().timestamp_millis());
    };
    (0..=24 * 60)
        .find_map(|m| {
            tz.from_local_datetime(&(local + Duration::minutes(m)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
}

/// What an alert says a pipeline waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// `searches` or `domain/name`.
    pub label: String,
    /// The upstream pipeline's account, or the product's producing account when narrowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The upstream pipeline's region (for console links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A data product (refreshed, not run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub data_product: bool,
    /// Its latest run's execution ARN (or `<account>@<refreshedAt>` for a refresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// Its latest run in the window (`None`: none since `since`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<String>,
}

/// A missed SLA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlaAlert {
    pub pipeline: PipelineId,
    /// The idempotency key `sla:<pipeline key>:<date>`.
    pub key: String,
    /// The SLA day (local date).
    pub day: String,
    pub deadline: String,
    /// `09:00 Europe/Berlin`.
    pub expected_by: String,
    /// Runs from here on count for the day.
    pub since: String,
    /// The pipeline's own latest run since then, when it has one (not SUCCEEDED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_status: Option<String>,
    /// That run's execution ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_run: Option<String>,
    /// The leaves still WAITING (empty when the pipeline's own run is what is missing).
    pub waiting_on: Vec<Waiting>,
    /// One sentence for people.
    pub message: String,
}

/// The idempotency key of one pipeline's alert on one SLA day.
pub fn alert_key(id: &PipelineId, day: NaiveDate) -> String {
    format!("sla:{}:{day}", id.key())
}

/// Checks the SLA of a prepared registration at `now`, inside a transaction; `Some` at most
/// once per pipeline and SLA day (the key is claimed here), and then also in the outbox as a
/// `dpc SLA Missed` event for the central bus (sent with the triggers, at least once).
pub(crate) fn check(
    tx: &mut dyn Tx,
    p: &Prepared,
    now: Millis,
) -> Result<Option<SlaAlert>, StoreError> {
    let Some(alert) = evaluate(tx, p, now)? else {
        return Ok(None);
    };
    if !tx.claim_fact(&alert.key)? {
        return Ok(None);
    }
    // Kept for audit beside the dependency transitions (`dpc history`).
    tx.add_history(&HistoryEntry::new(
        &p.reg.key(),
        now,
        "SLA",
        "SLA MISSED",
        &alert.message,
    ))?;
    let event = Envelope {
        id: Some(alert.key.clone()),
        source: events::SLA_SOURCE.into(),
        detail_type: events::SLA_DETAIL_TYPE.into(),
        account: alert.pipeline.account.clone(),
        region: alert.pipeline.region.clone(),
        time: Some(format_time(now)),
        resources: Vec::new(),
        detail: &alert,
    };
    tx.push_outbox(&alert.key, OutboxKind::Sla, &serde_json::to_string(&event)?)?;
    Ok(Some(alert))
}

/// The alert `p` would raise at `now` (nothing claimed).
pub(crate) fn evaluate(
    tx: &dyn Tx,
    p: &Prepared,
    now: Millis,
) -> Result<Option<SlaAlert>, StoreError> {
    let reg = &p.reg;
    let Some(sla) = &reg.sla else {
        return Ok(None);
    };
    let Some((day, due)) = sla.day_of(now).and_then(|d| Some((d, deadline(d, sla)?))) else {
        return Ok(None);
    };
    if now < due {
        return Ok(None);
    }
    let midnight = sla.midnight(day).unwrap_or(due);
    let period = reg
        .schedule
        .as_ref()
        .and_then(Period::parse)
        .and_then(|p| p.last_fire(due));
    let since = period.map_or(midnight, |p| p.min(midnight));
    let own = tx.latest_run(&reg.id.upstream_key(), Some((since, false)), true)?;
    if own
        .as_ref()
        .is_some_and(|r| r.status == Status::Succeeded.as_str())
    {
        return Ok(None);
    }
    let state = tx.state(&reg.key())?;
    let reset = state.as_ref().and_then(|s| s.reset);
    let view = window::view(reg, &p.periods, reset, now);
    let results = decision::gather(tx, p, view.bound)?;
    let leaves = decision::leaf_states(reg, &results);
    let from = view.bound.map_or(since, |b| b.at.max(since));
    let waiting_on: Vec<Waiting> = reg
        .leaves
        .iter()
        .zip(&results)
        .zip(&leaves)
        .filter(|(_, state)| state.arrived.is_none())
        .map(|((leaf, run), _)| waiting(&leaf.upstream, run.as_ref()))
        .collect();
    let head = format!("{} has not succeeded by {}", reg.id.name, sla.label());
    let day_utc = DateTime::from_timestamp_millis(due).map(|t| t.date_naive());
    let reason = match (&own, waiting_on.is_empty()) {
        (Some(run), _) if run.status == Status::Running.as_str() => {
            format!(
                "its run is still RUNNING since {}",
                clock(run.started, day_utc)
            )
        }
        (Some(run), _) => format!(
            "its last run {} at {}",
            run.status,
            clock(run.time, day_utc)
        ),
        (None, false) => {
            let parts: Vec<String> = waiting_on
                .iter()
                .map(|w| describe(w, from, day_utc))
                .collect();
            format!("waiting on {}", parts.join("; "))
        }
        (None, true) if reg.leaves.is_empty() => {
            format!("it has not run since {}", clock(since, day_utc))
        }
        (None, true) => {
            let phase = state.map_or("WAITING", |s| s.phase.as_str());
            format!("all its upstreams arrived but it has not run (phase {phase})")
        }
    };
    Ok(Some(SlaAlert {
        pipeline: reg.id.clone(),
        key: alert_key(&reg.id, day),
        day: day.to_string(),
        deadline: format_time(due),
        expected_by: sla.label(),
        since: format_time(since),
        own_run: own.as_ref().map(|r| r.id.clone()),
        own_status: own.map(|r| r.status),
        waiting_on,
        message: format!("{head}: {reason}"),
    }))
}

fn waiting(upstream: &Upstream, run: Option<&Run>) -> Waiting {
    let (account, region) = match upstream {
        Upstream::Execution(id) => (Some(id.account.clone()), Some(id.region.clone())),
        Upstream::Product { account, .. } => (account.clone(), None),
    };
    Waiting {
        label: upstream.label(),
        account,
        region,
        data_product: matches!(upstream, Upstream::Product { .. }),
        last_run: run.map(|r| r.id.clone()),
        last_status: run.map(|r| r.status.clone()),
        last_at: run.map(|r| format_time(r.time)),
    }
}

/// `searches (222222222222), whose last run FAILED at 05:20 UTC`.
fn describe(w: &Waiting, since: Millis, day: Option<NaiveDate>) -> String {
    let name = match &w.account {
        Some(a) => format!("{} ({a})", w.label),
        None => w.label.clone(),
    };
    let at = w
        .last_at
        .as_deref()
        .and_then(super::time::parse_time)
        .map(|t| clock(t, day));
    match (&w.last_status, at, w.data_product) {
        (Some(status), Some(at), false) => format!("{name}, whose last run {status} at {at}"),
        (_, _, false) => format!("{name}, which has not run since {}", clock(since, day)),
        (_, _, true) => format!("{name}, not refreshed since {}", clock(since, day)),
    }
}

/// `05:20 UTC` on the deadline's UTC date, else `2026-11-20 22:00 UTC`.
fn clock(ms: Millis, day: Option<NaiveDate>) -> String {
    match DateTime::from_timestamp_millis(ms) {
        Some(t) if Some(t.date_naive()) == day => t.format("%H:%M UTC").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::time::parse_time;

    fn ms(text: &str) -> Millis {
        parse_time(text).unwrap()
    }

    fn berlin(minutes: u32) -> SlaSpec {
        SlaSpec {
            expected_by_minutes: minutes,
            timezone: Some("Europe/Berlin".into()),
        }
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn deadline_follows_the_zone_across_dst_changes() {
        let sla = berlin(9 * 60);
        assert_eq!(
            deadline(day("2026-11-26"), &sla),
            Some(ms("2026-11-26T08:00:00Z"))
        );
        // Last Sunday of March: CET → CEST at 02:00; 09:00 is 07:00 UTC.
        assert_eq!(
            deadline(day("2026-03-28"), &sla),
            Some(ms("2026-03-28T08:00:00Z"))
        );
        assert_eq!(
            deadline(day("2026-03-29"), &sla),
            Some(ms("2026-03-29T07:00:00Z"))
        );
        // Last Sunday of October: back to CET at 03:00; 09:00 is 08:00 UTC again.
        assert_eq!(
            deadline(day("2026-10-24"), &sla),
            Some(ms("2026-10-24T07:00:00Z"))
        );
        assert_eq!(
            deadline(day("2026-10-25"), &sla),
            Some(ms("2026-10-25T08:00:00Z"))
        );
        let utc = SlaSpec {
            expected_by_minutes: 9 * 60,
            timezone: None,
        };
        assert_eq!(
            deadline(day("2026-03-29"), &utc),
            Some(ms("2026-03-29T09:00:00Z"))
        );
    }

    #[test]
    fn skipped_and_repeated_local_times() {
        // 02:30 does not exist on 2026-03-29: the clocks jump from 02:00 to 03:00 (01:00 UTC).
        let gap = berlin(2 * 60 + 30);
        assert_eq!(
            deadline(day("2026-03-29"), &gap),
            Some(ms("2026-03-29T01:00:00Z"))
        );
        // 02:30 happens twice on 2026-10-25: the first (CEST, 00:30 UTC).
        assert_eq!(
            deadline(day("2026-10-25"), &gap),
            Some(ms("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn next_deadline_is_today_or_tomorrow() {
        let sla = berlin(9 * 60);
        let today = ms("2026-11-26T08:00:00Z");
        assert_eq!(next_deadline(ms("2026-11-26T00:00:00Z"), &sla), Some(today));
        assert_eq!(next_deadline(today, &sla), Some(today));
        assert_eq!(
            next_deadline(today + 1, &sla),
            Some(ms("2026-11-27T08:00:00Z"))
        );
        assert_eq!(sla.label(), "09:00 Europe/Berlin");
    }

    use crate::manager::Manager;
    use crate::manager::memory::MemoryStore;
    use crate::manager::tests::{reg, status};

    const X: &str = "name: x\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\ntrigger:\n  schedule: {hour: 0}\n  executions:\n    allOf:\n      - {name: a, account: \"111111111111\"}\n      - {name: b, account: \"222222222222\"}\nsla: {expectedBy: \"09:00\", timezone: Europe/Berlin}\n";

    fn manager() -> Manager<MemoryStore> {
        let mut m = Manager::new(MemoryStore::default());
        m.register(&reg(X), 0).unwrap();
        m
    }

    fn run(m: &mut Manager<MemoryStore>, who: (&str, &str), exec: &str, st: &str, at: &str) {
        let at = ms(at);
        let kind = if who.1 == "x" {
            "TRIGGERED"
        } else {
            "SCHEDULED"
        };
        m.handle_status(&status(who.0, who.1, exec, st, at, kind), at)
            .unwrap();
    }

    const A: (&str, &str) = ("111111111111", "a");
    const B: (&str, &str) = ("222222222222", "b");
    const ME: (&str, &str) = ("333333333333", "x");

    #[test]
    fn missed_names_the_blocking_upstream_once_a_day() {
        let mut m = manager();
        run(&mut m, A, "a1", "SUCCEEDED", "2026-11-26T03:20:00Z");
        run(&mut m, B, "b1", "FAILED", "2026-11-26T05:20:00Z");
        assert!(m.check_slas(ms("2026-11-26T07:59:59Z")).unwrap().is_empty());
        let alerts = m.check_slas(ms("2026-11-26T08:00:00Z")).unwrap();
        assert_eq!(alerts.len(), 1);
        let alert = &alerts[0];
        assert_eq!(
            alert.message,
            "x has not succeeded by 09:00 Europe/Berlin: waiting on b (222222222222), \
             whose last run FAILED at 05:20 UTC"
        );
        assert_eq!(alert.key, "sla:333333333333/local/x:2026-11-26");
        assert_eq!(alert.deadline, "2026-11-26T08:00:00Z");
        assert_eq!(alert.waiting_on.len(), 1);
        assert_eq!(alert.waiting_on[0].last_status.as_deref(), Some("FAILED"));
        // In the outbox for the central bus, as a `dpc SLA Missed` event.
        let outbox = m.outbox().unwrap();
        let sla: Vec<_> = outbox
            .iter()
            .filter(|i| i.kind == OutboxKind::Sla)
            .collect();
        assert_eq!(sla.len(), 1);
        assert_eq!(sla[0].id, alert.key);
        let event: serde_json::Value = serde_json::from_str(&sla[0].body).unwrap();
        assert_eq!(event["detail-type"], events::SLA_DETAIL_TYPE);
        assert_eq!(event["detail"]["message"], alert.message.as_str());
        // Checked every 10 minutes for the rest of the day: no second alert.
        let mut t = ms("2026-11-26T08:10:00Z");
        while t < ms("2026-11-26T23:00:00Z") {
            assert!(m.check_slas(t).unwrap().is_empty(), "at {}", format_time(t));
            t += 600_000;
        }
        assert_eq!(
            m.outbox()
                .unwrap()
                .iter()
                .filter(|i| i.kind == OutboxKind::Sla)
                .count(),
            1
        );
        // The next day is a new SLA day, with nothing run in its period yet.
        let next = m.check_slas(ms("2026-11-27T08:00:00Z")).unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(
            next[0].message,
            "x has not succeeded by 09:00 Europe/Berlin: waiting on \
             a (111111111111), which has not run since 00:00 UTC; \
             b (222222222222), which has not run since 00:00 UTC"
        );
    }

    #[test]
    fn met_when_it_succeeded_in_time() {
        let mut m = manager();
        run(&mut m, A, "a1", "SUCCEEDED", "2026-11-26T03:20:00Z");
        run(&mut m, B, "b1", "SUCCEEDED", "2026-11-26T05:20:00Z");
        run(&mut m, ME, "x1", "RUNNING", "2026-11-26T05:21:00Z");
        run(&mut m, ME, "x1", "SUCCEEDED", "2026-11-26T07:30:00Z");
        assert!(m.check_slas(ms("2026-11-26T08:00:00Z")).unwrap().is_empty());
        assert!(
            m.check_sla(&reg(X).id, ms("2026-11-26T08:00:00Z"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn its_own_failed_or_running_run_is_what_is_missing() {
        let mut m = manager();
        run(&mut m, A, "a1", "SUCCEEDED", "2026-11-26T03:20:00Z");
        run(&mut m, B, "b1", "SUCCEEDED", "2026-11-26T05:20:00Z");
        run(&mut m, ME, "x1", "RUNNING", "2026-11-26T05:21:00Z");
        let running = m.check_slas(ms("2026-11-26T08:00:00Z")).unwrap();
        assert_eq!(
            running[0].message,
            "x has not succeeded by 09:00 Europe/Berlin: its run is still RUNNING since 05:21 UTC"
        );
        let mut m = manager();
        run(&mut m, A, "a1", "SUCCEEDED", "2026-11-26T03:20:00Z");
        run(&mut m, B, "b1", "SUCCEEDED", "2026-11-26T05:20:00Z");
        run(&mut m, ME, "x1", "FAILED", "2026-11-26T06:40:00Z");
        let failed = m.check_slas(ms("2026-11-26T08:00:00Z")).unwrap();
        assert_eq!(
            failed[0].message,
            "x has not succeeded by 09:00 Europe/Berlin: its last run FAILED at 06:40 UTC"
        );
        assert_eq!(failed[0].own_status.as_deref(), Some("FAILED"));
    }

    #[test]
    fn a_data_product_leaf_is_named_as_not_refreshed() {
        let yaml = "name: y\nteam: t\naccount: \"333333333333\"\ncompute: {type: NONE}\ntrigger:\n  dataProducts:\n    allOf:\n      - {domain: raw, name: RD1}\nsla: {expectedBy: \"06:30\"}\n";
        let mut m = Manager::new(MemoryStore::default());
        m.register(&reg(yaml), 0).unwrap();
        let alerts = m.check_slas(ms("2026-11-26T06:30:00Z")).unwrap();
        assert_eq!(
            alerts[0].message,
            "y has not succeeded by 06:30 UTC: waiting on raw/RD1, not refreshed since 00:00 UTC"
        );
    }

    #[test]
    fn dst_days_alert_at_nine_local_time() {
        for (before, due) in [
            ("2026-03-29T06:59:00Z", "2026-03-29T07:00:00Z"),
            ("2026-10-25T07:59:00Z", "2026-10-25T08:00:00Z"),
        ] {
            let mut m = manager();
            assert!(m.check_slas(ms(before)).unwrap().is_empty());
            let alerts = m.check_slas(ms(due)).unwrap();
            assert_eq!(alerts.len(), 1, "{due}");
            assert_eq!(alerts[0].deadline, due);
        }
    }
}
