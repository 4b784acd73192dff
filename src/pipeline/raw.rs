//! Raw `pipeline.yaml` and `dpc.yaml` types, exactly as written by users (serde, unknown keys
//! denied). The JSON Schema in `schemas/` is generated from these types, so their doc comments
//! are the hover help editors show. Only `validate` turns them into model types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A dpc data pipeline: its steps, how it is triggered and who is alerted. One file, one pipeline.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "dpc pipeline.yaml")]
pub struct Pipeline {
    /// Pipeline name: lowercase letters, digits and hyphens, starting with a letter, at most
    /// 64 characters. Unique per account and region; the state machine is `dpc-<name>`.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]*$"), length(min = 1, max = 64))]
    pub name: String,
    /// What the pipeline produces, for people (at most 1024 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Owning team; used in tags, alerts and `dpc status`.
    pub team: String,
    /// AWS account id (12 digits, quoted) the pipeline is deployed to. Default: the deploying
    /// credentials' account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub account: Option<String>,
    /// AWS region, e.g. `eu-west-1`. Default: the deploying region (or `region` in dpc.yaml).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Extra tags for every resource of the pipeline's stack (`team`, `pipeline` and the dpc
    /// version are added).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// When the pipeline starts. Absent: it only runs when started by hand (`dpc rerun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// What the steps run on. Default: `NONE` (a pipeline without steps, e.g. an alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    /// The steps, run in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Who is alerted, and about what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications: Option<Notifications>,
    /// Data products refreshed by every SUCCEEDED run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Publish>,
    /// Alert when there is no SUCCEEDED run by a time of day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<Sla>,
}

/// How the pipeline is triggered. `schedule`, `executions` and `dataProducts` combine: with a
/// schedule and dependencies the pipeline runs at most once per schedule period, as soon as all
/// dependencies have arrived since the period began.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Trigger {
    /// A time-based schedule (EventBridge cron or rate; with `timezone`, EventBridge Scheduler).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Run statuses of other pipelines, in any account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executions: Option<Block<ExecutionLeaf>>,
    /// Refresh events of data products. With `executions`, both must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_products: Option<Block<DataProductLeaf>>,
    /// Which upstream results count. Default: those since this pipeline was last triggered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Run types of upstream runs that count besides scheduled, triggered and rerun ones.
    /// `[MANUAL]` also counts runs started by hand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub propagate: Vec<RunType>,
}

/// A schedule: either the field form (`minute`, `hour`, `day`, `month`, `weekDay`, `year`), or
/// a raw `cron`, or a `rate`. `{hour: 3}` means daily at 03:00.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Schedule {
    /// Minute 0-59 (default 0): a number, range `0-30`, list `0,30`, step `0/15` or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minute: Option<CronField>,
    /// Hour 0-23: a number, range, list, step or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hour: Option<CronField>,
    /// Day of month 1-31: a number, range, list, step, `*`, `L` (last day) or `15W` (nearest weekday).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<CronField>,
    /// Month 1-12 or JAN-DEC: a number, range, list, step or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<CronField>,
    /// Day of week 1-7 (1 = SUN) or SUN-SAT: a number, range, list, `L`, or `MON#2` (second Monday).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub week_day: Option<CronField>,
    /// Year 1970-2199: a number, range, list, step or `*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<CronField>,
    /// A raw six-field EventBridge cron expression, e.g. `0 3 * * ? *` (with or without `cron(...)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// A rate, e.g. `6 hours`, `1 day`, `15 minutes` (singular for 1, plural otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// IANA time zone, e.g. `Europe/Berlin`. Without it the schedule is in UTC; with it the
    /// schedule becomes an EventBridge Scheduler schedule (a time skipped by a DST change is
    /// skipped, a repeated one runs once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// One field of the schedule's field form.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CronField {
    /// A single value, e.g. `3`.
    Number(i64),
    /// Cron syntax: `1-5`, `0,30`, `0/15`, `*`, `MON-FRI`, `L`, `15W`, `MON#2`.
    Text(String),
    /// A list of values, e.g. `[0, 30]` or `[MON, WED]`.
    List(Vec<CronAtom>),
}

