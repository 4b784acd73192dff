//! `dpc deploy`, `dpc diff` and `dpc destroy` of the case study (SPEC §9.1) against a real AWS
//! API emulator (moto server), in three accounts reached through STS AssumeRole as dpc.yaml
//! says. Checked through the AWS APIs of each account: state machines, rules and the exact
//! compiled trigger pattern, uploaded scripts; a second deploy changes nothing and creates no
//! change set; an edit updates one stack; diff shows it and deletes its change set; destroy
//! removes every stack.
//!
//! moto neither rolls back failed stacks nor emits per-resource events, and it cannot run the
//! registration custom resource (accounts are set up with `--no-registration`). The rollback
//! and in-progress paths are covered by the pure decision `deploy::plan` (every status) and
//! `deploy::target` unit tests instead.

use std::path::Path;

use serde_json::Value;

use crate::common::moto::{self, Moto};

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];

/// Runs dpc with `--output json`, asserts the exit code and returns the reports by stack.
fn reports(moto: &Moto, args: &[&str], code: i32) -> serde_json::Map<String, Value> {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let list = moto.dpc(&all).run().assert_code(code).json();
    list.as_array()
        .expect("an array of reports")
        .iter()
        .map(|r| {
            (
                r["stack"].as_str().unwrap_or_default().to_string(),
                r.clone(),
            )
        })
        .collect()
}

fn results(reports: &serde_json::Map<String, Value>) -> Vec<(String, String)> {
    reports
        .iter()
        .map(|(k, r)| (k.clone(), r["result"].as_str().unwrap_or_default().into()))
        .collect()
}

fn set_up_accounts(moto: &Moto, tree: &str) {
    let mut args = vec!["setup-user-account", "--config-dir", tree];
    for a in ACCOUNTS {
        args.extend(["--account", a]);
    }
    args.extend(["--no-registration", "--yes"]);
    moto.dpc(&args).run().assert_code(0);
}

/// Every stack of every account, by account.
async fn stacks(moto: &Moto) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for a in ACCOUNTS {
        let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk_as(a).await);
        let listed = cfn.describe_stacks().send().await.expect("stacks");
        let mut names: Vec<String> = listed
            .stacks()
            .iter()
            .filter_map(|s| s.stack_name().map(str::to_string))
            .filter(|n| n != "dpc-account")
            .collect();
        names.sort();
        out.push((a.to_string(), names));
    }
    out
}

/// The number of change sets on the pipeline stacks of all accounts.
async fn change_sets(moto: &Moto) -> usize {
    let mut n = 0;
    for (account, names) in stacks(moto).await {
        let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk_as(&account).await);
        for name in names {
            let sets = cfn
                .list_change_sets()
                .stack_name(&name)
                .send()
                .await
                .expect("change sets");
            n += sets.summaries().len();
        }
    }
    n
}

async fn check_deployed(moto: &Moto, synth: &Path) {
    let expected = [
        ("111111111111", vec!["dpc-listings"]),
        ("222222222222", vec!["dpc-searches"]),
        (
            "333333333333",
            vec!["dpc-pipeline-x", "dpc-pipeline-x-fallback"],
        ),
    ];
    let listed = stacks(moto).await;
    for ((account, names), (want_account, want)) in listed.iter().zip(expected) {
        assert_eq!(account, want_account);
        assert_eq!(names, &want, "stacks of {account}");
        let config = moto.sdk_as(account).await;
        let sfn = aws_sdk_sfn::Client::new(&config);
        let machines = sfn.list_state_machines().send().await.expect("machines");
        let mut machine_names: Vec<&str> =
            machines.state_machines().iter().map(|m| m.name()).collect();
        machine_names.sort();
        assert_eq!(machine_names, want, "state machines of {account}");
    }
    // pipeline-x and its fallback wait on upstreams: their rules on dpc-pipelines hold
    // exactly the compiled patterns.
    let events = aws_sdk_eventbridge::Client::new(&moto.sdk_as("333333333333").await);
    for pipeline in ["pipeline-x", "pipeline-x-fallback"] {
        let rule = events
            .describe_rule()
            .name(format!("dpc-{pipeline}-trigger"))
            .event_bus_name("dpc-pipelines")
            .send()
            .await
            .expect("trigger rule");
        let deployed: Value =
            serde_json::from_str(rule.event_pattern().expect("pattern")).expect("json");
        let compiled: Value = serde_json::from_str(
            &std::fs::read_to_string(synth.join(pipeline).join("trigger-pattern.json"))
                .expect("synth output"),
        )
        .expect("json");
        assert_eq!(deployed, compiled, "{pipeline}");
    }
    // listings runs a local script: it was uploaded to the account's artifacts bucket.
    let keys = bucket_keys(&moto.sdk_as("111111111111").await, "dpc/").await;
    assert_eq!(keys, vec!["dpc/listings/jobs/aggregate_listings.py"]);
}

