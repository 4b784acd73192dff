//! `dpc explain`: validates and compiles pipelines and prints, for people, what each one's
//! trigger means (condition, schedule with the next fire times, pattern and its size). The
//! clock is read here, once; the explanation itself is pure (`compile::explain`).

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;

use super::synth::{envs, load_valid};
use super::{GlobalArgs, OutputFormat, exit};
use crate::compile::{self, explain::explain};

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A project folder, a pipeline.yaml or a tree of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &ExplainArgs, global: &GlobalArgs) -> u8 {
    let outcome = match load_valid(&args.paths, global) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let now = Utc::now().naive_utc();
    let mut explanations = Vec::new();
    for env in envs(&outcome, env!("CARGO_PKG_VERSION")) {
        match compile::compile(&env) {
            Ok(compiled) => explanations.push(explain(&env, &compiled, now)),
            Err(e) => {
                eprintln!("error: {}: {e}", env.pipeline.file.display());
                return exit::FAILURE;
            }
        }
    }
    match global.output {
        OutputFormat::Json => match serde_json::to_string_pretty(&explanations) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return exit::ERROR;
            }
        },
        OutputFormat::Human => {
            let texts: Vec<String> = explanations.iter().map(ToString::to_string).collect();
            print!("{}", texts.join("\n"));
        }
    }
    exit::SUCCESS
}