/// One item of a schedule field list.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CronAtom {
    Number(i64),
    Text(String),
}

/// A condition over leaves: `allOf` (every leaf holds), `anyOf` (at least one holds), or both
/// combined with `operator`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(
    deny_unknown_fields,
    rename_all = "camelCase",
    bound(deserialize = "T: Deserialize<'de>")
)]
#[schemars(rename = "{T}Block")]
pub struct Block<T> {
    /// Holds when every leaf holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_of: Option<Vec<T>>,
    /// Holds when at least one leaf holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<T>>,
    /// How `allOf` and `anyOf` combine when both are given (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Operator>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operator {
    And,
    Or,
}

/// An upstream pipeline run. Holds when the latest run of that pipeline inside the window has
/// one of the statuses.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecutionLeaf {
    /// The upstream pipeline's name.
    pub name: String,
    /// The upstream's account (12 digits, quoted). Default: this pipeline's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The upstream's region. Default: this pipeline's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Statuses that satisfy the leaf (default `[SUCCEEDED]`): SUCCEEDED (also SUCCESS,
    /// COMPLETED), FAILED (FAILURE, ERROR), TIMED_OUT (TIMEOUT), ABORTED (STOPPED, CANCELLED),
    /// RUNNING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusList>,
}

/// One status or a list of statuses.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusList {
    One(String),
    Many(Vec<String>),
}

/// A data product refresh. Holds when a refresh event for `(domain, name)` arrived inside the window.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataProductLeaf {
    /// The data product's domain, e.g. `raw`.
    pub domain: String,
    /// The data product's name within its domain, e.g. `RD1`.
    pub name: String,
    /// Only count refreshes from this account (12 digits, quoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

/// Which upstream results count: `within` a duration, or since the last `resetAt` time.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Window {
    /// A result older than this no longer counts, e.g. `24h`, `90m`, `2d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// Discard partial progress at this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at: Option<ResetAt>,
}

/// A reset time for partial progress.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetAt {
    /// A six-field EventBridge cron expression, e.g. `0 0 * * ? *`.
    pub cron: String,
    /// IANA time zone of the cron expression (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// How an execution was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunType {
    /// Started by hand outside dpc (console, API).
    Manual,
}

/// What the steps run on.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Compute {
    /// `EMR` (a transient cluster per run), `GLUE` (Glue job runs) or `NONE`.
    #[serde(rename = "type")]
    pub kind: ComputeType,
    /// EMR cluster settings (for `type: EMR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emr: Option<EmrSettings>,
    /// Glue job settings (for `type: GLUE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub glue: Option<GlueSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ComputeType {
    Emr,
    Glue,
    None,
}

/// A transient EMR cluster created for each run and terminated after it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmrSettings {
    /// EMR release, e.g. `emr-7.5.0`.
    pub release_label: String,
    /// EC2 instance type of every node, e.g. `m5.xlarge`.
    pub instance_type: String,
    /// Number of instances (1 primary + core nodes), 1-100. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_count: Option<i64>,
    /// Subnet to launch the cluster in (`subnet-…`). Default: the account's default VPC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
}

/// Glue job settings shared by the pipeline's GLUE steps.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GlueSettings {
    /// Glue version, e.g. `4.0` or `5.0` (default `5.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Worker type: G.025X, G.1X, G.2X, G.4X, G.8X or Z.2X (default G.1X).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_type: Option<String>,
    /// Number of workers, 2-299 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_workers: Option<i64>,
}

