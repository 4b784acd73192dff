//! One stack operation (deploy, diff, destroy) over every pipeline of a tree. Validates and
//! compiles the pipelines, groups their stacks by account and region, reaches each account as
//! dpc.yaml says (`deploy::target`), checks its `dpc-account` stack and reads its parameters,
//! then runs the operation on up to `--concurrency` stacks at once. A stack failing does not
//! stop the others; Ctrl-C stops starting new stacks and says how to resume.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::aws;
use crate::aws::account::{self as remote, StackState};
use crate::aws::cloudformation::{
    DeployOptions, Deployer, Progress, Report, StackRequest, StackResult,
};
use crate::compile::{self, names, template, tree::Built};
use crate::deploy::target::{self, Access, HASH_TAG};
use crate::pipeline::model::AccountAccess;

/// Where progress goes: shared by every stack task.
pub type SharedProgress = Arc<dyn Progress + Send + Sync>;

/// CloudFormation's limit for a template sent in the request; larger ones go through S3.
const TEMPLATE_BODY_LIMIT: usize = 51_200;

/// What to do with each stack.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Deploy { options: DeployOptions, force: bool },
    Diff { force: bool },
    Destroy { yes: bool, wait: bool },
}

impl Op {
    pub fn verb(self) -> &'static str {
        match self {
            Op::Deploy { .. } => "deploy",
            Op::Diff { .. } => "diff",
            Op::Destroy { .. } => "destroy",
        }
    }
}

/// One pipeline's stack, compiled and ready to go.
#[derive(Debug, Clone)]
pub struct Unit {
    pipeline: String,
    stack: String,
    account: Option<String>,
    region: Option<String>,
    accounts: BTreeMap<String, AccountAccess>,
    template: Value,
    /// The manifest's hash of everything compiled (scripts included).
    hash: String,
    /// Local scripts: the file and its key in the artifacts bucket.
    uploads: Vec<(PathBuf, String)>,
}

/// An account and region reached, with what deploy reads from it.
struct Account {
    id: String,
    region: String,
    config: SdkConfig,
    cfn: aws_sdk_cloudformation::Client,
    parameters: BTreeMap<String, String>,
    stacks: BTreeMap<String, StackState>,
}

/// Runs `op` over `units` (reaching each account once, up to `concurrency` stacks at a time,
/// until done or Ctrl-C) and gives each stack's report, in the order of `units`.
pub async fn run(
    units: Vec<Unit>,
    op: Op,
    concurrency: usize,
    options: &aws::Options,
    progress: &SharedProgress,
) -> Result<Vec<Report>, String> {
    let base = aws::config(options).await;
    let caller = aws::caller_account(&base).await?;
    let default_region = base.region().map(|r| r.to_string());
    let mut keys = Vec::with_capacity(units.len());
    for u in &units {
        let region = u
            .region
            .clone()
            .or_else(|| default_region.clone())
            .ok_or_else(|| {
                format!(
                    "{}: no region: set `region` in dpc.yaml or the pipeline, or pass --region",
                    u.pipeline
                )
            })?;
        keys.push((u.account.clone().unwrap_or_else(|| caller.clone()), region));
    }
    let accounts = reach_all(&units, &keys, &caller, options, op, progress).await;
    if let Op::Destroy { yes: false, .. } = op
        && !confirm_destroy(&units, &keys, &accounts, progress.as_ref())?
    {
        return Err("nothing was deleted: not confirmed".into());
    }
    Ok(run_all(units, keys, accounts, op, concurrency.max(1), progress).await)
}

/// The stacks of compiled pipelines.
pub fn units(built: &[Built]) -> Vec<Unit> {
    built
        .iter()
        .map(|b| Unit {
            pipeline: b.env.name().to_string(),
            stack: b.artifacts.stack.clone(),
            account: b.env.account.map(str::to_string),
            region: b.env.region.map(str::to_string),
            accounts: b.env.config.map(|c| c.accounts.clone()).unwrap_or_default(),
            template: b.compiled.template.clone(),
            hash: b.artifacts.hash.clone(),
            uploads: template::uploads(&b.env)
                .into_iter()
                .map(|u| (b.env.pipeline.dir.join(u.path), u.key))
                .collect(),
        })
        .collect()
}

type Reached = BTreeMap<(String, String), Result<Arc<Account>, String>>;

/// Reaches every account and region once, in parallel.
async fn reach_all(
    units: &[Unit],
    keys: &[(String, String)],
    caller: &str,
    options: &aws::Options,
    op: Op,
    progress: &SharedProgress,
) -> Reached {
    let mut first: BTreeMap<(String, String), &Unit> = BTreeMap::new();
    for (key, unit) in keys.iter().zip(units) {
        first.entry(key.clone()).or_insert(unit);
    }
    let mut set = JoinSet::new();
    for ((account, region), unit) in first {
        let access = target::access(&account, caller, &unit.accounts);
        let options = options.clone();
        let progress = Arc::clone(progress);
        set.spawn(async move {
            let key = (account.clone(), region.clone());
            let reached = match access {
                Ok(access) => {
                    reach(&account, &region, &access, &options, op, progress.as_ref()).await
                }
                Err(refusal) => Err(refusal),
            };
            (key, reached.map(Arc::new))
        });
    }
    let mut out = BTreeMap::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((key, reached)) = joined {
            out.insert(key, reached);
        }
    }
    out
}

