//! The registry: what the manager knows about each pipeline (its identity, upstream leaves,
//! compiled trigger pattern, schedule period, window, propagate policy and published data
//! products), built from a validated pipeline with the real compiler.
//!
//! Offline there is no deploying account to fill in what `pipeline.yaml` leaves open, so
//! [`Identity`] resolves the compiler's placeholders: a pipeline without `account` is in
//! [`LOCAL_ACCOUNT`], without a region (here or in `dpc.yaml`) in [`LOCAL_REGION`], and a tree
//! without a central account uses [`LOCAL_ACCOUNT`] as central account.

use serde::{Deserialize, Serialize};

use crate::compile::{self, CompileError, Env};
use crate::pipeline::model::{Central, Config, Pipeline, ScheduleExpr, Window};

/// The account of pipelines that name none, offline.
pub const LOCAL_ACCOUNT: &str = "000000000000";
/// The region of pipelines that name none (nor their `dpc.yaml`), offline.
pub const LOCAL_REGION: &str = "local";

/// A pipeline's concrete identity.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PipelineId {
    pub account: String,
    pub region: String,
    pub name: String,
}

impl PipelineId {
    /// The registry key: `account/region/name`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.name)
    }

    /// The run log key of this pipeline's own executions.
    pub fn upstream_key(&self) -> String {
        Upstream::Execution(self.clone()).key()
    }
}

/// What a leaf waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Upstream {
    Execution(PipelineId),
    Product {
        domain: String,
        name: String,
        /// Only refreshes from this account count.
        account: Option<String>,
    },
}

impl Upstream {
    /// The index key: every run and refresh of this upstream is logged under it.
    pub fn key(&self) -> String {
        match self {
            Upstream::Execution(id) => format!("x:{}", id.key()),
            Upstream::Product { domain, name, .. } => product_key(domain, name, None),
        }
    }

    /// The run log key the leaf reads (narrowed to the producing account when it names one).
    pub fn read_key(&self) -> String {
        match self {
            Upstream::Execution(_) => self.key(),
            Upstream::Product {
                domain,
                name,
                account,
            } => product_key(domain, name, account.as_deref()),
        }
    }

    /// How people name it: `listings` / `raw/RD1`.
    pub fn label(&self) -> String {
        match self {
            Upstream::Execution(id) => id.name.clone(),
            Upstream::Product { domain, name, .. } => format!("{domain}/{name}"),
        }
    }
}

/// The run log key of a data product, optionally narrowed to one producing account.
pub fn product_key(domain: &str, name: &str, account: Option<&str>) -> String {
    match account {
        Some(a) => format!("p:{domain}/{name}@{a}"),
        None => format!("p:{domain}/{name}"),
    }
}

/// One leaf: an upstream and the statuses that satisfy it (`ARRIVED` for data products).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaf {
    pub upstream: Upstream,
    pub statuses: Vec<String>,
}

/// A schedule as stored: the EventBridge expression and its time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// `cron(...)` or `rate(...)`.
    pub expression: String,
    pub timezone: Option<String>,
}

/// The window, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowSpec {
    SinceLastTrigger,
    Within { seconds: u64 },
    ResetAt(ScheduleSpec),
}

/// Everything the manager needs about one pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: PipelineId,
    pub central_account: String,
    pub central_region: String,
    /// The consumer rule's pattern (placeholders resolved); `None` without dependencies.
    pub pattern: Option<String>,
    /// Deduplicated by upstream: one leaf per upstream with the union of its statuses.
    pub leaves: Vec<Leaf>,
    /// With dependencies: the period that allows at most one trigger. Without: what starts
    /// the pipeline.
    pub schedule: Option<ScheduleSpec>,
    pub window: WindowSpec,
    pub propagate_manual: bool,
    /// `(domain, name)` emitted on every SUCCEEDED run.
    pub publishes: Vec<(String, String)>,
    /// When it is expected to have succeeded each day (absent in older registrations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<super::sla::SlaSpec>,
    /// The Slack channels the central notifier posts the pipeline's runs to (absent in
    /// older registrations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_channels: Vec<String>,
    /// The pipeline's team, for its notifications (absent in older registrations).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub team: String,
    /// What the central notifier posts (absent: everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_type: Option<crate::pipeline::raw::NotificationType>,
    /// The pipeline's SNS topics the central notifier publishes rendered email and OpsGenie
    /// messages to (absent in older registrations).
    #[serde(default, skip_serializing_if = "Topics::is_empty")]
    pub topics: Topics,
}

/// A pipeline's notification topics (ARNs), one per channel it has targets on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topics {
    /// EMAIL targets are subscribed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// OPSGENIE targets (OpsGenie's Amazon SNS integration, https) are subscribed to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie: Option<String>,
}

impl Topics {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.opsgenie.is_none()
    }
}

impl Registration {
    pub fn key(&self) -> String {
        self.id.key()
    }

    /// True when a trigger pattern decides when it runs.
    pub fn has_dependencies(&self) -> bool {
        self.pattern.is_some()
    }
}

