//! OpsGenie: reads a [`RunView`] and produces the Alert API's create body (alias per run, so
//! the same run's later events deduplicate into it and its success closes it) and the close
//! body (`POST /v2/alerts/{alias}/close?identifierType=alias`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{RunView, StartedBy, Status, clip, started_by, time, upstream_line};
use crate::compile::names;

/// OpsGenie's limits.
const MESSAGE_MAX: usize = 130;
const ALIAS_MAX: usize = 512;
const DESCRIPTION_MAX: usize = 15_000;

/// `dpc-<account>-<pipeline>-<execution name>`: the same for every event of one run (a redrive
/// keeps the execution's name).
pub fn alias(run: &RunView) -> String {
    names::fit(
        &format!(
            "dpc-{}-{}-{}",
            run.account, run.pipeline, run.execution_name
        ),
        ALIAS_MAX,
    )
}

/// P2 for FAILED and TIMED_OUT, P3 for ABORTED, P5 otherwise.
pub fn priority(status: Status) -> &'static str {
    match status {
        Status::Failed | Status::TimedOut => "P2",
        Status::Aborted => "P3",
        Status::Running | Status::Succeeded => "P5",
    }
}

/// The create-alert body.
pub fn alert(run: &RunView) -> Value {
    let mut message = format!("{} {}", run.pipeline, run.outcome());
    if let Some(why) = run.why().filter(|_| run.is_failure()) {
        message.push_str(&format!(": {why}"));
    }
    let mut description = String::new();
    if let Some(why) = run.why() {
        description.push_str(&format!("Why: {why}\n\n"));
    }
    description.push_str(&format!(
        "Started by {} at {}.\n",
        started_by(run),
        time(run.started_ms)
    ));
    if let StartedBy::Trigger { upstreams, .. } = &run.started_by {
        for u in upstreams {
            description.push_str(&format!("- {}\n", upstream_line(u)));
        }
    }
    description.push_str(&format!(
        "\nExecution: {}\nLogs: {}\n",
        run.execution_url(),
        run.logs_url()
    ));
    if let Some(cause) = &run.cause {
        description.push_str(&format!("\nCause:\n{}\n", cause.trim()));
    }
    let mut details = BTreeMap::from([
        ("pipeline", run.pipeline.clone()),
        ("team", run.team.clone()),
        ("account", run.account.clone()),
        ("region", run.region.clone()),
        ("status", run.status.as_str().to_string()),
        ("executionArn", run.execution_arn.clone()),
        ("startedBy", started_by(run)),
        ("executionUrl", run.execution_url()),
        ("logsUrl", run.logs_url()),
    ]);
    if let Some(e) = &run.error {
        details.insert("error", e.clone());
    }
    json!({
        "message": clip(&message, MESSAGE_MAX),
        "alias": alias(run),
        "description": clip(&description, DESCRIPTION_MAX),
        "priority": priority(run.status),
        "source": "dpc",
        "entity": run.pipeline,
        "tags": ["dpc", format!("team:{}", run.team), format!("pipeline:{}", run.pipeline), run.status.as_str()],
        "details": details,
    })
}

/// The close body for the run's alert, once the run succeeded.
pub fn close(run: &RunView) -> Value {
    json!({
        "alias": alias(run),
        "identifierType": "alias",
        "source": "dpc",
        "note": format!("{} {}", run.pipeline, run.outcome()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn alert_for_a_failed_run() {
        insta::assert_json_snapshot!(alert(&triggered(Status::Failed)));
    }

    #[test]
    fn a_later_success_of_the_run_closes_its_alert() {
        let failed = triggered(Status::Failed);
        let redriven = RunView {
            status: Status::Succeeded,
            error: None,
            cause: None,
            ..failed.clone()
        };
        let closing = close(&redriven);
        assert_eq!(closing["alias"], alert(&failed)["alias"]);
        insta::assert_json_snapshot!(closing);
    }
}