async fn reach(
    account: &str,
    region: &str,
    access: &Access,
    options: &aws::Options,
    op: Op,
    progress: &dyn Progress,
) -> Result<Account, String> {
    let config = aws::reach(options, account, Some(region), access).await?;
    let parameters = match op {
        Op::Destroy { .. } => BTreeMap::new(),
        _ => {
            let parameters = remote::parameters(&config).await?;
            target::account_ready(
                account,
                region,
                parameters.get("version").map(String::as_str),
            )?;
            parameters
        }
    };
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stacks = remote::stacks(&cfn).await?;
    progress.line(&format!(
        "account {account} {region}: via {}",
        access.describe()
    ));
    Ok(Account {
        id: account.to_string(),
        region: region.to_string(),
        config,
        cfn,
        parameters,
        stacks,
    })
}

/// Lists the stacks that exist and asks once (the caller made sure there is a terminal).
fn confirm_destroy(
    units: &[Unit],
    keys: &[(String, String)],
    accounts: &Reached,
    term: &dyn Progress,
) -> Result<bool, String> {
    let existing: Vec<String> = units
        .iter()
        .zip(keys)
        .filter_map(|(u, key)| {
            let account = accounts.get(key)?.as_ref().ok()?;
            account
                .stacks
                .contains_key(&u.stack)
                .then(|| format!("  - {} ({} {})", u.stack, key.0, key.1))
        })
        .collect();
    if existing.is_empty() {
        return Ok(true);
    }
    term.line(&format!("stacks to delete:\n{}", existing.join("\n")));
    term.confirm(&format!("delete these {} stack(s)?", existing.len()))
}

/// Runs the operation on every stack, `concurrency` at a time, until done or Ctrl-C.
async fn run_all(
    units: Vec<Unit>,
    keys: Vec<(String, String)>,
    accounts: Reached,
    op: Op,
    concurrency: usize,
    progress: &SharedProgress,
) -> Vec<Report> {
    let semaphore = Arc::new(Semaphore::new(concurrency));
    let in_flight = Arc::new(Mutex::new(BTreeSet::new()));
    let mut reports: Vec<Option<Report>> = vec![None; units.len()];
    let mut set = JoinSet::new();
    for (i, (unit, key)) in units.iter().cloned().zip(keys.iter().cloned()).enumerate() {
        let account = match accounts.get(&key) {
            Some(Ok(a)) => Arc::clone(a),
            Some(Err(reason)) => {
                reports[i] = Some(skipped(&unit, &key, reason.clone()));
                continue;
            }
            None => {
                reports[i] = Some(skipped(&unit, &key, "the account was not reached".into()));
                continue;
            }
        };
        let (semaphore, in_flight, progress) =
            (semaphore.clone(), in_flight.clone(), progress.clone());
        set.spawn(async move {
            let Ok(_permit) = semaphore.acquire_owned().await else {
                return (i, skipped(&unit, &key, "cancelled".into()));
            };
            lock(&in_flight).insert(unit.stack.clone());
            let report = one(&unit, &account, op, progress.as_ref()).await;
            lock(&in_flight).remove(&unit.stack);
            (i, report)
        });
    }
    let interrupted = tokio::select! {
        () = drain(&mut set, &mut reports) => false,
        _ = tokio::signal::ctrl_c() => true,
    };
    if interrupted {
        set.abort_all();
        let running: Vec<String> = lock(&in_flight).iter().cloned().collect();
        progress.line(&interrupted_message(op, &running));
    }
    units
        .iter()
        .zip(keys)
        .zip(reports)
        .map(|((u, key), r)| r.unwrap_or_else(|| skipped(u, &key, "interrupted".into())))
        .collect()
}

async fn drain(set: &mut JoinSet<(usize, Report)>, reports: &mut [Option<Report>]) {
    while let Some(joined) = set.join_next().await {
        if let Ok((i, report)) = joined {
            reports[i] = Some(report);
        }
    }
}

fn lock(set: &Mutex<BTreeSet<String>>) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
    set.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn interrupted_message(op: Op, running: &[String]) -> String {
    let resume = format!("run `dpc {} --wait …` again to resume", op.verb());
    if running.is_empty() {
        return format!("interrupted: no stack operation was running; {resume}");
    }
    format!(
        "interrupted: CloudFormation goes on with {} (it finishes or rolls back on its own; nothing is left half-applied); stacks not started were left as they were; {resume}",
        running.join(", ")
    )
}

fn skipped(unit: &Unit, key: &(String, String), reason: String) -> Report {
    let mut report = Report::new(
        &unit.stack,
        StackResult::Skipped { reason },
        Vec::new(),
        Instant::now(),
    );
    report.account = Some(key.0.clone());
    report.region = Some(key.1.clone());
    report
}

