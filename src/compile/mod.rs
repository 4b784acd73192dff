//! The compiler: turns one validated pipeline into exactly what gets deployed:
//! the trigger pattern, the schedule, the Step Functions state machine and the CloudFormation
//! template. Pure and deterministic: no clock, file system or network, and the same input
//! always gives byte-identical output (maps are `serde_json` maps, which keep keys sorted).
//!
//! # Placeholders
//! What `pipeline.yaml` and `dpc.yaml` leave open is known only at deploy time. The artifacts
//! then carry placeholders that CloudFormation resolves:
//! - in `trigger-pattern.json` and the template, `${AWS::AccountId}` and `${AWS::Region}` (the
//!   stack's own account and region) and `${CentralAccountId}` (a stack parameter, declared
//!   only when `dpc.yaml` names no central account); the template wraps such text in
//!   `Fn::Sub`. Sizes are measured with the placeholders in place, which are at least as long
//!   as the values they stand for, so a pattern that fits here fits once deployed.
//! - in `state-machine.asl.json`, `${Name}` keys of the state machine's
//!   `DefinitionSubstitutions` (see [`state_machine`]).

pub mod cfn;
pub mod check;
pub mod explain;
mod iam;
pub mod names;
pub mod notify;
#[allow(clippy::disallowed_methods)]
pub mod output;
pub mod schedule;
pub mod state_machine;
pub mod template;
pub mod tree;
pub mod trigger_pattern;

use serde_json::Value;

use crate::pattern::SizeError;
use crate::pipeline::model::{Central, Config, DEFAULT_PATTERN_LENGTH, Pipeline};

pub use schedule::ScheduleArtifact;
pub use trigger_pattern::TriggerPattern;

/// The stack's account when `pipeline.yaml` does not name one (CloudFormation pseudo parameter).
pub const ACCOUNT_PLACEHOLDER: &str = "${AWS::AccountId}";
/// The stack's region when neither `pipeline.yaml` nor `dpc.yaml` names one.
pub const REGION_PLACEHOLDER: &str = "${AWS::Region}";
/// The central account when `dpc.yaml` has no `central` block (a stack parameter).
pub const CENTRAL_ACCOUNT_PLACEHOLDER: &str = "${CentralAccountId}";

/// Why a pipeline cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// The trigger pattern is over EventBridge's limits.
    #[error("the trigger's {0}")]
    PatternTooLarge(SizeError),
    /// Two allOf leaves on the same upstream (after defaults) share no status.
    #[error("allOf requires {upstream} to have two statuses at once, which can never hold")]
    Contradiction { upstream: String },
    /// A name that must be a field name inside `$or` is one of EventBridge's operators.
    #[error(
        "`{name}` inside anyOf is a pattern operator's name, which EventBridge refuses as a field name there"
    )]
    ReservedName { name: String },
    /// The generated pattern was refused by the pattern engine (a compiler bug).
    #[error("internal error: the generated trigger pattern is invalid: {0}")]
    InvalidPattern(String),
}

/// Where and as whom a pipeline is compiled: its identity with defaults applied.
#[derive(Debug, Clone)]
pub struct Env<'a> {
    pub pipeline: &'a Pipeline,
    /// The pipeline's account, if `pipeline.yaml` names it.
    pub account: Option<&'a str>,
    /// The pipeline's region, else `dpc.yaml`'s region.
    pub region: Option<&'a str>,
    pub central: Option<&'a Central>,
    /// Maximum trigger pattern length (2048, or 4096 when `dpc.yaml` raises it).
    pub pattern_limit: usize,
    /// The dpc version, for tags and the manifest.
    pub version: &'a str,
    /// The governing `dpc.yaml`, if any.
    pub config: Option<&'a Config>,
}

impl<'a> Env<'a> {
    pub fn new(pipeline: &'a Pipeline, config: Option<&'a Config>, version: &'a str) -> Self {
        let pattern_limit = config
            .map(|c| c.pattern_length_limit)
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_PATTERN_LENGTH);
        Env {
            pipeline,
            account: pipeline.account.as_deref(),
            region: pipeline
                .region
                .as_deref()
                .or_else(|| config.and_then(|c| c.region.as_deref())),
            central: config.and_then(|c| c.central.as_ref()),
            pattern_limit,
            version,
            config,
        }
    }

    pub fn name(&self) -> &'a str {
        &self.pipeline.name
    }

    /// The account as text, or the CloudFormation placeholder.
    pub fn account_text(&self) -> &'a str {
        self.account.unwrap_or(ACCOUNT_PLACEHOLDER)
    }

    /// The region as text, or the CloudFormation placeholder.
    pub fn region_text(&self) -> &'a str {
        self.region.unwrap_or(REGION_PLACEHOLDER)
    }

    pub fn central_account_text(&self) -> &'a str {
        self.central
            .map_or(CENTRAL_ACCOUNT_PLACEHOLDER, |c| c.account.as_str())
    }
}

