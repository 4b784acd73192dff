//! Slack Block Kit messages: reads a [`RunView`] (and a [`StepView`]) and produces the
//! `chat.postMessage` / `chat.update` bodies for one thread per run — the root message, a
//! reply per step, the final reply saying why, and the root updated with the final status.
//! Each body has `text` (the notification fallback) and `blocks`; the notifier adds
//! `channel`, and `thread_ts` (replies) or `ts` (the update).

use serde_json::{Value, json};

use super::{
    RunView, StartedBy, Status, StepStatus, StepView, arn_region, clip, clock, execution_url,
    started_by, time, upstream_line,
};

/// Upstreams listed in the root before "… and N more" (a section holds 3000 characters).
const UPSTREAMS_SHOWN: usize = 10;
/// Characters of a cause shown in a code block.
const CAUSE_SHOWN: usize = 2500;

/// The cause in full, when it says more than its one-line message (a JSON cause).
fn full_cause(cause: &str) -> Option<Value> {
    (super::cause_message(cause) != cause.trim()).then(|| cause_block(cause))
}

/// The root message of a run's thread.
pub fn root(run: &RunView) -> Value {
    let mut fields = vec![
        field("Team", &esc(&run.team)),
        field(
            "Account",
            &format!("{} ({})", esc(&run.account), esc(&run.region)),
        ),
        field("Started by", &esc(&started_by(run))),
        field(
            "Status",
            &format!("{} {}", emoji(run.status), run.status.as_str()),
        ),
        field("Started", &time(run.started_ms)),
    ];
    if let Some(ms) = run.duration_ms() {
        fields.push(field("Duration", &super::duration(ms)));
    }
    let mut blocks = vec![
        json!({"type": "header", "text": plain(&format!("{} {} {}", emoji(run.status), run.pipeline, run.status.as_str()))}),
        json!({"type": "section", "fields": fields}),
    ];
    if let StartedBy::Trigger { upstreams, .. } = &run.started_by
        && !upstreams.is_empty()
    {
        let mut lines: Vec<String> = upstreams
            .iter()
            .take(UPSTREAMS_SHOWN)
            .map(|u| {
                let line = esc(&upstream_line(u));
                match arn_region(&u.run) {
                    Some(region) => format!("• {line} <{}|run>", execution_url(region, &u.run)),
                    None => format!("• {line}"),
                }
            })
            .collect();
        if upstreams.len() > UPSTREAMS_SHOWN {
            lines.push(format!("… and {} more", upstreams.len() - UPSTREAMS_SHOWN));
        }
        blocks.push(json!({"type": "section", "text": mrkdwn(&format!("*Fired by*\n{}", lines.join("\n")))}));
    }
    if let Some(why) = run.why().filter(|_| run.is_failure()) {
        blocks.push(json!({"type": "section", "text": mrkdwn(&format!("*Why*\n{}", esc(&why)))}));
    }
    blocks.push(links(run));
    blocks.push(json!({"type": "context", "elements": [mrkdwn(&format!("execution `{}`", esc(&run.execution_name)))]}));
    json!({"text": root_text(run), "blocks": blocks})
}

/// The root re-rendered once the run ended (for `chat.update` on the root's `ts`).
pub fn root_update(run: &RunView) -> Value {
    root(run)
}

/// A thread reply for one step's status change.
pub fn step(run: &RunView, step: &StepView) -> Value {
    let attempt = if step.attempt > 1 {
        format!(" (attempt {})", step.attempt)
    } else {
        String::new()
    };
    let verb = step.status.as_str().to_lowercase();
    let line = format!(
        "{} step `{}` {verb}{attempt} at {} UTC",
        step_emoji(step.status),
        esc(&step.step),
        clock(step.at_ms)
    );
    let mut text = format!("{}: step {} {verb}{attempt}", run.pipeline, step.step);
    let mut blocks = vec![json!({"type": "section", "text": mrkdwn(&line)})];
    if step.status == StepStatus::Failed {
        if let Some(why) = super::why(step.error.as_deref(), step.cause.as_deref()) {
            text.push_str(&format!(": {why}"));
            blocks
                .push(json!({"type": "section", "text": mrkdwn(&format!("*Why*: {}", esc(&why)))}));
        }
        blocks.extend(step.cause.as_deref().and_then(full_cause));
    }
    json!({"text": text, "blocks": blocks})
}

