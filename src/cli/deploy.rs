//! `dpc deploy`: compiles the pipelines and deploys each one's stack to its own account
//! through change sets. Also the shared front of `diff` and `destroy`: validate, compile, run
//! the operation over every stack (`deploy::fleet`), print the summary and the reports.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::term::{Term, aws_options, print_reports, require_terminal, runtime};
use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs};
use crate::aws::cloudformation::{DeployOptions, Report};
use crate::compile::tree::compile_tree;
use crate::deploy::fleet::{self, Op, SharedProgress};
use crate::pipeline::load::script_sha256;

/// What to say when a prompt is needed and there is no terminal.
pub const PASS_YES: &str = "pass --yes to go ahead without asking (or, for deploy, --no-execute to only create and show the change sets)";

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

pub fn run(args: &DeployArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    if !args.yes && !args.no_execute {
        require_terminal(PASS_YES)?;
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
    run_fleet(&args.paths, op, concurrency, global).map(|(status, _)| status)
}

/// Validates and compiles the tree under `paths`, runs `op` over its stacks and prints the
/// outcome; gives the exit status with each stack's report.
pub fn run_fleet(
    paths: &[PathBuf],
    op: Op,
    concurrency: usize,
    global: &GlobalArgs,
) -> Result<(ExitStatus, Vec<Report>), Error> {
    let tree = validated(paths, global)?;
    let built =
        compile_tree(&tree, env!("CARGO_PKG_VERSION"), &script_sha256).map_err(Error::failed)?;
    let units = fleet::units(&built);
    if units.is_empty() {
        return Err(Error::usage("no valid pipeline found"));
    }
    let runtime = runtime()?;
    let term = Arc::new(Term::new(global.quiet));
    let progress: SharedProgress = term.clone();
    let started = Instant::now();
    let result = runtime.block_on(fleet::run(
        units,
        op,
        concurrency,
        &aws_options(global),
        &progress,
    ));
    term.finish();
    let reports = result.map_err(Error::failed)?;
    if !global.quiet {
        eprintln!("{}", fleet::summary(op, &reports, started.elapsed()));
    }
    let status = print_reports(&reports, global)?;
    Ok((status, reports))
}
