//! Benchmark (SPEC §8): `dpc validate` of a tree of 1,000 generated pipelines, side by side
//! with `check-jsonschema` (PyPI) validating the same files against the same schema.
//! Run: `pip install check-jsonschema && cargo bench --bench validate`.

// A benchmark is an edge: it reads files, runs processes and reads the clock.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PIPELINES: usize = 1000;

fn pipeline(i: usize) -> String {
    let account = format!("{:012}", 100_000_000_000u64 + (i % 100) as u64);
    let trigger = match i % 3 {
        0 => "trigger:\n  schedule:\n    hour: 3\n    minute: 15\n    timezone: Europe/Berlin\n"
            .to_string(),
        1 => format!(
            "trigger:\n  schedule: {{ hour: 0 }}\n  executions:\n    allOf:\n      - {{ name: p{a}, account: \"{acct}\" }}\n      - {{ name: p{b}, account: \"{acct}\", status: [SUCCEEDED, COMPLETED] }}\n    anyOf:\n      - {{ name: p{a}, account: \"{acct}\", status: FAILED }}\n    operator: OR\n",
            a = i - 1,
            b = i.saturating_sub(2),
            acct = format!("{:012}", 100_000_000_000u64 + ((i - 1) % 100) as u64),
        ),
        _ => format!(
            "trigger:\n  dataProducts:\n    allOf:\n      - {{ domain: d, name: P{a} }}\n  window:\n    within: 24h\n",
            a = i - 2
        ),
    };
    format!(
        "name: p{i}\ndescription: Generated pipeline {i}\nteam: team-{t}\naccount: \"{account}\"\nregion: eu-west-1\ntags: {{ cost-center: \"{i}\" }}\n{trigger}\
compute:\n  type: EMR\n  emr: {{ releaseLabel: emr-7.5.0, instanceType: m5.xlarge, instanceCount: 3 }}\n\
steps:\n  - name: main\n    type: SPARK\n    script: jobs/main.py\n    args: [\"--date\", \"{{{{run.date}}}}\"]\n    timeout: 2h\n    retries: 2\n    local: {{ command: \"python3 jobs/main.py\" }}\n\
notifications:\n  type: FAILURE_ONLY\n  targets:\n    - channel: SLACK\n      addresses: [alerts-{t}]\n    - channel: EMAIL\n      addresses: [team-{t}@example.com]\n\
publish:\n  dataProducts:\n    - {{ domain: d, name: P{i} }}\n\
sla:\n  expectedBy: \"07:00\"\n  timezone: Europe/Berlin\n",
        t = i % 20
    )
}

fn generate(root: &Path) -> Vec<PathBuf> {
    std::fs::write(root.join("dpc.yaml"), "region: eu-west-1\n").expect("dpc.yaml");
    (0..PIPELINES)
        .map(|i| {
            let dir = root.join(format!("p{i:04}"));
            std::fs::create_dir_all(dir.join("jobs")).expect("mkdir");
            std::fs::write(dir.join("jobs/main.py"), "print('x')\n").expect("script");
            let file = dir.join("pipeline.yaml");
            std::fs::write(&file, pipeline(i)).expect("pipeline");
            file
        })
        .collect()
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn time(runs: usize, mut command: impl FnMut() -> Command, accept: &[i32]) -> Duration {
    let samples = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let out = command().output().expect("benchmark command runs");
            let took = started.elapsed();
            let code = out.status.code().unwrap_or(-1);
            assert!(
                accept.contains(&code),
                "exit {code}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            took
        })
        .collect();
    median(samples)
}

fn main() {
    // DPC_BENCH_DIR keeps the generated tree for profiling.
    let kept = std::env::var_os("DPC_BENCH_DIR").map(PathBuf::from);
    let temp = tempfile::tempdir().expect("tempdir");
    let root = kept.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&root).expect("bench dir");
    let files = generate(&root);
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/pipeline.schema.json");

    // The generated tree is valid: exit 0 proves all 1,000 files were fully checked.
    let dpc = time(
        15,
        || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_dpc"));
            c.args(["validate", "--format", "json"]).arg(&root);
            c
        },
        &[0],
    );
    println!(
        "dpc validate, {PIPELINES} pipelines (tree, cross-checks included): {:.1} ms (median of 15)",
        dpc.as_secs_f64() * 1000.0
    );

    let available = Command::new("check-jsonschema")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        available,
        "check-jsonschema is not installed: pip install check-jsonschema"
    );
    let cj = time(
        3,
        || {
            let mut c = Command::new("check-jsonschema");
            c.arg("--schemafile").arg(&schema).args(&files);
            c
        },
        &[0],
    );
    println!(
        "check-jsonschema, same {PIPELINES} files, same schema: {:.1} ms (median of 3)",
        cj.as_secs_f64() * 1000.0
    );
    println!(
        "dpc is {:.0}x faster (target: 30x, and under 300 ms)",
        cj.as_secs_f64() / dpc.as_secs_f64()
    );
}