/// The thread reply when the run ended: its outcome and, when it did not succeed, why.
pub fn final_message(run: &RunView) -> Value {
    let line = format!(
        "{} *{}* {}",
        emoji(run.status),
        esc(&run.pipeline),
        run.outcome()
    );
    let mut text = format!("{} {}", run.pipeline, run.outcome());
    let mut blocks = vec![json!({"type": "section", "text": mrkdwn(&line)})];
    if run.is_failure() {
        let why = run.why().unwrap_or_else(|| {
            "no error was reported; the execution's history shows the last state".to_string()
        });
        text.push_str(&format!(": {why}"));
        blocks.push(json!({"type": "section", "text": mrkdwn(&format!("*Why*: {}", esc(&why)))}));
        if let Some(error) = &run.error {
            blocks.push(json!({"type": "context", "elements": [mrkdwn(&format!("error `{}`", esc(error)))]}));
        }
        blocks.extend(run.cause.as_deref().and_then(full_cause));
    }
    blocks.push(links(run));
    json!({"text": text, "blocks": blocks})
}

fn root_text(run: &RunView) -> String {
    let mut text = format!(
        "{} {} (team {}, account {}), started by {}",
        run.pipeline,
        run.outcome(),
        run.team,
        run.account,
        started_by(run)
    );
    if let Some(why) = run.why().filter(|_| run.is_failure()) {
        text.push_str(&format!(": {why}"));
    }
    text
}

fn links(run: &RunView) -> Value {
    json!({"type": "actions", "elements": [
        {"type": "button", "text": plain("Execution"), "url": run.execution_url(), "action_id": "execution"},
        {"type": "button", "text": plain("Logs"), "url": run.logs_url(), "action_id": "logs"},
    ]})
}

fn cause_block(cause: &str) -> Value {
    let shown = clip(cause.trim(), CAUSE_SHOWN).replace("```", "'''");
    json!({"type": "section", "text": mrkdwn(&format!("```{}```", esc(&shown)))})
}

pub(super) fn field(name: &str, value: &str) -> Value {
    mrkdwn(&format!("*{name}*\n{value}"))
}

pub(super) fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

/// Header text holds at most 150 characters.
pub(super) fn plain(text: &str) -> Value {
    json!({"type": "plain_text", "text": clip(text, 150), "emoji": true})
}

/// Slack's escaping of `&`, `<` and `>` in message text.
pub(super) fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn emoji(status: Status) -> &'static str {
    match status {
        Status::Running => ":hourglass_flowing_sand:",
        Status::Succeeded => ":white_check_mark:",
        Status::Failed => ":x:",
        Status::TimedOut => ":alarm_clock:",
        Status::Aborted => ":no_entry_sign:",
    }
}

fn step_emoji(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Started => ":arrow_forward:",
        StepStatus::Succeeded => ":heavy_check_mark:",
        StepStatus::Failed => ":x:",
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn root_of_a_triggered_run_lists_its_upstreams() {
        insta::assert_json_snapshot!(root(&triggered(Status::Running)));
    }

    #[test]
    fn step_failure_says_why() {
        insta::assert_json_snapshot!(step(&triggered(Status::Running), &failed_step()));
    }

    #[test]
    fn final_failed_message_says_why() {
        let v = final_message(&triggered(Status::Failed));
        let text = v["text"].as_str().unwrap_or_default();
        assert!(text.contains("missing partition dt=2026-11-25"), "{text}");
        insta::assert_json_snapshot!(v);
    }

    #[test]
    fn root_update_carries_the_final_status() {
        let v = root_update(&triggered(Status::Failed));
        assert_eq!(v["blocks"][0]["text"]["text"], ":x: pipeline-x FAILED");
        insta::assert_json_snapshot!(v);
    }

    #[test]
    fn text_from_pipelines_is_escaped() {
        let mut run = triggered(Status::Failed);
        run.cause = Some("a <b> & c".into());
        let v = final_message(&run);
        assert!(
            v["blocks"][1]["text"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("a &lt;b&gt; &amp; c"))
        );
    }
}
