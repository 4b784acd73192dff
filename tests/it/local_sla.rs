//! SLA alerts in `dpc local run` (virtual time) through the CLI: the case study's pipeline-x
//! (`sla.expectedBy: 09:00 Europe/Berlin`) missed when searches fails, naming searches and its
//! FAILED run, once a day, on its channels; met when everything succeeds; at 07:00 UTC or
//! 08:00 UTC across the DST changes.

use std::path::Path;

use serde_json::Value;

use crate::common::dpc;

/// The timeline of `dpc local run examples/case-study --output json --from FROM EXTRA…`.
fn play(from: &str, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tmp");
    let run = dpc(["local", "run", "--output", "json", "--from", from])
        .arg(Path::new(crate::common::ROOT).join("examples/case-study"))
        .args(extra)
        .current_dir(dir.path())
        .run();
    // A failed run makes the exit code 1.
    run.assert_code(if extra.contains(&"--fail") { 1 } else { 0 });
    run.stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// `(at, detail)` of the entries of `pipeline` with `event`.
fn entries<'a>(events: &'a [Value], pipeline: &str, event: &str) -> Vec<(&'a str, &'a str)> {
    events
        .iter()
        .filter(|e| e["pipeline"] == pipeline && e["event"] == event)
        .map(|e| {
            (
                e["at"].as_str().unwrap_or_default(),
                e["detail"].as_str().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_failed_upstream_makes_pipeline_x_miss_its_sla_naming_it() {
    let events = play("2026-11-26", &["--fail", "searches"]);
    let missed = entries(&events, "pipeline-x", "sla-missed");
    let failed = entries(&events, "searches", "failed");
    assert_eq!(failed.len(), 1, "{events:#?}");
    let failed_at = &failed[0].0[11..16];
    assert_eq!(
        missed,
        [(
            "2026-11-26T08:00:00Z",
            format!(
                "pipeline-x has not succeeded by 09:00 Europe/Berlin: waiting on searches \
                 (222222222222), whose last run FAILED at {failed_at} UTC"
            )
            .as_str()
        )]
    );
    // On its channels (FULL_EXECUTION: Slack, email, OpsGenie), at the deadline.
    let notices: Vec<_> = entries(&events, "pipeline-x", "notification")
        .into_iter()
        .filter(|(_, d)| d.contains("waiting on searches (222222222222)"))
        .collect();
    assert!(!notices.is_empty(), "{events:#?}");
    assert!(notices.iter().all(|(at, _)| *at == "2026-11-26T08:00:00Z"));
}

#[test]
fn no_alert_when_pipeline_x_succeeded_in_time() {
    let events = play("2026-11-26", &[]);
    assert_eq!(entries(&events, "pipeline-x", "succeeded").len(), 1);
    assert!(
        events.iter().all(|e| e["event"] != "sla-missed"),
        "{events:#?}"
    );
}

#[test]
fn the_deadline_follows_berlin_time_across_dst_changes_once_a_day() {
    // 2026-03-29: CET → CEST, 09:00 is 07:00 UTC (08:00 UTC the day before).
    let spring = play(
        "2026-03-28",
        &["--until", "2026-03-30T00:00:00Z", "--fail", "searches"],
    );
    let at: Vec<_> = entries(&spring, "pipeline-x", "sla-missed")
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(at, ["2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z"]);
    // 2026-10-25: CEST → CET, 09:00 is 08:00 UTC again (07:00 UTC the day before).
    let autumn = play(
        "2026-10-24",
        &["--until", "2026-10-26T00:00:00Z", "--fail", "searches"],
    );
    let at: Vec<_> = entries(&autumn, "pipeline-x", "sla-missed")
        .into_iter()
        .map(|(at, _)| at)
        .collect();
    assert_eq!(at, ["2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z"]);
}
