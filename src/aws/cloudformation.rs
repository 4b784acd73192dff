//! Deploys one stack the way the best deploy tools do: pre-check the stack's status (the pure
//! `deploy::plan`), create a change set, show its `+ / ~ / -` summary, confirm, execute, follow
//! the stack's events, then report outputs or the failing resources' reasons. "No changes" is
//! a success. Also previews (`diff`: a change set shown, then deleted) and deletes stacks.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};
use serde::Serialize;

use super::describe;
use crate::deploy::changes::{self, Change};
use crate::deploy::plan::{self, Action, Removal};

/// How long an executed change set may take to start changing the stack.
const EXECUTION_START_LIMIT: Duration = Duration::from_secs(60);

/// Polling delays: 200 ms, doubling up to 5 s (CloudFormation throttles tight loops).
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Backoff(Duration::from_millis(200))
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
    }
}

/// What to deploy.
#[derive(Debug, Clone)]
pub struct StackRequest {
    pub name: String,
    pub template_body: String,
    /// Where the template was uploaded when it is too large to send (used instead of the body).
    pub template_url: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

/// How to deploy it.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployOptions {
    /// Execute without asking.
    pub yes: bool,
    /// Stop after the change set.
    pub no_execute: bool,
    /// Wait for an operation in progress instead of refusing.
    pub wait: bool,
}

/// Where progress goes and how confirmation is asked.
pub trait Progress: Sync {
    fn line(&self, text: &str);
    /// `Err` when nobody can answer (no terminal).
    fn confirm(&self, question: &str) -> Result<bool, String>;
}

/// How a stack deployment ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum StackResult {
    /// The stack already carries this deployment's hash: no change set was made.
    Unchanged,
    /// The change set was empty.
    NoChanges,
    Deployed {
        outputs: Vec<(String, String)>,
    },
    Prepared {
        change_set: String,
    },
    NotConfirmed,
    /// Previewed only (`dpc diff`).
    Previewed,
    Deleted,
    /// Nothing to delete.
    NotDeployed,
    /// Not attempted: the account could not be prepared, or the run was interrupted.
    Skipped {
        reason: String,
    },
    Refused {
        status: String,
        help: String,
    },
    Failed {
        status: String,
        reasons: Vec<String>,
    },
}

impl StackResult {
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            StackResult::Unchanged
                | StackResult::NoChanges
                | StackResult::Deployed { .. }
                | StackResult::Prepared { .. }
                | StackResult::Previewed
                | StackResult::Deleted
                | StackResult::NotDeployed
        )
    }
}

/// One stack's result, for people and `--output json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub stack: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(flatten)]
    pub outcome: StackResult,
    pub changes: Vec<Change>,
    pub seconds: f64,
}

pub struct Deployer<'a> {
    pub cfn: &'a Client,
    pub progress: &'a dyn Progress,
}

