//! `dpc history NAME`: the audit trail of one registered pipeline (registration, leaf and
//! phase changes, triggers, late results), oldest first, read from the embedded store or,
//! with `--central`, from the central account's tables.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::central::{CentralArgs, with_manager};
use super::status::open_local;
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::manager::Manager;
use crate::manager::lifecycle::HistoryEntry;
use crate::manager::registry::{PipelineId, Registration};
use crate::manager::store::{Store, StoreError};
use crate::manager::time::format_time;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The pipeline's name.
    pub name: String,
    /// Its account, when pipelines in several accounts share the name.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// The SQLite store.
    #[arg(long, env = "DPC_STORE", default_value = super::status::DEFAULT_STORE)]
    pub store: PathBuf,
    #[command(flatten)]
    pub central: CentralArgs,
}

/// One pipeline's history.
#[derive(Debug, Serialize)]
struct Trail {
    pipeline: String,
    entries: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct Row {
    at: String,
    kind: String,
    change: String,
    cause: String,
}

pub fn run(args: &HistoryArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let found = if args.central.central {
        with_manager(&args.central, global, |m| trail(m, args))?
    } else {
        trail(&mut Manager::new(open_local(&args.store)?), args)?
    };
    let trail = found?;
    match global.output {
        OutputFormat::Json => outln(&serde_json::to_string_pretty(&trail).unwrap_or_default())?,
        OutputFormat::Human => out(&render(&trail))?,
    }
    Ok(ExitStatus::Success)
}

/// The trail of the one pipeline `args` names; `Err` (the outer `Ok`) when none or several.
fn trail<S: Store>(
    manager: &mut Manager<S>,
    args: &HistoryArgs,
) -> Result<Result<Trail, Error>, Error> {
    let store = |e: StoreError| Error::failed(e.to_string());
    let registrations = manager.registrations().map_err(store)?;
    let id = match pick(&registrations, &args.name, args.account.as_deref()) {
        Ok(id) => id,
        Err(err) => return Ok(Err(err)),
    };
    let entries = manager.history(&id).map_err(store)?;
    Ok(Ok(Trail {
        pipeline: id.key(),
        entries: entries.iter().map(row).collect(),
    }))
}

fn pick(regs: &[Registration], name: &str, account: Option<&str>) -> Result<PipelineId, Error> {
    let matching: Vec<&PipelineId> = regs
        .iter()
        .map(|r| &r.id)
        .filter(|id| id.name == name && account.is_none_or(|a| a == id.account))
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(
            Error::failed(format!("no registered pipeline is named `{name}`"))
                .hint("`dpc status` lists the registered pipelines"),
        ),
        many => Err(Error::usage(format!(
            "{} registered pipelines are named `{name}`",
            many.len()
        ))
        .hint(format!(
            "name the account with --account (one of {})",
            many.iter()
                .map(|id| id.account.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn row(entry: &HistoryEntry) -> Row {
    Row {
        at: format_time(entry.at),
        kind: entry.kind.clone(),
        change: entry.change.clone(),
        cause: entry.cause.clone(),
    }
}

fn render(trail: &Trail) -> String {
    let mut text = format!("{}\n", trail.pipeline);
    let kind = trail
        .entries
        .iter()
        .map(|r| r.kind.len())
        .max()
        .unwrap_or(0);
    for r in &trail.entries {
        // Leaf changes already name the run that caused them.
        let cause = if r.change.contains(&r.cause) || r.change == r.kind {
            String::new()
        } else {
            format!("  ({})", r.cause)
        };
        text.push_str(&format!(
            "  {}  {:kind$}  {}{cause}\n",
            r.at, r.kind, r.change
        ));
    }
    text
}
