//! Validated model types: what `validate` produces from raw types and what every later stage
//! (compiler, trigger manager, scenarios) consumes. Values here already obey every rule
//! of pipeline.yaml: statuses are canonical, schedules parsed, leaves merged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::cron::{Cron, Rate};
pub use crate::pipeline::raw::{Channel, ComputeType, NotificationType, Operator, StepType};

/// One validated pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    pub team: String,
    pub account: Option<String>,
    pub region: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub trigger: Option<Trigger>,
    pub compute: Compute,
    pub steps: Vec<Step>,
    pub notifications: Option<Notifications>,
    pub publish: Vec<DataProduct>,
    pub sla: Option<Sla>,
    /// The `pipeline.yaml` this came from.
    pub file: PathBuf,
    /// The project directory (scripts are relative to it).
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Trigger {
    pub schedule: Option<Schedule>,
    pub executions: Option<Condition<ExecutionLeaf>>,
    pub data_products: Option<Condition<DataProductLeaf>>,
    pub window: Window,
    /// Manual upstream runs count too (`propagate: [MANUAL]`).
    pub propagate_manual: bool,
}

impl Trigger {
    /// True when the trigger waits on other pipelines or data products.
    pub fn has_dependencies(&self) -> bool {
        self.executions.is_some() || self.data_products.is_some()
    }
}

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleExpr {
    Cron(Cron),
    Rate(Rate),
}

impl ScheduleExpr {
    /// The EventBridge expression: `cron(...)` or `rate(...)`.
    pub fn expression(&self) -> String {
        match self {
            ScheduleExpr::Cron(c) => c.expression(),
            ScheduleExpr::Rate(r) => r.expression(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub expr: ScheduleExpr,
    /// IANA zone; `None` is UTC (a scheduled rule), `Some` an EventBridge Scheduler schedule.
    pub timezone: Option<String>,
}

impl Schedule {
    /// Seconds between consecutive fire times after `from` (naive, in the schedule's clock).
    pub fn period_hint(&self, from: chrono::NaiveDateTime) -> Option<i64> {
        match &self.expr {
            ScheduleExpr::Rate(r) => i64::try_from(r.period_seconds()).ok(),
            ScheduleExpr::Cron(c) => {
                let times = c.upcoming(from, 3);
                let [_, b, c2] = times.as_slice() else {
                    return None;
                };
                Some((*c2 - *b).num_seconds())
            }
        }
    }
}

/// A condition over leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition<L> {
    pub all_of: Vec<L>,
    pub any_of: Vec<L>,
    /// How `all_of` and `any_of` combine when both are non-empty.
    pub operator: Operator,
}

impl<L> Condition<L> {
    pub fn leaves(&self) -> impl Iterator<Item = &L> {
        self.all_of.iter().chain(self.any_of.iter())
    }
}

/// Canonical execution statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Aborted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }

    /// Every spelling users may write, canonicalised.
    pub const ALIASES: [(&'static str, Status); 14] = [
        ("RUNNING", Status::Running),
        ("SUCCEEDED", Status::Succeeded),
        ("SUCCESS", Status::Succeeded),
        ("COMPLETED", Status::Succeeded),
        ("FAILED", Status::Failed),
        ("FAILURE", Status::Failed),
        ("ERROR", Status::Failed),
        ("TIMED_OUT", Status::TimedOut),
        ("TIMEOUT", Status::TimedOut),
        ("ABORTED", Status::Aborted),
        ("STOPPED", Status::Aborted),
        ("CANCELLED", Status::Aborted),
        ("CANCELED", Status::Aborted),
        ("TIMEDOUT", Status::TimedOut),
    ];

    /// Canonicalises a status name (case-insensitive).
    pub fn parse(name: &str) -> Option<Status> {
        let upper = name.trim().to_ascii_uppercase();
        Self::ALIASES
            .iter()
            .find(|(a, _)| *a == upper)
            .map(|(_, s)| *s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An upstream pipeline's run statuses that satisfy a leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionLeaf {
    pub name: String,
    /// `None`: this pipeline's account.
    pub account: Option<String>,
    /// `None`: this pipeline's region.
    pub region: Option<String>,
    /// Sorted, without repeats, never empty.
    pub statuses: Vec<Status>,
}

/// A data product refresh leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProductLeaf {
    pub domain: String,
    pub name: String,
    pub account: Option<String>,
}

/// Which upstream results count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Window {
    /// Since this pipeline was last triggered (or, with a schedule, since the period began).
    SinceLastTrigger,
    /// Results younger than this many seconds.
    Within(u64),
    /// Partial progress is discarded at each fire time of this cron.
    ResetAt {
        cron: Cron,
        timezone: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compute {
    Emr(EmrSettings),
    Glue(GlueSettings),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmrSettings {
    pub release_label: String,
    pub instance_type: String,
    pub instance_count: u32,
    pub subnet_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueSettings {
    pub version: String,
    pub worker_type: String,
    pub number_of_workers: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub kind: StepType,
    pub script: Script,
    pub args: Vec<String>,
    pub timeout_seconds: u64,
    pub retries: u32,
    pub local_command: Option<String>,
}

/// Where a step's script lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script {
    /// Relative to the project directory; uploaded on deploy.
    Local(PathBuf),
    S3 {
        bucket: String,
        key: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifications {
    pub kind: NotificationType,
    pub targets: Vec<NotificationTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTarget {
    pub channel: Channel,
    pub addresses: Vec<String>,
}

/// A data product `(domain, name)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataProduct {
    pub domain: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    /// Minutes after local midnight.
    pub expected_by_minutes: u32,
    pub timezone: Option<String>,
}

/// A validated `dpc.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub central: Option<Central>,
    pub region: Option<String>,
    pub accounts: BTreeMap<String, AccountAccess>,
    pub pattern_length_limit: usize,
    pub file: Option<PathBuf>,
    /// Where OpenLineage run events go (`None`: the default file of `dpc local run`).
    pub lineage: Option<Lineage>,
}

/// An OpenLineage transport of `dpc.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lineage {
    /// JSON lines in this file (`None`: beside the local store).
    File(Option<PathBuf>),
    /// POST each event to this http(s) URL.
    Http(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Central {
    pub account: String,
    pub region: String,
    pub bus: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountAccess {
    RoleArn(String),
    Profile(String),
}

/// The AWS default maximum event pattern length.
pub const DEFAULT_PATTERN_LENGTH: usize = 2048;
