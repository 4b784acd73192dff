//! Command-line interface: clap definitions and dispatch. Reads argv, writes data to stdout
//! and diagnostics/progress to stderr, and maps outcomes to the documented exit codes.

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub mod create_project;
pub mod deploy;
pub mod destroy;
pub mod diff;
pub mod edge;
pub mod explain;
pub mod fleet;
pub mod schema;
pub mod setup_user_account;
pub mod status;
pub mod synth;
pub mod test;
pub mod test_event;
pub mod validate;

/// Exit codes, stable and documented in README.
pub mod exit {
    /// The command succeeded (a deploy with no changes is a success).
    pub const SUCCESS: u8 = 0;
    /// The command's check or operation failed (invalid pipeline, no match, failed deploy).
    pub const FAILURE: u8 = 1;
    /// Usage error, unreadable input or internal fault.
    pub const ERROR: u8 = 2;
}

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
        use std::io::IsTerminal;
        match self.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
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
    /// Deploy (or print) the per-account `dpc-account` stack.
    SetupUserAccount(setup_user_account::SetupUserAccountArgs),
    /// Deploy pipelines' stacks to their accounts through CloudFormation change sets.
    Deploy(deploy::DeployArgs),
    /// Show what `dpc deploy` would change (a change set, deleted again).
    Diff(diff::DiffArgs),
    /// Delete pipelines' stacks and wait until they are gone.
    Destroy(destroy::DestroyArgs),
}

/// Parses argv, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::ERROR
            } else {
                exit::SUCCESS
            });
        }
    };
    let code = match cli.command {
        Command::CreateProject(args) => create_project::run(&args, &cli.global),
        Command::Validate(args) => validate::run(&args, &cli.global),
        Command::SetupUserAccount(args) => setup_user_account::run(&args, &cli.global),
        Command::Schema(args) => schema::run(&args),
        Command::TestEvent(args) => test_event::run(&args, &cli.global),
        Command::Synth(args) => synth::run(&args, &cli.global),
        Command::Explain(args) => explain::run(&args, &cli.global),
        Command::Test(args) => test::run(&args, &cli.global),
        Command::Status(args) => status::run(&args, &cli.global),
        Command::Deploy(args) => deploy::run(&args, &cli.global),
        Command::Diff(args) => diff::run(&args, &cli.global),
        Command::Destroy(args) => destroy::run(&args, &cli.global),
    };
    ExitCode::from(code)
}
