//! `dpc synth` benchmark (`cargo bench --bench synth`): 1,000 pipelines in a temporary tree
//! (EMR, GLUE and trigger-only pipelines, schedules, executions and data product triggers,
//! notifications), synthesised end to end by the built binary: discovery, validation,
//! compilation and writing 5,000 artifact files. Target (SPEC §8): under 1 s.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const PIPELINES: usize = 1_000;
const RUNS: usize = 7;

fn pipeline_yaml(i: usize) -> String {
    let account = format!("{:012}", 100_000_000_000u64 + (i % 100) as u64);
    let trigger = match i % 4 {
        0 => "trigger:\n  schedule: { hour: 3 }\n".to_string(),
        1 => format!(
            "trigger:\n  executions:\n    allOf:\n      - name: p{}\n        account: \"{account}\"\n      - name: p{}\n        account: \"{account}\"\n",
            i - 1,
            i.saturating_sub(5)
        ),
        2 => format!(
            "trigger:\n  schedule: {{ hour: 6, timezone: Europe/Berlin }}\n  dataProducts:\n    anyOf:\n      - {{ domain: d, name: p{} }}\n      - {{ domain: d, name: p{} }}\n",
            i - 2,
            i - 1
        ),
        _ => format!(
            "trigger:\n  executions:\n    anyOf:\n      - name: p{}\n        account: \"{account}\"\n        status: [FAILED, TIMED_OUT]\n",
            i - 3
        ),
    };
    let compute = match i % 3 {
        0 => {
            "compute:\n  type: EMR\n  emr: { releaseLabel: emr-7.5.0, instanceType: m5.xlarge, instanceCount: 3 }\nsteps:\n  - name: a\n    type: SPARK\n    script: s3://dpc-bench-scripts/jobs/a.py\n    args: [\"--date\", \"{{run.date}}\"]\n    timeout: 2h\n    retries: 2\n"
        }
        1 => {
            "compute:\n  type: GLUE\n  glue: { version: \"5.0\", workerType: G.1X, numberOfWorkers: 2 }\nsteps:\n  - name: a\n    type: GLUE\n    script: s3://dpc-bench-scripts/jobs/a.py\n    args: [\"--date\", \"{{run.date}}\"]\n"
        }
        _ => "compute:\n  type: NONE\n",
    };
    format!(
        "name: p{i}\nteam: team-{}\naccount: \"{account}\"\n{trigger}{compute}notifications:\n  type: FAILURE_ONLY\n  targets:\n    - channel: EMAIL\n      addresses: [t{i}@example.com]\npublish:\n  dataProducts:\n    - {{ domain: d, name: p{i} }}\n",
        i % 10
    )
}

fn write_tree(root: &Path) {
    std::fs::write(
        root.join("dpc.yaml"),
        "central: { account: \"999999999999\", region: eu-west-1 }\nregion: eu-west-1\n",
    )
    .expect("dpc.yaml");
    for i in 0..PIPELINES {
        let dir = root.join(format!("p{i:04}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("pipeline.yaml"), pipeline_yaml(i)).expect("pipeline.yaml");
    }
}

fn main() {
    // DPC_BENCH_DIR puts the tree and output elsewhere (e.g. a tmpfs, to leave the disk out).
    let tmp = match std::env::var_os("DPC_BENCH_DIR") {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .expect("tempdir");
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    write_tree(&tree);
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
