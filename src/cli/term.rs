//! The terminal: whether stdin/stderr are terminals (one check), progress on stderr (an
//! indicatif spinner on a TTY, plain append-only lines in CI), confirmation prompts, the tokio
//! runtime and AWS options of the commands that call AWS, and their stack reports (human on
//! stderr with outputs on stdout, or `--output json`).

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::aws::{
    self,
    cloudformation::{Progress, Report, StackResult},
};
use crate::compile::to_pretty;

/// Whether someone can answer a prompt (stdin is a terminal).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Whether progress and colours go to a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// Why a command that must ask refuses to start without a terminal.
pub const NO_TERMINAL: &str = "stdin is not a terminal, so nobody can confirm; nothing was changed";

/// Refuses to start a command that would have to ask, when nobody can answer.
pub fn require_terminal(hint: &str) -> Result<(), Error> {
    if stdin_is_terminal() {
        Ok(())
    } else {
        Err(Error::usage(NO_TERMINAL).hint(hint))
    }
}

/// Progress on stderr: a spinner with the latest line on a terminal, plain lines otherwise.
pub struct Term {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Term {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && stderr_is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar, quiet }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Term {
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => {
                bar.println(text);
                bar.set_message(text.lines().next().unwrap_or_default().to_string());
            }
            None if !self.quiet => eprintln!("{text}"),
            None => {}
        }
    }

    fn confirm(&self, question: &str) -> Result<bool, String> {
        if !stdin_is_terminal() {
            return Err("no terminal to confirm on: pass --yes to deploy without asking (the change set was deleted)".into());
        }
        let ask = || {
            eprint!("{question} [y/N] ");
            let _ = std::io::stderr().flush();
            let mut answer = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut answer)
                .map(|_| answer)
        };
        let answer = match &self.bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        };
        answer
            .map(|a| matches!(a.trim(), "y" | "Y" | "yes"))
            .map_err(|e| e.to_string())
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::usage(format!("cannot start the async runtime: {e}")))
}

pub fn aws_options(global: &GlobalArgs) -> aws::Options {
    aws::Options {
        profile: global.profile.clone(),
        region: global.region.clone(),
        endpoint_url: global.endpoint_url.clone(),
    }
}

/// Prints the reports: JSON documents on stdout, or a result line per stack on stderr with
/// outputs on stdout. Success when every stack succeeded.
pub fn print_reports(reports: &[Report], global: &GlobalArgs) -> Result<ExitStatus, Error> {
    if global.output == OutputFormat::Json {
        let docs: Vec<Value> = reports
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        out(&to_pretty(&Value::Array(docs)))?;
    } else {
        for r in reports {
            let text = match &r.outcome {
                StackResult::Unchanged => "unchanged (already deployed with this hash)".to_string(),
                StackResult::NoChanges => "no changes".to_string(),
                StackResult::Previewed => format!("{} change(s)", r.changes.len()),
                StackResult::Deleted => "deleted".to_string(),
                StackResult::NotDeployed => "not deployed".to_string(),
                StackResult::Skipped { reason } => format!("skipped: {reason}"),
                StackResult::Deployed { .. } => "deployed".to_string(),
                StackResult::Prepared { change_set } => {
                    format!("change set {change_set} created, not executed (--no-execute)")
                }
                StackResult::NotConfirmed => "not deployed: not confirmed".to_string(),
                StackResult::Refused { status, help } => {
                    format!("refused: the stack is {status}; {help}")
                }
                StackResult::Failed { status, reasons } => {
                    let list: Vec<String> = reasons.iter().map(|r| format!("\n    {r}")).collect();
                    format!("FAILED ({status}){}", list.concat())
                }
            };
            let place = match (&r.account, &r.region) {
                (Some(a), Some(reg)) => format!(" ({a} {reg})"),
                _ => String::new(),
            };
            eprintln!("{}{place}: {text} ({:.1} s)", r.stack, r.seconds);
            if let StackResult::Deployed { outputs } = &r.outcome {
                for (key, value) in outputs {
                    outln(&format!("{}.{key} = {value}", r.stack))?;
                }
            }
        }
    }
    Ok(ExitStatus::check(
        reports.iter().all(|r| r.outcome.is_success()),
    ))
}
