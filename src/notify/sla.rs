//! SLA alerts: reads a missed SLA ([`SlaAlert`], as the manager raises it) and the pipeline's
//! team, and produces what people read — a Slack Block Kit message of its own (not in a run's
//! thread), an email subject and plain-text body, an OpsGenie alert (alias per pipeline and SLA
//! day) and its close body. Each says why: what the pipeline waits for — every upstream's last
//! run, its status and time, or the data product not refreshed — with console links where the
//! alert knows the run.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::slack::{esc, field, mrkdwn, plain};
use super::{arn_region, clip, execution_url, logs_url, parse_time, state_machine_url, time};
pub use crate::manager::sla::{SlaAlert, Waiting};

/// Upstreams listed in the Slack message before "… and N more" (a section holds 3000
/// characters).
const WAITING_SHOWN: usize = 10;
/// OpsGenie's limits.
const MESSAGE_MAX: usize = 130;
const DESCRIPTION_MAX: usize = 15_000;

/// The sentence after the headline: "waiting on searches (222222222222), whose last run
/// FAILED at 05:20 UTC" (the whole message when it does not read that way).
pub fn reason(alert: &SlaAlert) -> &str {
    alert
        .message
        .split_once(": ")
        .map_or(alert.message.as_str(), |(_, why)| why)
}

/// `pipeline-x missed its SLA (09:00 Europe/Berlin)`.
pub fn headline(alert: &SlaAlert) -> String {
    format!(
        "{} missed its SLA ({})",
        alert.pipeline.name, alert.expected_by
    )
}

/// One waited-for upstream in one line:
/// `searches (222222222222): last run FAILED at 2026-11-26 05:20:00 UTC`,
/// `searches (222222222222): no run since 2026-11-26 00:00:00 UTC`,
/// `raw/RD1 (data product): not refreshed since 2026-11-26 00:00:00 UTC`.
pub fn waiting_line(w: &Waiting, since: &str) -> String {
    let mut name = w.label.clone();
    match (&w.account, w.data_product) {
        (Some(a), false) => name.push_str(&format!(" ({a})")),
        (Some(a), true) => name.push_str(&format!(" (data product from {a})")),
        (None, true) => name.push_str(" (data product)"),
        (None, false) => {}
    }
    let at = w.last_at.as_deref().map(iso);
    match (&w.last_status, at, w.data_product) {
        (Some(status), Some(at), false) => format!("{name}: last run {status} at {at}"),
        (_, _, false) => format!("{name}: no run since {}", iso(since)),
        (_, _, true) => format!("{name}: not refreshed since {}", iso(since)),
    }
}

/// The console page of what `w` last did: its execution, else its pipeline's runs.
pub fn waiting_url(w: &Waiting) -> Option<String> {
    if let Some(run) = &w.last_run
        && let Some(region) = arn_region(run)
    {
        return Some(execution_url(region, run));
    }
    match (&w.account, &w.region, w.data_product) {
        (Some(account), Some(region), false) => Some(state_machine_url(region, account, &w.label)),
        _ => None,
    }
}

/// The pipeline's own latest run of the day in one line, when it has one.
fn own_line(alert: &SlaAlert) -> String {
    match &alert.own_status {
        Some(status) => format!("its latest run is {status}"),
        None => format!("no run since {}", iso(&alert.since)),
    }
}

