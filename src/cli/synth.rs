//! `dpc synth`: validates, compiles every pipeline and writes its artifacts under the output
//! folder (`dpc.out/<pipeline>/…`). Refuses to write anything when validation finds errors,
//! and writes into a temporary sibling folder that replaces the output folder only once
//! complete, so the output is never half-written.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;
use sha2::{Digest, Sha256};

use super::validate::{Outcome, collect};
use super::{GlobalArgs, OutputFormat, exit};
use crate::compile::{self, Compiled, Env, names};
use crate::diagnostic::Severity;
use crate::model::Pipeline;
use crate::report;

/// Marks a folder as dpc's output, which synth may replace as a whole.
pub const MARKER: &str = ".dpc-out";

#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Project folders, pipeline.yaml files, or trees of projects (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Output folder (replaced as a whole).
    #[arg(long, default_value = "dpc.out")]
    pub out: PathBuf,
}

/// Validates `paths`; on errors prints them and returns the exit code to end with.
pub fn load_valid(paths: &[PathBuf], global: &GlobalArgs) -> Result<Outcome, u8> {
    let outcome = collect(paths, Utc::now().naive_utc()).map_err(|message| {
        eprintln!("error: {message}");
        exit::ERROR
    })?;
    let errors = outcome
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    if errors || (!global.quiet && !outcome.diagnostics.is_empty()) {
        let text = report::human(
            &outcome.diagnostics,
            outcome.summary,
            global.color_enabled(),
        );
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    if errors {
        let code = super::validate::exit_code(&outcome.diagnostics, false);
        return Err(code);
    }
    Ok(outcome)
}

/// Every valid pipeline of a validated tree, with its environment.
pub fn envs<'a>(outcome: &'a Outcome, version: &'a str) -> Vec<Env<'a>> {
    let loaded = &outcome.loaded;
    loaded
        .units
        .iter()
        .filter_map(|u| {
            u.checked
                .value
                .as_ref()
                .map(|p| Env::new(p, loaded.config_of(u), version))
        })
        .collect()
}

pub fn run(args: &SynthArgs, global: &GlobalArgs) -> u8 {
    let outcome = match load_valid(&args.paths, global) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let envs = envs(&outcome, env!("CARGO_PKG_VERSION"));
    if let Err(message) = unique_names(&envs) {
        eprintln!("error: {message}");
        return exit::FAILURE;
    }
    let outputs = match compile_all(&envs) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::FAILURE;
        }
    };
    if let Err(message) = write_atomically(&args.out, &outputs) {
        eprintln!("error: {message}");
        return exit::ERROR;
    }
    report_written(&args.out, &outputs, global);
    exit::SUCCESS
}

pub type Files = Vec<(&'static str, String)>;

/// Compiles and renders every pipeline, on every core (order is kept).
fn compile_all(envs: &[Env]) -> Result<Vec<(String, Files)>, String> {
    let one = |env: &Env| {
        compile::compile(env)
            .map(|c| (env.name().to_string(), render(env, &c)))
            .map_err(|e| format!("{}: {e}", env.pipeline.file.display()))
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads <= 1 || envs.len() < 32 {
        return envs.iter().map(one).collect();
    }
    let chunk = envs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = envs
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut out = Vec::with_capacity(envs.len());
        for handle in handles {
            let part = handle
                .join()
                .map_err(|_| "internal error while compiling".to_string())?;
            out.extend(part);
        }
        out.into_iter().collect()
    })
}

/// The artifact files of one compiled pipeline, with its local scripts hashed into the manifest.
pub fn render(env: &Env, compiled: &Compiled) -> Files {
    let dir = env.pipeline.dir.clone();
    compile::artifacts(env, compiled, &|path: &Path| {
        std::fs::read(dir.join(path))
            .ok()
            .map(|bytes| names::hex(&Sha256::digest(&bytes)))
    })
}

/// Output folders are named after pipelines, so two pipelines of one name (in different
/// accounts or regions) must be synthesised into different output folders.
fn unique_names(envs: &[Env]) -> Result<(), String> {
    let mut seen: BTreeMap<&str, &Pipeline> = BTreeMap::new();
    for env in envs {
        if let Some(first) = seen.insert(env.name(), env.pipeline) {
            return Err(format!(
                "two pipelines are named {} ({} and {}): synthesise them separately, each with its own --out",
                env.name(),
                first.file.display(),
                env.pipeline.file.display()
            ));
        }
    }
    Ok(())
}

/// Writes every pipeline's files into a temporary sibling of `out`, then swaps it in.
fn write_atomically(out: &Path, outputs: &[(String, Files)]) -> Result<(), String> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dpc.out".into());
    if out.exists() && !replaceable(out) {
        return Err(format!(
            "{} exists and is not a dpc output folder (no {MARKER} in it): choose another --out",
            out.display()
        ));
    }
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let result = write_tree(&tmp, outputs).and_then(|()| swap(&tmp, out));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result.map_err(|e| format!("cannot write {}: {e}", out.display()))
}

fn replaceable(out: &Path) -> bool {
    out.join(MARKER).is_file() || std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none())
}

fn write_tree(root: &Path, outputs: &[(String, Files)]) -> std::io::Result<()> {
    if root.exists() {
        std::fs::remove_dir_all(root)?;
    }
    std::fs::create_dir_all(root)?;
    std::fs::write(
        root.join(MARKER),
        "written by dpc synth; replaced as a whole on every run\n",
    )?;
    for (name, files) in outputs {
        let dir = root.join(name);
        std::fs::create_dir(&dir)?;
        for (file, text) in files {
            std::fs::write(dir.join(file), text)?;
        }
    }
    Ok(())
}

/// Moves the old output aside, the new one in, then deletes the old one.
fn swap(tmp: &Path, out: &Path) -> std::io::Result<()> {
    if !out.exists() {
        return std::fs::rename(tmp, out);
    }
    let old = tmp.with_extension("old");
    std::fs::rename(out, &old)?;
    if let Err(e) = std::fs::rename(tmp, out) {
        // Put the previous output back rather than leave nothing.
        let _ = std::fs::rename(&old, out);
        return Err(e);
    }
    std::fs::remove_dir_all(&old)
}

fn report_written(out: &Path, outputs: &[(String, Files)], global: &GlobalArgs) {
    match global.output {
        OutputFormat::Json => {
            let list: Vec<serde_json::Value> = outputs
                .iter()
                .map(|(name, files)| {
                    let manifest = files.last().map(|(_, t)| t.as_str()).unwrap_or("{}");
                    let hash = serde_json::from_str::<serde_json::Value>(manifest)
                        .ok()
                        .and_then(|m| m.get("hash").cloned());
                    serde_json::json!({"pipeline": name, "dir": out.join(name), "hash": hash})
                })
                .collect();
            println!("{}", serde_json::json!({"out": out, "pipelines": list}));
        }
        OutputFormat::Human if !global.quiet => {
            eprintln!("wrote {} pipeline(s) to {}", outputs.len(), out.display());
        }
        OutputFormat::Human => {}
    }
}
