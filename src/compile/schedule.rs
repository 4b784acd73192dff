//! The schedule: reads a pipeline's `trigger.schedule` and produces the
//! `schedule.json` artifact and the facts the template needs.
//!
//! A schedule alone starts the pipeline: in UTC through a scheduled `AWS::Events::Rule` on the
//! default bus, in another time zone through an `AWS::Scheduler::Schedule` with
//! `ScheduleExpressionTimezone` (a skipped local time is skipped, a repeated one runs once).
//! The start passes `{"run": {"type": "SCHEDULED", "triggerId": "schedule-<time>", "time":
//! <time>}}`: the trigger id is the scheduled time, so a duplicated delivery of one tick is
//! claimed once. A schedule together with executions or data products starts nothing: it is
//! the period the trigger manager allows at most one run in (role `period`).

use serde_json::{Value, json};

use super::Env;
use crate::pipeline::model::Schedule;

/// What a schedule compiles to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleKind {
    /// A scheduled rule on the default bus (UTC).
    Rule,
    /// An EventBridge Scheduler schedule in a time zone.
    Scheduler { timezone: String },
    /// No resource: the trigger manager's period for a dependency trigger.
    Period,
}

/// A compiled schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleArtifact {
    /// `cron(...)` or `rate(...)`.
    pub expression: String,
    pub kind: ScheduleKind,
}

/// The execution input of a scheduled rule's target (an input transformer over `$.time`).
pub const RULE_INPUT_TEMPLATE: &str =
    r#"{"run": {"type": "SCHEDULED", "triggerId": "schedule-<time>", "time": "<time>"}}"#;
/// The execution input of a Scheduler target (Scheduler fills in its context attribute).
pub const SCHEDULER_INPUT: &str = r#"{"run": {"type": "SCHEDULED", "triggerId": "schedule-<aws.scheduler.scheduled-time>", "time": "<aws.scheduler.scheduled-time>"}}"#;

/// The pipeline's schedule, if it has one.
pub fn compile(env: &Env) -> Option<ScheduleArtifact> {
    let trigger = env.pipeline.trigger.as_ref()?;
    let schedule = trigger.schedule.as_ref()?;
    let kind = if trigger.has_dependencies() {
        ScheduleKind::Period
    } else {
        kind_of(schedule)
    };
    Some(ScheduleArtifact {
        expression: schedule.expr.expression(),
        kind,
    })
}

fn kind_of(schedule: &Schedule) -> ScheduleKind {
    match &schedule.timezone {
        // `UTC` spelled out is still UTC: the cheaper scheduled rule does it.
        Some(tz) if tz != "UTC" && tz != "Etc/UTC" => ScheduleKind::Scheduler {
            timezone: tz.clone(),
        },
        _ => ScheduleKind::Rule,
    }
}

impl ScheduleArtifact {
    /// The IANA time zone the expression is read in.
    pub fn timezone(&self, schedule_tz: Option<&str>) -> String {
        match &self.kind {
            ScheduleKind::Scheduler { timezone } => timezone.clone(),
            _ => schedule_tz.unwrap_or("UTC").to_string(),
        }
    }

    /// The `schedule.json` artifact.
    pub fn to_json(&self, schedule_tz: Option<&str>) -> Value {
        let (resource, role, input) = match &self.kind {
            ScheduleKind::Rule => ("AWS::Events::Rule", "start", json!(RULE_INPUT_TEMPLATE)),
            ScheduleKind::Scheduler { .. } => {
                ("AWS::Scheduler::Schedule", "start", json!(SCHEDULER_INPUT))
            }
            ScheduleKind::Period => ("", "period", Value::Null),
        };
        json!({
            "expression": self.expression,
            "timezone": self.timezone(schedule_tz),
            "role": role,
            "resource": if resource.is_empty() { Value::Null } else { json!(resource) },
            "input": input,
        })
    }
}

/// `schedule.json` for a pipeline without a schedule.
pub fn none_json() -> Value {
    json!({"expression": null, "role": "none"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cron::Cron;
    use crate::pipeline::model::ScheduleExpr;

    fn schedule(tz: Option<&str>) -> Schedule {
        Schedule {
            expr: ScheduleExpr::Cron(Cron::parse("0 3 * * ? *").unwrap()),
            timezone: tz.map(str::to_string),
        }
    }

    #[test]
    fn utc_is_a_rule_and_a_zone_is_a_scheduler_schedule() {
        assert_eq!(kind_of(&schedule(None)), ScheduleKind::Rule);
        assert_eq!(kind_of(&schedule(Some("UTC"))), ScheduleKind::Rule);
        assert_eq!(
            kind_of(&schedule(Some("Europe/Berlin"))),
            ScheduleKind::Scheduler {
                timezone: "Europe/Berlin".into()
            }
        );
    }

    #[test]
    fn inputs_are_json_once_filled_in() {
        let filled = RULE_INPUT_TEMPLATE.replace("<time>", "2026-01-01T03:00:00Z");
        let v: Value = serde_json::from_str(&filled).unwrap();
        assert_eq!(v["run"]["type"], "SCHEDULED");
        let filled = SCHEDULER_INPUT.replace("<aws.scheduler.scheduled-time>", "t");
        assert_eq!(
            serde_json::from_str::<Value>(&filled).unwrap()["run"]["triggerId"],
            "schedule-t"
        );
    }
}
