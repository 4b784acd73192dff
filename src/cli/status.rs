//! `dpc status [NAME]`: each registered pipeline's state and, per dependency, WAITING or
//! ARRIVED with the run that satisfied it, read from the embedded store or, with `--central`,
//! from the central account's tables.

use std::path::{Path, PathBuf};

use clap::Args;

use super::central::{CentralArgs, with_manager};
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::manager::lifecycle::{Phase, RunRef};
use crate::manager::sqlite::SqliteStore;
use crate::manager::store::Store;
use crate::manager::time::{format_time, parse_time};
use crate::manager::{Manager, PipelineStatus};

/// Where the embedded store lives unless `--store` or `DPC_STORE` says otherwise.
pub const DEFAULT_STORE: &str = ".dpc/state.db";

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this pipeline (its name).
    pub name: Option<String>,
    /// The SQLite store.
    #[arg(long, env = "DPC_STORE", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
    /// Evaluate windows as of this RFC 3339 time (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    #[command(flatten)]
    pub central: CentralArgs,
}

pub fn run(args: &StatusArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let now = match &args.at {
        Some(text) => parse_time(text)
            .ok_or_else(|| Error::usage(format!("--at: `{text}` is not an RFC 3339 time")))?,
        None => chrono::Utc::now().timestamp_millis(),
    };
    let rows = if args.central.central {
        with_manager(&args.central, global, |m| collect(m, args, now))?
    } else {
        collect(&mut Manager::new(open_local(&args.store)?), args, now)?
    };
    match global.output {
        OutputFormat::Json => outln(&serde_json::to_string_pretty(&rows).unwrap_or_default())?,
        OutputFormat::Human => out(&table(&rows))?,
    }
    if let (true, Some(name)) = (rows.is_empty(), &args.name) {
        return Err(Error::failed(format!(
            "no registered pipeline is named `{name}`"
        )));
    }
    Ok(ExitStatus::Success)
}

/// The embedded store at `path`, which must exist (a status never creates one).
pub(super) fn open_local(path: &Path) -> Result<SqliteStore, Error> {
    if !path.is_file() {
        return Err(
            Error::usage(format!("no store at {}", path.display())).hint(format!(
                "create one with `dpc local run` or `dpc test --store {} SCENARIO`, or name it with --store",
                path.display()
            )),
        );
    }
    SqliteStore::open(path).map_err(|e| Error::usage(e.to_string()))
}

fn collect<S: Store>(
    manager: &mut Manager<S>,
    args: &StatusArgs,
    now: i64,
) -> Result<Vec<PipelineStatus>, Error> {
    let rows = manager
        .status(now)
        .map_err(|e| Error::failed(e.to_string()))?;
    Ok(rows
        .into_iter()
        .filter(|r| args.name.as_deref().is_none_or(|n| n == r.pipeline.name))
        .collect())
}

fn arrived(run: &RunRef, note: &str) -> String {
    format!(
        "ARRIVED  {} {} at {}{note}",
        run.status,
        run.id,
        format_time(run.time)
    )
}

fn table(rows: &[PipelineStatus]) -> String {
    let ids: Vec<String> = rows.iter().map(|r| r.pipeline.key()).collect();
    let width = ids
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("PIPELINE".len());
    let mut out = format!("{:width$}  {:9}  LAST TRIGGER\n", "PIPELINE", "STATE");
    for (row, id) in rows.iter().zip(&ids) {
        let last = match (&row.last_trigger_at, &row.last_trigger_id) {
            (Some(at), Some(tid)) => format!("{at} ({tid})"),
            _ => "-".to_string(),
        };
        out.push_str(&format!("{id:width$}  {:9}  {last}\n", row.phase.as_str()));
        // While the run it started is pending, a leaf shows the run that fired it.
        let pending = matches!(row.phase, Phase::Triggered | Phase::Running);
        for leaf in &row.leaves {
            let fired = row
                .fired
                .iter()
                .find(|f| f.label == leaf.label)
                .and_then(|f| f.arrived.as_ref())
                .filter(|_| pending && leaf.arrived.is_none());
            let state = match (&leaf.arrived, fired) {
                (Some(run), _) => arrived(run, ""),
                (None, Some(run)) => arrived(run, "  (fired the last trigger)"),
                (None, None) => "WAITING".to_string(),
            };
            out.push_str(&format!(
                "  {:width$}{state}\n",
                format!("{}:", leaf.label),
                width = width
            ));
        }
    }
    out
}