/// The Slack message (a message of its own; the notifier adds `channel`).
pub fn slack(alert: &SlaAlert, team: &str) -> Value {
    let p = &alert.pipeline;
    let mut fields = Vec::new();
    if !team.is_empty() {
        fields.push(field("Team", &esc(team)));
    }
    fields.extend([
        field(
            "Account",
            &format!("{} ({})", esc(&p.account), esc(&p.region)),
        ),
        field(
            "Expected by",
            &format!("{} ({})", esc(&alert.expected_by), iso(&alert.deadline)),
        ),
        field("Runs counted since", &iso(&alert.since)),
        field("Its own run", &esc(&own_line(alert))),
    ]);
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&format!(":alarm_clock: {}", headline(alert)))}),
        json!({"type": "section", "text": mrkdwn(&format!("*Why*\n{}", esc(reason(alert))))}),
        json!({"type": "section", "fields": fields}),
    ];
    if !alert.waiting_on.is_empty() {
        let mut lines: Vec<String> = alert
            .waiting_on
            .iter()
            .take(WAITING_SHOWN)
            .map(|w| {
                let line = esc(&waiting_line(w, &alert.since));
                match waiting_url(w) {
                    Some(url) if w.last_run.is_some() => format!("• {line} <{url}|run>"),
                    Some(url) => format!("• {line} <{url}|runs>"),
                    None => format!("• {line}"),
                }
            })
            .collect();
        if alert.waiting_on.len() > WAITING_SHOWN {
            lines.push(format!(
                "… and {} more",
                alert.waiting_on.len() - WAITING_SHOWN
            ));
        }
        blocks.push(json!({"type": "section", "text": mrkdwn(&format!("*Waiting on*\n{}", lines.join("\n")))}));
    }
    let mut buttons = Vec::new();
    if let Some(run) = &alert.own_run
        && let Some(region) = arn_region(run)
    {
        buttons.push(json!({"type": "button", "text": plain("Its run"), "url": execution_url(region, run), "action_id": "run"}));
    }
    buttons.extend([
        json!({"type": "button", "text": plain("Runs"), "url": state_machine_url(&p.region, &p.account, &p.name), "action_id": "runs"}),
        json!({"type": "button", "text": plain("Logs"), "url": logs_url(&p.region, &p.name), "action_id": "logs"}),
    ]);
    blocks.push(json!({"type": "actions", "elements": buttons}));
    blocks.push(json!({"type": "context", "elements": [mrkdwn(&format!("SLA day {} · alert `{}`", esc(&alert.day), esc(&alert.key)))]}));
    json!({"text": alert.message, "blocks": blocks})
}

/// `[dpc] SLA missed: pipeline-x by 09:00 Europe/Berlin (333333333333)`: one line of printable
/// ASCII of at most [`super::email::SUBJECT_MAX`] characters (what SNS accepts).
pub fn email_subject(alert: &SlaAlert) -> String {
    let text = format!(
        "[dpc] SLA missed: {} by {} ({})",
        alert.pipeline.name, alert.expected_by, alert.pipeline.account
    );
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .take(super::email::SUBJECT_MAX)
        .collect();
    clean.trim_end().to_string()
}

/// The plain-text body: the sentence, what it waits for (with links), the facts.
pub fn email_body(alert: &SlaAlert, team: &str) -> String {
    let p = &alert.pipeline;
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    let head = alert
        .message
        .split_once(": ")
        .map_or(alert.message.as_str(), |(head, _)| head);
    line(&format!("{head}."));
    line("");
    line(&format!("Why: {}", reason(alert)));
    if !alert.waiting_on.is_empty() {
        line("");
        line("Waiting on:");
        for w in &alert.waiting_on {
            line(&format!("  - {}", waiting_line(w, &alert.since)));
            if let Some(url) = waiting_url(w) {
                line(&format!("    {url}"));
            }
        }
    }
    line("");
    if !team.is_empty() {
        line(&format!("Team:        {team}"));
    }
    line(&format!("Account:     {} ({})", p.account, p.region));
    line(&format!(
        "Expected by: {} ({})",
        alert.expected_by,
        iso(&alert.deadline)
    ));
    line(&format!("Since:       {}", iso(&alert.since)));
    line(&format!("Its run:     {}", own_line(alert)));
    if let Some(run) = &alert.own_run
        && let Some(region) = arn_region(run)
    {
        line(&format!("             {}", execution_url(region, run)));
    }
    line(&format!(
        "Runs:        {}",
        state_machine_url(&p.region, &p.account, &p.name)
    ));
    line(&format!("Logs:        {}", logs_url(&p.region, &p.name)));
    line("");
    line(&format!("SLA day {}, alert {}.", alert.day, alert.key));
    out
}

