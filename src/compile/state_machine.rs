//! The Step Functions state machine (Amazon States Language, JSONPath, Standard type): reads a
//! pipeline's compute, steps and publish list and produces the definition, plus what it uses
//! (for the least-privilege role).
//!
//! Flow: `Start` makes sure `$.run` exists (a manual start gets type MANUAL and its execution
//! name as trigger id), then `Claim trigger` writes `<pipeline>#<triggerId>` to the account's
//! claims table only if absent; a second delivery of the same trigger fails that condition
//! and ends in `Duplicate` (Succeed) having run no step. `Run context` computes `$.ctx`, the
//! values `{{…}}` placeholders read. EMR creates a transient cluster, adds one step per
//! SPARK/SHELL step and terminates the cluster on success and, through a Catch, on any
//! failure, then fails with the original error; GLUE runs one job run per step. On success,
//! `Publish` puts one refresh event per `publish.dataProducts`.
//!
//! # Step status events (FULL_EXECUTION only)
//! Around each step state `Step <name>`, `Step <name> started` / `succeeded` / `failed` put one
//! step status event ([`events::StepStatusEvent`]) on the
//! account's default bus, where the pipeline's notification rule and the `dpc-account`
//! forwarding rule (to the central bus) see it. `failed` sits between the step's Catch and
//! where the Catch led, carrying `$.error.Error` and `.Cause`. `attempt` is 1 + the
//! execution's redrive count: retries inside a step's Retry policy are not visible to other
//! states. A putEvents that fails is caught and skipped, so the run's outcome never depends on
//! its notifications.
//!
//! # Execution input
//! `{"run": {"type", "triggerId", "time"}, "upstreams"?, "dataProducts"?}`: the trigger rule
//! and the schedules build it (see `template` and `schedule`).
//!
//! # Placeholders in step args
//! `{{run.date}}` = the UTC date of `run.time` (`YYYY-MM-DD`), `{{run.time}}` = `run.time`
//! (ISO-8601, the trigger event's or scheduled time, or the execution start), `{{run.id}}` =
//! the execution name, `{{run.type}}`, `{{run.triggerId}}`: read at run time from `$.ctx`
//! with `States.Format`; `{{pipeline.name|account|region}}` are filled in at compile time.
//!
//! # Definition substitutions
//! `${ClaimsTableName}`, `${ArtifactsBucket}`, `${EmrServiceRole}`, `${EmrInstanceProfile}`,
//! `${AccountId}`, `${Region}` and `${CentralEventBusArn}` are resolved by CloudFormation
//! through the state machine's `DefinitionSubstitutions`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::Env;
use super::names;
use crate::events;
use crate::pipeline::model::{
    Compute, DataProduct, EmrSettings, NotificationType, Script, Step, StepType,
};

pub const CLAIM_STATE: &str = "Claim trigger";
pub const DUPLICATE_STATE: &str = "Duplicate";
const START_STATE: &str = "Start";
const MANUAL_STATE: &str = "Manual start";
const CONTEXT_STATE: &str = "Run context";
const CREATE_CLUSTER: &str = "Create cluster";
const TERMINATE: &str = "Terminate cluster";
const TERMINATE_AFTER_FAILURE: &str = "Terminate cluster after failure";
const SUCCEEDED: &str = "Succeeded";
const FAILED: &str = "Failed";
/// The bus step status events go to: the account's default bus.
pub const STEP_BUS: &str = "default";
/// PutEvents takes at most 10 entries per call.
const EVENTS_PER_CALL: usize = 10;
/// Seconds before the first retry of a failed step; doubles each time (with full jitter).
const RETRY_INTERVAL: u64 = 60;

/// A compiled state machine and the services its states call.
#[derive(Debug, Clone)]
pub struct StateMachine {
    pub definition: Value,
    pub uses: Uses,
}