/// One step of the pipeline.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Step {
    /// Step name, unique in the pipeline: letters, digits, `-` and `_`, at most 64 characters.
    pub name: String,
    /// `SPARK` (spark-submit on the EMR cluster), `SHELL` (a script on the EMR cluster) or
    /// `GLUE` (a Glue job run).
    #[serde(rename = "type")]
    pub kind: StepType,
    /// The script: a path relative to the project (uploaded to the artifacts bucket) or an
    /// `s3://bucket/key` URI.
    pub script: String,
    /// Arguments. Placeholders: `{{run.date}}`, `{{run.time}}`, `{{run.id}}`, `{{run.type}}`,
    /// `{{run.triggerId}}`, `{{pipeline.name}}`, `{{pipeline.account}}`, `{{pipeline.region}}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Maximum run time, e.g. `2h`, `30m`, `1h30m` (1 minute to 7 days). Default `1h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Retries on failure, with exponential backoff, 0-10. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    /// How the step runs on a developer's machine instead of on AWS (validated; no dpc command
    /// runs it yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalRun>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum StepType {
    Spark,
    Shell,
    Glue,
}

/// A shell command that stands in for the step on a developer's machine (placeholders as in
/// `args`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LocalRun {
    /// The command line, run with the project directory as working directory.
    pub command: String,
}

/// Who is alerted, and about what.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Notifications {
    /// `FULL_EXECUTION` (every step), `PIPELINE_STATUS` (start and end) or `FAILURE_ONLY`.
    #[serde(rename = "type")]
    pub kind: NotificationType,
    /// Where alerts go.
    pub targets: Vec<NotificationTarget>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    FullExecution,
    PipelineStatus,
    FailureOnly,
}

/// A notification channel and its addresses.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NotificationTarget {
    /// `SLACK` (channel names), `EMAIL` (email addresses) or `OPSGENIE` (https integration URLs).
    pub channel: Channel,
    /// Slack channel names, email addresses or OpsGenie URLs.
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Channel {
    Slack,
    Email,
    Opsgenie,
}

/// Data products this pipeline refreshes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Publish {
    /// One refresh event per data product is emitted on every SUCCEEDED run.
    pub data_products: Vec<DataProductRef>,
}

/// A data product `(domain, name)`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DataProductRef {
    /// Domain: letters, digits, `_`, `.` and `-`, at most 128 characters.
    pub domain: String,
    /// Name within the domain: letters, digits, `_`, `.` and `-`, at most 128 characters.
    pub name: String,
}

/// A service level: alert when there is no SUCCEEDED run by a time of day.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Sla {
    /// Time of day, `HH:MM` (24 h), e.g. `"07:00"`.
    pub expected_by: String,
    /// IANA time zone of `expectedBy` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// `dpc.yaml`: what a tree of projects shares.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "dpc.yaml")]
pub struct Config {
    /// The central account that hosts the trigger manager and the central bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub central: Option<Central>,
    /// Default region of every pipeline in the tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// How to reach each account when one CI deploys to many: `{"111111111111": {roleArn: …}}`
    /// or `{profile: …}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub accounts: BTreeMap<String, AccountAccess>,
    /// Limits enforced by the compiler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,
    /// Where the OpenLineage events of runs go (default: `dpc local run` writes JSON lines to
    /// `lineage.jsonl` beside its store; the central account sends none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// Where OpenLineage run events go.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Lineage {
    /// `file`: one JSON event per line in `path`; `http`: each event POSTed to `url`
    /// (e.g. Marquez's `http://marquez:5000/api/v1/lineage`).
    pub transport: LineageTransport,
    /// The JSON-lines file of `transport: file`, relative to the folder dpc runs in (default:
    /// `lineage.jsonl` beside `dpc local run`'s store, `.dpc/lineage.jsonl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The endpoint of `transport: http` (http or https); the central account posts there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// An OpenLineage transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineageTransport {
    File,
    Http,
}

/// The central account.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Central {
    /// Central account id (12 digits, quoted).
    pub account: String,
    /// Central region.
    pub region: String,
    /// Central bus name (default `dpc-central`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<String>,
}

/// Credentials for one account: a role to assume, or a named profile.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AccountAccess {
    /// IAM role to assume, `arn:aws:iam::<account>:role/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// AWS named profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// Compiler limits.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Limits {
    /// Maximum event pattern length: 2048 (the AWS default) or 4096 (after a quota increase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern_length: Option<i64>,
}
