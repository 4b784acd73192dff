//! `dpc graph [PATH...]`: validates the tree and prints its dependency graph (Mermaid, DOT,
//! JSON or a self-contained HTML page) on stdout; with `--status`, each pipeline's state from
//! the embedded store (or, with `--central`, the central account's tables) and what each
//! WAITING one still waits for. The graph and its renderers are pure (`lineage`); this reads
//! the files, the store and the clock.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::central::{CentralArgs, with_manager};
use super::status::{DEFAULT_STORE, open_local};
use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs, out};
use crate::lineage::graph::Graph;
use crate::lineage::{dot, html, mermaid};
use crate::manager::time::parse_time;
use crate::manager::{Manager, PipelineStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A Mermaid flowchart (renders on GitHub in a ```mermaid block).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// The graph's nodes and edges (see README, `dpc graph`).
    Json,
    /// One self-contained page: inline SVG and tables, no script.
    Html,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Project folders, pipeline.yaml files or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    pub format: Format,
    /// Colour each pipeline with its state and mark what a WAITING one still waits for.
    #[arg(long)]
    pub status: bool,
    /// The SQLite store `--status` reads.
    #[arg(long, env = "DPC_STORE", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
    /// Evaluate windows as of this RFC 3339 time (default: now).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// With `--status` implied: states from the central account's tables.
    #[command(flatten)]
    pub central: CentralArgs,
}

pub fn run(args: &GraphArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let tree = validated(&args.paths, global)?;
    let pipelines: Vec<_> = tree.pipelines().collect();
    let mut graph = Graph::build(&pipelines);
    if args.status || args.central.central {
        graph.apply_states(&states(args, global)?);
    }
    let text = match args.format {
        Format::Mermaid => mermaid::render(&graph),
        Format::Dot => dot::render(&graph),
        Format::Html => html::render(&graph),
        Format::Json => {
            let json = serde_json::to_string_pretty(&graph)
                .map_err(|e| Error::usage(format!("internal error: {e}")))?;
            format!("{json}\n")
        }
    };
    out(&text)?;
    Ok(ExitStatus::Success)
}

/// Every registered pipeline's state, from the embedded store or the central tables.
fn states(args: &GraphArgs, global: &GlobalArgs) -> Result<Vec<PipelineStatus>, Error> {
    let now = match &args.at {
        Some(text) => parse_time(text)
            .ok_or_else(|| Error::usage(format!("--at: `{text}` is not an RFC 3339 time")))?,
        None => chrono::Utc::now().timestamp_millis(),
    };
    let read = |e: crate::manager::store::StoreError| Error::failed(e.to_string());
    if args.central.central {
        with_manager(&args.central, global, |m| m.status(now).map_err(read))
    } else {
        Manager::new(open_local(&args.store)?)
            .status(now)
            .map_err(read)
    }
}
