//! `dpc setup-user-account`: deploys (or prints) the versioned `dpc-account` stack of SPEC §5.2
//! in the credentials' account and region.

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, exit};
use crate::aws::cloudformation::DeployOptions;
use crate::compile::to_pretty;
use crate::deploy::account;
use crate::model::Central;

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

/// The central account from the flags, else from dpc.yaml; `None` leaves it a stack parameter.
pub fn central(args: &SetupUserAccountArgs) -> Result<Option<Central>, String> {
    let from_config = crate::project::find_config(&args.config_dir)
        .map(|path| crate::cli::deploy::load_config(&path))
        .transpose()?
        .and_then(|c| c.central);
    match (&args.central_account, &args.central_region, from_config) {
        (Some(account), Some(region), _) => Ok(Some(Central {
            account: account.clone(),
            region: region.clone(),
            bus: "dpc-central".into(),
        })),
        (None, None, config) => Ok(config),
        _ => Err("give both --central-account and --central-region, or neither".into()),
    }
}

pub fn run(args: &SetupUserAccountArgs, global: &GlobalArgs) -> u8 {
    let central = match central(args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::ERROR;
        }
    };
    let template = account::template(central.as_ref());
    if args.print_template {
        print!("{}", to_pretty(&template));
        return exit::SUCCESS;
    }
    if central.is_none() {
        eprintln!(
            "error: the central account is unknown: set `central` in dpc.yaml or pass --central-account and --central-region"
        );
        return exit::ERROR;
    }
    let options = DeployOptions {
        yes: args.yes,
        no_execute: args.no_execute,
        wait: args.wait,
    };
    crate::cli::deploy::deploy_account_stack(&template, options, global)
}