/// Everything compiled for one pipeline.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// `None` when the trigger waits on nothing (no executions, no data products).
    pub pattern: Option<TriggerPattern>,
    pub schedule: Option<ScheduleArtifact>,
    pub state_machine: state_machine::StateMachine,
    pub template: Value,
}

/// Compiles one pipeline.
pub fn compile(env: &Env) -> Result<Compiled, CompileError> {
    let pattern = trigger_pattern::compile(env)?;
    let schedule = schedule::compile(env);
    let state_machine = state_machine::compile(env);
    let template = template::build(env, pattern.as_ref(), schedule.as_ref(), &state_machine);
    Ok(Compiled {
        pattern,
        schedule,
        state_machine,
        template,
    })
}

/// Pretty JSON with a final newline, as every artifact is written.
pub fn to_pretty(value: &Value) -> String {
    // Serialising a `Value` to a String cannot fail (keys are strings, numbers finite).
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// The artifact files of one pipeline, in a fixed order; the last is `manifest.json`.
pub const ARTIFACT_FILES: [&str; 5] = [
    "template.json",
    "state-machine.asl.json",
    "trigger-pattern.json",
    "schedule.json",
    "manifest.json",
];

/// A compiled pipeline rendered: its files (the last is `manifest.json`) and what deploy reads
/// from the manifest, as values rather than text to parse back.
#[derive(Debug, Clone)]
pub struct Artifacts {
    pub files: Vec<(&'static str, String)>,
    /// The stack name, `dpc-<name>` fitted to CloudFormation's limit.
    pub stack: String,
    /// One SHA-256 over every artifact and local script.
    pub hash: String,
}

/// Renders every artifact of a compiled pipeline as `(file name, contents)`.
///
/// `manifest.json` lists each other artifact's SHA-256 and one `hash` over them all, which
/// deploy compares to skip unchanged stacks; it has no timestamp, so it is stable too. Local
/// step scripts are part of what gets deployed, so their hashes (`script_hash`, given by the
/// caller that reads files) are listed and enter `hash` as well.
pub fn artifacts(
    env: &Env,
    compiled: &Compiled,
    script_hash: &dyn Fn(&std::path::Path) -> Option<String>,
) -> Artifacts {
    let schedule_tz = env
        .pipeline
        .trigger
        .as_ref()
        .and_then(|t| t.schedule.as_ref())
        .and_then(|s| s.timezone.as_deref());
    let schedule = compiled
        .schedule
        .as_ref()
        .map_or_else(schedule::none_json, |s| s.to_json(schedule_tz));
    let pattern = compiled
        .pattern
        .as_ref()
        .map_or(Value::Null, |p| p.json.clone());
    let mut files = vec![
        (ARTIFACT_FILES[0], to_pretty(&compiled.template)),
        (
            ARTIFACT_FILES[1],
            to_pretty(&compiled.state_machine.definition),
        ),
        (ARTIFACT_FILES[2], to_pretty(&pattern)),
        (ARTIFACT_FILES[3], to_pretty(&schedule)),
    ];
    let manifest = manifest(env, compiled, &files, script_hash);
    files.push((ARTIFACT_FILES[4], to_pretty(&manifest)));
    let text = |key: &str| manifest[key].as_str().unwrap_or_default().to_string();
    Artifacts {
        stack: text("stack"),
        hash: text("hash"),
        files,
    }
}

fn manifest(
    env: &Env,
    compiled: &Compiled,
    files: &[(&str, String)],
    script_hash: &dyn Fn(&std::path::Path) -> Option<String>,
) -> Value {
    use sha2::{Digest, Sha256};
    let mut all = Sha256::new();
    let mut hashes = serde_json::Map::new();
    for (name, text) in files {
        let hash = names::hex(&Sha256::digest(text.as_bytes()));
        all.update(format!("{name}\0{hash}\n").as_bytes());
        hashes.insert((*name).to_string(), Value::String(hash));
    }
    let uploads: Vec<Value> = template::uploads(env)
        .into_iter()
        .map(|upload| {
            let hash = script_hash(&upload.path);
            all.update(
                format!(
                    "{}\0{}\n",
                    upload.path.display(),
                    hash.as_deref().unwrap_or("")
                )
                .as_bytes(),
            );
            serde_json::json!({"path": upload.path.to_string_lossy(), "uri": upload.uri, "sha256": hash})
        })
        .collect();
    serde_json::json!({
        "pipeline": env.name(),
        "stack": names::fit(&format!("dpc-{}", env.name()), 128),
        "account": env.account,
        "region": env.region,
        "dpcVersion": env.version,
        "pattern": compiled.pattern.as_ref().map(|p| serde_json::json!({
            "length": p.length, "maxLength": p.max_length, "combinations": p.combinations,
        })),
        "uploads": uploads,
        "artifacts": hashes,
        "hash": names::hex(&all.finalize()),
    })
}