/// What the states call, for the role's policy and the template's parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    pub emr: bool,
    /// Glue job names, one per GLUE step.
    pub glue_jobs: Vec<String>,
    /// The bus refresh events go to, when the pipeline publishes.
    pub publish_bus: Option<String>,
    /// `DefinitionSubstitutions` keys the definition refers to.
    pub substitutions: BTreeSet<String>,
    /// Step status events are put on the default bus (FULL_EXECUTION).
    pub step_events: bool,
}

/// Keys the template knows how to fill (see the module doc).
pub const SUBSTITUTION_KEYS: &[&str] = &[
    "AccountId",
    "ArtifactsBucket",
    "CentralEventBusArn",
    "ClaimsTableName",
    "EmrInstanceProfile",
    "EmrServiceRole",
    "Region",
];

/// Compiles the state machine of `env`'s pipeline.
pub fn compile(env: &Env) -> StateMachine {
    let mut states = Map::new();
    let mut uses = Uses::default();
    prologue(env, &mut states);
    let after_steps = publish_states(env, &mut states, &mut uses);
    let mut first_step = match &env.pipeline.compute {
        Compute::Emr(emr) => emr_states(env, emr, &after_steps, &mut states, &mut uses),
        Compute::Glue(_) => glue_states(env, &after_steps, &mut states, &mut uses),
        Compute::None => after_steps,
    };
    let full =
        matches!(&env.pipeline.notifications, Some(n) if n.kind == NotificationType::FullExecution);
    if full && !matches!(env.pipeline.compute, Compute::None) && !env.pipeline.steps.is_empty() {
        first_step = step_events(env, &first_step, &mut states);
        uses.step_events = true;
    }
    if let Some(Value::Object(ctx)) = states.get_mut(CONTEXT_STATE) {
        ctx.insert("Next".into(), json!(first_step));
    }
    states.insert(SUCCEEDED.into(), json!({"Type": "Succeed"}));
    // Step Functions refuses a definition with a state nothing leads to.
    if states.values().any(|s| leads_to(s, FAILED)) {
        states.insert(
            FAILED.into(),
            json!({"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}),
        );
    }
    let definition = json!({
        "Comment": format!("dpc pipeline {} (generated by dpc {}; do not edit)", env.name(), env.version),
        "StartAt": START_STATE,
        "States": states,
    });
    uses.substitutions = substitutions_in(&definition.to_string());
    StateMachine { definition, uses }
}

/// Whether a state (its `Next`, `Default` or a `Catch`) leads to `target`.
fn leads_to(state: &Value, target: &str) -> bool {
    let next = |v: &Value| v.get("Next").and_then(Value::as_str) == Some(target);
    next(state)
        || state.get("Default").and_then(Value::as_str) == Some(target)
        || state
            .get("Catch")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(next))
        || state
            .get("Choices")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(next))
}

/// `Start`, `Manual start`, `Claim trigger`, `Duplicate` and `Run context`.
fn prologue(env: &Env, states: &mut Map<String, Value>) {
    states.insert(START_STATE.into(), json!({
        "Type": "Choice",
        "Comment": "Starts by a trigger or a schedule carry run.triggerId; a start by hand does not",
        "Choices": [{"Variable": "$.run.triggerId", "IsPresent": true, "Next": CLAIM_STATE}],
        "Default": MANUAL_STATE,
    }));
    states.insert(MANUAL_STATE.into(), json!({
        "Type": "Pass",
        "Parameters": {"type": "MANUAL", "triggerId.$": "$$.Execution.Name", "time.$": "$$.Execution.StartTime"},
        "ResultPath": "$.run",
        "Next": CLAIM_STATE,
    }));
    states.insert(CLAIM_STATE.into(), claim(env));
    states.insert(
        DUPLICATE_STATE.into(),
        json!({
            "Type": "Succeed",
            "Comment": "This trigger was already claimed by another execution: run nothing",
        }),
    );
    states.insert(
        CONTEXT_STATE.into(),
        json!({
            "Type": "Pass",
            "Parameters": {
                "date.$": "States.ArrayGetItem(States.StringSplit($.run.time, 'T'), 0)",
                "time.$": "$.run.time",
                "id.$": "$$.Execution.Name",
                "type.$": "$.run.type",
                "triggerId.$": "$.run.triggerId",
            },
            "ResultPath": "$.ctx",
        }),
    );
}

