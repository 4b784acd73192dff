//! `dpc diff`: what `dpc deploy` would change, per stack, as a `+ / ~ / -` summary of a change
//! set that is deleted again. Stacks already deployed with this exact content are reported
//! unchanged without a change set (unless `--force`).

use std::path::PathBuf;

use clap::Args;

use super::deploy::run_fleet;
use super::{Error, ExitStatus, GlobalArgs};
use crate::aws::cloudformation::StackResult;
use crate::deploy::fleet::Op;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Exit 1 when any stack would change.
    #[arg(long)]
    pub exit_code: bool,
    /// Stacks compared at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Make a change set even for stacks already deployed with this exact content.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &DiffArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let op = Op::Diff { force: args.force };
    let (status, reports) = run_fleet(&args.paths, op, usize::from(args.concurrency), global)?;
    let changed = reports
        .iter()
        .any(|r| matches!(r.outcome, StackResult::Previewed));
    if status == ExitStatus::Success && args.exit_code && changed {
        Ok(ExitStatus::Failure)
    } else {
        Ok(status)
    }
}
