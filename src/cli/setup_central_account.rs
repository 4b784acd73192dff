//! `dpc setup-central-account`: deploys (or prints) the versioned central stack `dpc-central`
//! in the central account of dpc.yaml (or the credentials' account), for the consumer accounts
//! of dpc.yaml's `accounts` and `--account`. Adding an account is a re-run.

use std::path::PathBuf;

use clap::Args;

use super::setup_user_account::{ChangeSetArgs, Targets, deploy, load_config};
use super::{Error, ExitStatus, GlobalArgs, out};
use crate::compile::to_pretty;
use crate::deploy::central_stack::{self as central, Consumer, Spec};
use crate::pipeline::model::Config;

#[derive(Debug, Args)]
pub struct SetupCentralAccountArgs {
    /// A consumer or producer account whose events the central bus takes and whose
    /// `dpc-pipelines` bus gets its triggers (repeatable; added to dpc.yaml's `accounts`).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// An AWS Organizations id (`o-…`): every account of it may put events on the central bus.
    #[arg(long, value_name = "O")]
    pub org_id: Option<String>,
    /// Print the template instead of deploying it.
    #[arg(long)]
    pub print_template: bool,
    /// Where to look for dpc.yaml (this folder or above).
    #[arg(long, default_value = ".")]
    pub config_dir: PathBuf,
    #[command(flatten)]
    pub change_set: ChangeSetArgs,
}

fn is_account(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_org_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The template's input: dpc.yaml's accounts and `--account`, the central bus, `--org-id`.
fn spec(args: &SetupCentralAccountArgs, config: &Config) -> Result<Spec, Error> {
    if let Some(bad) = args.accounts.iter().find(|a| !is_account(a)) {
        return Err(Error::usage(format!(
            "`{bad}` is not an AWS account id (12 digits)"
        )));
    }
    if let Some(org) = args.org_id.as_deref().filter(|o| !is_org_id(o)) {
        return Err(
            Error::usage(format!("`{org}` is not an AWS Organizations id")).hint(
                "pass the id `aws organizations describe-organization` shows, like `o-a1b2c3d4e5`",
            ),
        );
    }
    let consumers: Vec<Consumer> = config
        .accounts
        .keys()
        .chain(&args.accounts)
        .map(|account| Consumer {
            account: account.clone(),
            region: config.region.clone(),
        })
        .collect();
    if consumers.is_empty() {
        return Err(Error::usage("no consumer account is known").hint(
            "list the accounts under `accounts` in dpc.yaml, or pass --account ID (repeatable)",
        ));
    }
    Ok(Spec {
        bus: config
            .central
            .as_ref()
            .map_or_else(|| central::BUS.to_string(), |c| c.bus.clone()),
        consumers,
        org_id: args.org_id.clone(),
    })
}

pub fn run(args: &SetupCentralAccountArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let config = load_config(&args.config_dir)?.unwrap_or_default();
    let template = central::template(&spec(args, &config)?);
    if args.print_template {
        out(&to_pretty(&template))?;
        return Ok(ExitStatus::Success);
    }
    let options = args.change_set.options()?;
    // The central account of dpc.yaml, reached as its `accounts` entry says; else the caller's.
    let accounts: Vec<String> = config.central.iter().map(|c| c.account.clone()).collect();
    let region = config
        .central
        .as_ref()
        .map(|c| c.region.clone())
        .or_else(|| global.region.clone())
        .or_else(|| config.region.clone());
    let targets = Targets {
        accounts: &accounts,
        access: &config.accounts,
        region: region.as_deref(),
    };
    let status = deploy(
        central::STACK_NAME,
        &template,
        Vec::new(),
        &targets,
        options,
        global,
    )?;
    if !global.quiet {
        eprintln!(
            "warning: the manager, reconciler and registration functions are not deployed: dpc does not package their code yet (the stack's `CodeKey` is empty); events wait in {} for up to 14 days",
            central::QUEUE
        );
        eprintln!(
            "hint: until then, set up consumer accounts with `dpc setup-user-account --no-registration`"
        );
    }
    Ok(status)
}