/// The conditional write that makes starts idempotent.
fn claim(env: &Env) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:putItem",
        "Parameters": {
            "TableName": "${ClaimsTableName}",
            "Item": {
                "claimId": {"S.$": format!("States.Format('{}#{{}}', $.run.triggerId)", escape(env.name()))},
                "pipeline": {"S": env.name()},
                "triggerId": {"S.$": "$.run.triggerId"},
                "executionArn": {"S.$": "$$.Execution.Id"},
                "claimedAt": {"S.$": "$$.Execution.StartTime"},
            },
            "ConditionExpression": "attribute_not_exists(claimId)",
        },
        "ResultPath": null,
        "Retry": [{
            "ErrorEquals": ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.RequestLimitExceeded", "DynamoDB.InternalServerErrorException"],
            "IntervalSeconds": 2, "MaxAttempts": 5, "BackoffRate": 2.0, "JitterStrategy": "FULL",
        }],
        "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": DUPLICATE_STATE}],
        "Next": CONTEXT_STATE,
    })
}

/// The EMR states; returns the first one's name.
fn emr_states(
    env: &Env,
    emr: &EmrSettings,
    after: &str,
    states: &mut Map<String, Value>,
    uses: &mut Uses,
) -> String {
    uses.emr = true;
    let steps = &env.pipeline.steps;
    let names: Vec<String> = steps.iter().map(step_state).collect();
    states.insert(
        CREATE_CLUSTER.into(),
        create_cluster(env, emr, names.first().map_or(TERMINATE, String::as_str)),
    );
    for (i, step) in steps.iter().enumerate() {
        let next = names.get(i + 1).map_or(TERMINATE, String::as_str);
        states.insert(names[i].clone(), emr_step(env, step, next));
    }
    states.insert(TERMINATE.into(), terminate(after, Some("$.error")));
    states.insert(
        TERMINATE_AFTER_FAILURE.into(),
        terminate(FAILED, Some("$.terminateError")),
    );
    CREATE_CLUSTER.into()
}

fn step_state(step: &Step) -> String {
    format!("Step {}", step.name)
}

fn create_cluster(env: &Env, emr: &EmrSettings, next: &str) -> Value {
    let mut instances = json!({
        "KeepJobFlowAliveWhenNoSteps": true,
        "MasterInstanceType": emr.instance_type,
        "SlaveInstanceType": emr.instance_type,
        "InstanceCount": emr.instance_count,
    });
    if let Some(subnet) = &emr.subnet_id {
        instances["Ec2SubnetId"] = json!(subnet);
    }
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "Parameters": {
            "Name.$": format!("States.Format('dpc-{}-{{}}', $$.Execution.Name)", escape(env.name())),
            "ReleaseLabel": emr.release_label,
            "Applications": [{"Name": "Spark"}],
            "ServiceRole": "${EmrServiceRole}",
            "JobFlowRole": "${EmrInstanceProfile}",
            "LogUri": format!("s3://${{ArtifactsBucket}}/dpc/{}/emr-logs/", env.name()),
            "VisibleToAllUsers": true,
            "Instances": instances,
            "Tags": [
                {"Key": "dpc:pipeline", "Value": env.name()},
                {"Key": "dpc:team", "Value": env.pipeline.team},
            ],
        },
        "ResultSelector": {"ClusterId.$": "$.ClusterId"},
        "ResultPath": "$.cluster",
        // A cluster that failed to start has terminated itself: nothing to clean up.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}],
        "Next": next,
    })
}

