//! `--central` for the reading commands (`status`, `history`): reaches the central account of
//! dpc.yaml with the credentials its `accounts` entry gives, finds the manager's table from
//! `/dpc/central/manager-table`, and hands a manager over the DynamoDB store to the command.

use std::path::PathBuf;

use clap::Args;

use super::setup_user_account::load_config;
use super::term::{aws_options, runtime};
use super::{Error, GlobalArgs};
use crate::aws;
use crate::deploy::target::Access;
use crate::manager::Manager;
use crate::manager::dynamo::DynamoStore;
use crate::pipeline::model::{AccountAccess, Central, Config};

/// The SSM parameter naming the manager's table (written by the `dpc-central` stack).
pub const TABLE_PARAMETER: &str = "/dpc/central/manager-table";

#[derive(Debug, Clone, Args)]
pub struct CentralArgs {
    /// Read the central account's tables (dpc.yaml's `central`) instead of the embedded store.
    #[arg(long)]
    pub central: bool,
    /// Where to look for dpc.yaml (this folder or above).
    #[arg(long, default_value = ".")]
    pub config_dir: PathBuf,
}

/// dpc.yaml's central account and how to reach it (its `accounts` entry, else the caller);
/// without one, an error with `hint`.
pub fn central_of(config: &Config, hint: &str) -> Result<(Central, Access), Error> {
    let Some(central) = config.central.clone() else {
        return Err(Error::usage("dpc.yaml names no central account").hint(hint.to_string()));
    };
    let access = match config.accounts.get(&central.account) {
        Some(AccountAccess::RoleArn(arn)) => Access::AssumeRole(arn.clone()),
        Some(AccountAccess::Profile(p)) => Access::Profile(p.clone()),
        None => Access::Caller,
    };
    Ok((central, access))
}

/// Runs `f` with a manager over the central account's table.
pub fn with_manager<R>(
    args: &CentralArgs,
    global: &GlobalArgs,
    f: impl FnOnce(&mut Manager<DynamoStore>) -> Result<R, Error>,
) -> Result<R, Error> {
    let config = load_config(&args.config_dir)?.unwrap_or_default();
    let (central, access) = central_of(
        &config,
        "add `central: {account: ID, region: REGION}` to dpc.yaml (run `dpc setup-central-account` there first)",
    )?;
    let options = aws_options(global);
    let runtime = runtime()?;
    let _guard = runtime.enter();
    let sdk = runtime
        .block_on(aws::reach(
            &options,
            &central.account,
            Some(&central.region),
            &access,
        ))
        .map_err(Error::failed)?;
    let table = runtime
        .block_on(aws::parameter(&sdk, TABLE_PARAMETER))
        .map_err(|e| {
            Error::failed(format!(
                "cannot read {TABLE_PARAMETER} in account {}: {e}",
                central.account
            ))
            .hint("deploy the central account first: `dpc setup-central-account`")
        })?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let mut manager = Manager::new(store);
    // The store blocks on the runtime from inside it (block_in_place needs a worker thread).
    runtime.block_on(async { tokio::task::block_in_place(|| f(&mut manager)) })
}
