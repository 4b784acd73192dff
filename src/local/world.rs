//! The local environment, built from what the compiler produces: reads a validated tree and
//! produces per pipeline its registration, its state machine (DefinitionSubstitutions filled
//! as CloudFormation would), its consumer rule (the compiled trigger pattern and the input
//! transformer of the template's target), its schedule and its steps' local commands.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::transform::Transformer;
use crate::asl::{self, Definition};
use crate::compile::{self, Env, state_machine};
use crate::manager::registry::{self, Identity, PipelineId, Registration};
use crate::manager::window::Period;
use crate::pattern::Pattern;
use crate::pipeline::load::Validated;
use crate::pipeline::model::{Compute, Config, Notifications, Pipeline};

/// The claims table's name in every local account.
pub const CLAIMS_TABLE: &str = "dpc-claims";

/// One pipeline as the local environment runs it.
pub struct LocalPipeline {
    pub reg: Registration,
    pub definition: Definition,
    /// The project folder: where step commands run.
    pub dir: PathBuf,
    pub team: String,
    pub notifications: Option<Notifications>,
    pub steps: Vec<LocalStep>,
    /// The rule on the account's `dpc-pipelines` bus that starts it.
    pub trigger: Option<Rule>,
    /// The schedule that starts it by itself.
    pub schedule: Option<Schedule>,
}

impl LocalPipeline {
    pub fn id(&self) -> &PipelineId {
        &self.reg.id
    }
}

/// A step as its Task state names it, with the command that stands in for it.
pub struct LocalStep {
    pub name: String,
    /// The Glue job name, for GLUE steps.
    pub glue_job: Option<String>,
    pub command: Option<String>,
}

/// An EventBridge rule's pattern and how its target's input is made.
pub struct Rule {
    pub pattern: Pattern,
    pub input: Transformer,
}

/// A schedule: when it fires and the input it starts the state machine with.
pub struct Schedule {
    pub period: Period,
    pub input: Transformer,
}

/// Builds every valid pipeline of `tree`; `Err` names the pipeline that cannot be built.
pub fn build(tree: &Validated) -> Result<Vec<LocalPipeline>, String> {
    let mut out: Vec<LocalPipeline> = Vec::new();
    for (pipeline, config) in tree.pipelines() {
        let local =
            one(pipeline, config).map_err(|e| format!("{}: {e}", pipeline.file.display()))?;
        if out.iter().any(|p| p.reg.id == local.reg.id) {
            return Err(format!(
                "two pipelines are {} in account {} region {}",
                local.reg.id.name, local.reg.id.account, local.reg.id.region
            ));
        }
        out.push(local);
    }
    Ok(out)
}

fn one(pipeline: &Pipeline, config: Option<&Config>) -> Result<LocalPipeline, String> {
    let reg = registry::registration(pipeline, config).map_err(|e| e.to_string())?;
    let identity = Identity::of(pipeline, config);
    let mut env = Env::new(pipeline, config, env!("CARGO_PKG_VERSION"));
    env.account = Some(&identity.account);
    env.region = Some(&identity.region);
    env.central = Some(&identity.central);
    let compiled = compile::compile(&env).map_err(|e| e.to_string())?;
    let definition = definition(&compiled.state_machine.definition, &identity)?;
    let resources = &compiled.template["Resources"];
    let trigger = match (&reg.pattern, target_input(&resources["TriggerRule"])) {
        (Some(text), Some(input)) => Some(Rule {
            pattern: Pattern::parse(text).map_err(|e| format!("trigger pattern: {e}"))?,
            input,
        }),
        _ => None,
    };
    let schedule = schedule(&reg, resources);
    Ok(LocalPipeline {
        definition,
        dir: pipeline.dir.clone(),
        team: pipeline.team.clone(),
        notifications: pipeline.notifications.clone(),
        steps: steps(&env),
        trigger,
        schedule,
        reg,
    })
}

/// The definition with `${Key}` filled the way the stack's DefinitionSubstitutions would.
fn definition(definition: &Value, id: &Identity) -> Result<Definition, String> {
    let values: BTreeMap<&str, String> = [
        ("ClaimsTableName", CLAIMS_TABLE.to_string()),
        ("ArtifactsBucket", format!("dpc-artifacts-{}", id.account)),
        ("EmrServiceRole", "dpc-emr-service".to_string()),
        ("EmrInstanceProfile", "dpc-emr-instance".to_string()),
        ("AccountId", id.account.clone()),
        ("Region", id.region.clone()),
        (
            "CentralEventBusArn",
            format!(
                "arn:aws:events:{}:{}:event-bus/{}",
                id.central.region, id.central.account, id.central.bus
            ),
        ),
    ]
    .into_iter()
    .collect();
    let mut text = definition.to_string();
    for (key, value) in &values {
        text = text.replace(&format!("${{{key}}}"), value);
    }
    let filled: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    asl::Definition::parse(&filled).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        format!(
            "internal error: the compiled state machine is invalid: {}",
            list.join("; ")
        )
    })
}

/// The input transformer (or fixed input) of a rule's or schedule's first target.
fn target_input(resource: &Value) -> Option<Transformer> {
    let props = resource.get("Properties")?;
    let target = props
        .get("Targets")
        .and_then(|t| t.get(0))
        .or_else(|| props.get("Target"))?;
    if let Some(t) = target.get("InputTransformer") {
        return Transformer::from_json(t);
    }
    target
        .get("Input")
        .and_then(Value::as_str)
        .map(Transformer::fixed)
}

/// A schedule that starts the pipeline by itself (with dependencies it is only a period).
fn schedule(reg: &Registration, resources: &Value) -> Option<Schedule> {
    if reg.has_dependencies() {
        return None;
    }
    let spec = reg.schedule.as_ref()?;
    let input = target_input(&resources["ScheduleRule"])
        .or_else(|| target_input(&resources["Schedule"]))?;
    Some(Schedule {
        period: Period::parse(spec)?,
        input,
    })
}

fn steps(env: &Env) -> Vec<LocalStep> {
    let glue = matches!(env.pipeline.compute, Compute::Glue(_));
    env.pipeline
        .steps
        .iter()
        .map(|s| LocalStep {
            name: s.name.clone(),
            glue_job: glue.then(|| state_machine::glue_job_name(env, s)),
            command: s.local_command.clone(),
        })
        .collect()
}