/// One stack: the operation, with errors turned into a failed report.
async fn one(unit: &Unit, account: &Account, op: Op, term: &dyn Progress) -> Report {
    let started = Instant::now();
    let mut report = match attempt(unit, account, op, term).await {
        Ok(report) => report,
        Err(message) => Report::new(
            &unit.stack,
            StackResult::Failed {
                status: "ERROR".into(),
                reasons: vec![message],
            },
            Vec::new(),
            started,
        ),
    };
    report.account = Some(account.id.clone());
    report.region = Some(account.region.clone());
    report
}

async fn attempt(
    unit: &Unit,
    account: &Account,
    op: Op,
    term: &dyn Progress,
) -> Result<Report, String> {
    let started = Instant::now();
    let deployer = Deployer {
        cfn: &account.cfn,
        progress: term,
    };
    let known = account.stacks.get(&unit.stack);
    if let Op::Destroy { wait, .. } = op {
        if known.is_none() {
            return Ok(Report::new(
                &unit.stack,
                StackResult::NotDeployed,
                Vec::new(),
                started,
            ));
        }
        return deployer.destroy(&unit.stack, wait).await;
    }
    let parameters = target::stack_parameters(&unit.template, &account.parameters)?;
    let hash = target::deployment_hash(&unit.hash, &account.parameters, &parameters);
    let force = matches!(
        op,
        Op::Deploy { force: true, .. } | Op::Diff { force: true }
    );
    if !force
        && target::unchanged(
            known.map(|s| s.status.as_str()),
            known.and_then(|s| s.tags.get(HASH_TAG)).map(String::as_str),
            &hash,
        )
    {
        term.line(&format!("{}: unchanged", unit.stack));
        return Ok(Report::new(
            &unit.stack,
            StackResult::Unchanged,
            Vec::new(),
            started,
        ));
    }
    let request = request(
        unit,
        account,
        parameters,
        hash,
        matches!(op, Op::Deploy { .. }),
    )
    .await?;
    match op {
        Op::Deploy { options, .. } => deployer.deploy(&request, options).await,
        _ => deployer.diff(&request).await,
    }
}

/// The stack request; for a deploy, uploads the scripts first. A template too large to send
/// is uploaded under its SHA-256 (harmless for a diff: nothing deployed reads it).
async fn request(
    unit: &Unit,
    account: &Account,
    parameters: Vec<(String, String)>,
    hash: String,
    upload_scripts: bool,
) -> Result<StackRequest, String> {
    let body = compile::to_pretty(&unit.template);
    let large = body.len() > TEMPLATE_BODY_LIMIT;
    let scripts = if upload_scripts {
        &unit.uploads[..]
    } else {
        &[]
    };
    let mut template_url = None;
    if large || !scripts.is_empty() {
        let bucket = account.parameters.get("artifacts-bucket").ok_or_else(|| {
            format!(
                "account {}: no /dpc/account/artifacts-bucket: run `dpc setup-user-account`",
                account.id
            )
        })?;
        let s3 = aws::s3(&account.config);
        for (file, key) in scripts {
            let bytes =
                std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let sha = names::hex(&Sha256::digest(&bytes));
            remote::upload(&s3, bucket, key, bytes, &sha).await?;
        }
        if large {
            let sha = names::hex(&Sha256::digest(body.as_bytes()));
            let key = format!("dpc/{}/templates/{sha}.json", unit.pipeline);
            remote::upload(&s3, bucket, &key, body.clone().into_bytes(), &sha).await?;
            template_url = Some(remote::object_url(bucket, &account.region, &key));
        }
    }
    Ok(StackRequest {
        name: unit.stack.clone(),
        template_body: body,
        template_url,
        parameters,
        tags: vec![
            (HASH_TAG.into(), hash),
            ("dpc:pipeline".into(), unit.pipeline.clone()),
            ("dpc:version".into(), env!("CARGO_PKG_VERSION").into()),
        ],
    })
}

/// `deploy: 4 stack(s) in 12.3 s: 1 deployed, 3 unchanged` plus the stacks that failed.
pub fn summary(op: Op, reports: &[Report], elapsed: Duration) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in reports {
        *counts.entry(label(&r.outcome)).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.outcome.is_success())
        .map(|r| r.stack.as_str())
        .collect();
    let mut text = format!(
        "{}: {} stack(s) in {:.1} s: {}",
        op.verb(),
        reports.len(),
        elapsed.as_secs_f64(),
        parts.join(", ")
    );
    if !failed.is_empty() {
        text.push_str(&format!("\nnot done: {}", failed.join(", ")));
    }
    text
}

fn label(outcome: &StackResult) -> &'static str {
    match outcome {
        StackResult::Unchanged => "unchanged",
        StackResult::NoChanges => "no changes",
        StackResult::Deployed { .. } => "deployed",
        StackResult::Prepared { .. } => "prepared",
        StackResult::NotConfirmed => "not confirmed",
        StackResult::Previewed => "with changes",
        StackResult::Deleted => "deleted",
        StackResult::NotDeployed => "not deployed",
        StackResult::Skipped { .. } => "skipped",
        StackResult::Refused { .. } => "refused",
        StackResult::Failed { .. } => "failed",
    }
}