/// `dpc-sla-<account>-<pipeline>-<day>`: one alert per pipeline and SLA day.
pub fn opsgenie_alias(alert: &SlaAlert) -> String {
    crate::compile::names::fit(
        &format!(
            "dpc-sla-{}-{}-{}",
            alert.pipeline.account, alert.pipeline.name, alert.day
        ),
        512,
    )
}

/// The OpsGenie create-alert body (P3).
pub fn opsgenie_alert(alert: &SlaAlert, team: &str) -> Value {
    let p = &alert.pipeline;
    let mut details = BTreeMap::from([
        ("pipeline", p.name.clone()),
        ("account", p.account.clone()),
        ("region", p.region.clone()),
        ("expectedBy", alert.expected_by.clone()),
        ("deadline", alert.deadline.clone()),
        ("slaDay", alert.day.clone()),
        ("runsUrl", state_machine_url(&p.region, &p.account, &p.name)),
        ("logsUrl", logs_url(&p.region, &p.name)),
    ]);
    if !team.is_empty() {
        details.insert("team", team.to_string());
    }
    if let Some(status) = &alert.own_status {
        details.insert("ownStatus", status.clone());
    }
    let waiting: Vec<&str> = alert.waiting_on.iter().map(|w| w.label.as_str()).collect();
    if !waiting.is_empty() {
        details.insert("waitingOn", waiting.join(", "));
    }
    let mut tags = vec![
        "dpc".to_string(),
        "sla".to_string(),
        format!("pipeline:{}", p.name),
    ];
    if !team.is_empty() {
        tags.insert(2, format!("team:{team}"));
    }
    json!({
        "message": clip(&alert.message, MESSAGE_MAX),
        "alias": opsgenie_alias(alert),
        "description": clip(&email_body(alert, team), DESCRIPTION_MAX),
        "priority": "P3",
        "source": "dpc",
        "entity": p.name,
        "tags": tags,
        "details": details,
    })
}

/// The close body of the day's SLA alert, once the pipeline succeeded (`note` says which run).
pub fn opsgenie_close(alert: &SlaAlert, note: &str) -> Value {
    close_alias(&opsgenie_alias(alert), note)
}

/// The close body of an alert by its alias.
pub fn close_alias(alias: &str, note: &str) -> Value {
    json!({"alias": alias, "identifierType": "alias", "source": "dpc", "note": note})
}