impl Deployer<'_> {
    pub async fn deploy(&self, req: &StackRequest, opts: DeployOptions) -> Result<Report, String> {
        let started = Instant::now();
        let (outcome, changes) = self.run(req, opts).await?;
        Ok(Report::new(&req.name, outcome, changes, started))
    }

    /// Shows what deploying would change: a change set, summarised, then deleted (with the
    /// empty stack a CREATE change set leaves).
    pub async fn diff(&self, req: &StackRequest) -> Result<Report, String> {
        let started = Instant::now();
        let kind = match self.prepare(&req.name, false).await? {
            Ok(kind) => kind,
            Err(refused) => return Ok(Report::new(&req.name, refused, Vec::new(), started)),
        };
        let (change_set, changes) = self
            .create_change_set(req, &change_set_name(), kind)
            .await?;
        let Some(changes) = changes else {
            self.progress.line(&format!("{}: no changes", req.name));
            return Ok(Report::new(
                &req.name,
                StackResult::NoChanges,
                Vec::new(),
                started,
            ));
        };
        self.discard(&req.name, &change_set).await;
        self.progress.line(&format!(
            "{}:\n{}",
            req.name,
            changes::summary(&changes).trim_end()
        ));
        Ok(Report::new(
            &req.name,
            StackResult::Previewed,
            changes,
            started,
        ))
    }

    /// Deletes a stack and follows it until it is gone; a missing stack is not an error.
    pub async fn destroy(&self, stack: &str, wait: bool) -> Result<Report, String> {
        let started = Instant::now();
        let outcome = loop {
            let status = self.status(stack).await?;
            match plan::removal(stack, status.as_deref(), wait) {
                Removal::Absent => break StackResult::NotDeployed,
                Removal::Refuse { status, help } => break StackResult::Refused { status, help },
                Removal::Wait => {
                    self.progress
                        .line(&format!("{stack}: waiting for the operation to end"));
                    self.until(stack, |s| s.is_none_or(|s| !s.ends_with("_IN_PROGRESS")))
                        .await?;
                }
                Removal::Delete => {
                    let since = aws_sdk_cloudformation::primitives::DateTime::from(
                        std::time::SystemTime::now(),
                    );
                    self.delete(stack).await?;
                    self.progress.line(&format!("{stack}: deleting"));
                    break self.follow(stack, since).await?;
                }
            }
        };
        Ok(Report::new(stack, outcome, Vec::new(), started))
    }

    async fn run(
        &self,
        req: &StackRequest,
        opts: DeployOptions,
    ) -> Result<(StackResult, Vec<Change>), String> {
        let kind = match self.prepare(&req.name, opts.wait).await? {
            Ok(kind) => kind,
            Err(refused) => return Ok((refused, Vec::new())),
        };
        let name = change_set_name();
        let (change_set, changes) = self.create_change_set(req, &name, kind.clone()).await?;
        let Some(changes) = changes else {
            self.progress.line(&format!("{}: no changes", req.name));
            return Ok((StackResult::NoChanges, Vec::new()));
        };
        self.progress.line(&format!(
            "{}: {} change set {name}\n{}",
            req.name,
            kind.as_str().to_lowercase(),
            changes::summary(&changes).trim_end()
        ));
        if opts.no_execute {
            return Ok((StackResult::Prepared { change_set: name }, changes));
        }
        if !opts.yes && !self.confirmed(&req.name, &change_set).await? {
            return Ok((StackResult::NotConfirmed, changes));
        }
        let since =
            aws_sdk_cloudformation::primitives::DateTime::from(std::time::SystemTime::now());
        self.cfn
            .execute_change_set()
            .stack_name(&req.name)
            .change_set_name(&change_set)
            .send()
            .await
            .map_err(|e| describe(&e))?;
        let outcome = self.follow(&req.name, since).await?;
        Ok((outcome, changes))
    }

    /// Applies the stack-status decision: the change set type, or why not.
    async fn prepare(
        &self,
        stack: &str,
        wait: bool,
    ) -> Result<Result<ChangeSetType, StackResult>, String> {
        loop {
            let status = self.status(stack).await?;
            match plan::decide(stack, status.as_deref(), wait) {
                Action::Create => return Ok(Ok(ChangeSetType::Create)),
                Action::Update => return Ok(Ok(ChangeSetType::Update)),
                Action::DeleteAndRecreate { reason } => {
                    self.progress.line(&reason);
                    self.delete(stack).await?;
                    self.until(stack, |s| s.is_none_or(|s| s == "DELETE_COMPLETE"))
                        .await?;
                }
                Action::Wait { status } => {
                    self.progress
                        .line(&format!("{stack}: waiting for {status} to end"));
                    self.until(stack, |s| s.is_none_or(|s| !s.ends_with("_IN_PROGRESS")))
                        .await?;
                }
                Action::Refuse { status, help } => {
                    return Ok(Err(StackResult::Refused { status, help }));
                }
            }
        }
    }

    async fn delete(&self, stack: &str) -> Result<(), String> {
        self.cfn
            .delete_stack()
            .stack_name(stack)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }

    async fn status(&self, stack: &str) -> Result<Option<String>, String> {
        match self.cfn.describe_stacks().stack_name(stack).send().await {
            Ok(out) => Ok(out
                .stacks()
                .first()
                .and_then(|s| s.stack_status())
                .map(|s| s.as_str().to_string())),
            Err(e) if describe(&e).contains("does not exist") => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    }

    async fn until(&self, stack: &str, done: impl Fn(Option<&str>) -> bool) -> Result<(), String> {
        let mut backoff = Backoff::new();
        loop {
            if done(self.status(stack).await?.as_deref()) {
                return Ok(());
            }
            backoff.wait().await;
        }
    }

    /// The change set's ARN (names are unique per stack only, the ARN everywhere) and its
    /// changes; `None` when it holds none (it is deleted again).
    async fn create_change_set(
        &self,
        req: &StackRequest,
        name: &str,
        kind: ChangeSetType,
    ) -> Result<(String, Option<Vec<Change>>), String> {
        let mut call = self
            .cfn
            .create_change_set()
            .stack_name(&req.name)
            .change_set_name(name)
            .change_set_type(kind)
            .capabilities(Capability::CapabilityIam)
            .capabilities(Capability::CapabilityNamedIam);
        call = match &req.template_url {
            Some(url) => call.template_url(url),
            None => call.template_body(&req.template_body),
        };
        for (key, value) in &req.parameters {
            call = call.parameters(
                Parameter::builder()
                    .parameter_key(key)
                    .parameter_value(value)
                    .build(),
            );
        }
        for (key, value) in &req.tags {
            call = call.tags(Tag::builder().key(key).value(value).build());
        }
        let created = match call.send().await {
            Ok(created) => created,
            // CloudFormation marks an empty change set FAILED (below); emulators (moto, given
            // unchanged parameters) refuse to create it, as UpdateStack does.
            Err(e) if describe(&e).contains("No updates are to be performed") => {
                return Ok((name.to_string(), None));
            }
            Err(e) => return Err(describe(&e)),
        };
        let id = created.id().unwrap_or(name).to_string();
        let mut backoff = Backoff::new();
        loop {
            let out = self
                .cfn
                .describe_change_set()
                .stack_name(&req.name)
                .change_set_name(&id)
                .send()
                .await
                .map_err(|e| describe(&e))?;
            match out.status() {
                Some(ChangeSetStatus::CreateComplete) => {
                    return Ok((id, Some(resource_changes(&out))));
                }
                Some(ChangeSetStatus::Failed) => {
                    let reason = out.status_reason().unwrap_or_default().to_string();
                    if reason.contains("didn't contain changes")
                        || reason.contains("No updates are to be performed")
                    {
                        let _ = self
                            .cfn
                            .delete_change_set()
                            .stack_name(&req.name)
                            .change_set_name(&id)
                            .send()
                            .await;
                        return Ok((id, None));
                    }
                    return Err(format!("{}: change set failed: {reason}", req.name));
                }
                _ => {}
            }
            backoff.wait().await;
        }
    }

    async fn confirmed(&self, stack: &str, change_set: &str) -> Result<bool, String> {
        let answer = self
            .progress
            .confirm(&format!("deploy these changes to {stack}?"));
        if answer != Ok(true) {
            self.discard(stack, change_set).await;
        }
        answer.map_err(|why| format!("{stack}: {why}"))
    }

    /// Deletes an unexecuted change set, and the empty stack a CREATE change set leaves in
    /// REVIEW_IN_PROGRESS, so a deploy that was not confirmed leaves nothing behind.
    async fn discard(&self, stack: &str, change_set: &str) {
        let _ = self
            .cfn
            .delete_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .send()
            .await;
        if let Ok(Some(status)) = self.status(stack).await
            && status == "REVIEW_IN_PROGRESS"
        {
            let _ = self.delete(stack).await;
        }
    }

    /// Follows the stack's events until it settles; prints each event once.
    async fn follow(
        &self,
        stack: &str,
        since: aws_sdk_cloudformation::primitives::DateTime,
    ) -> Result<StackResult, String> {
        let started = Instant::now();
        let mut seen = HashSet::new();
        let mut failures = Vec::new();
        let mut backoff = Backoff::new();
        loop {
            let events = match self
                .cfn
                .describe_stack_events()
                .stack_name(stack)
                .send()
                .await
            {
                Ok(events) => events.stack_events().to_vec(),
                // A deleted stack has no events to read by name any more.
                Err(e) if describe(&e).contains("does not exist") => Vec::new(),
                Err(e) => return Err(describe(&e)),
            };
            let mut fresh: Vec<_> = events
                .iter()
                .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= since.secs()))
                .filter(|e| seen.insert(e.event_id().unwrap_or_default().to_string()))
                .collect();
            fresh.reverse();
            for e in fresh {
                let status = e.resource_status().map(|s| s.as_str()).unwrap_or_default();
                let reason = e.resource_status_reason().unwrap_or_default();
                let id = e.logical_resource_id().unwrap_or_default();
                self.progress
                    .line(format!("{stack}: {id} {status} {reason}").trim_end());
                if status.ends_with("_FAILED") && !reason.is_empty() {
                    failures.push(format!("{id}: {reason}"));
                }
            }
            let status = self
                .status(stack)
                .await?
                .unwrap_or_else(|| "DELETE_COMPLETE".into());
            if status == "REVIEW_IN_PROGRESS" && started.elapsed() > EXECUTION_START_LIMIT {
                return Err(format!(
                    "{stack}: the change set was executed but the stack never left REVIEW_IN_PROGRESS"
                ));
            }
            if !status.ends_with("_IN_PROGRESS") {
                return Ok(self.settled(stack, status, failures).await);
            }
            backoff.wait().await;
        }
    }

    async fn settled(&self, stack: &str, status: String, reasons: Vec<String>) -> StackResult {
        if status == "DELETE_COMPLETE" {
            return StackResult::Deleted;
        }
        if status != "CREATE_COMPLETE" && status != "UPDATE_COMPLETE" {
            return StackResult::Failed {
                status,
                reasons: changes::root_causes(reasons),
            };
        }
        let outputs = match self.cfn.describe_stacks().stack_name(stack).send().await {
            Ok(out) => out
                .stacks()
                .first()
                .map(|s| {
                    s.outputs()
                        .iter()
                        .map(|o| {
                            (
                                o.output_key().unwrap_or_default().to_string(),
                                o.output_value().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        StackResult::Deployed { outputs }
    }
}

impl Report {
    pub fn new(
        stack: &str,
        outcome: StackResult,
        changes: Vec<Change>,
        started: Instant,
    ) -> Report {
        Report {
            stack: stack.to_string(),
            account: None,
            region: None,
            outcome,
            changes,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// Change set names must start with a letter; the time makes them readable, the counter
/// unique among the stacks one run deploys at once.
fn change_set_name() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("dpc-{}-{n}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"))
}

fn resource_changes(
    out: &aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput,
) -> Vec<Change> {
    out.changes()
        .iter()
        .filter_map(|c| c.resource_change())
        .map(|rc| Change {
            action: rc
                .action()
                .map(|a| a.as_str().to_string())
                .unwrap_or_default(),
            logical_id: rc.logical_resource_id().unwrap_or_default().to_string(),
            resource_type: rc.resource_type().unwrap_or_default().to_string(),
            replacement: rc.replacement().map(|r| r.as_str().to_string()),
        })
        .collect()
}
