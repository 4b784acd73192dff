//! `dpc test-event`: matches an event against an EventBridge pattern with dpc's own engine.
//! Reads the pattern and the event (file, inline JSON or stdin), writes the result to stdout
//! (`match` / `no match`, or JSON) and reasons for invalid input to stderr.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::Utc;

use clap::Args;
use serde::Serialize;

use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::compile::{Env, trigger_pattern};
use crate::pattern::{BranchReport, DEFAULT_MAX_LENGTH, Event, Explanation, Pattern};
use crate::pipeline::load::validate_tree;

#[derive(Debug, Args)]
pub struct TestEventArgs {
    /// The pattern: a file path, inline JSON, or `-` for stdin.
    #[arg(
        long,
        required_unless_present = "pipeline",
        conflicts_with = "pipeline"
    )]
    pub pattern: Option<String>,
    /// Match against this pipeline's compiled trigger pattern (a project or its pipeline.yaml).
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// The event: a file path, inline JSON, or `-` for stdin.
    #[arg(long)]
    pub event: String,
    /// Say, per `$or` branch, which field failed to match and why.
    #[arg(long)]
    pub explain: bool,
    /// Result format on stdout (default: the global `--output`).
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
}

/// 0 match, 1 no match, 2 invalid input.
pub fn run(args: &TestEventArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    evaluate(args, global).map(ExitStatus::check)
}

/// Reads, matches and prints.
fn evaluate(args: &TestEventArgs, global: &GlobalArgs) -> Result<bool, Error> {
    let pattern_text = match (&args.pattern, &args.pipeline) {
        (Some(p), _) if p == "-" && args.event == "-" => {
            return Err(Error::usage(
                "only one of --pattern and --event can be read from stdin (`-`)",
            ));
        }
        (Some(p), _) => read_input(p, "pattern")?,
        (None, Some(path)) => pipeline_pattern(path)?,
        (None, None) => return Err(Error::usage("give --pattern or --pipeline")),
    };
    let pattern =
        Pattern::parse(&pattern_text).map_err(|e| Error::usage(format!("invalid pattern: {e}")))?;
    let event_text = read_input(&args.event, "event")?;
    let event = Event::parse(event_text).map_err(|e| Error::usage(e.to_string()))?;
    if let (Err(size), false) = (pattern.check_size(DEFAULT_MAX_LENGTH), global.quiet) {
        eprintln!("warning: EventBridge would reject this pattern: {size}");
    }
    let format = args.format.unwrap_or(global.output);
    let matched = if args.explain {
        let explanation = pattern.explain(&event);
        match format {
            OutputFormat::Human => out(&explanation.to_string())?,
            OutputFormat::Json => outln(&json_result(
                &pattern,
                Some(&explanation),
                explanation.matched,
            ))?,
        }
        explanation.matched
    } else {
        let matched = pattern.matches(&event);
        match format {
            OutputFormat::Human => outln(if matched { "match" } else { "no match" })?,
            OutputFormat::Json => outln(&json_result(&pattern, None, matched))?,
        }
        matched
    };
    Ok(matched)
}

/// The `--format json` result; fields in this order, `branches` only with `--explain`.
#[derive(Serialize)]
struct JsonResult<'a> {
    matched: bool,
    combinations: usize,
    length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    branches: Option<&'a [BranchReport]>,
}

fn json_result(pattern: &Pattern, explanation: Option<&Explanation>, matched: bool) -> String {
    let result = JsonResult {
        matched,
        combinations: pattern.combinations(),
        length: pattern.len(),
        branches: explanation.map(|e| e.branches.as_slice()),
    };
    // Serialising plain data to a String cannot fail; fall back to the bare answer anyway.
    serde_json::to_string(&result).unwrap_or_else(|_| format!("{{\"matched\":{matched}}}"))
}

/// `-` is stdin; text starting with `{` or `[` is inline JSON; an existing file is read;
/// anything else is taken as inline text (and its parse error reported).
fn read_input(arg: &str, what: &str) -> Result<String, Error> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::usage(format!("cannot read the {what} from stdin: {e}")))?;
        return Ok(text);
    }
    let trimmed = arg.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || !Path::new(arg).is_file() {
        return Ok(arg.to_string());
    }
    std::fs::read_to_string(arg)
        .map_err(|e| Error::usage(format!("cannot read the {what} file {arg}: {e}")))
}

/// The compiled trigger pattern of the one valid pipeline at `path`.
fn pipeline_pattern(path: &Path) -> Result<String, Error> {
    let tree = validate_tree(&[path.to_path_buf()], Utc::now().naive_utc())?;
    let errors = tree.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        return Err(
            Error::usage(format!("{} has {errors} error(s)", path.display()))
                .hint(format!("run `dpc validate {}`", path.display())),
        );
    }
    let pipelines: Vec<_> = tree.pipelines().collect();
    let [(pipeline, config)] = pipelines.as_slice() else {
        return Err(Error::usage(format!(
            "--pipeline takes one project, but {} holds {} pipelines",
            path.display(),
            tree.loaded.units.len()
        )));
    };
    let env = Env::new(pipeline, *config, env!("CARGO_PKG_VERSION"));
    match trigger_pattern::compile(&env) {
        Ok(Some(p)) => Ok(p.text),
        Ok(None) => Err(Error::usage(format!(
            "pipeline `{}` has no trigger pattern: it waits on no executions or data products",
            pipeline.name
        ))),
        Err(e) => Err(Error::usage(e.to_string())),
    }
}
