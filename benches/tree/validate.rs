//! The generated tree the validate benchmark checks: pipelines with schedules (some in a time
//! zone), execution triggers with allOf/anyOf over the two pipelines before them, data
//! product triggers with a window, an EMR step with a local script, two notification
//! channels, a published data product and an SLA each, under a `dpc.yaml`. The tree has no
//! error; the allOf of a third of the pipelines names its second upstream in the first one's
//! account, which no generated pipeline is (a warning each), so the report is not empty.

use std::path::{Path, PathBuf};

/// Pipeline `i`.
fn pipeline_yaml(i: usize) -> String {
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

/// Writes `dpc.yaml` and `count` projects `p0000/{pipeline.yaml, jobs/main.py}` under
/// `root`; returns the pipeline files.
pub fn write(root: &Path, count: usize) -> Vec<PathBuf> {
    std::fs::write(root.join("dpc.yaml"), "region: eu-west-1\n").expect("write dpc.yaml");
    (0..count)
        .map(|i| {
            let dir = root.join(format!("p{i:04}"));
            std::fs::create_dir_all(dir.join("jobs")).expect("create a pipeline folder");
            std::fs::write(dir.join("jobs/main.py"), "print('x')\n").expect("write the script");
            let file = dir.join("pipeline.yaml");
            std::fs::write(&file, pipeline_yaml(i)).expect("write pipeline.yaml");
            file
        })
        .collect()
}
