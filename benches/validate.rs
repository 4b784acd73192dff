//! `dpc validate` benchmark (`cargo bench --bench validate`): the whole process on a tree of
//! 1,000 generated pipelines (cross-pipeline checks included), side by side with
//! `check-jsonschema` (PyPI, pinned in `benches/requirements.txt`) validating the same files
//! against the same schema (structure only); then the same tree scaled to 10,000 pipelines.
//! Prints min / median / max of each, the ratio, and instructions per pipeline (counted by
//! `valgrind --tool=callgrind`, which gives the same count on a busy machine).
//! Targets: 1,000 pipelines under 50 ms and at least 80× check-jsonschema; 10,000 under 10×
//! the 1,000 time.
//!
//! check-jsonschema is taken from the project's venv `target/py` (or PATH):
//! `python3 -m venv target/py && target/py/bin/pip install -r benches/requirements.txt`.
//! DPC_BENCH_DIR keeps the generated trees there (e.g. for profiling).

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "tree/validate.rs"]
mod tree;

const SMALL: usize = 1_000;
const LARGE: usize = 10_000;
/// Rounds of the side-by-side measurement: one check-jsonschema run and `DPC_PER_ROUND` dpc
/// runs each, interleaved so that both see the same machine.
const ROUNDS: usize = 5;
const DPC_PER_ROUND: usize = 5;
const LARGE_RUNS: usize = 7;

fn dpc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dpc"))
}

/// `dpc validate --format json ROOT` (exit 0: the tree has warnings only).
fn validate(root: &Path) -> Command {
    let mut c = dpc();
    c.args(["validate", "--format", "json"]).arg(root);
    c
}

/// Runs `command` once, asserting its exit code is 0; returns milliseconds.
fn time(mut command: Command) -> f64 {
    let started = Instant::now();
    let out = command.output().expect("the benchmarked command runs");
    let took = started.elapsed().as_secs_f64() * 1000.0;
    assert!(
        out.status.success(),
        "{:?} failed ({}): {}",
        command,
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

struct Spread {
    min: f64,
    median: f64,
    max: f64,
    runs: usize,
}

fn spread(mut samples: Vec<f64>) -> Spread {
    samples.sort_by(f64::total_cmp);
    Spread {
        min: samples[0],
        median: samples[samples.len() / 2],
        max: samples[samples.len() - 1],
        runs: samples.len(),
    }
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {:.1} ms (min {:.1}, max {:.1}; {} runs)",
            self.median, self.min, self.max, self.runs
        )
    }
}

/// check-jsonschema from the project's venv, else from PATH; the benchmark cannot compare
/// without it.
fn check_jsonschema() -> (PathBuf, String) {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/py/bin/check-jsonschema");
    let candidates = [venv, PathBuf::from("check-jsonschema")];
    for program in candidates {
        if let Ok(out) = Command::new(&program).arg("--version").output()
            && out.status.success()
        {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
            return (program, version);
        }
    }
    panic!(
        "check-jsonschema is not installed (looked in target/py/bin and on PATH); install it with \
         `python3 -m venv target/py && target/py/bin/pip install -r benches/requirements.txt`"
    );
}

/// Instructions of one `dpc validate` of `root`, all threads, counted by callgrind; `None`
/// without valgrind.
fn instructions(root: &Path) -> Option<u64> {
    let out_file = std::env::temp_dir().join(format!("dpc-bench-callgrind.{}", std::process::id()));
    let out = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(env!("CARGO_BIN_EXE_dpc"))
        .args(["validate", "--format", "json"])
        .arg(root)
        .output()
        .ok()?;
    let _ = std::fs::remove_file(&out_file);
    // "==123== Collected : 463251011"
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().parse().ok())
        })
        .flatten()
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let kept = std::env::var_os("DPC_BENCH_DIR").map(PathBuf::from);
    let temp = tempfile::tempdir().expect("tempdir");
    let base = kept.unwrap_or_else(|| temp.path().to_path_buf());
    let (small, large) = (base.join("validate-1000"), base.join("validate-10000"));
    for dir in [&small, &large] {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create the bench folder");
    }
    let files = tree::write(&small, SMALL);
    tree::write(&large, LARGE);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/pipeline.schema.json");
    let (cj_program, cj_version) = check_jsonschema();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{cores} cores; load average before: {}; {cj_version}",
        load()
    );

    // Warm the page cache and the binary.
    time(validate(&small));
    time(validate(&large));

    let (mut dpc_ms, mut cj_ms) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let mut cj = Command::new(&cj_program);
        cj.arg("--schemafile").arg(&schema).args(&files);
        cj_ms.push(time(cj));
        for _ in 0..DPC_PER_ROUND {
            dpc_ms.push(time(validate(&small)));
        }
    }
    let large_ms: Vec<f64> = (0..LARGE_RUNS).map(|_| time(validate(&large))).collect();
    let (dpc_ms, cj_ms, large_ms) = (spread(dpc_ms), spread(cj_ms), spread(large_ms));
    let ratio = cj_ms.median / dpc_ms.median;
    let scale = large_ms.median / dpc_ms.median;

    println!("dpc validate, {SMALL} pipelines (tree, cross-checks included): {dpc_ms}");
    println!("check-jsonschema, same {SMALL} files, same schema: {cj_ms}");
    println!(
        "dpc is {ratio:.1}x faster (target: under 50 ms: {}; at least 80x: {})",
        if dpc_ms.median < 50.0 {
            "met"
        } else {
            "NOT met"
        },
        if ratio >= 80.0 { "met" } else { "NOT met" },
    );
    println!(
        "dpc validate, {LARGE} pipelines: {large_ms}: {scale:.1}x the {SMALL} time (target: under 10x: {})",
        if scale < 10.0 { "met" } else { "NOT met" },
    );
    for (count, root) in [(SMALL, &small), (LARGE, &large)] {
        match instructions(root) {
            Some(n) => println!(
                "instructions, {count} pipelines: {:.1} M in all, {:.0} K per pipeline (callgrind)",
                n as f64 / 1e6,
                n as f64 / count as f64 / 1e3
            ),
            None => println!("instructions, {count} pipelines: not counted (needs valgrind)"),
        }
    }
    println!("load average after: {}", load());
}
