//! `dpc synth`: validates, compiles every pipeline and writes its artifacts under the output
//! folder (`dpc.out/<pipeline>/…`). Refuses to write anything when validation finds errors;
//! the output folder is replaced as a whole (`compile::output`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;

use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, outln};
use crate::compile::output::{self, Files};
use crate::compile::tree::{Built, compile_tree};
use crate::pipeline::load::script_sha256;
use crate::pipeline::model::Pipeline;

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Output folder (replaced as a whole).
    #[arg(long, default_value = "dpc.out")]
    pub out: PathBuf,
}

pub fn run(args: &SynthArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let tree = validated(&args.paths, global)?;
    let built =
        compile_tree(&tree, env!("CARGO_PKG_VERSION"), &script_sha256).map_err(Error::failed)?;
    unique_names(&built)?;
    let outputs: Vec<Files> = built
        .iter()
        .map(|b| (b.env.name(), b.artifacts.files.as_slice()))
        .collect();
    output::write_atomically(&args.out, &outputs).map_err(Error::usage)?;
    report_written(&args.out, &built, global)?;
    Ok(ExitStatus::Success)
}

/// Output folders are named after pipelines, so two pipelines of one name (in different
/// accounts or regions) must be synthesised into different output folders.
fn unique_names(built: &[Built]) -> Result<(), Error> {
    let mut seen: BTreeMap<&str, &Pipeline> = BTreeMap::new();
    for b in built {
        if let Some(first) = seen.insert(b.env.name(), b.env.pipeline) {
            return Err(Error::failed(format!(
                "two pipelines are named `{}` ({} and {})",
                b.env.name(),
                first.file.display(),
                b.env.pipeline.file.display()
            ))
            .hint("synthesise them separately, each with its own --out"));
        }
    }
    Ok(())
}

fn report_written(out: &Path, built: &[Built], global: &GlobalArgs) -> Result<(), Error> {
    match global.output {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = built
                .iter()
                .map(|b| {
                    let name = b.env.name();
                    serde_json::json!({"pipeline": name, "dir": out.join(name), "hash": b.artifacts.hash})
                })
                .collect();
            outln(&serde_json::json!({"out": out, "pipelines": list}).to_string())
        }
        OutputFormat::Human if !global.quiet => {
            eprintln!("wrote {} pipeline(s) to {}", built.len(), out.display());
            Ok(())
        }
        OutputFormat::Human => Ok(()),
    }
}
