//! Notifications as values: reads a run and its steps as the notifier sees them ([`RunView`],
//! [`StepView`]) and produces what people read — Slack Block Kit, email, OpsGenie. Pure: no
//! I/O and no clock; every time is passed in, so the same run renders the same bytes.

pub mod email;
pub mod opsgenie;
pub mod sla;
pub mod slack;

use crate::compile::names;
pub use crate::events::StepStatus;
pub use crate::pipeline::model::Status;

/// One run of one pipeline, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunView {
    pub pipeline: String,
    pub team: String,
    pub account: String,
    pub region: String,
    pub execution_arn: String,
    pub execution_name: String,
    pub started_by: StartedBy,
    pub status: Status,
    /// Milliseconds since the epoch.
    pub started_ms: i64,
    /// Milliseconds since the epoch; `None` while running.
    pub stopped_ms: Option<i64>,
    /// The run's error name, when it did not succeed.
    pub error: Option<String>,
    /// The run's cause as Step Functions reported it (often a JSON string).
    pub cause: Option<String>,
}

/// How a run was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartedBy {
    /// By its schedule, due at `at_ms`.
    Schedule { at_ms: i64 },
    /// By a trigger from the central manager, with the upstream runs that fired it.
    Trigger {
        trigger_id: String,
        upstreams: Vec<UpstreamRun>,
    },
    /// By `dpc rerun` (or a redrive).
    Rerun,
    /// By hand (console, CLI, `dpc run`).
    Manual,
}

/// A leaf of the trigger: an upstream run, or a data product refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRun {
    /// The pipeline's name, or `domain/name` for a data product.
    pub label: String,
    /// The upstream's account, when known.
    pub account: Option<String>,
    /// SUCCEEDED, FAILED, … for runs; ARRIVED for data products.
    pub status: String,
    /// The execution ARN (linked to the console) or another run id.
    pub run: String,
    /// Milliseconds since the epoch the run stopped (or the product was refreshed).
    pub at_ms: i64,
}

/// A step of a FULL_EXECUTION run changed status (from a step status event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub step: String,
    pub status: StepStatus,
    /// 1 for the first try.
    pub attempt: u32,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
}

impl RunView {
    /// The run has ended (any status but RUNNING).
    pub fn is_final(&self) -> bool {
        self.status != Status::Running
    }

    /// The run ended in FAILED, TIMED_OUT or ABORTED.
    pub fn is_failure(&self) -> bool {
        matches!(
            self.status,
            Status::Failed | Status::TimedOut | Status::Aborted
        )
    }

    /// How long it ran, once it stopped.
    pub fn duration_ms(&self) -> Option<i64> {
        self.stopped_ms.map(|s| (s - self.started_ms).max(0))
    }

    /// The Step Functions console page of this execution.
    pub fn execution_url(&self) -> String {
        execution_url(&self.region, &self.execution_arn)
    }

    /// The CloudWatch Logs console page of the state machine's log group.
    pub fn logs_url(&self) -> String {
        logs_url(&self.region, &self.pipeline)
    }

    /// "SUCCEEDED after 12m 05s", "FAILED after 3s", "RUNNING".
    pub fn outcome(&self) -> String {
        match self.duration_ms() {
            Some(ms) if self.is_final() => {
                format!("{} after {}", self.status.as_str(), duration(ms))
            }
            _ => self.status.as_str().to_string(),
        }
    }

    /// Why the run did not succeed, in one line: the error and the cause's message.
    pub fn why(&self) -> Option<String> {
        why(self.error.as_deref(), self.cause.as_deref())
    }
}

impl StartedBy {
    /// How a run was started, from its execution input
    /// (`{"run": {"type", "triggerId", "time"}, "upstreams"?, "dataProducts"?}`, see
    /// `compile::state_machine`); `started_ms` stands in for a schedule's missing time.
    pub fn from_input(input: &serde_json::Value, started_ms: i64) -> StartedBy {
        let run = &input["run"];
        match run["type"].as_str().unwrap_or_default() {
            "SCHEDULED" => StartedBy::Schedule {
                at_ms: run["time"]
                    .as_str()
                    .and_then(parse_time)
                    .unwrap_or(started_ms),
            },
            "TRIGGERED" => StartedBy::Trigger {
                trigger_id: run["triggerId"].as_str().unwrap_or_default().to_string(),
                upstreams: upstreams(input),
            },
            "RERUN" => StartedBy::Rerun,
            _ => StartedBy::Manual,
        }
    }
}

