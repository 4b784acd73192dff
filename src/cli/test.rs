//! `dpc test [PATH...]`: runs trigger scenarios (`*.scenario.yaml`) in virtual time and
//! reports each expectation. Exit 0 when all pass, 1 when one fails, 2 when a scenario cannot
//! be read or its projects are invalid (or no scenario was found).

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out, outln};
use crate::manager::sqlite::SqliteStore;
use crate::scenario::{self, run::ScenarioResult};

/// The suffix of scenario files.
pub const SCENARIO_SUFFIX: &str = ".scenario.yaml";

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Scenario files, or folders searched for `*.scenario.yaml` (default: `.`).
    pub paths: Vec<PathBuf>,
    /// Keep the final state in this SQLite file (recreated; one scenario only), for `dpc status`.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// A scenario that could not be run.
struct Broken {
    file: PathBuf,
    errors: Vec<String>,
}

pub fn run(args: &TestArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for root in &roots {
        find(root, &mut files).map_err(|e| Error::usage(format!("{}: {e}", root.display())))?;
    }
    if files.is_empty() {
        let shown: Vec<String> = roots.iter().map(|p| p.display().to_string()).collect();
        return Err(Error::usage(format!(
            "no *{SCENARIO_SUFFIX} found in {}",
            shown.join(", ")
        )));
    }
    if args.store.is_some() && files.len() > 1 {
        return Err(Error::usage(format!(
            "--store keeps the state of one scenario; {} were found",
            files.len()
        ))
        .hint("name one scenario file"));
    }
    let (results, broken) = run_all(&files, args.store.as_deref());
    match global.output {
        OutputFormat::Json => outln(&json_report(&results, &broken))?,
        OutputFormat::Human if !results.is_empty() => out(&human_report(&results, global.quiet))?,
        OutputFormat::Human => {}
    }
    if !broken.is_empty() {
        let mut message = format!("{} scenario(s) could not be run:", broken.len());
        for e in broken.iter().flat_map(|b| &b.errors) {
            message.push_str(&format!("\n  {e}"));
        }
        return Err(Error::usage(message));
    }
    Ok(ExitStatus::check(results.iter().all(|r| r.passed)))
}

fn run_all(files: &[PathBuf], store: Option<&Path>) -> (Vec<ScenarioResult>, Vec<Broken>) {
    let mut results = Vec::new();
    let mut broken = Vec::new();
    for file in files {
        let outcome = std::fs::read_to_string(file)
            .map_err(|e| vec![format!("{}: {e}", file.display())])
            .and_then(|text| scenario::parse::parse(file, &text))
            .and_then(|s| run_one(&s, store).map_err(|e| vec![format!("{}: {e}", file.display())]));
        match outcome {
            Ok(r) => results.push(r),
            Err(errors) => broken.push(Broken {
                file: file.clone(),
                errors,
            }),
        }
    }
    (results, broken)
}

fn run_one(s: &scenario::Scenario, store: Option<&Path>) -> Result<ScenarioResult, String> {
    let Some(path) = store else {
        return scenario::run::run(s);
    };
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("{}: {e}", PathBuf::from(name).display()));
            }
            _ => {}
        }
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let store = SqliteStore::open(path).map_err(|e| e.to_string())?;
    scenario::run::run_in(s, store)
}

/// Scenario files below `path` (or `path` itself), sorted; hidden folders and `target` skipped.
fn find(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if entry.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                find(&entry, out)?;
            }
        } else if name.ends_with(SCENARIO_SUFFIX) {
            out.push(entry);
        }
    }
    Ok(())
}

fn human_report(results: &[ScenarioResult], quiet: bool) -> String {
    let mut out = String::new();
    let (mut checks, mut failed) = (0, 0);
    for r in results {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        out.push_str(&format!(
            "{verdict} {} ({} events, {} triggers)\n",
            r.file.display(),
            r.events,
            r.triggers.len()
        ));
        for c in &r.checks {
            checks += 1;
            failed += usize::from(!c.passed);
            if quiet && c.passed {
                continue;
            }
            let mark = if c.passed { "ok  " } else { "FAIL" };
            out.push_str(&format!(
                "  {mark} line {}: {} — {}\n",
                c.line, c.expectation, c.detail
            ));
        }
    }
    let passed = results.iter().filter(|r| r.passed).count();
    out.push_str(&format!(
        "{} scenario(s): {passed} passed, {} failed; {checks} expectation(s): {} passed, {failed} failed\n",
        results.len(),
        results.len() - passed,
        checks - failed
    ));
    out
}

fn json_report(results: &[ScenarioResult], broken: &[Broken]) -> String {
    let checks: usize = results.iter().map(|r| r.checks.len()).sum();
    let failed: usize = results
        .iter()
        .map(|r| r.checks.iter().filter(|c| !c.passed).count())
        .sum();
    let value = json!({
        "scenarios": results,
        "errors": broken.iter().map(|b| json!({"file": b.file, "errors": b.errors})).collect::<Vec<_>>(),
        "summary": {
            "scenarios": results.len(),
            "passed": results.iter().filter(|r| r.passed).count(),
            "failed": results.iter().filter(|r| !r.passed).count(),
            "broken": broken.len(),
            "expectations": checks,
            "expectationsFailed": failed,
        }
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}
