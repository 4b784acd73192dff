//! `dpc synth` benchmark (`cargo bench --bench synth`): 1,000 pipelines in a temporary tree
//! (EMR, GLUE and trigger-only pipelines, schedules, executions and data product triggers,
//! notifications), synthesised end to end by the built binary: discovery, validation,
//! compilation and writing 5,000 artifact files. Target: under 1 s.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

use std::process::Command;
use std::time::Instant;

const PIPELINES: usize = 1_000;
const RUNS: usize = 7;

#[path = "tree/mod.rs"]
mod tree;

fn main() {
    // DPC_BENCH_DIR puts the tree and output elsewhere (e.g. a tmpfs, to leave the disk out).
    let tmp = match std::env::var_os("DPC_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    tree::write(&tree, PIPELINES, |i| {
        format!("{:012}", 100_000_000_000u64 + (i % 100) as u64)
    });
    let out = tmp.path().join("dpc.out");
    let validate = median_of(|| {
        Command::new(env!("CARGO_BIN_EXE_dpc"))
            .args(["--quiet", "validate"])
            .arg(&tree)
            .output()
    });
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let o = Command::new(env!("CARGO_BIN_EXE_dpc"))
                .args(["--quiet", "synth"])
                .arg(&tree)
                .arg("--out")
                .arg(&out)
                .output()
                .expect("dpc runs");
            let elapsed = start.elapsed().as_secs_f64();
            assert!(
                o.status.success(),
                "synth failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            elapsed
        })
        .collect();
    let written = std::fs::read_dir(&out).expect("out").count() - 1;
    assert_eq!(written, PIPELINES, "one folder per pipeline");
    times.sort_by(f64::total_cmp);
    println!(
        "dpc synth of {PIPELINES} pipelines ({} files): median {:.0} ms, best {:.0} ms over {RUNS} runs (target < 1000 ms)",
        PIPELINES * 5,
        times[RUNS / 2] * 1e3,
        times[0] * 1e3
    );
    println!(
        "  of which `dpc validate` of the same tree: median {:.0} ms",
        validate * 1e3
    );
}

/// Median wall time of a command over `RUNS` runs.
fn median_of(run: impl Fn() -> std::io::Result<std::process::Output>) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let _ = run().expect("dpc runs");
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}
