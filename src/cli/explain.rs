//! `dpc explain`: validates and compiles pipelines and prints, for people, what each one's
//! trigger means (condition, schedule with the next fire times, pattern and its size). The
//! clock is read here, once; the explanation itself is pure (`compile::explain`).

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;

use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::compile::explain::explain;
use crate::compile::tree::compile_tree;
use crate::pipeline::load::script_sha256;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A project folder, a pipeline.yaml or a tree of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &ExplainArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let tree = validated(&args.paths, global)?;
    let built =
        compile_tree(&tree, env!("CARGO_PKG_VERSION"), &script_sha256).map_err(Error::failed)?;
    let now = Utc::now().naive_utc();
    let explanations: Vec<_> = built
        .iter()
        .map(|b| explain(&b.env, &b.compiled, now))
        .collect();
    match global.output {
        OutputFormat::Json => {
            let text = serde_json::to_string_pretty(&explanations)
                .map_err(|e| Error::usage(format!("internal error: {e}")))?;
            outln(&text)?;
        }
        OutputFormat::Human => {
            let texts: Vec<String> = explanations.iter().map(ToString::to_string).collect();
            out(&texts.join("\n"))?;
        }
    }
    Ok(ExitStatus::Success)
}