/// `2026-11-26 08:00:00 UTC` from ISO 8601 (the text itself when it does not read).
fn iso(text: &str) -> String {
    parse_time(text).map_or_else(|| text.to_string(), time)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! The SLA alerts the snapshot tests render.

    use super::*;
    use crate::manager::registry::PipelineId;

    /// pipeline-x missed 09:00 Europe/Berlin on 2026-11-26 waiting on a failed searches run
    /// and a data product; listings arrived.
    pub fn missed() -> SlaAlert {
        SlaAlert {
            pipeline: PipelineId {
                account: "333333333333".into(),
                region: "eu-west-1".into(),
                name: "pipeline-x".into(),
            },
            key: "sla:333333333333/eu-west-1/pipeline-x:2026-11-26".into(),
            day: "2026-11-26".into(),
            deadline: "2026-11-26T08:00:00Z".into(),
            expected_by: "09:00 Europe/Berlin".into(),
            since: "2026-11-25T23:00:00Z".into(),
            own_status: None,
            own_run: None,
            waiting_on: vec![
                Waiting {
                    label: "searches".into(),
                    account: Some("222222222222".into()),
                    region: Some("us-east-1".into()),
                    data_product: false,
                    last_run: Some("arn:aws:states:us-east-1:222222222222:execution:dpc-searches:searches-20261126T041500-1".into()),
                    last_status: Some("FAILED".into()),
                    last_at: Some("2026-11-26T05:20:00Z".into()),
                },
                Waiting {
                    label: "raw/RD1".into(),
                    account: None,
                    region: None,
                    data_product: true,
                    last_run: None,
                    last_status: None,
                    last_at: None,
                },
            ],
            message: "pipeline-x has not succeeded by 09:00 Europe/Berlin: waiting on searches \
                      (222222222222), whose last run FAILED at 05:20 UTC; raw/RD1, not refreshed \
                      since 23:00 UTC"
                .into(),
        }
    }

    /// pipeline-x's own run failed (its upstreams arrived).
    pub fn own_failed() -> SlaAlert {
        SlaAlert {
            own_status: Some("FAILED".into()),
            own_run: Some("arn:aws:states:eu-west-1:333333333333:execution:dpc-pipeline-x:pipeline-x-20261126T053000-1".into()),
            waiting_on: vec![],
            message: "pipeline-x has not succeeded by 09:00 Europe/Berlin: its last run FAILED \
                      at 06:40 UTC"
                .into(),
            ..missed()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn slack_names_what_it_waits_for() {
        let v = slack(&missed(), "analytics");
        let text = v.to_string();
        assert!(
            text.contains("searches (222222222222): last run FAILED at 2026-11-26 05:20:00 UTC")
        );
        assert!(
            text.contains("raw/RD1 (data product): not refreshed since 2026-11-25 23:00:00 UTC")
        );
        assert!(v.get("thread_ts").is_none(), "a message of its own");
        insta::assert_json_snapshot!(v);
    }

    #[test]
    fn slack_when_its_own_run_failed() {
        let v = slack(&own_failed(), "");
        assert_eq!(
            v["blocks"][1]["text"]["text"],
            "*Why*\nits last run FAILED at 06:40 UTC"
        );
        insta::assert_json_snapshot!(v);
    }

    #[test]
    fn email_says_why_first() {
        let alert = missed();
        let text = format!(
            "Subject: {}\n\n{}",
            email_subject(&alert),
            email_body(&alert, "analytics")
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn opsgenie_alias_is_per_pipeline_and_day() {
        let alert = missed();
        let body = opsgenie_alert(&alert, "analytics");
        assert_eq!(body["alias"], "dpc-sla-333333333333-pipeline-x-2026-11-26");
        assert_eq!(opsgenie_alert(&own_failed(), "")["alias"], body["alias"]);
        let next_day = SlaAlert {
            day: "2026-11-27".into(),
            ..missed()
        };
        assert_ne!(opsgenie_alias(&next_day), opsgenie_alias(&alert));
        let close = opsgenie_close(&alert, "pipeline-x SUCCEEDED");
        assert_eq!(close["alias"], body["alias"]);
        insta::assert_json_snapshot!(body);
    }

    #[test]
    fn subjects_fit_sns_and_text_is_escaped() {
        let mut alert = missed();
        alert.pipeline.name = format!("p{}\u{e9}\n", "x".repeat(200));
        let s = email_subject(&alert);
        assert!(
            s.len() <= super::super::email::SUBJECT_MAX && s.is_ascii() && !s.contains('\n'),
            "{s}"
        );
        let mut alert = missed();
        alert.message = "p has not succeeded by 09:00 UTC: a <b> & c".into();
        let v = slack(&alert, "");
        assert_eq!(v["blocks"][1]["text"]["text"], "*Why*\na &lt;b&gt; &amp; c");
    }

    #[test]
    fn renders_from_the_event_detail_as_the_manager_sends_it() {
        // The `dpc SLA Missed` event's detail reads back into the same alert.
        let alert = missed();
        let detail = serde_json::to_value(&alert).expect("serializes");
        let back: SlaAlert = serde_json::from_value(detail).expect("reads");
        assert_eq!(slack(&back, "t"), slack(&alert, "t"));
    }
}
