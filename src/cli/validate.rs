//! `dpc validate`: validates projects or trees of projects and reports every diagnostic in the
//! chosen format. Human output goes to stderr; machine formats are data, on stdout.

use std::io::Write;
use std::path::PathBuf;

use chrono::{NaiveDateTime, Utc};
use clap::{Args, ValueEnum};

use super::{GlobalArgs, OutputFormat, exit};
use crate::codes;
use crate::compile;
use crate::diagnostic::{Diagnostic, Severity, normalize};
use crate::project;
use crate::report::{self, Summary};
use crate::tree;
use crate::validate::Context;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Diagnostic format (default: human, or json with `--output json`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
}

/// Everything `validate` found, ready to render.
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub summary: Summary,
    pub loaded: project::Loaded,
}

/// Loads, validates and cross-checks as of `now` (UTC); `Err` is a message for exit code 2.
pub fn collect(paths: &[PathBuf], now: NaiveDateTime) -> Result<Outcome, String> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        paths.to_vec()
    };
    let ctx = Context {
        today: now.date(),
        file_exists: &|p| p.is_file(),
    };
    let loaded = project::load(&paths, &ctx).map_err(|e| e.to_string())?;
    if loaded.units.is_empty() && loaded.diagnostics.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "no {} found in {}",
            project::PIPELINE_FILE,
            shown.join(", ")
        ));
    }
    let mut diagnostics = loaded.diagnostics.clone();
    for unit in &loaded.units {
        diagnostics.extend(unit.checked.diagnostics.iter().cloned());
    }
    for config in &loaded.configs {
        diagnostics.extend(config.checked.diagnostics.iter().cloned());
    }
    diagnostics.extend(tree::check(&loaded, now));
    diagnostics.extend(compile::check::trigger_patterns(&loaded));
    normalize(&mut diagnostics);
    let summary = Summary {
        files: loaded.units.len() + loaded.configs.len(),
        pipelines: loaded
            .units
            .iter()
            .filter(|u| u.checked.value.is_some())
            .count(),
        ..Summary::default()
    }
    .count(&diagnostics);
    Ok(Outcome {
        diagnostics,
        summary,
        loaded,
    })
}

pub fn run(args: &ValidateArgs, global: &GlobalArgs) -> u8 {
    let outcome = match collect(&args.paths, Utc::now().naive_utc()) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::ERROR;
        }
    };
    let format = args.format.unwrap_or(match global.output {
        OutputFormat::Json => Format::Json,
        OutputFormat::Human => Format::Human,
    });
    let (diags, summary) = (&outcome.diagnostics, outcome.summary);
    let written = match format {
        Format::Human if global.quiet && diags.is_empty() => Ok(()),
        Format::Human => std::io::stderr()
            .write_all(report::human(diags, summary, global.color_enabled()).as_bytes()),
        Format::Json => std::io::stdout().write_all(report::json(diags, summary).as_bytes()),
        Format::Github => std::io::stdout().write_all(report::github(diags).as_bytes()),
        Format::Sarif => std::io::stdout().write_all(report::sarif(diags).as_bytes()),
    };
    if written.is_err() {
        return exit::ERROR;
    }
    exit_code(diags, args.strict)
}

pub fn exit_code(diags: &[Diagnostic], strict: bool) -> u8 {
    if diags.iter().any(|d| d.code.id == codes::IO_READ.id) {
        exit::ERROR
    } else if diags
        .iter()
        .any(|d| d.severity == Severity::Error || (strict && d.severity == Severity::Warning))
    {
        exit::FAILURE
    } else {
        exit::SUCCESS
    }
}