/// The keys under `prefix` in the account's artifacts bucket.
async fn bucket_keys(config: &aws_config::SdkConfig, prefix: &str) -> Vec<String> {
    let bucket = moto::parameter(config, "/dpc/account/artifacts-bucket").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    let objects = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("objects");
    objects
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect()
}

#[test]
fn the_case_study_deploys_to_three_accounts_then_redeploys_diffs_and_destroys() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("case-study");
    crate::common::copy_tree(Path::new("examples/case-study"), &tree);
    let tree_arg = tree.to_str().expect("utf-8 path");
    let synth = dir.path().join("synth");
    moto.dpc(["synth", tree_arg, "--out", synth.to_str().expect("utf-8")])
        .run()
        .assert_code(0);
    set_up_accounts(&moto, tree_arg);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    // No terminal, no --yes: refused at once, nothing created.
    moto.dpc(["deploy", tree_arg])
        .run()
        .assert_code(2)
        .assert_stderr_contains("pass --yes");
    runtime.block_on(async {
        assert!(stacks(&moto).await.iter().all(|(_, s)| s.is_empty()));
    });

    let first = reports(&moto, &["deploy", tree_arg, "--yes"], 0);
    assert_eq!(first.len(), 4);
    for (stack, r) in &first {
        assert_eq!(r["result"], "deployed", "{stack}");
        assert!(!r["changes"].as_array().expect("changes").is_empty());
    }
    assert_eq!(first["dpc-pipeline-x"]["account"], "333333333333");
    assert_eq!(first["dpc-listings"]["account"], "111111111111");
    runtime.block_on(check_deployed(&moto, &synth));

    // Unchanged: no change set is made.
    let before = runtime.block_on(change_sets(&moto));
    let second = reports(&moto, &["deploy", tree_arg, "--yes"], 0);
    assert!(
        results(&second).iter().all(|(_, r)| r == "unchanged"),
        "{second:?}"
    );
    assert_eq!(runtime.block_on(change_sets(&moto)), before);

    // An edited pipeline updates, and only it.
    let file = tree.join("pipeline-x/pipeline.yaml");
    let yaml = std::fs::read_to_string(&file).expect("read");
    std::fs::write(&file, yaml.replace("timeout: 2h", "timeout: 3h")).expect("write");
    let diff = reports(&moto, &["diff", tree_arg, "--exit-code"], 1);
    assert_eq!(diff["dpc-pipeline-x"]["result"], "previewed");
    assert!(
        diff["dpc-pipeline-x"]["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .any(|c| c["logicalId"] == "StateMachine" && c["action"] == "Modify"),
        "{diff:?}"
    );
    assert_eq!(diff["dpc-listings"]["result"], "unchanged");
    assert_eq!(
        runtime.block_on(change_sets(&moto)),
        before,
        "diff deletes its change set"
    );
    let updated = reports(&moto, &["deploy", tree_arg, "--yes"], 0);
    assert_eq!(updated["dpc-pipeline-x"]["result"], "deployed");
    for other in ["dpc-listings", "dpc-searches", "dpc-pipeline-x-fallback"] {
        assert_eq!(updated[other]["result"], "unchanged", "{other}");
    }
    runtime.block_on(async {
        // moto applies a state machine update only from `DefinitionString` (dpc sends the
        // `Definition` object), so the update is checked on the stack: its template and status.
        let config = moto.sdk_as("333333333333").await;
        let body = moto::template_body(&config, "dpc-pipeline-x").await;
        assert!(
            body.contains("10800") && !body.contains("7200"),
            "3h deployed"
        );
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let stack = cfn
            .describe_stacks()
            .stack_name("dpc-pipeline-x")
            .send()
            .await
            .expect("stack");
        let status = stack.stacks().first().and_then(|s| s.stack_status());
        assert_eq!(status.map(|s| s.as_str()), Some("UPDATE_COMPLETE"));
    });
    moto.dpc(["diff", tree_arg, "--exit-code"])
        .run()
        .assert_code(0);

    // Destroy removes every stack; a second destroy finds nothing and succeeds.
    let destroyed = reports(&moto, &["destroy", tree_arg, "--yes"], 0);
    assert!(
        results(&destroyed).iter().all(|(_, r)| r == "deleted"),
        "{destroyed:?}"
    );
    runtime.block_on(async {
        assert!(stacks(&moto).await.iter().all(|(_, s)| s.is_empty()));
    });
    let again = reports(&moto, &["destroy", tree_arg, "--yes"], 0);
    assert!(
        results(&again).iter().all(|(_, r)| r == "not-deployed"),
        "{again:?}"
    );
}

