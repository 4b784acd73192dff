//! The deploy commands' shared edge: terminal progress (an indicatif spinner on a TTY, plain
//! append-only lines in CI, always on stderr), confirmation prompts, the tokio runtime, and
//! reports on stdout (human or `--output json`).

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::{GlobalArgs, OutputFormat, exit};
use crate::aws::{
    self,
    cloudformation::{Outcome, Progress, Report},
};
use crate::compile::to_pretty;
use crate::model::Config;
use crate::source::SourceFile;
use crate::validate::{self, Context};

/// Reads and validates a `dpc.yaml`.
pub fn load_config(path: &Path) -> Result<Config, String> {
    let file = crate::project::read_source(path).map_err(|d| d.message)?;
    let ctx = Context {
        today: chrono::Utc::now().date_naive(),
        file_exists: &|p| p.is_file(),
    };
    let checked = validate::config(
        &Arc::new(SourceFile::new(file.path.clone(), file.text.to_string())),
        &ctx,
    );
    checked.value.ok_or_else(|| {
        format!(
            "{} is invalid; run `dpc validate` for details",
            path.display()
        )
    })
}

/// Progress on stderr: a spinner with the latest line on a terminal, plain lines otherwise.
pub struct Term {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Term {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
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
        if !std::io::stdin().is_terminal() {
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

pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

pub fn aws_options(global: &GlobalArgs) -> aws::Options {
    aws::Options {
        profile: global.profile.clone(),
        region: global.region.clone(),
        endpoint_url: global.endpoint_url.clone(),
    }
}

/// Prints the reports: JSON documents on stdout, or a result line per stack on stderr with
/// outputs on stdout. Returns the exit code.
pub fn print_reports(reports: &[Report], global: &GlobalArgs) -> u8 {
    if global.output == OutputFormat::Json {
        let docs: Vec<Value> = reports
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        print!("{}", to_pretty(&Value::Array(docs)));
    } else {
        for r in reports {
            let text = match &r.outcome {
                Outcome::Unchanged => "unchanged (already deployed with this hash)".to_string(),
                Outcome::NoChanges => "no changes".to_string(),
                Outcome::Previewed => format!("{} change(s)", r.changes.len()),
                Outcome::Deleted => "deleted".to_string(),
                Outcome::NotDeployed => "not deployed".to_string(),
                Outcome::Skipped { reason } => format!("skipped: {reason}"),
                Outcome::Deployed { .. } => "deployed".to_string(),
                Outcome::Prepared { change_set } => {
                    format!("change set {change_set} created, not executed (--no-execute)")
                }
                Outcome::NotConfirmed => "not deployed: not confirmed".to_string(),
                Outcome::Refused { status, help } => {
                    format!("refused: the stack is {status}; {help}")
                }
                Outcome::Failed { status, reasons } => {
                    let list: Vec<String> = reasons.iter().map(|r| format!("\n    {r}")).collect();
                    format!("FAILED ({status}){}", list.concat())
                }
            };
            let place = match (&r.account, &r.region) {
                (Some(a), Some(reg)) => format!(" ({a} {reg})"),
                _ => String::new(),
            };
            eprintln!("{}{place}: {text} ({:.1} s)", r.stack, r.seconds);
            if let Outcome::Deployed { outputs } = &r.outcome {
                for (key, value) in outputs {
                    println!("{}.{key} = {value}", r.stack);
                }
            }
        }
    }
    if reports.iter().all(|r| r.outcome.is_success()) {
        exit::SUCCESS
    } else {
        exit::FAILURE
    }
}