fn emr_step(env: &Env, step: &Step, next: &str) -> Value {
    let script = script_uri(env, &step.script);
    let (jar, mut args) = match step.kind {
        StepType::Shell => (
            "s3://${Region}.elasticmapreduce/libs/script-runner/script-runner.jar".to_string(),
            vec![Arg::Literal(script)],
        ),
        _ => (
            "command-runner.jar".to_string(),
            ["spark-submit", "--deploy-mode", "cluster"]
                .map(|s| Arg::Literal(s.into()))
                .into_iter()
                .chain([Arg::Literal(script)])
                .collect(),
        ),
    };
    args.extend(step.args.iter().map(|a| resolve(env, a)));
    let mut jar_step = json!({"Jar": jar});
    put_args(&mut jar_step, &args);
    let mut state = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::elasticmapreduce:addStep.sync",
        "Parameters": {
            "ClusterId.$": "$.cluster.ClusterId",
            "Step": {"Name": step.name, "ActionOnFailure": "CONTINUE", "HadoopJarStep": jar_step},
        },
        "ResultPath": null,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": TERMINATE_AFTER_FAILURE}],
        "Next": next,
    });
    limits(&mut state, step);
    state
}

/// `Args` as a literal array, or built at run time with `States.Array` when an arg is dynamic.
fn put_args(target: &mut Value, args: &[Arg]) {
    if args.iter().all(|a| matches!(a, Arg::Literal(_))) {
        let list: Vec<Value> = args.iter().map(|a| json!(a.literal())).collect();
        target["Args"] = Value::Array(list);
    } else {
        let items: Vec<String> = args.iter().map(Arg::intrinsic).collect();
        target["Args.$"] = json!(format!("States.Array({})", items.join(", ")));
    }
}

/// Terminates the cluster (without waiting: the run's outcome does not depend on it).
fn terminate(next: &str, error_path: Option<&str>) -> Value {
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::elasticmapreduce:terminateCluster",
        "Parameters": {"ClusterId.$": "$.cluster.ClusterId"},
        "ResultPath": null,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2.0}],
        // After a failure the original error stays in $.error; a failed terminate is kept apart.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": error_path, "Next": FAILED}],
        "Next": next,
    })
}

/// Timeout and retries with exponential backoff; a timed-out step is not retried (it would
/// most likely time out again, and its work may still be running).
fn limits(state: &mut Value, step: &Step) {
    state["TimeoutSeconds"] = json!(step.timeout_seconds);
    if step.retries > 0 {
        state["Retry"] = json!([{
            "ErrorEquals": ["States.TaskFailed"],
            "IntervalSeconds": RETRY_INTERVAL,
            "MaxAttempts": step.retries,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        }]);
    }
}

/// Wraps each step state in the states putting its step status events (see the module doc);
/// returns the (possibly renamed) first state of the steps.
fn step_events(env: &Env, first: &str, states: &mut Map<String, Value>) -> String {
    let mut first = first.to_string();
    for step in &env.pipeline.steps {
        let name = step_state(step);
        let [started, succeeded, failed] =
            ["started", "succeeded", "failed"].map(|s| format!("{name} {s}"));
        for state in states.values_mut() {
            redirect(state, &name, &started);
        }
        if first == name {
            first = started.clone();
        }
        let Some(Value::Object(task)) = states.get_mut(&name) else {
            continue;
        };
        let next = task.insert("Next".into(), json!(succeeded));
        let next = next
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let caught = task
            .get_mut("Catch")
            .and_then(|c| c.get_mut(0))
            .and_then(|c| c.get_mut("Next"))
            .map(|n| std::mem::replace(n, json!(failed)));
        let caught = caught
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        states.insert(started.clone(), step_event(env, step, "STARTED", &name));
        states.insert(succeeded, step_event(env, step, "SUCCEEDED", &next));
        states.insert(failed, step_event(env, step, "FAILED", &caught));
    }
    first
}

