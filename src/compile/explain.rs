//! `dpc explain`, the pure part: reads a pipeline with its compiled pattern and schedule, and
//! "now" (passed in, never read from a clock), and produces what its trigger means for people:
//! the condition as a tree in words, the schedule with its next fire times in UTC and in its
//! time zone, and the pattern with its size.

use std::fmt::{self, Write as _};

use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

use super::schedule::ScheduleKind;
use super::template::window_text;
use super::{Compiled, Env};
use crate::pattern::MAX_COMBINATIONS;
use crate::pipeline::model::{
    Condition, DataProductLeaf, ExecutionLeaf, Operator, ScheduleExpr, Window,
};

/// How many fire times to show.
pub const FIRE_TIMES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub pipeline: String,
    /// The condition, one line per node, indented by depth.
    pub condition: Vec<String>,
    pub schedule: Option<ScheduleInfo>,
    pub pattern: Option<PatternInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScheduleInfo {
    pub expression: String,
    pub timezone: String,
    /// `start`: the schedule starts the pipeline; `period`: at most one triggered run per period.
    pub role: String,
    /// Next fire times: (UTC, local), RFC 3339.
    pub next: Vec<FireTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FireTime {
    pub utc: String,
    pub local: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatternInfo {
    pub pattern: Value,
    pub length: usize,
    pub max_length: usize,
    pub combinations: usize,
    pub max_combinations: usize,
}

/// Explains `env`'s pipeline as of `now` (UTC).
pub fn explain(env: &Env, compiled: &Compiled, now: NaiveDateTime) -> Explanation {
    Explanation {
        pipeline: env.name().to_string(),
        condition: condition_lines(env),
        schedule: schedule_info(env, compiled, now),
        pattern: compiled.pattern.as_ref().map(|p| PatternInfo {
            pattern: p.json.clone(),
            length: p.length,
            max_length: p.max_length,
            combinations: p.combinations,
            max_combinations: MAX_COMBINATIONS,
        }),
    }
}

fn condition_lines(env: &Env) -> Vec<String> {
    let Some(trigger) = &env.pipeline.trigger else {
        return vec!["no trigger: runs only when started by hand (or `dpc rerun`)".into()];
    };
    let mut lines = Vec::new();
    let blocks =
        usize::from(trigger.executions.is_some()) + usize::from(trigger.data_products.is_some());
    let indent = if blocks > 1 {
        lines.push("runs when BOTH hold:".into());
        1
    } else {
        0
    };
    if let Some(exec) = &trigger.executions {
        block(&mut lines, indent, "upstream runs", exec, |l| {
            execution_words(env, l)
        });
    }
    if let Some(dps) = &trigger.data_products {
        block(&mut lines, indent, "data products", dps, data_product_words);
    }
    if trigger.has_dependencies() {
        lines.push(window_words(&trigger.window, trigger.schedule.is_some()));
    } else if trigger.schedule.is_some() {
        lines.push("runs on its schedule".into());
    }
    lines
}

fn block<L>(
    lines: &mut Vec<String>,
    indent: usize,
    what: &str,
    c: &Condition<L>,
    words: impl Fn(&L) -> String,
) {
    let pad = |n: usize| "  ".repeat(n);
    let list = |lines: &mut Vec<String>, depth: usize, title: &str, leaves: &[L]| {
        lines.push(format!("{}{title}", pad(depth)));
        lines.extend(
            leaves
                .iter()
                .map(|l| format!("{}- {}", pad(depth + 1), words(l))),
        );
    };
    match (c.all_of.is_empty(), c.any_of.is_empty()) {
        (false, true) => list(lines, indent, &format!("{what}: ALL of"), &c.all_of),
        (true, false) => list(lines, indent, &format!("{what}: ANY of"), &c.any_of),
        _ => {
            let op = if c.operator == Operator::And {
                "AND"
            } else {
                "OR"
            };
            lines.push(format!("{}{what}: {op} of", pad(indent)));
            list(lines, indent + 1, "ALL of", &c.all_of);
            list(lines, indent + 1, "ANY of", &c.any_of);
        }
    }
}

fn execution_words(env: &Env, leaf: &ExecutionLeaf) -> String {
    let statuses: Vec<&str> = leaf.statuses.iter().map(|s| s.as_str()).collect();
    format!(
        "{} ({}, {}) latest run {}",
        leaf.name,
        leaf.account
            .as_deref()
            .unwrap_or(env.account.unwrap_or("this account")),
        leaf.region
            .as_deref()
            .unwrap_or(env.region.unwrap_or("this region")),
        statuses.join(" or ")
    )
}

fn data_product_words(leaf: &DataProductLeaf) -> String {
    let from = leaf
        .account
        .as_deref()
        .map(|a| format!(" from {a}"))
        .unwrap_or_default();
    format!("{}/{}{from} refreshed", leaf.domain, leaf.name)
}

fn window_words(window: &Window, scheduled: bool) -> String {
    match window {
        Window::SinceLastTrigger if scheduled => {
            "counting results since the current schedule period began; at most one run per period"
                .into()
        }
        Window::SinceLastTrigger => {
            "counting results since this pipeline was last triggered".into()
        }
        other => format!("window: {}", window_text(other)),
    }
}

fn schedule_info(env: &Env, compiled: &Compiled, now: NaiveDateTime) -> Option<ScheduleInfo> {
    let artifact = compiled.schedule.as_ref()?;
    let schedule = env.pipeline.trigger.as_ref()?.schedule.as_ref()?;
    let timezone = artifact.timezone(schedule.timezone.as_deref());
    let tz: Tz = timezone.parse().unwrap_or(Tz::UTC);
    let next = match &schedule.expr {
        ScheduleExpr::Cron(cron) => {
            let local_now = Utc.from_utc_datetime(&now).with_timezone(&tz).naive_local();
            cron.upcoming(local_now, FIRE_TIMES + 2)
                .into_iter()
                // A local time skipped by DST does not fire; a repeated one fires once (first).
                .filter_map(|t| tz.from_local_datetime(&t).earliest())
                .take(FIRE_TIMES)
                .map(|t| FireTime {
                    utc: t.with_timezone(&Utc).to_rfc3339(),
                    local: t.to_rfc3339(),
                })
                .collect()
        }
        // A rate counts from when the schedule is created, which synth cannot know.
        ScheduleExpr::Rate(_) => Vec::new(),
    };
    Some(ScheduleInfo {
        expression: artifact.expression.clone(),
        timezone,
        role: if artifact.kind == ScheduleKind::Period {
            "period"
        } else {
            "start"
        }
        .into(),
        next,
    })
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "pipeline {}", self.pipeline)?;
        writeln!(f, "trigger:")?;
        for line in &self.condition {
            writeln!(f, "  {line}")?;
        }
        if let Some(s) = &self.schedule {
            write_schedule(f, s)?;
        }
        if let Some(p) = &self.pattern {
            let pretty = serde_json::to_string_pretty(&p.pattern).unwrap_or_default();
            writeln!(
                f,
                "trigger pattern ({} of {} characters, {} of {} $or combinations):",
                p.length, p.max_length, p.combinations, p.max_combinations
            )?;
            for line in pretty.lines() {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

fn write_schedule(f: &mut fmt::Formatter<'_>, s: &ScheduleInfo) -> fmt::Result {
    let role = if s.role == "period" {
        "the period: at most one triggered run each"
    } else {
        "starts the pipeline"
    };
    writeln!(f, "schedule: {} in {} ({role})", s.expression, s.timezone)?;
    if s.next.is_empty() {
        return writeln!(f, "  a rate counts from deployment: no fixed fire times");
    }
    let mut line = String::new();
    writeln!(
        f,
        "  next {} fire times (UTC | {}):",
        s.next.len(),
        s.timezone
    )?;
    for t in &s.next {
        line.clear();
        let _ = write!(line, "  - {} | {}", t.utc, t.local);
        writeln!(f, "{line}")?;
    }
    Ok(())
}
