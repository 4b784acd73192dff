//! `dpc test-event`: matches an event against an EventBridge pattern with dpc's own engine.

use clap::Args;

use super::GlobalArgs;

#[derive(Debug, Args)]
pub struct TestEventArgs {
    /// The pattern: a file path, inline JSON, or `-` for stdin.
    #[arg(long)]
    pub pattern: String,
    /// The event: a file path, inline JSON, or `-` for stdin.
    #[arg(long)]
    pub event: String,
}

/// Returns the process exit code (0 match, 1 no match, 2 invalid input).
pub fn run(_args: &TestEventArgs, _global: &GlobalArgs) -> u8 {
    super::exit::ERROR
}