/// Points `state`'s `Next`, `Default` and Choice/Catch `Next`s at `to` instead of `from`.
fn redirect(state: &mut Value, from: &str, to: &str) {
    let swap = |v: Option<&mut Value>| {
        if let Some(v) = v.filter(|v| v.as_str() == Some(from)) {
            *v = json!(to);
        }
    };
    swap(state.get_mut("Default"));
    swap(state.get_mut("Next"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get_mut(list) {
            for item in items {
                swap(item.get_mut("Next"));
            }
        }
    }
}

/// One step status event, then `next`; a failed put is skipped (`ResultPath: null` keeps the
/// state's input, `$.error` included).
fn step_event(env: &Env, step: &Step, status: &str, next: &str) -> Value {
    let mut detail = json!({
        "pipeline": env.name(),
        "account": env.account.unwrap_or("${AccountId}"),
        "region": env.region.unwrap_or("${Region}"),
        "executionArn.$": "$$.Execution.Id",
        "step": step.name,
        "status": status,
        "attempt.$": "States.MathAdd($$.Execution.RedriveCount, 1)",
        "time.$": "$$.State.EnteredTime",
    });
    if status == "FAILED" {
        detail["error.$"] = json!("$.error.Error");
        detail["cause.$"] = json!("$.error.Cause");
    }
    json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [{
            "EventBusName": STEP_BUS,
            "Source": events::STEP_SOURCE,
            "DetailType": events::STEP_DETAIL_TYPE,
            "Detail": detail,
        }]},
        "ResultPath": null,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": null, "Next": next}],
        "Next": next,
    })
}

/// The Glue job run states; returns the first one's name.
fn glue_states(env: &Env, after: &str, states: &mut Map<String, Value>, uses: &mut Uses) -> String {
    let steps = &env.pipeline.steps;
    let names: Vec<String> = steps.iter().map(step_state).collect();
    for (i, step) in steps.iter().enumerate() {
        let job = glue_job_name(env, step);
        let next = names.get(i + 1).map_or(after, String::as_str);
        let mut state = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::glue:startJobRun.sync",
            "Parameters": {"JobName": job, "Arguments": glue_arguments(env, &step.args)},
            "ResultPath": null,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}],
            "Next": next,
        });
        limits(&mut state, step);
        states.insert(names[i].clone(), state);
        uses.glue_jobs.push(job);
    }
    names.first().cloned().unwrap_or_else(|| after.to_string())
}

/// The Glue job a step runs (created by the template).
pub fn glue_job_name(env: &Env, step: &Step) -> String {
    names::fit(
        &format!("dpc-{}-{}", env.name(), step.name),
        names::GLUE_JOB_MAX,
    )
}

/// Glue takes named arguments: `--key value` and `--key=value` pairs; a `--flag` without a
/// value is `"true"`, and a stray positional value becomes `--arg<i>`.
fn glue_arguments(env: &Env, args: &[String]) -> Value {
    let mut out = Map::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let (key, value) =
            if let Some((k, v)) = arg.split_once('=').filter(|_| arg.starts_with("--")) {
                (k.to_string(), v.to_string())
            } else if arg.starts_with("--") {
                match args.get(i + 1).filter(|next| !next.starts_with("--")) {
                    Some(v) => {
                        i += 1;
                        (arg.clone(), v.clone())
                    }
                    None => (arg.clone(), "true".to_string()),
                }
            } else {
                (format!("--arg{i}"), arg.clone())
            };
        match resolve(env, &value) {
            Arg::Literal(text) => out.insert(key, json!(text)),
            dynamic => out.insert(format!("{key}.$"), json!(dynamic.expression())),
        };
        i += 1;
    }
    Value::Object(out)
}

/// One step argument once compile-time placeholders are filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Literal(String),
    /// Exactly one run placeholder: a JSONPath.
    Path(String),
    /// Text around run placeholders: `States.Format` template and paths.
    Format(String, Vec<String>),
}

impl Arg {
    fn literal(&self) -> &str {
        match self {
            Arg::Literal(t) => t,
            _ => "",
        }
    }

    /// As a value for a `.$` field.
    fn expression(&self) -> String {
        match self {
            Arg::Literal(t) => format!("States.Format('{}')", escape(t)),
            Arg::Path(p) => p.clone(),
            Arg::Format(t, paths) => format!("States.Format('{t}', {})", paths.join(", ")),
        }
    }

    /// As an argument of an intrinsic function.
    fn intrinsic(&self) -> String {
        match self {
            Arg::Literal(t) => format!("'{}'", escape(t)),
            other => other.expression(),
        }
    }
}

