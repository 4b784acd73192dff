//! Command-line interface: reads argv, runs a command, writes data to stdout and
//! diagnostics/progress to stderr. Commands return `Result<ExitStatus, Error>`; [`run`] is
//! the one place that prints an error (`error: …` with `hint:` lines, see STYLE.md) and maps
//! it to an exit code. The only module that may print (clippy `print_stdout`/`print_stderr`).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod central;
pub mod create_project;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod error;
pub mod explain;
pub mod graph;
pub mod history;
pub mod local;
pub mod local_run;
pub mod publish;
pub mod rerun;
pub mod schema;
pub mod setup_central_account;
pub mod setup_user_account;
pub mod status;
pub mod synth;
pub mod term;
pub mod test;
pub mod test_event;
pub mod validate;

pub use error::{Error, ExitStatus};

#[derive(Debug, Parser)]
#[command(
    name = "dpc",
    version,
    about = "Event-driven, cross-account data pipeline orchestration on AWS"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// AWS named profile.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// AWS region.
    #[arg(long, global = true, env = "AWS_REGION")]
    pub region: Option<String>,
    /// AWS endpoint URL (e.g. a local emulator).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Result format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// Print nothing but data and errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// When to use colours (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    /// Colours on stderr: `always`, or `auto` on a terminal without `NO_COLOR`.
    pub fn color_enabled(&self) -> bool {
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && term::stderr_is_terminal()
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scaffold a new project from a template.
    CreateProject(create_project::CreateProjectArgs),
    /// Validate pipelines: one project, a pipeline.yaml, or a tree of projects.
    Validate(validate::ValidateArgs),
    /// Print a JSON Schema (`pipeline`, `config`, and the event contracts).
    Schema(schema::SchemaArgs),
    /// Match an event against an EventBridge event pattern, offline.
    TestEvent(test_event::TestEventArgs),
    /// Write the compiled artifacts (CloudFormation template, state machine, pattern, schedule).
    Synth(synth::SynthArgs),
    /// Show what pipelines' triggers mean: condition, schedule, next fire times, pattern size.
    Explain(explain::ExplainArgs),
    /// Run trigger scenarios (`*.scenario.yaml`) against the real manager, in virtual time.
    Test(test::TestArgs),
    /// Show each pipeline's state and, per dependency, WAITING or ARRIVED (embedded store).
    Status(status::StatusArgs),
    /// Print the dependency graph (Mermaid, DOT, JSON, HTML), with states on `--status`.
    Graph(graph::GraphArgs),
    /// Show one pipeline's audit trail: registration, dependency and phase changes, triggers.
    History(history::HistoryArgs),
    /// Deploy (or print) the per-account `dpc-account` stack.
    SetupUserAccount(setup_user_account::SetupUserAccountArgs),
    /// Deploy (or print) the central account's `dpc-central` stack.
    SetupCentralAccount(setup_central_account::SetupCentralAccountArgs),
    /// Deploy pipelines' stacks to their accounts through CloudFormation change sets.
    Deploy(deploy::DeployArgs),
    /// Show what `dpc deploy` would change (a change set, deleted again).
    Diff(diff::DiffArgs),
    /// Delete pipelines' stacks and wait until they are gone.
    Destroy(destroy::DestroyArgs),
    /// Run state machines locally, in dpc's States Language interpreter.
    Local(local::LocalArgs),
    /// Run a pipeline again (marked RERUN): prints who follows on success, then starts it.
    Rerun(rerun::RerunArgs),
    /// Emit a data product refresh event for an external producer (locally or centrally).
    Publish(publish::PublishArgs),
}

/// Parses argv, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            let status = if err.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Success
            };
            return status.into();
        }
    };
    match dispatch(cli.command, &cli.global) {
        Ok(status) => status.into(),
        Err(err) => err.report(),
    }
}

fn dispatch(command: Command, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    match command {
        Command::CreateProject(args) => create_project::run(&args, global),
        Command::Validate(args) => validate::run(&args, global),
        Command::SetupUserAccount(args) => setup_user_account::run(&args, global),
        Command::SetupCentralAccount(args) => setup_central_account::run(&args, global),
        Command::Schema(args) => schema::run(&args),
        Command::TestEvent(args) => test_event::run(&args, global),
        Command::Synth(args) => synth::run(&args, global),
        Command::Explain(args) => explain::run(&args, global),
        Command::Test(args) => test::run(&args, global),
        Command::Status(args) => status::run(&args, global),
        Command::Graph(args) => graph::run(&args, global),
        Command::History(args) => history::run(&args, global),
        Command::Deploy(args) => deploy::run(&args, global),
        Command::Diff(args) => diff::run(&args, global),
        Command::Destroy(args) => destroy::run(&args, global),
        Command::Local(args) => local::run(&args, global),
        Command::Rerun(args) => rerun::run(&args, global),
        Command::Publish(args) => publish::run(&args, global),
    }
}

/// Writes data to stdout. A closed stdout (`dpc … | head`) ends the command as a success.
pub fn out(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Error::from_stdout)
}

/// Writes one line of data to stdout (see [`out`]).
pub fn outln(text: &str) -> Result<(), Error> {
    out(&format!("{text}\n"))
}