/// The leaves a trigger carries into the execution input: upstream runs
/// (account → region → pipeline) and data products (domain → name), in that order.
fn upstreams(input: &serde_json::Value) -> Vec<UpstreamRun> {
    let mut out = Vec::new();
    let entries = |v: &serde_json::Value| v.as_object().cloned().unwrap_or_default();
    for (account, regions) in entries(&input["upstreams"]) {
        for (_, pipelines) in entries(&regions) {
            for (pipeline, run) in entries(&pipelines) {
                out.push(UpstreamRun {
                    label: pipeline,
                    account: Some(account.clone()),
                    status: run["status"].as_str().unwrap_or_default().to_string(),
                    run: run["executionArn"].as_str().unwrap_or_default().to_string(),
                    at_ms: run["stopDate"].as_i64().unwrap_or_default(),
                });
            }
        }
    }
    for (domain, names) in entries(&input["dataProducts"]) {
        for (name, arrival) in entries(&names) {
            let refreshed = arrival["refreshedAt"].as_str().unwrap_or_default();
            out.push(UpstreamRun {
                label: format!("{domain}/{name}"),
                account: None,
                status: arrival["status"].as_str().unwrap_or("ARRIVED").to_string(),
                run: refreshed.to_string(),
                at_ms: parse_time(refreshed).unwrap_or_default(),
            });
        }
    }
    out
}

impl RunView {
    /// A run from its Step Functions status change; `pipeline` and `team` come from the
    /// registration, `account` and `region` from the event's envelope. The change carries no
    /// error or cause: set them from the raw event's `detail.error` / `detail.cause`.
    pub fn from_status(
        change: &crate::events::ExecutionStatusChange,
        pipeline: &str,
        team: &str,
        account: &str,
        region: &str,
    ) -> RunView {
        let started_ms = change.start_date.unwrap_or_default();
        let input = change
            .input
            .as_deref()
            .and_then(|i| serde_json::from_str(i).ok())
            .unwrap_or(serde_json::Value::Null);
        let execution_name = change.name.clone().unwrap_or_else(|| {
            change
                .execution_arn
                .rsplit(':')
                .next()
                .unwrap_or_default()
                .to_string()
        });
        RunView {
            pipeline: pipeline.to_string(),
            team: team.to_string(),
            account: account.to_string(),
            region: region.to_string(),
            execution_arn: change.execution_arn.clone(),
            execution_name,
            started_by: StartedBy::from_input(&input, started_ms),
            status: Status::parse(&change.status).unwrap_or(Status::Running),
            started_ms,
            stopped_ms: change.stop_date,
            error: None,
            cause: None,
        }
    }
}

impl StepView {
    /// A step from its step status event; `None` when its time is not ISO 8601.
    pub fn from_event(change: &crate::events::StepStatusChange) -> Option<StepView> {
        Some(StepView {
            step: change.step.clone(),
            status: change.status,
            attempt: change.attempt,
            error: change.error.clone(),
            cause: change.cause.clone(),
            at_ms: parse_time(&change.time)?,
        })
    }
}

/// Milliseconds since the epoch of an ISO 8601 (RFC 3339) time.
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The Step Functions console page of an execution.
pub fn execution_url(region: &str, execution_arn: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
    )
}

/// The CloudWatch Logs console page of a pipeline's state machine log group.
pub fn logs_url(region: &str, pipeline: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/{}",
        console_escape(&log_group_name(pipeline))
    )
}

/// The Step Functions console page of a pipeline's state machine (its runs).
pub fn state_machine_url(region: &str, account: &str, pipeline: &str) -> String {
    let name = names::fit(&format!("dpc-{pipeline}"), names::STATE_MACHINE_MAX);
    format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/statemachines/view/arn:aws:states:{region}:{account}:stateMachine:{name}"
    )
}