/// Resolves `{{…}}` placeholders: compile-time ones into text, run-time ones into paths.
fn resolve(env: &Env, text: &str) -> Arg {
    let mut template = String::new();
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let name = rest[start + 2..start + len].trim();
        template.push_str(&escape(&rest[..start]));
        match placeholder(env, name) {
            Placeholder::Text(t) => template.push_str(&escape(&t)),
            Placeholder::Path(p) => {
                template.push_str("{}");
                paths.push(p);
            }
        }
        rest = &rest[start + len + 2..];
    }
    template.push_str(&escape(rest));
    match paths.as_slice() {
        [] => Arg::Literal(unescape(&template)),
        [only] if template == "{}" => Arg::Path(only.clone()),
        _ => Arg::Format(template, paths),
    }
}

enum Placeholder {
    Text(String),
    Path(String),
}

fn placeholder(env: &Env, name: &str) -> Placeholder {
    match name {
        "pipeline.name" => Placeholder::Text(env.name().into()),
        "pipeline.account" => Placeholder::Text(env.account.unwrap_or("${AccountId}").into()),
        "pipeline.region" => Placeholder::Text(env.region.unwrap_or("${Region}").into()),
        // Validation admits only the documented names; the rest are run.* fields of $.ctx.
        other => Placeholder::Path(format!("$.ctx.{}", other.trim_start_matches("run."))),
    }
}

/// Escapes text for a single-quoted intrinsic-function string (`'`, `{`, `}`, `\`), except
/// `${Key}` substitutions: CloudFormation replaces them before Step Functions reads the text.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(key) = substitution_at(rest) {
            out.push_str(key);
            rest = &rest[key.len()..];
            continue;
        }
        if matches!(c, '\'' | '{' | '}' | '\\') {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The `${Key}` at the start of `text`, when `Key` is a known substitution.
fn substitution_at(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${")?;
    let end = inner.find('}')?;
    SUBSTITUTION_KEYS
        .contains(&&inner[..end])
        .then(|| &text[..end + 3])
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        out.push(if c == '\\' {
            chars.next().unwrap_or('\\')
        } else {
            c
        });
    }
    out
}

/// Where a step's script is: a local script is uploaded by deploy to the artifacts bucket.
pub fn script_uri(env: &Env, script: &Script) -> String {
    match script {
        Script::Local(path) => format!("s3://${{ArtifactsBucket}}/{}", script_key(env, path)),
        Script::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
    }
}

/// The artifacts bucket key a local script is uploaded to: `dpc/<pipeline>/<path>`.
pub fn script_key(env: &Env, path: &std::path::Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("dpc/{}/{}", env.name(), parts.join("/"))
}

/// The publish states (or straight to `Succeeded`); returns the first one's name.
fn publish_states(env: &Env, states: &mut Map<String, Value>, uses: &mut Uses) -> String {
    let products = &env.pipeline.publish;
    if products.is_empty() {
        return SUCCEEDED.into();
    }
    let bus = publish_bus(env);
    let chunks: Vec<&[DataProduct]> = products.chunks(EVENTS_PER_CALL).collect();
    let name = |i: usize| {
        if chunks.len() == 1 {
            "Publish".to_string()
        } else {
            format!("Publish {}", i + 1)
        }
    };
    for (i, chunk) in chunks.iter().enumerate() {
        let next = if i + 1 < chunks.len() {
            name(i + 1)
        } else {
            SUCCEEDED.to_string()
        };
        let entries: Vec<Value> = chunk
            .iter()
            .map(|dp| refresh_entry(env, &bus, dp))
            .collect();
        states.insert(name(i), json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::events:putEvents",
            "Parameters": {"Entries": entries},
            "ResultPath": null,
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 5, "MaxAttempts": 3, "BackoffRate": 2.0}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": FAILED}],
            "Next": next,
        }));
    }
    uses.publish_bus = Some(bus);
    name(0)
}

