//! `dpc destroy`: deletes the pipelines' stacks in their accounts and waits until they are
//! gone. A stack that does not exist is not an error.

use std::path::PathBuf;

use clap::Args;

use super::deploy::{PASS_YES, run_fleet};
use super::term::require_terminal;
use super::{Error, ExitStatus, GlobalArgs};
use crate::deploy::fleet::Op;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Delete without asking.
    #[arg(long)]
    pub yes: bool,
    /// Stacks deleted at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Wait for operations already in progress on a stack instead of refusing.
    #[arg(long)]
    pub wait: bool,
}

pub fn run(args: &DestroyArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    if !args.yes {
        require_terminal(PASS_YES)?;
    }
    let op = Op::Destroy {
        yes: args.yes,
        wait: args.wait,
    };
    run_fleet(&args.paths, op, usize::from(args.concurrency), global).map(|(status, _)| status)
}