/// The concrete identity of a pipeline and its central account, offline.
pub struct Identity {
    pub account: String,
    pub region: String,
    pub central: Central,
}

impl Identity {
    pub fn of(pipeline: &Pipeline, config: Option<&Config>) -> Identity {
        let region = pipeline
            .region
            .clone()
            .or_else(|| config.and_then(|c| c.region.clone()))
            .unwrap_or_else(|| LOCAL_REGION.to_string());
        let central = config
            .and_then(|c| c.central.clone())
            .unwrap_or_else(|| Central {
                account: LOCAL_ACCOUNT.into(),
                region: region.clone(),
                bus: "dpc-central".into(),
            });
        Identity {
            account: pipeline
                .account
                .clone()
                .unwrap_or_else(|| LOCAL_ACCOUNT.into()),
            region,
            central,
        }
    }
}

/// Builds the registration of a validated pipeline with the real compiler.
pub fn registration(
    pipeline: &Pipeline,
    config: Option<&Config>,
) -> Result<Registration, CompileError> {
    let identity = Identity::of(pipeline, config);
    let mut env = Env::new(pipeline, config, env!("CARGO_PKG_VERSION"));
    env.account = Some(&identity.account);
    env.region = Some(&identity.region);
    env.central = Some(&identity.central);
    let pattern = compile::trigger_pattern::compile(&env)?.map(|p| p.text);
    let id = PipelineId {
        account: identity.account.clone(),
        region: identity.region.clone(),
        name: pipeline.name.clone(),
    };
    let trigger = pipeline.trigger.as_ref();
    Ok(Registration {
        leaves: trigger.map(|t| leaves(t, &id)).unwrap_or_default(),
        schedule: trigger
            .and_then(|t| t.schedule.as_ref())
            .map(|s| ScheduleSpec {
                expression: s.expr.expression(),
                timezone: s.timezone.clone(),
            }),
        window: trigger.map_or(WindowSpec::SinceLastTrigger, |t| window(&t.window)),
        propagate_manual: trigger.is_some_and(|t| t.propagate_manual),
        publishes: pipeline
            .publish
            .iter()
            .map(|p| (p.domain.clone(), p.name.clone()))
            .collect(),
        sla: pipeline.sla.as_ref().map(|s| super::sla::SlaSpec {
            expected_by_minutes: s.expected_by_minutes,
            timezone: s.timezone.clone(),
        }),
        slack_channels: pipeline
            .notifications
            .iter()
            .flat_map(|n| &n.targets)
            .filter(|t| t.channel == crate::pipeline::model::Channel::Slack)
            .flat_map(|t| t.addresses.iter().cloned())
            .collect(),
        team: pipeline.team.clone(),
        notification_type: pipeline.notifications.as_ref().map(|n| n.kind),
        topics: compile::notify::topics(pipeline, &identity.account, &identity.region),
        central_account: identity.central.account,
        central_region: identity.central.region,
        pattern,
        id,
    })
}

fn window(window: &Window) -> WindowSpec {
    match window {
        Window::SinceLastTrigger => WindowSpec::SinceLastTrigger,
        Window::Within(seconds) => WindowSpec::Within { seconds: *seconds },
        Window::ResetAt { cron, timezone } => WindowSpec::ResetAt(ScheduleSpec {
            expression: ScheduleExpr::Cron(cron.clone()).expression(),
            timezone: timezone.clone(),
        }),
    }
}

/// The trigger's leaves with defaults applied, one per upstream (statuses united: the
/// pattern decides how they combine; a leaf only records what could satisfy it).
fn leaves(trigger: &crate::pipeline::model::Trigger, me: &PipelineId) -> Vec<Leaf> {
    let mut out: Vec<Leaf> = Vec::new();
    let mut add = |upstream: Upstream, statuses: Vec<String>| match out
        .iter_mut()
        .find(|l| l.upstream.key() == upstream.key() && l.upstream == upstream)
    {
        Some(l) => {
            l.statuses.extend(statuses);
            l.statuses.sort();
            l.statuses.dedup();
        }
        None => out.push(Leaf { upstream, statuses }),
    };
    for leaf in trigger.executions.iter().flat_map(|c| c.leaves()) {
        let id = PipelineId {
            account: leaf.account.clone().unwrap_or_else(|| me.account.clone()),
            region: leaf.region.clone().unwrap_or_else(|| me.region.clone()),
            name: leaf.name.clone(),
        };
        let statuses = leaf
            .statuses
            .iter()
            .map(|s| s.as_str().to_string())
            .collect();
        add(Upstream::Execution(id), statuses);
    }
    for leaf in trigger.data_products.iter().flat_map(|c| c.leaves()) {
        let upstream = Upstream::Product {
            domain: leaf.domain.clone(),
            name: leaf.name.clone(),
            account: leaf.account.clone(),
        };
        add(
            upstream,
            vec![compile::trigger_pattern::ARRIVED.to_string()],
        );
    }
    out
}
