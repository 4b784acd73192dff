//! The generated tree of pipelines the synth and deploy benchmarks share: EMR, GLUE and
//! trigger-only pipelines with schedules (some in a time zone), allOf/anyOf execution triggers,
//! data product triggers, notifications and a published product each, under a `dpc.yaml`
//! naming the central account. Scripts are s3:// URIs, so nothing is uploaded.

use std::path::Path;

/// Pipeline `i` of `count`, in `account`; its upstreams are named in the same account.
fn pipeline_yaml(i: usize, count: usize, account: &str) -> String {
    let trigger = match i % 4 {
        0 => "trigger:\n  schedule: { hour: 3 }\n".to_string(),
        1 => format!(
            "trigger:\n  executions:\n    allOf:\n      - name: p{}\n        account: \"{account}\"\n      - name: p{}\n        account: \"{account}\"\n",
            i - 1,
            (i + count - 5) % count
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

/// Writes `dpc.yaml` and `count` projects `p0000/…` under `root`; pipeline `i` goes to
/// `account(i)`.
pub fn write(root: &Path, count: usize, account: impl Fn(usize) -> String) {
    std::fs::write(
        root.join("dpc.yaml"),
        "central: { account: \"999999999999\", region: eu-west-1 }\nregion: eu-west-1\n",
    )
    .expect("write dpc.yaml");
    for i in 0..count {
        let dir = root.join(format!("p{i:04}"));
        std::fs::create_dir_all(&dir).expect("create a pipeline folder");
        std::fs::write(
            dir.join("pipeline.yaml"),
            pipeline_yaml(i, count, &account(i)),
        )
        .expect("write pipeline.yaml");
    }
}