#[test]
fn unreachable_or_unprepared_accounts_are_refused_with_the_fix() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::write(
        root.join("dpc.yaml"),
        "central: { account: \"999999999999\", region: eu-west-1 }\nregion: eu-west-1\naccounts:\n  \"555555555555\": { roleArn: \"arn:aws:iam::555555555555:role/dpc-deploy\" }\n",
    )
    .expect("dpc.yaml");
    for (name, account) in [("a", "444444444444"), ("b", "555555555555")] {
        std::fs::create_dir(root.join(name)).expect("mkdir");
        std::fs::write(
            root.join(name).join("pipeline.yaml"),
            format!("name: {name}\nteam: t\naccount: \"{account}\"\ntrigger:\n  schedule: {{ hour: 1 }}\ncompute:\n  type: NONE\n"),
        )
        .expect("pipeline.yaml");
    }
    let reports = reports(
        &moto,
        &["deploy", root.to_str().expect("utf-8"), "--yes"],
        1,
    );
    let reason = |stack: &str| {
        reports[stack]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(reports["dpc-a"]["result"], "skipped");
    assert!(
        reason("dpc-a").contains("not 444444444444") && reason("dpc-a").contains("roleArn"),
        "{}",
        reason("dpc-a")
    );
    assert_eq!(reports["dpc-b"]["result"], "skipped");
    assert!(
        reason("dpc-b").contains("dpc setup-user-account --account 555555555555"),
        "{}",
        reason("dpc-b")
    );
}

/// A tree of `count` schedule-only pipelines in the caller's account (`steps` GLUE steps each).
fn generated_tree(root: &Path, count: usize, steps: usize) {
    std::fs::write(
        root.join("dpc.yaml"),
        "central: { account: \"999999999999\", region: eu-west-1 }\nregion: eu-west-1\n",
    )
    .expect("dpc.yaml");
    let step_yaml: String = (0..steps)
        .map(|i| format!("  - name: s{i}\n    type: GLUE\n    script: s3://dpc-test-scripts/jobs/s{i}.py\n    args: [\"--date\", \"{{{{run.date}}}}\"]\n"))
        .collect();
    for i in 0..count {
        let dir = root.join(format!("p{i:02}"));
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(
            dir.join("pipeline.yaml"),
            format!("name: p{i:02}\nteam: t\ntrigger:\n  schedule: {{ hour: 1 }}\ncompute:\n  type: GLUE\n  glue: {{ version: \"5.0\", workerType: G.1X, numberOfWorkers: 2 }}\nsteps:\n{step_yaml}"),
        )
        .expect("pipeline.yaml");
    }
}

fn set_up_caller_account(moto: &Moto) {
    moto.dpc([
        "setup-user-account",
        "--central-account",
        "999999999999",
        "--central-region",
        "eu-west-1",
        "--no-registration",
        "--yes",
    ])
    .run()
    .assert_code(0);
}

#[test]
fn a_template_over_51200_bytes_goes_through_the_artifacts_bucket() {
    let moto = Moto::start();
    set_up_caller_account(&moto);
    let dir = tempfile::tempdir().expect("tempdir");
    generated_tree(dir.path(), 1, 40);
    let root = dir.path().to_str().expect("utf-8");
    let deployed = reports(&moto, &["deploy", root, "--yes"], 0);
    assert_eq!(deployed["dpc-p00"]["result"], "deployed");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = moto.sdk().await;
        let body = moto::template_body(&config, "dpc-p00").await;
        assert!(body.len() > 51_200, "{} bytes", body.len());
        let keys = bucket_keys(&config, "dpc/p00/templates/").await;
        assert_eq!(keys.len(), 1, "{keys:?}");
    });
}

#[test]
fn ctrl_c_stops_starting_stacks_and_a_rerun_resumes() {
    let moto = Moto::start();
    set_up_caller_account(&moto);
    let dir = tempfile::tempdir().expect("tempdir");
    generated_tree(dir.path(), 40, 1);
    let root = dir.path().to_str().expect("utf-8");
    let child = moto
        .dpc([
            "deploy",
            root,
            "--yes",
            "--concurrency",
            "1",
            "--output",
            "json",
        ])
        .spawn();
    // Interrupt once the first stack is done, well before the fortieth.
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cfn = runtime.block_on(async { aws_sdk_cloudformation::Client::new(&moto.sdk().await) });
    loop {
        let done = runtime.block_on(async {
            cfn.describe_stacks()
                .send()
                .await
                .map(|s| s.stacks().len())
                .unwrap_or(0)
        });
        if done >= 3 {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "no stack was created");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait();
    out.assert_code(1)
        .assert_stderr_contains("interrupted")
        .assert_stderr_contains("again to resume");
    let list = out.json();
    let results: Vec<&str> = list
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["result"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(results.len(), 40);
    assert!(results.contains(&"deployed"), "{results:?}");
    assert!(results.contains(&"skipped"), "{results:?}");

    // The rerun deploys what was left and leaves what was done.
    let rerun = reports(&moto, &["deploy", root, "--yes", "--wait"], 0);
    assert_eq!(rerun.len(), 40);
    assert!(
        results_of(&rerun)
            .iter()
            .all(|r| r == "deployed" || r == "unchanged"),
        "{rerun:?}"
    );
    assert!(results_of(&rerun).iter().any(|r| r == "unchanged"));
}

fn results_of(reports: &serde_json::Map<String, Value>) -> Vec<String> {
    results(reports).into_iter().map(|(_, r)| r).collect()
}
