//! The generated tree the local benchmark plays with `dpc local run` over one virtual day:
//! pipelines spread over accounts, with schedules (daily, some in a time zone, some every six
//! hours), execution dependencies (allOf SUCCEEDED within 24 h or a daily period, some anyOf
//! FAILED fallbacks), data-product dependencies (allOf, and anyOf combined with an execution)
//! and a published data product each. Steps have no `local.command`, so `dpc local run`
//! simulates them as successes. A pipeline only depends on pipelines generated before it, so
//! the tree has no cycle; every upstream and product it names exists.

use std::path::Path;

/// The account of pipeline `i`.
fn account(i: usize, accounts: usize) -> String {
    format!("{:012}", 100_000_000_000 + i % accounts)
}

/// The data product pipeline `i` publishes.
fn product(i: usize, accounts: usize) -> String {
    format!("{{ domain: d{:03}, name: p{i:04} }}", i % accounts)
}

/// Pipelines that only run when an upstream failed: with every step simulated as a success
/// they never run, so no other pipeline waits for them.
fn fallback(i: usize, roots: usize) -> bool {
    i >= roots && matches!(i % 10, 5 | 9)
}

/// `n` distinct upstreams of pipeline `i` (no fallback), all generated before it and mostly
/// recent ones, so chains grow deep; chosen by a xorshift seeded with `i`.
fn upstreams(i: usize, n: usize, roots: usize) -> Vec<usize> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let span = i.min(60);
    let mut chosen = Vec::with_capacity(n);
    while chosen.len() < n.min(span) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let j = i - 1 - (state % span as u64) as usize;
        if !fallback(j, roots) && !chosen.contains(&j) {
            chosen.push(j);
        }
    }
    chosen
}

fn execution_leaf(j: usize, accounts: usize, status: &str) -> String {
    format!(
        "      - {{ name: p{j:04}, account: \"{}\", status: [{status}] }}\n",
        account(j, accounts)
    )
}

/// The `trigger:` block of pipeline `i`; `roots` pipelines (and every tenth) only run on a
/// schedule.
fn trigger(i: usize, roots: usize, accounts: usize) -> String {
    if i < roots || i.is_multiple_of(10) {
        return match i % 3 {
            0 => "trigger:\n  schedule: { hour: 3 }\n".into(),
            1 => "trigger:\n  schedule: { hour: 6, timezone: Europe/Berlin }\n".into(),
            _ => "trigger:\n  schedule: { minute: 15, hour: \"0/6\" }\n".into(),
        };
    }
    let leaves = |ups: &[usize], status: &str| -> String {
        ups.iter()
            .map(|&j| execution_leaf(j, accounts, status))
            .collect()
    };
    let products = |ups: &[usize]| -> String {
        ups.iter()
            .map(|&j| format!("      - {}\n", product(j, accounts)))
            .collect()
    };
    match i % 10 {
        1 | 6 => format!(
            "trigger:\n  window: {{ within: 24h }}\n  executions:\n    allOf:\n{}",
            leaves(&upstreams(i, 2, roots), "SUCCEEDED")
        ),
        2 | 7 => format!(
            "trigger:\n  schedule: {{ hour: 0 }}\n  executions:\n    allOf:\n{}",
            leaves(&upstreams(i, 3, roots), "SUCCEEDED")
        ),
        3 | 8 => format!(
            "trigger:\n  dataProducts:\n    allOf:\n{}",
            products(&upstreams(i, 2, roots))
        ),
        4 => {
            let ups = upstreams(i, 3, roots);
            format!(
                "trigger:\n  executions:\n    allOf:\n{}  dataProducts:\n    anyOf:\n{}",
                leaves(&ups[..1], "SUCCEEDED"),
                products(&ups[1..])
            )
        }
        _ => format!(
            "trigger:\n  executions:\n    anyOf:\n{}",
            leaves(&upstreams(i, 2, roots), "FAILED, TIMED_OUT")
        ),
    }
}

/// Pipeline `i`: its trigger, compute and steps (none with `local.command`), notifications
/// and the product it publishes.
fn pipeline_yaml(i: usize, roots: usize, accounts: usize) -> String {
    let compute = match i % 3 {
        0 => {
            "compute:\n  type: EMR\n  emr: { releaseLabel: emr-7.5.0, instanceType: m5.xlarge, instanceCount: 3 }\nsteps:\n  - name: extract\n    type: SPARK\n    script: s3://dpc-bench-scripts/jobs/extract.py\n    args: [\"--date\", \"{{run.date}}\"]\n    timeout: 2h\n    retries: 2\n  - name: load\n    type: SPARK\n    script: s3://dpc-bench-scripts/jobs/load.py\n    args: [\"--date\", \"{{run.date}}\"]\n"
        }
        1 => {
            "compute:\n  type: GLUE\n  glue: { version: \"5.0\", workerType: G.1X, numberOfWorkers: 2 }\nsteps:\n  - name: build\n    type: GLUE\n    script: s3://dpc-bench-scripts/jobs/build.py\n    args: [\"--date\", \"{{run.date}}\"]\n    retries: 1\n"
        }
        _ => "compute:\n  type: NONE\n",
    };
    let notifications = match i % 4 {
        0 => "FAILURE_ONLY",
        1 => "PIPELINE_STATUS",
        2 => "FULL_EXECUTION",
        _ => "FAILURE_ONLY",
    };
    format!(
        "name: p{i:04}\nteam: team-{}\naccount: \"{}\"\n{}{compute}notifications:\n  type: {notifications}\n  targets:\n    - channel: EMAIL\n      addresses: [t{i}@example.com]\npublish:\n  dataProducts:\n    - {}\n",
        i % 10,
        account(i, accounts),
        trigger(i, roots, accounts),
        product(i, accounts),
    )
}

/// Writes `dpc.yaml` and `pipelines` projects `p0000/…` under `root`, pipeline `i` in account
/// `i % accounts`; the first tenth are scheduled roots.
pub fn generate_local(root: &Path, pipelines: usize, accounts: usize) {
    std::fs::write(
        root.join("dpc.yaml"),
        "central: { account: \"999999999999\", region: eu-west-1 }\nregion: eu-west-1\n",
    )
    .expect("write dpc.yaml");
    let roots = (pipelines / 10).max(1);
    for i in 0..pipelines {
        let dir = root.join(format!("p{i:04}"));
        std::fs::create_dir_all(&dir).expect("create a pipeline folder");
        std::fs::write(dir.join("pipeline.yaml"), pipeline_yaml(i, roots, accounts))
            .expect("write pipeline.yaml");
    }
}
