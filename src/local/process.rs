//! The step runner of `dpc local run`: runs a step's `local.command` as a real process
//! (`sh -c`, in the project folder, with the `DPC_*` environment), writes its stdout and
//! stderr to a log file per step and attempt, stops it at the step's timeout, and measures
//! how long it took (which advances the virtual clock).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::runtime::{StepResult, StepRun, StepRunner};
use super::services::log_path;

/// Runs steps as processes, logging under `logs`.
pub struct Processes {
    pub logs: PathBuf,
}

impl StepRunner for Processes {
    fn run(&mut self, step: &StepRun<'_>) -> StepResult {
        let log = log_path(&self.logs, step);
        let shown = log.display().to_string();
        match run(step, &log) {
            Ok((exit, seconds)) => StepResult {
                exit,
                seconds,
                tail: tail(&log),
                log: shown,
                error: None,
            },
            Err(e) => StepResult {
                exit: None,
                seconds: 0.0,
                tail: String::new(),
                log: shown,
                error: Some(e.to_string()),
            },
        }
    }
}

fn run(step: &StepRun<'_>, log: &std::path::Path) -> std::io::Result<(Option<i32>, f64)> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(step.command)
        .current_dir(step.dir)
        .envs(step.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()?;
    let limit = Duration::from_secs(step.timeout_seconds.min(u64::from(u32::MAX)));
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((
                Some(status.code().unwrap_or(-1)),
                started.elapsed().as_secs_f64(),
            ));
        }
        if started.elapsed() >= limit {
            child.kill()?;
            child.wait()?;
            return Ok((None, started.elapsed().as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The last 2 KB of the log.
fn tail(log: &std::path::Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(2048);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_string()
}