/// The central bus from `dpc.yaml`, else a substitution filled from a stack parameter.
fn publish_bus(env: &Env) -> String {
    match env.central {
        Some(c) => format!(
            "arn:aws:events:{}:{}:event-bus/{}",
            c.region, c.account, c.bus
        ),
        None => "${CentralEventBusArn}".into(),
    }
}

/// One data product refresh event.
fn refresh_entry(env: &Env, bus: &str, dp: &DataProduct) -> Value {
    json!({
        "EventBusName": bus,
        "Source": events::REFRESH_SOURCE,
        "DetailType": events::REFRESH_DETAIL_TYPE,
        "Detail": {
            "domain": dp.domain,
            "name": dp.name,
            "account": env.account.unwrap_or("${AccountId}"),
            "refreshedAt.$": "$$.State.EnteredTime",
            "producer": {"pipeline": env.name(), "executionArn.$": "$$.Execution.Id"},
        },
    })
}

/// The `${Key}` substitutions a definition refers to.
fn substitutions_in(text: &str) -> BTreeSet<String> {
    SUBSTITUTION_KEYS
        .iter()
        .filter(|k| text.contains(&format!("${{{k}}}")))
        .map(|k| k.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::model::{Config, Pipeline};

    fn env_with(p: &Pipeline) -> Env<'_> {
        Env::new(p, None::<&Config>, "0.0.0")
    }

    fn pipeline() -> Pipeline {
        Pipeline {
            name: "p".into(),
            description: None,
            team: "t".into(),
            account: Some("123456789012".into()),
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
        }
    }

    #[test]
    fn placeholders_become_literals_paths_or_formats() {
        let p = pipeline();
        let env = env_with(&p);
        assert_eq!(resolve(&env, "--x"), Arg::Literal("--x".into()));
        assert_eq!(
            resolve(&env, "{{run.date}}"),
            Arg::Path("$.ctx.date".into())
        );
        assert_eq!(
            resolve(&env, "{{pipeline.name}}-{x}"),
            Arg::Literal("p-{x}".into())
        );
        assert_eq!(
            resolve(&env, "d={{ run.date }}'s"),
            Arg::Format("d={}\\'s".into(), vec!["$.ctx.date".into()])
        );
        assert_eq!(
            resolve(&env, "{{pipeline.account}}/{{run.id}}").expression(),
            "States.Format('123456789012/{}', $.ctx.id)"
        );
        assert_eq!(
            resolve(&env, "s3://${ArtifactsBucket}/${Other}/{{run.id}}").expression(),
            "States.Format('s3://${ArtifactsBucket}/$\\{Other\\}/{}', $.ctx.id)"
        );
    }

    #[test]
    fn glue_arguments_pair_up() {
        let p = pipeline();
        let env = env_with(&p);
        let args: Vec<String> = ["--date", "{{run.date}}", "--full", "--k=v", "pos"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            glue_arguments(&env, &args),
            json!({"--date.$": "$.ctx.date", "--full": "true", "--k": "v", "--arg4": "pos"})
        );
    }

    fn emr_pipeline(kind: NotificationType) -> Pipeline {
        use crate::pipeline::model::{Channel, NotificationTarget, Notifications};
        let step = |name: &str| Step {
            name: name.into(),
            kind: StepType::Spark,
            script: Script::S3 {
                bucket: "b".into(),
                key: "k.py".into(),
            },
            args: vec![],
            timeout_seconds: 60,
            retries: 1,
            local_command: None,
        };
        Pipeline {
            compute: Compute::Emr(EmrSettings {
                release_label: "emr-7.5.0".into(),
                instance_type: "m5.xlarge".into(),
                instance_count: 1,
                subnet_id: None,
            }),
            steps: vec![step("a"), step("b")],
            notifications: Some(Notifications {
                kind,
                targets: vec![NotificationTarget {
                    channel: Channel::Slack,
                    addresses: vec!["alerts".into()],
                }],
            }),
            ..pipeline()
        }
    }

    /// Answers every task; fails step `b` with `error`, records the events put.
    struct Recorder {
        fail: &'static str,
        events: Vec<Value>,
    }

    impl crate::asl::TaskHandler for Recorder {
        fn call(&mut self, call: &crate::asl::TaskCall<'_>) -> crate::asl::TaskOutcome {
            use crate::asl::TaskOutcome;
            if call.resource.ends_with("events:putEvents") {
                let entries = call.parameters["Entries"].as_array().cloned();
                self.events.extend(entries.into_iter().flatten());
                return TaskOutcome::ok(json!({"FailedEntryCount": 0}));
            }
            if call.resource.ends_with("dynamodb:putItem") {
                return TaskOutcome::ok(json!({}));
            }
            if call.resource.ends_with("createCluster.sync") {
                return TaskOutcome::ok(json!({"ClusterId": "j-1"}));
            }
            if call.state == "Step b" {
                return TaskOutcome::err(self.fail, "exit 1");
            }
            TaskOutcome::ok(json!({}))
        }
    }

    fn run(kind: NotificationType) -> (crate::asl::Execution, Vec<Value>, usize) {
        let p = emr_pipeline(kind);
        let sm = compile(&env_with(&p));
        let count = sm.definition["States"].as_object().map_or(0, Map::len);
        let mut recorder = Recorder {
            fail: "States.TaskFailed",
            events: vec![],
        };
        let input =
            json!({"run": {"type": "MANUAL", "triggerId": "t", "time": "2026-11-26T05:00:00Z"}});
        let text = sm
            .definition
            .to_string()
            .replace("${ClaimsTableName}", "claims");
        let parsed = serde_json::from_str(&text).unwrap_or_default();
        let definition = crate::asl::Definition::parse(&parsed).expect("a valid definition");
        let exec = crate::asl::run(
            &definition,
            input,
            &crate::asl::Options::default(),
            &mut recorder,
        );
        (exec, recorder.events, count)
    }

    #[test]
    fn full_execution_puts_step_events_and_fails_the_same_way() {
        let (full, events, full_count) = run(NotificationType::FullExecution);
        let (plain, none, plain_count) = run(NotificationType::PipelineStatus);
        let (failures, _, failure_count) = run(NotificationType::FailureOnly);
        assert!(none.is_empty());
        assert_eq!(plain_count, failure_count);
        assert_eq!(full_count, plain_count + 3 * 2);
        assert_eq!(
            (full.status, &full.error, &full.cause),
            (plain.status, &plain.error, &plain.cause)
        );
        assert_eq!(failures.status, plain.status);
        assert_eq!(full.error.as_deref(), Some("States.TaskFailed"));
        let seen: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                let d = &e["Detail"];
                (
                    d["step"].as_str().unwrap_or_default().to_string(),
                    d["status"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let want = [
            ("a", "STARTED"),
            ("a", "SUCCEEDED"),
            ("b", "STARTED"),
            ("b", "FAILED"),
        ];
        assert_eq!(seen, want.map(|(a, b)| (a.to_string(), b.to_string())));
        let failed = &events[3];
        assert_eq!(failed["Source"], events::STEP_SOURCE);
        assert_eq!(failed["EventBusName"], STEP_BUS);
        assert_eq!(failed["Detail"]["error"], "States.TaskFailed");
        assert_eq!(failed["Detail"]["cause"], "exit 1");
        assert_eq!(failed["Detail"]["attempt"], 1);
        let p = emr_pipeline(NotificationType::FullExecution);
        assert!(compile(&env_with(&p)).uses.step_events);
    }

    #[test]
    fn no_compute_claims_then_succeeds() {
        let p = pipeline();
        let sm = compile(&env_with(&p));
        let states = &sm.definition["States"];
        assert_eq!(states[CONTEXT_STATE]["Next"], SUCCEEDED);
        assert_eq!(states[CLAIM_STATE]["Catch"][0]["Next"], DUPLICATE_STATE);
        assert_eq!(
            sm.uses.substitutions,
            BTreeSet::from(["ClaimsTableName".to_string()])
        );
    }
}
