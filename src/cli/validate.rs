//! `dpc validate`: validates projects or trees of projects and reports every diagnostic in the
//! chosen format. Human output goes to stderr; machine formats are data, on stdout.

use std::path::PathBuf;

use chrono::Utc;
use clap::{Args, ValueEnum};

use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out};
use crate::diag::codes;
use crate::diag::diagnostic::{Diagnostic, Severity};
use crate::diag::report;
use crate::pipeline::load::{Validated, validate_tree};

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

pub fn run(args: &ValidateArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let tree = validate_tree(&args.paths, Utc::now().naive_utc())?;
    let format = args.format.unwrap_or(match global.output {
        OutputFormat::Json => Format::Json,
        OutputFormat::Human => Format::Human,
    });
    let (diags, summary) = (&tree.diagnostics, tree.summary);
    match format {
        Format::Human if global.quiet && diags.is_empty() => {}
        Format::Human => eprint!("{}", report::human(diags, summary, global.color_enabled())),
        Format::Json => out(&report::json(diags, summary))?,
        Format::Github => out(&report::github(diags))?,
        Format::Sarif => out(&report::sarif(diags))?,
    }
    Ok(exit_status(diags, args.strict))
}

/// Validates the tree under `paths` for a command that goes on to compile it: diagnostics are
/// shown on stderr (warnings unless `--quiet`), and errors end the command.
pub fn validated(paths: &[PathBuf], global: &GlobalArgs) -> Result<Validated, Error> {
    let tree = validate_tree(paths, Utc::now().naive_utc())?;
    let errors = tree.has_errors();
    if errors || (!global.quiet && !tree.diagnostics.is_empty()) {
        eprint!(
            "{}",
            report::human(&tree.diagnostics, tree.summary, global.color_enabled())
        );
    }
    if errors {
        return Err(Error::silent(exit_status(&tree.diagnostics, false)));
    }
    Ok(tree)
}

/// 2 when a file could not be read, 1 on errors (or warnings with `strict`), else 0.
pub fn exit_status(diags: &[Diagnostic], strict: bool) -> ExitStatus {
    if diags.iter().any(|d| d.code.id == codes::IO_READ.id) {
        ExitStatus::Error
    } else {
        ExitStatus::check(
            !diags.iter().any(|d| {
                d.severity == Severity::Error || (strict && d.severity == Severity::Warning)
            }),
        )
    }
}
