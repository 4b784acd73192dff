//! `dpc setup-user-account`: deploys (or prints) the versioned per-account stack `dpc-account`
//! in the credentials' account, or in each `--account` reached as dpc.yaml says.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_config::SdkConfig;
use clap::Args;
use serde_json::Value;

use super::deploy::PASS_YES;
use super::term::{Term, aws_options, print_reports, require_terminal, runtime};
use super::{Error, ExitStatus, GlobalArgs, out};
use crate::aws::{
    self,
    cloudformation::{DeployOptions, Deployer, Progress, Report, StackRequest},
};
use crate::compile::{template::NO_REGISTRATION, to_pretty};
use crate::deploy::{account_stack as account, target};
use crate::pipeline::model::{AccountAccess, Central, Config};

#[derive(Debug, Args)]
pub struct SetupUserAccountArgs {
    /// Print the template instead of deploying it.
    #[arg(long)]
    pub print_template: bool,
    /// The central account (default: `central.account` of the dpc.yaml found from --config-dir).
    #[arg(long)]
    pub central_account: Option<String>,
    /// The central region (default: `central.region` of dpc.yaml).
    #[arg(long)]
    pub central_region: Option<String>,
    /// Where to look for dpc.yaml (this folder or above).
    #[arg(long, default_value = ".")]
    pub config_dir: PathBuf,
    /// Set up this account, reached through dpc.yaml's `accounts` (repeatable; default: the
    /// credentials' account).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// There is no central registration service yet (or an emulator cannot run one):
    /// pipeline stacks of this account skip their registration custom resource.
    #[arg(long)]
    pub no_registration: bool,
    /// Do not create the central reconciler's read-only role `dpc-reconciler-read`: the
    /// account's `dpc-account` stack in another region has it (IAM names are per account).
    #[arg(long)]
    pub no_reconciler_role: bool,
    #[command(flatten)]
    pub change_set: ChangeSetArgs,
}

/// How a one-stack command goes through its change set (shared by the setup commands).
#[derive(Debug, Args)]
pub struct ChangeSetArgs {
    /// Deploy without asking.
    #[arg(long)]
    pub yes: bool,
    /// Create the change set and show it, but do not execute it.
    #[arg(long)]
    pub no_execute: bool,
    /// Wait for an operation already in progress on the stack instead of refusing.
    #[arg(long)]
    pub wait: bool,
}

impl ChangeSetArgs {
    /// The deploy options; refuses to start when it would have to ask and nobody can answer.
    pub fn options(&self) -> Result<DeployOptions, Error> {
        if !self.yes && !self.no_execute {
            require_terminal(PASS_YES)?;
        }
        Ok(DeployOptions {
            yes: self.yes,
            no_execute: self.no_execute,
            wait: self.wait,
        })
    }
}

/// The dpc.yaml found from `dir` (this folder or above), if any.
pub(super) fn load_config(dir: &Path) -> Result<Option<Config>, Error> {
    let today = chrono::Utc::now().date_naive();
    crate::pipeline::load::find_config(dir)
        .map(|path| crate::pipeline::load::load_config(&path, today))
        .transpose()
        .map_err(Error::usage)
}

/// The central account from the flags, else from dpc.yaml; `None` leaves it a stack parameter.
fn central(args: &SetupUserAccountArgs, config: Option<&Config>) -> Result<Option<Central>, Error> {
    match (&args.central_account, &args.central_region) {
        (Some(account), Some(region)) => Ok(Some(Central {
            account: account.clone(),
            region: region.clone(),
            bus: "dpc-central".into(),
        })),
        (None, None) => Ok(config.and_then(|c| c.central.clone())),
        _ => Err(Error::usage(
            "give both --central-account and --central-region, or neither",
        )),
    }
}

