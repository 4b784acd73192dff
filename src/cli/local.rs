//! `dpc local`: `run` plays a tree of projects on one machine (`local::runtime`), printing
//! the timeline on stderr and a summary per pipeline on stdout (or JSON lines); `execute`
//! runs one Amazon States Language state machine in dpc's interpreter (`asl`), in virtual
//! time, with Task results from a mock file, writing the path taken (or one JSON document).
//! `execute` exits 0 SUCCEEDED, 1 any other status, 2 an invalid definition, input or mock.

use std::path::{Path, PathBuf};

use chrono::{DateTime, SubsecRound, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out};
use crate::asl::{self, Definition, Execution, MockHandler, Options, Problem, Status};

#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub command: LocalCommand,
}

#[derive(Debug, Subcommand)]
pub enum LocalCommand {
    /// Run projects on this machine: schedules, state machines, steps and triggers.
    Run(RunArgs),
    /// Run one state machine definition in the interpreter, in virtual time.
    Execute(ExecuteArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Start of the virtual time (RFC 3339 or YYYY-MM-DD; default: today 00:00 UTC).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the virtual time (default: 24 h after --from).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Make a pipeline (or one of its steps) fail, e.g. `--fail listings` or `--fail listings:aggregate-listings`.
    #[arg(long, value_name = "PIPELINE[:STEP]")]
    pub fail: Vec<String>,
    /// Real time: schedules fire at their real times, steps run as they come, until Ctrl-C
    /// (or --until); the store is kept and resumed on the next start.
    #[arg(long, conflicts_with = "from")]
    pub live: bool,
    /// Keep the store's state (dependencies that arrived, claims) instead of starting afresh.
    #[arg(long)]
    pub resume: bool,
    /// The embedded store, kept for `dpc status` (recreated unless --resume or --live).
    #[arg(long, value_name = "FILE", default_value = super::status::DEFAULT_STORE)]
    pub store: PathBuf,
    /// Deliver every event twice, as EventBridge may: nothing may run twice.
    #[arg(long)]
    pub at_least_once: bool,
    /// Where step logs go (`<pipeline>/<execution>/<step>-<attempt>.log`).
    #[arg(long, value_name = "DIR", default_value = ".dpc/logs")]
    pub logs: PathBuf,
    /// Also write an HTML report (runs over time, dependency graph, runs, timeline) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Also post the Slack messages, one thread per run, to this Slack-compatible Web API
    /// (e.g. https://slack.com/api for a team's test workspace), after the run.
    #[arg(long, value_name = "URL")]
    pub slack_api_url: Option<String>,
    /// The bot token for --slack-api-url.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SLACK_BOT_TOKEN",
        hide_env_values = true
    )]
    pub slack_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecuteArgs {
    /// The definition (`state-machine.asl.json` of `dpc synth`, or any ASL file).
    #[arg(long, value_name = "FILE")]
    pub definition: PathBuf,
    /// The execution input: inline JSON or a file.
    #[arg(long, value_name = "JSON|FILE", default_value = "{}")]
    pub input: String,
    /// Task responses per state name (see README), inline JSON or a file.
    #[arg(long, value_name = "FILE")]
    pub mock: Option<String>,
    /// With a Step Functions Local MockConfig holding several test cases: the one to use.
    #[arg(long, value_name = "NAME", requires = "mock")]
    pub test_case: Option<String>,
    /// Replace `${KEY}` in the definition (as CloudFormation's DefinitionSubstitutions).
    #[arg(long = "substitute", value_name = "KEY=VALUE")]
    pub substitutions: Vec<String>,
    /// The execution's virtual start time (RFC 3339; default: now).
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,
    /// The execution name (`$$.Execution.Name`).
    #[arg(long, default_value = "local")]
    pub name: String,
    /// Seed for MathRandom, UUID, task tokens and retry jitter.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// State transitions after which the execution is aborted (an endless loop ends).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_transitions: u64,
    /// Include the execution history (GetExecutionHistory's events, virtual timestamps).
    #[arg(long)]
    pub history: bool,
}

pub fn run(args: &LocalArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    match &args.command {
        LocalCommand::Execute(a) => execute(a, global),
        LocalCommand::Run(a) => super::local_run::run(a, global),
    }
}

fn execute(args: &ExecuteArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let definition = read_definition(args)?;
    let input = json_arg(&args.input, "--input")?;
    let mut mocks = read_mocks(args)?;
    let options = options(args)?;
    let execution = asl::run(&definition, input, &options, &mut mocks);
    match global.output {
        OutputFormat::Json => out(&format!("{}\n", json_report(&execution, args.history)))?,
        OutputFormat::Human => out(&human_report(&execution, args.history))?,
    }
    Ok(ExitStatus::check(execution.status == Status::Succeeded))
}

