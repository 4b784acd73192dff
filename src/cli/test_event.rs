//! `dpc test-event`: matches an event against an EventBridge pattern with dpc's own engine.
//! Reads the pattern and the event (file, inline JSON or stdin), writes the result to stdout
//! (`match` / `no match`, or JSON) and reasons for invalid input to stderr.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::Utc;

use clap::Args;
use serde::Serialize;

use super::{GlobalArgs, OutputFormat, exit};
use crate::compile::{Env, pattern};
use crate::pattern::{BranchReport, DEFAULT_MAX_LENGTH, Event, Explanation, Pattern};

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

/// Returns the process exit code (0 match, 1 no match, 2 invalid input).
pub fn run(args: &TestEventArgs, global: &GlobalArgs) -> u8 {
    match evaluate(args, global) {
        Ok(matched) if matched => exit::SUCCESS,
        Ok(_) => exit::FAILURE,
        Err(reason) => {
            eprintln!("error: {reason}");
            exit::ERROR
        }
    }
}

/// Reads, matches and prints; `Err` is the reason the input is unusable.
fn evaluate(args: &TestEventArgs, global: &GlobalArgs) -> Result<bool, String> {
    let pattern_text = match (&args.pattern, &args.pipeline) {
        (Some(p), _) if p == "-" && args.event == "-" => {
            return Err("only one of --pattern and --event can be read from stdin ('-')".into());
        }
        (Some(p), _) => read_input(p, "pattern")?,
        (None, Some(path)) => pipeline_pattern(path)?,
        (None, None) => return Err("give --pattern or --pipeline".into()),
    };
    let pattern = Pattern::parse(&pattern_text).map_err(|e| format!("invalid pattern: {e}"))?;
    let event_text = read_input(&args.event, "event")?;
    let event = Event::parse(event_text).map_err(|e| e.to_string())?;
    if let (Err(size), false) = (pattern.check_size(DEFAULT_MAX_LENGTH), global.quiet) {
        eprintln!("warning: EventBridge would reject this pattern: {size}");
    }
    let format = args.format.unwrap_or(global.output);
    let matched = if args.explain {
        let explanation = pattern.explain(&event);
        match format {
            OutputFormat::Human => print!("{explanation}"),
            OutputFormat::Json => println!(
                "{}",
                json_result(&pattern, Some(&explanation), explanation.matched)
            ),
        }
        explanation.matched
    } else {
        let matched = pattern.matches(&event);
        match format {
            OutputFormat::Human => println!("{}", if matched { "match" } else { "no match" }),
            OutputFormat::Json => println!("{}", json_result(&pattern, None, matched)),
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
fn read_input(arg: &str, what: &str) -> Result<String, String> {
    if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
        return Ok(text);
    }
    let trimmed = arg.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || !Path::new(arg).is_file() {
        return Ok(arg.to_string());
    }
    std::fs::read_to_string(arg).map_err(|e| format!("cannot read the {what} file {arg}: {e}"))
}

/// The compiled trigger pattern of the one valid pipeline at `path`.
fn pipeline_pattern(path: &Path) -> Result<String, String> {
    let outcome = super::validate::collect(&[path.to_path_buf()], Utc::now().naive_utc())?;
    let errors = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        return Err(format!(
            "{} has {errors} error(s); run `dpc validate {}`",
            path.display(),
            path.display()
        ));
    }
    let loaded = &outcome.loaded;
    let [unit] = loaded.units.as_slice() else {
        return Err(format!(
            "--pipeline takes one project, but {} holds {} pipelines",
            path.display(),
            loaded.units.len()
        ));
    };
    let pipeline = unit
        .checked
        .value
        .as_ref()
        .ok_or("the pipeline is not valid")?;
    let env = Env::new(pipeline, loaded.config_of(unit), env!("CARGO_PKG_VERSION"));
    match pattern::compile(&env) {
        Ok(Some(p)) => Ok(p.text),
        Ok(None) => Err(format!(
            "pipeline {} has no trigger pattern: it waits on no executions or data products",
            pipeline.name
        )),
        Err(e) => Err(e.to_string()),
    }
}