pub fn run(args: &SetupUserAccountArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let config = load_config(&args.config_dir)?;
    let central = central(args, config.as_ref())?;
    let template = account::template(central.as_ref());
    if args.print_template {
        out(&to_pretty(&template))?;
        return Ok(ExitStatus::Success);
    }
    if central.is_none() {
        return Err(Error::usage("the central account is unknown")
            .hint("set `central` in dpc.yaml or pass --central-account and --central-region"));
    }
    let options = args.change_set.options()?;
    let mut parameters = Vec::new();
    if args.no_registration {
        parameters.push((
            "RegistrationServiceToken".to_string(),
            NO_REGISTRATION.to_string(),
        ));
    }
    if args.no_reconciler_role {
        parameters.push((
            account::RECONCILER_ROLE_PARAMETER.to_string(),
            "false".to_string(),
        ));
    }
    let config = config.unwrap_or_default();
    let region = global.region.clone().or(config.region.clone());
    let targets = Targets {
        accounts: &args.accounts,
        access: &config.accounts,
        region: region.as_deref(),
    };
    deploy(
        account::STACK_NAME,
        &template,
        parameters,
        &targets,
        options,
        global,
    )
}

/// Where the stack goes: each of `accounts` (the caller's when empty), reached through `access`.
pub(super) struct Targets<'a> {
    pub accounts: &'a [String],
    pub access: &'a BTreeMap<String, AccountAccess>,
    pub region: Option<&'a str>,
}

/// The stack `name` with `template` and `parameters`, tagged with dpc's version.
pub(super) fn request(
    name: &str,
    template: &Value,
    parameters: Vec<(String, String)>,
) -> StackRequest {
    StackRequest {
        name: name.into(),
        template_body: to_pretty(template),
        template_url: None,
        parameters,
        tags: vec![("dpc:version".into(), env!("CARGO_PKG_VERSION").into())],
    }
}

/// Deploys the stack `name` (`dpc-account`, `dpc-central`) to each target account.
pub(super) fn deploy(
    name: &str,
    template: &Value,
    parameters: Vec<(String, String)>,
    targets: &Targets,
    options: DeployOptions,
    global: &GlobalArgs,
) -> Result<ExitStatus, Error> {
    let runtime = runtime()?;
    let term = Term::new(global.quiet);
    let request = request(name, template, parameters);
    let result = runtime.block_on(deploy_each(&request, targets, options, global, &term));
    term.finish();
    print_reports(&result.map_err(Error::failed)?, global)
}

/// The SDK configuration of each target account (the caller's when none is listed), in order.
pub(super) async fn reach_each(
    targets: &Targets<'_>,
    global: &GlobalArgs,
) -> Result<Vec<(String, SdkConfig)>, String> {
    let aws_options = aws_options(global);
    let base = aws::config(&aws_options).await;
    let caller = aws::caller_account(&base).await?;
    let ids = if targets.accounts.is_empty() {
        vec![caller.clone()]
    } else {
        targets.accounts.to_vec()
    };
    let mut out = Vec::new();
    for id in ids {
        let access = target::access(&id, &caller, targets.access)?;
        let config = aws::reach(&aws_options, &id, targets.region, &access).await?;
        out.push((id, config));
    }
    Ok(out)
}

/// Says which account and region the next lines are about; the region, for the reports.
pub(super) fn announce(term: &Term, id: &str, config: &SdkConfig) -> Option<String> {
    let region = config.region().map(|r| r.to_string());
    term.line(&format!(
        "account {id}, region {}",
        region.as_deref().unwrap_or("(none)")
    ));
    region
}

async fn deploy_each(
    request: &StackRequest,
    targets: &Targets<'_>,
    options: DeployOptions,
    global: &GlobalArgs,
    term: &Term,
) -> Result<Vec<Report>, String> {
    let mut reports: Vec<Report> = Vec::new();
    for (id, config) in reach_each(targets, global).await? {
        let region = announce(term, &id, &config);
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let mut report = Deployer {
            cfn: &cfn,
            progress: term,
        }
        .deploy(request, options)
        .await?;
        report.account = Some(id);
        report.region = region;
        reports.push(report);
    }
    Ok(reports)
}