fn read_definition(args: &ExecuteArgs) -> Result<Definition, Error> {
    let path = &args.definition;
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    for pair in &args.substitutions {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("--substitute `{pair}` is not KEY=VALUE")))?;
        text = text.replace(&format!("${{{key}}}"), value);
    }
    let value = parse_json(&text, &path.display().to_string())?;
    Definition::parse(&value).map_err(|problems| invalid(path, "definition", &problems))
}

fn read_mocks(args: &ExecuteArgs) -> Result<MockHandler, Error> {
    let Some(arg) = &args.mock else {
        return Ok(MockHandler::default());
    };
    let value = json_arg(arg, "--mock")?;
    let parsed = match &args.test_case {
        Some(case) => {
            let machine = definition_name(&args.definition, &value);
            MockHandler::parse_test_case(&value, &machine, case)
        }
        None => MockHandler::parse(&value),
    };
    parsed.map_err(|problems| invalid(Path::new(arg), "mock file", &problems))
}

/// The state machine a MockConfig test case belongs to: the only one in the file, else the
/// definition's file name without `.asl.json` / `.json`.
fn definition_name(path: &Path, mocks: &Value) -> String {
    if let Some(machines) = mocks.get("StateMachines").and_then(Value::as_object)
        && machines.len() == 1
        && let Some(name) = machines.keys().next()
    {
        return name.clone();
    }
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.trim_end_matches(".json")
        .trim_end_matches(".asl")
        .to_string()
}

fn options(args: &ExecuteArgs) -> Result<Options, Error> {
    let start_time = match &args.start_time {
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::usage(format!("--start-time `{text}`: {e}")))?,
        None => Utc::now().trunc_subsecs(3),
    };
    Ok(Options {
        start_time,
        execution_name: args.name.clone(),
        seed: args.seed,
        max_transitions: args.max_transitions,
        record_history: args.history,
        record_trace: true,
        ..Options::default()
    })
}

/// Inline JSON (starting with `{`, `[` or `"`), else a file holding JSON.
fn json_arg(arg: &str, flag: &str) -> Result<Value, Error> {
    let trimmed = arg.trim_start();
    if trimmed.starts_with(['{', '[', '"']) || !Path::new(arg).is_file() {
        return parse_json(arg, flag);
    }
    let text = std::fs::read_to_string(arg)
        .map_err(|e| Error::usage(format!("{flag}: cannot read {arg}: {e}")))?;
    parse_json(&text, arg)
}

fn parse_json(text: &str, origin: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::usage(format!(
            "{origin}:{}:{}: not valid JSON: {e}",
            e.line(),
            e.column()
        ))
    })
}

fn invalid(path: &Path, what: &str, problems: &[Problem]) -> Error {
    let mut message = format!(
        "{} is not a valid {what} ({} problem(s)):",
        path.display(),
        problems.len()
    );
    for p in problems {
        message.push_str(&format!("\n  {p}"));
    }
    Error::usage(message)
}

fn json_report(ex: &Execution, history: bool) -> Value {
    let mut doc = match ex.status {
        Status::Succeeded => json!({"status": ex.status, "output": ex.output}),
        _ => json!({"status": ex.status, "error": ex.error, "cause": ex.cause}),
    };
    if history {
        doc["history"] = serde_json::to_value(&ex.history).unwrap_or_default();
    }
    doc
}

fn human_report(ex: &Execution, history: bool) -> String {
    let width = ex.trace.iter().map(|s| s.state.len()).max().unwrap_or(0);
    let mut text = String::new();
    for step in &ex.trace {
        let at = step.at.format("%H:%M:%S%.3f");
        text.push_str(&format!("{at}  {:width$}  {}\n", step.state, step.outcome));
    }
    let took = (ex.stopped - ex.started).num_milliseconds() as f64 / 1000.0;
    text.push_str(&format!(
        "{} after {took} s of virtual time, {} transition(s)\n",
        ex.status.as_str(),
        ex.transitions
    ));
    match ex.status {
        Status::Succeeded => text.push_str(&format!(
            "output: {}\n",
            ex.output.as_ref().unwrap_or(&Value::Null)
        )),
        _ => text.push_str(&format!(
            "error: {}\ncause: {}\n",
            ex.error.as_deref().unwrap_or("-"),
            ex.cause.as_deref().unwrap_or("-")
        )),
    }
    if history {
        for event in &ex.history {
            text.push_str(&format!(
                "{}\n",
                serde_json::to_string(event).unwrap_or_default()
            ));
        }
    }
    text
}
