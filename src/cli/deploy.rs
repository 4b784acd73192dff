//! `dpc deploy`: compiles the pipelines and deploys each one's stack to its own account
//! through change sets (see `fleet` for the run over many stacks).

use std::path::PathBuf;

use clap::Args;

use super::fleet::{self, Op};
use super::{GlobalArgs, exit};
use crate::aws::cloudformation::DeployOptions;

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Execute change sets without asking.
    #[arg(long)]
    pub yes: bool,
    /// Create and show the change sets, but do not execute them.
    #[arg(long)]
    pub no_execute: bool,
    /// Stacks deployed at once (prompts, without --yes, go one stack at a time).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Wait for operations already in progress on a stack instead of refusing.
    #[arg(long)]
    pub wait: bool,
    /// Make a change set even for stacks already deployed with this exact content.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &DeployArgs, global: &GlobalArgs) -> u8 {
    if !args.yes && !args.no_execute && !fleet::interactive() {
        eprintln!("error: {}", fleet::NO_TERMINAL);
        return exit::ERROR;
    }
    let options = DeployOptions {
        yes: args.yes,
        no_execute: args.no_execute,
        wait: args.wait,
    };
    let concurrency = if args.yes || args.no_execute {
        usize::from(args.concurrency)
    } else {
        1
    };
    let op = Op::Deploy {
        options,
        force: args.force,
    };
    fleet::run(&args.paths, op, concurrency, global)
}