/// The log group of a pipeline's state machine, as `compile::template` names it.
pub fn log_group_name(pipeline: &str) -> String {
    names::fit(
        &format!("/aws/vendedlogs/states/dpc-{pipeline}"),
        names::LOG_GROUP_MAX,
    )
}

/// The console's escaping of a log group name in its URL fragment: percent-encoded, then `%`
/// written as `$25`.
fn console_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("$25{b:02X}"),
        })
        .collect()
}

/// The region of an execution ARN (`arn:aws:states:REGION:…`).
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn") && parts.nth(1) == Some("states"))
        .then(|| parts.next())
        .flatten()
        .filter(|r| !r.is_empty())
}

/// `12m 05s`, `3s`, `2h 03m`.
pub fn duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// `2026-11-26 05:20:00 UTC`.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `05:20:00` (UTC), for lines within one run.
pub fn clock(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// "How it was started", in one line (a trigger's upstreams are listed separately).
pub fn started_by(run: &RunView) -> String {
    match &run.started_by {
        StartedBy::Schedule { at_ms } => format!("schedule ({})", time(*at_ms)),
        StartedBy::Trigger {
            trigger_id,
            upstreams,
        } => {
            let labels: Vec<&str> = upstreams.iter().map(|u| u.label.as_str()).collect();
            if labels.is_empty() {
                format!("trigger {}", short(trigger_id))
            } else {
                format!("trigger {} ({})", short(trigger_id), labels.join(", "))
            }
        }
        StartedBy::Rerun => "rerun".to_string(),
        StartedBy::Manual => "by hand".to_string(),
    }
}

/// One upstream in one line: `listings (111111111111) SUCCEEDED at 2026-11-26 04:10:00 UTC`.
pub fn upstream_line(u: &UpstreamRun) -> String {
    let account = u
        .account
        .as_deref()
        .map(|a| format!(" ({a})"))
        .unwrap_or_default();
    format!("{}{account} {} at {}", u.label, u.status, time(u.at_ms))
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The error and what the cause says, in one line; a JSON cause (Lambda, Glue, ECS, …) is
/// read for its message instead of shown whole.
pub fn why(error: Option<&str>, cause: Option<&str>) -> Option<String> {
    let message = cause.map(cause_message).filter(|m| !m.is_empty());
    match (error, message) {
        (Some(e), Some(m)) => Some(format!("{e}: {m}")),
        (Some(e), None) => Some(e.to_string()),
        (None, Some(m)) => Some(m),
        (None, None) => None,
    }
}

/// The human part of a cause: the message inside a JSON cause, else the text itself; one line,
/// at most [`MESSAGE_MAX`] characters.
pub fn cause_message(cause: &str) -> String {
    let found = serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| json_message(&v));
    let text = found.unwrap_or_else(|| cause.trim().to_string());
    clip(
        &text.split_whitespace().collect::<Vec<_>>().join(" "),
        MESSAGE_MAX,
    )
}

/// Longest one-line message taken from a cause.
pub const MESSAGE_MAX: usize = 300;

fn json_message(v: &serde_json::Value) -> Option<String> {
    const KEYS: [&str; 7] = [
        "errorMessage",
        "ErrorMessage",
        "message",
        "Message",
        "StoppedReason",
        "Error",
        "Cause",
    ];
    let obj = v.as_object()?;
    KEYS.iter().find_map(|k| match obj.get(*k)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => {
            // A cause nested as a JSON string (Step Functions wraps them).
            Some(
                serde_json::from_str::<serde_json::Value>(s)
                    .ok()
                    .and_then(|inner| json_message(&inner))
                    .unwrap_or_else(|| s.trim().to_string()),
            )
        }
        nested @ serde_json::Value::Object(_) => json_message(nested),
        _ => None,
    })
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Runs the snapshot tests render.

    use super::*;

    pub const T0: i64 = 1_795_669_200_000; // 2026-11-26 05:00:00 UTC

    pub fn triggered(status: Status) -> RunView {
        let done = status != Status::Running;
        RunView {
            pipeline: "pipeline-x".into(),
            team: "analytics".into(),
            account: "333333333333".into(),
            region: "eu-west-1".into(),
            execution_arn:
                "arn:aws:states:eu-west-1:333333333333:execution:dpc-pipeline-x:pipeline-x-20261126T050000-1"
                    .into(),
            execution_name: "pipeline-x-20261126T050000-1".into(),
            started_by: StartedBy::Trigger {
                trigger_id: "3f1c2a9b7d4e5f60718293a4".into(),
                upstreams: vec![
                    UpstreamRun {
                        label: "listings".into(),
                        account: Some("111111111111".into()),
                        status: "SUCCEEDED".into(),
                        run: "arn:aws:states:eu-west-1:111111111111:execution:dpc-listings:listings-20261126T040000-1".into(),
                        at_ms: T0 - 50 * 60_000,
                    },
                    UpstreamRun {
                        label: "searches".into(),
                        account: Some("222222222222".into()),
                        status: "SUCCEEDED".into(),
                        run: "arn:aws:states:us-east-1:222222222222:execution:dpc-searches:searches-20261126T041500-1".into(),
                        at_ms: T0 - 2 * 60_000,
                    },
                    UpstreamRun {
                        label: "raw/RD1".into(),
                        account: Some("444444444444".into()),
                        status: "ARRIVED".into(),
                        run: "2026-11-26T04:10:00Z".into(),
                        at_ms: T0 - 50 * 60_000,
                    },
                ],
            },
            status,
            started_ms: T0,
            stopped_ms: done.then_some(T0 + 12 * 60_000 + 5_000),
            error: (status == Status::Failed).then(|| "States.TaskFailed".into()),
            cause: (status == Status::Failed).then(|| {
                r#"{"errorMessage":"load: table sales.searches_daily is missing partition dt=2026-11-25 (upstream wrote 0 rows)","errorType":"DataError","stackTrace":["  File \"/var/task/load.py\", line 42"]}"#
                    .into()
            }),
        }
    }

    pub fn failed_step() -> StepView {
        StepView {
            step: "load".into(),
            status: StepStatus::Failed,
            attempt: 2,
            error: Some("States.TaskFailed".into()),
            cause: Some("exit status 1: missing partition dt=2026-11-25".into()),
            at_ms: T0 + 12 * 60_000,
        }
    }

    pub fn steps() -> Vec<StepView> {
        let step = |name: &str, status, attempt, at: i64| StepView {
            step: name.into(),
            status,
            attempt,
            error: None,
            cause: None,
            at_ms: T0 + at * 1000,
        };
        vec![
            step("extract", StepStatus::Started, 1, 1),
            step("extract", StepStatus::Succeeded, 1, 300),
            step("load", StepStatus::Started, 1, 301),
            StepView {
                attempt: 1,
                at_ms: T0 + 400_000,
                ..failed_step()
            },
            step("load", StepStatus::Started, 2, 430),
            failed_step(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn links_point_at_the_execution_and_its_log_group() {
        let run = triggered(Status::Failed);
        assert_eq!(
            run.execution_url(),
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:333333333333:execution:dpc-pipeline-x:pipeline-x-20261126T050000-1"
        );
        assert_eq!(
            run.logs_url(),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/$252Faws$252Fvendedlogs$252Fstates$252Fdpc-pipeline-x"
        );
    }

    #[test]
    fn the_logs_link_names_the_compiled_log_group() {
        use crate::pipeline::model::{Compute, Config, Pipeline};
        let p = Pipeline {
            name: "pipeline-x".into(),
            description: None,
            team: "analytics".into(),
            account: Some("333333333333".into()),
            region: None,
            tags: Default::default(),
            trigger: None,
            compute: Compute::None,
            steps: vec![],
            notifications: None,
            publish: vec![],
            sla: None,
            file: "p/pipeline.yaml".into(),
            dir: "p".into(),
        };
        let env = crate::compile::Env::new(&p, None::<&Config>, "0.0.0");
        let compiled = crate::compile::compile(&env).expect("compiles");
        assert_eq!(
            compiled.template["Resources"]["LogGroup"]["Properties"]["LogGroupName"],
            log_group_name("pipeline-x")
        );
    }

    #[test]
    fn durations_and_causes_read_well() {
        assert_eq!(duration(3_400), "3s");
        assert_eq!(duration(725_000), "12m 05s");
        assert_eq!(duration(7_380_000), "2h 03m");
        assert_eq!(
            cause_message(r#"{"errorMessage": "boom", "errorType": "E"}"#),
            "boom"
        );
        assert_eq!(
            cause_message(r#"{"Cause": "{\"ErrorMessage\": \"glue said no\"}"}"#),
            "glue said no"
        );
        assert_eq!(cause_message("plain\n  text"), "plain text");
        assert_eq!(cause_message(&"x".repeat(400)).chars().count(), MESSAGE_MAX);
        assert_eq!(
            arn_region("arn:aws:states:us-east-1:1:execution:a:b"),
            Some("us-east-1")
        );
        assert_eq!(arn_region("2026-11-26T04:10:00Z"), None);
    }

    #[test]
    fn a_triggered_run_reads_from_its_status_event() {
        let input = serde_json::json!({
            "run": {"type": "TRIGGERED", "triggerId": "t-1", "time": "2026-11-26T05:00:00Z"},
            "upstreams": {"111111111111": {"eu-west-1": {"listings": {
                "status": "SUCCEEDED", "executionArn": "arn:aws:states:eu-west-1:111111111111:execution:dpc-listings:r1",
                "stopDate": T0}}}},
            "dataProducts": {"raw": {"RD1": {"status": "ARRIVED", "refreshedAt": "2026-11-26T04:10:00Z"}}}
        });
        let change = crate::events::ExecutionStatusChange {
            execution_arn: "arn:aws:states:eu-west-1:333333333333:execution:dpc-pipeline-x:x1"
                .into(),
            state_machine_arn: "arn:aws:states:eu-west-1:333333333333:stateMachine:dpc-pipeline-x"
                .into(),
            name: None,
            status: "FAILED".into(),
            start_date: Some(T0),
            stop_date: Some(T0 + 1000),
            input: Some(input.to_string()),
            redrive_count: None,
        };
        let run = RunView::from_status(
            &change,
            "pipeline-x",
            "analytics",
            "333333333333",
            "eu-west-1",
        );
        assert_eq!(run.execution_name, "x1");
        assert_eq!(run.status, Status::Failed);
        let StartedBy::Trigger {
            trigger_id,
            upstreams,
        } = &run.started_by
        else {
            panic!("{:?}", run.started_by);
        };
        assert_eq!(trigger_id, "t-1");
        let labels: Vec<&str> = upstreams.iter().map(|u| u.label.as_str()).collect();
        assert_eq!(labels, ["listings", "raw/RD1"]);
        assert_eq!(upstreams[1].at_ms, T0 - 50 * 60_000);
        let scheduled =
            serde_json::json!({"run": {"type": "SCHEDULED", "time": "2026-11-26T05:00:00Z"}});
        assert_eq!(
            StartedBy::from_input(&scheduled, 0),
            StartedBy::Schedule { at_ms: T0 }
        );
        assert_eq!(
            StartedBy::from_input(&serde_json::Value::Null, 0),
            StartedBy::Manual
        );
    }

    /// Everything rendered for a run, as text.
    fn everything(run: &RunView) -> String {
        let steps = steps();
        let mut all = vec![
            slack::root(run),
            slack::root_update(run),
            slack::final_message(run),
            opsgenie::alert(run),
            opsgenie::close(run),
        ];
        all.extend(steps.iter().map(|s| slack::step(run, s)));
        let mut text: String = all.iter().map(|v| v.to_string()).collect();
        text.push_str(&email::subject(run));
        text.push_str(&email::body(run, &steps));
        text
    }

    #[test]
    fn renders_are_deterministic_and_carry_no_secrets() {
        for status in Status::ALL {
            let run = triggered(status);
            let text = everything(&run);
            assert_eq!(text, everything(&run.clone()), "{status:?}");
            // Renderers see no token, input or credentials: nothing of the kind comes out.
            for secret in [
                "xoxb-", "xoxp-", "AKIA", "Bearer", "GenieKey", "token", "password",
            ] {
                assert!(!text.contains(secret), "{secret} in {status:?} render");
            }
        }
    }
}
