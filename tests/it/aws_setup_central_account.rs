//! `dpc setup-central-account` against a real AWS API emulator (moto server): the `dpc-central`
//! stack is created through a change set for the accounts of dpc.yaml and `--account`; its
//! bus, manager rule and FIFO queue target, dead-letter queue, table, forwarding rules and SSM
//! parameters exist; a second run changes nothing; one more `--account` adds its forwarding rule.
//! (moto's CloudFormation skips `AWS::Events::EventBusPolicy`, `AWS::SQS::QueuePolicy` and
//! `AWS::CloudWatch::Alarm`, so those are checked on the deployed template.)
//!
//! The functions' package: the first run with code deploys twice (the stack and its artifacts
//! bucket, then the functions), the zip in the bucket holds the binary, a re-run uploads
//! nothing and changes nothing, and a bootstrap needing glibc 2.36 is refused before anything
//! is deployed. moto never runs the functions, so their bootstrap here is a small C program
//! compiled by the test (`cc`); the real `dpc` binary is checked by the same ELF reader, and
//! its needs are compared with `objdump -p`'s.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::moto::{self, Moto};
use dpc::deploy::package::{self, PackageError};

const CONFIG: &str = r#"central: { account: "123456789012", region: eu-west-1, bus: dpc-central }
region: eu-west-1
accounts:
  "111111111111": { roleArn: "arn:aws:iam::111111111111:role/dpc-deploy" }
"#;

fn run(moto: &Moto, dir: &std::path::Path, extra: &[&str]) -> crate::common::Run {
    moto.dpc(["setup-central-account", "--account", "222222222222"])
        .arg("--config-dir")
        .arg(dir)
        .args(extra)
        .run()
}

async fn rule_names(config: &aws_config::SdkConfig) -> Vec<String> {
    let events = aws_sdk_eventbridge::Client::new(config);
    let rules = events
        .list_rules()
        .event_bus_name("dpc-central")
        .send()
        .await
        .expect("rules");
    let mut names: Vec<String> = rules
        .rules()
        .iter()
        .filter_map(|r| r.name().map(String::from))
        .collect();
    names.sort();
    names
}

async fn queue_attributes(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
) -> std::collections::HashMap<String, String> {
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue {name}: {e}"));
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url.queue_url().unwrap_or_default())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .expect("attributes");
    attributes
        .attributes()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect()
}

#[test]
fn setup_central_account_deploys_then_adds_an_account_by_a_rerun() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dpc.yaml"), CONFIG).expect("dpc.yaml");

    // Without a terminal and without --yes: refused at once.
    run(&moto, dir.path(), &[])
        .assert_code(2)
        .assert_stderr_contains("pass --yes");

    let first = run(&moto, dir.path(), &["--yes", "--no-functions"]);
    first.assert_code(0);
    let stderr = first.stderr();
    for expected in [
        "+ CentralBus (AWS::Events::EventBus)",
        "+ ForwardTriggers111111111111 (AWS::Events::Rule)",
        "+ ForwardTriggers222222222222 (AWS::Events::Rule)",
        "dpc-central (123456789012 eu-west-1): deployed",
        "warning: --no-functions: the manager, reconciler and registration functions are not deployed",
    ] {
        assert!(stderr.contains(expected), "{expected}:\n{stderr}");
    }

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = moto.sdk().await;
        let events = aws_sdk_eventbridge::Client::new(&config);
        let bus = events
            .describe_event_bus()
            .name("dpc-central")
            .send()
            .await
            .expect("the central bus");
        assert_eq!(
            bus.arn(),
            Some("arn:aws:events:eu-west-1:123456789012:event-bus/dpc-central")
        );
        assert_eq!(
            rule_names(&config).await,
            [
                "dpc-forward-triggers-111111111111",
                "dpc-forward-triggers-222222222222",
                "dpc-trigger-events-manager",
            ]
        );

        // The manager rule: its pattern, and the FIFO queue with one message group.
        let rule = events
            .describe_rule()
            .event_bus_name("dpc-central")
            .name("dpc-trigger-events-manager")
            .send()
            .await
            .expect("manager rule");
        let pattern: Value =
            serde_json::from_str(rule.event_pattern().unwrap_or_default()).expect("pattern");
        assert_eq!(pattern, dpc::deploy::central_stack::manager_pattern());
        let targets = events
            .list_targets_by_rule()
            .event_bus_name("dpc-central")
            .rule("dpc-trigger-events-manager")
            .send()
            .await
            .expect("targets");
        let target = &targets.targets()[0];
        assert_eq!(
            target.arn(),
            "arn:aws:sqs:eu-west-1:123456789012:dpc-manager.fifo"
        );
        assert_eq!(
            target
                .sqs_parameters()
                .and_then(|p| p.message_group_id()),
            Some("dpc-manager")
        );

        // Each forwarding rule sends its account's triggers to that account's bus.
        for account in ["111111111111", "222222222222"] {
            let name = format!("dpc-forward-triggers-{account}");
            let rule = events
                .describe_rule()
                .event_bus_name("dpc-central")
                .name(&name)
                .send()
                .await
                .expect("forwarding rule");
            let pattern: Value =
                serde_json::from_str(rule.event_pattern().unwrap_or_default()).expect("pattern");
            assert_eq!(pattern["detail"]["target"]["account"][0], account);
            assert_eq!(pattern["source"][0], dpc::events::TRIGGER_SOURCE);
            let targets = events
                .list_targets_by_rule()
                .event_bus_name("dpc-central")
                .rule(&name)
                .send()
                .await
                .expect("targets");
            let target = &targets.targets()[0];
            assert_eq!(
                target.arn(),
                format!("arn:aws:events:eu-west-1:{account}:event-bus/dpc-pipelines")
            );
            assert!(target.role_arn().is_some(), "{name}: a role puts events");
        }

        // The FIFO queue and its dead-letter queue.
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue = queue_attributes(&sqs, "dpc-manager.fifo").await;
        assert_eq!(queue["FifoQueue"], "true", "{queue:?}");
        assert_eq!(queue["ContentBasedDeduplication"], "true", "{queue:?}");
        assert_eq!(queue["VisibilityTimeout"], "360", "{queue:?}");
        let redrive: Value = serde_json::from_str(&queue["RedrivePolicy"]).expect("redrive");
        assert_eq!(
            redrive["deadLetterTargetArn"],
            "arn:aws:sqs:eu-west-1:123456789012:dpc-manager-dlq.fifo"
        );
        assert_eq!(redrive["maxReceiveCount"], 5);
        let dead_letters = queue_attributes(&sqs, "dpc-manager-dlq.fifo").await;
        assert_eq!(dead_letters["FifoQueue"], "true", "{dead_letters:?}");

        // The manager's table: pk/sk, the outbox index, on demand.
        let table = moto::parameter(&config, "/dpc/central/manager-table").await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&config);
        let described = dynamodb
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap_or_else(|e| panic!("table {table}: {e}"));
        let described = described.table().expect("table");
        let keys: Vec<(&str, &str)> = described
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(keys, [("pk", "HASH"), ("sk", "RANGE")]);
        assert_eq!(
            described.global_secondary_indexes()[0].index_name(),
            Some("gsi1")
        );

        assert_eq!(moto::parameter(&config, "/dpc/central/version").await, "1");

        // The bus policy, queue policy and alarm, on the deployed template (see above); no
        // function without code.
        let template: Value =
            serde_json::from_str(&moto::template_body(&config, "dpc-central").await)
                .expect("template");
        let principals = &template["Resources"]["CentralBusAccountsPolicy"]["Properties"]
            ["Statement"]["Principal"]["AWS"];
        assert_eq!(principals.as_array().map(Vec::len), Some(2), "{principals}");
        assert!(template["Resources"]["ManagerQueuePolicy"].is_object());
        assert!(template["Resources"]["ManagerDeadLetterAlarm"].is_object());
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let resources = cfn
            .describe_stack_resources()
            .stack_name("dpc-central")
            .send()
            .await
            .expect("resources");
        let ids: Vec<&str> = resources
            .stack_resources()
            .iter()
            .filter_map(|r| r.logical_resource_id())
            .collect();
        assert!(ids.contains(&"ManagerTable"), "{ids:?}");
        assert!(!ids.contains(&"ManagerFunction"), "{ids:?}");
    });

    // Again: nothing to change.
    let again = run(
        &moto,
        dir.path(),
        &["--yes", "--no-functions", "--output", "json"],
    );
    again.assert_code(0);
    let reports: Value = again.json();
    assert_eq!(reports[0]["stack"], "dpc-central");
    assert_eq!(reports[0]["result"], "no-changes", "{reports}");

    // One more account: a change set that adds its forwarding rule.
    let more = run(
        &moto,
        dir.path(),
        &[
            "--account",
            "333333333333",
            "--yes",
            "--no-functions",
            "--output",
            "json",
        ],
    );
    more.assert_code(0);
    let reports: Value = more.json();
    assert_eq!(reports[0]["result"], "deployed", "{reports}");
    let changes = reports[0]["changes"].as_array().expect("changes");
    assert!(
        changes
            .iter()
            .any(|c| c["logicalId"] == "ForwardTriggers333333333333" && c["action"] == "Add"),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c["logicalId"] == "CentralBusAccountsPolicy" && c["action"] == "Modify"),
        "{changes:?}"
    );
    runtime.block_on(async {
        let names = rule_names(&moto.sdk().await).await;
        assert!(
            names.contains(&"dpc-forward-triggers-333333333333".to_string()),
            "{names:?}"
        );
        assert_eq!(names.len(), 4, "{names:?}");
    });

    // Code for the existing stack: uploaded first, then one deploy adds the functions.
    let tiny = tiny(dir.path());
    let with_code = run(
        &moto,
        dir.path(),
        &[
            "--account",
            "333333333333",
            "--bootstrap",
            tiny.to_str().expect("path"),
            "--yes",
            "--output",
            "json",
        ],
    );
    with_code.assert_code(0);
    let reports: Value = with_code.json();
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{reports}");
    assert_eq!(reports[0]["result"], "deployed", "{reports}");
    assert_eq!(reports[0]["code"]["upload"], "uploaded", "{reports}");
    runtime.block_on(async {
        let lambda = aws_sdk_lambda::Client::new(&moto.sdk().await);
        let listed = lambda.list_functions().send().await.expect("functions");
        let mut names: Vec<&str> = listed
            .functions()
            .iter()
            .filter_map(|f| f.function_name())
            .collect();
        names.sort();
        // The notifier too, without a Slack token secret (email and OpsGenie only), and the
        // lineage function, fed by nothing without an endpoint.
        assert_eq!(
            names,
            [
                "dpc-lineage",
                "dpc-manager",
                "dpc-notifier",
                "dpc-reconciler",
                "dpc-registration"
            ]
        );
    });
}

#[test]
fn setup_central_account_needs_a_consumer_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = crate::common::dpc(["setup-central-account", "--print-template", "--config-dir"])
        .arg(dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .run();
    out.assert_code(2);
    out.assert_stderr_contains("error: no consumer account is known");
    out.assert_stderr_contains("--account ID");
}

/// Compiles `source` with the machine's C compiler into `dir/name`.
fn cc(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).expect("source");
    let binary = dir.join(name);
    let out = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(&binary)
        .arg(&c)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cc could not be run ({e}): these tests need a C compiler (`apt-get install gcc`)"
            )
        });
    assert!(
        out.status.success(),
        "cc {name}.c: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    binary
}

/// A do-nothing executable: glibc 2.34 at most (`__libc_start_main@GLIBC_2.34`).
fn tiny(dir: &Path) -> PathBuf {
    cc(dir, "tiny", "int main(void) { return 0; }\n")
}

/// An executable calling `arc4random`, new in glibc 2.36.
fn arc4random(dir: &Path) -> PathBuf {
    cc(
        dir,
        "arc4random",
        "#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n",
    )
}

/// The `GLIBC_*` versions `objdump -p` lists under "Version References", sorted.
fn objdump_glibc(binary: &Path) -> Vec<String> {
    let out = Command::new("objdump")
        .arg("-p")
        .arg(binary)
        .output()
        .unwrap_or_else(|e| panic!("objdump could not be run ({e}): install binutils"));
    assert!(out.status.success(), "objdump -p");
    let mut versions: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|w| w.starts_with("GLIBC_"))
        .map(String::from)
        .collect();
    versions.sort();
    versions.dedup();
    versions
}

/// The entries of a zip as Python's zipfile reads them: name, Unix mode, content.
fn unzip(zip: &[u8], dir: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let path = dir.join("unzip-me.zip");
    std::fs::write(&path, zip).expect("zip");
    let script = "import sys, zipfile, json\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None\n\
                  print(json.dumps([[i.filename, i.external_attr >> 16, z.read(i).hex()] for i in z.infolist()]))";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("python3 could not be run ({e})"));
    assert!(
        out.status.success(),
        "python zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<(String, u32, String)> = serde_json::from_slice(&out.stdout).expect("entries");
    entries
        .into_iter()
        .map(|(name, mode, hex)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            (name, mode, bytes)
        })
        .collect()
}

#[test]
fn the_package_check_reads_real_binaries() {
    // The dpc under test: a debug build, too large for Lambda, but its glibc needs are read
    // as objdump reads them, and this Debian's toolchain keeps them at 2.34.
    let dpc = Path::new(env!("CARGO_BIN_EXE_dpc"));
    let needs = package::check(&std::fs::read(dpc).expect("dpc")).expect("dpc needs glibc ≤ 2.34");
    let mut read = needs.glibc.clone();
    read.sort();
    assert_eq!(read, objdump_glibc(dpc));
    assert!(
        needs.libraries.contains(&"libc.so.6".to_string()),
        "{needs:?}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let tiny = tiny(dir.path());
    let tiny_bytes = std::fs::read(&tiny).expect("tiny");
    let packaged = package::package(&tiny_bytes).expect("tiny is fine");
    assert_eq!(packaged.needs.glibc, objdump_glibc(&tiny));
    assert_eq!(packaged.needs.highest(), Some("GLIBC_2.34"));
    // The same binary, the same zip; Python's zipfile reads an executable `bootstrap`.
    assert_eq!(
        package::package(&tiny_bytes).expect("again").zip,
        packaged.zip
    );
    assert_eq!(
        unzip(&packaged.zip, dir.path()),
        [("bootstrap".to_string(), 0o100_755, tiny_bytes)]
    );

    let arc = arc4random(dir.path());
    match package::check(&std::fs::read(&arc).expect("arc4random")) {
        Err(PackageError::GlibcTooNew { highest, needs }) => {
            assert_eq!(highest, "GLIBC_2.36");
            assert_eq!(needs.last().map(String::as_str), Some("GLIBC_2.36"));
        }
        other => panic!("arc4random needs glibc 2.36: {other:?}"),
    }
    // Not an executable at all.
    assert!(matches!(
        package::check(&std::fs::read(dir.path().join("tiny.c")).expect("source")),
        Err(PackageError::NotElf(_))
    ));
}

#[test]
fn an_incompatible_bootstrap_is_refused_before_anything_is_deployed() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dpc.yaml"), CONFIG).expect("dpc.yaml");
    let arc = arc4random(dir.path());
    let refused = run(
        &moto,
        dir.path(),
        &["--yes", "--bootstrap", arc.to_str().expect("path")],
    );
    refused.assert_code(2);
    for expected in [
        "the bootstrap needs GLIBC_2.36 but Lambda's provided.al2023 has glibc 2.34",
        "cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34",
        "pip install ziglang cargo-zigbuild",
    ] {
        refused.assert_stderr_contains(expected);
    }
    // The default bootstrap, this debug build, is too large for Lambda.
    let debug = run(&moto, dir.path(), &["--yes"]);
    debug.assert_code(2);
    debug.assert_stderr_contains("Lambda takes at most 262144000 bytes of unzipped code");
    // --bootstrap and --no-functions contradict each other.
    run(
        &moto,
        dir.path(),
        &["--yes", "--no-functions", "--bootstrap", "x"],
    )
    .assert_code(2);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let config = moto.sdk().await;
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let stacks = cfn.describe_stacks().send().await.expect("stacks");
        assert!(stacks.stacks().is_empty(), "no stack");
        let buckets = dpc::aws::s3(&config)
            .list_buckets()
            .send()
            .await
            .expect("buckets");
        assert!(buckets.buckets().is_empty(), "no bucket");
    });
}

/// The objects of `bucket`: key and last-modified time.
async fn objects(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, String)> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("objects");
    listed
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap_or_default().to_string(),
                o.last_modified().map(|t| t.to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_first_run_with_code_deploys_twice_then_a_rerun_changes_nothing() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dpc.yaml"), CONFIG).expect("dpc.yaml");
    let tiny = tiny(dir.path());
    let bootstrap = ["--bootstrap", tiny.to_str().expect("path")];

    // --no-execute on a new stack: the change set without functions only, nothing uploaded.
    let preview = run(
        &moto,
        dir.path(),
        &[&bootstrap[..], &["--no-execute", "--output", "json"]].concat(),
    );
    preview.assert_code(0);
    preview.assert_stderr_contains("run again without --no-execute");
    let reports: Value = preview.json();
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{reports}");
    assert_eq!(reports[0]["result"], "prepared", "{reports}");
    assert!(reports[0].get("code").is_none(), "{reports}");

    let first = run(
        &moto,
        dir.path(),
        &[&bootstrap[..], &["--yes", "--output", "json"]].concat(),
    );
    first.assert_code(0);
    first.assert_stderr_contains(
        "no artifacts bucket yet: deploying the stack without new code first",
    );
    let reports: Value = first.json();
    let results: Vec<&str> = reports
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["result"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(results, ["deployed", "deployed"], "{reports}");
    let code = &reports[1]["code"];
    assert_eq!(code["upload"], "uploaded", "{reports}");
    assert_eq!(code["glibc"], "GLIBC_2.34");
    let bucket = code["bucket"].as_str().expect("bucket").to_string();
    let key = code["key"].as_str().expect("key").to_string();
    let tiny_bytes = std::fs::read(&tiny).expect("tiny");
    let packaged = package::package(&tiny_bytes).expect("package");
    assert_eq!(key, packaged.key());
    assert_eq!(code["sha256"], packaged.sha256);

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let before = runtime.block_on(async {
        let config = moto.sdk().await;
        assert_eq!(
            moto::parameter(&config, "/dpc/central/artifacts-bucket").await,
            bucket
        );
        // The zip in the bucket is the binary, as bootstrap.
        let s3 = dpc::aws::s3(&config);
        let object = s3
            .get_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await
            .expect("zip");
        let zip = object
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec();
        assert_eq!(zip, packaged.zip);
        assert_eq!(
            unzip(&zip, dir.path()),
            [("bootstrap".to_string(), 0o100_755, tiny_bytes.clone())]
        );

        // The three functions run it, each under its handler name.
        let lambda = aws_sdk_lambda::Client::new(&config);
        let queue_url = moto::parameter(&config, "/dpc/central/manager-queue-url").await;
        let table = moto::parameter(&config, "/dpc/central/manager-table").await;
        for name in ["dpc-manager", "dpc-reconciler", "dpc-registration"] {
            let function = lambda
                .get_function()
                .function_name(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let location = function
                .code()
                .and_then(|c| c.location())
                .unwrap_or_default();
            assert!(location.ends_with(&key), "{name}: {location}");
            let c = function.configuration().expect("configuration");
            assert_eq!(c.runtime().map(|r| r.as_str()), Some("provided.al2023"));
            assert_eq!(c.handler(), Some(name));
            let variables = c
                .environment()
                .and_then(|e| e.variables())
                .cloned()
                .unwrap_or_default();
            assert_eq!(variables.get("DPC_TABLE"), Some(&table), "{name}");
            assert_eq!(
                variables.get("DPC_CENTRAL_BUS_ARN").map(String::as_str),
                Some("arn:aws:events:eu-west-1:123456789012:event-bus/dpc-central"),
                "{name}"
            );
            assert_eq!(
                variables.get("DPC_MANAGER_QUEUE_URL"),
                (name == "dpc-reconciler").then_some(&queue_url),
                "{name}"
            );
            if name == "dpc-reconciler" {
                assert_eq!(
                    c.role(),
                    Some("arn:aws:iam::123456789012:role/dpc-reconciler")
                );
            }
        }
        // The queue feeds the manager, reporting partial failures.
        // (moto lists no mapping CloudFormation made: it is read by its id.)
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let resources = cfn
            .describe_stack_resources()
            .stack_name("dpc-central")
            .send()
            .await
            .expect("resources");
        let uuid = resources
            .stack_resources()
            .iter()
            .find(|r| r.logical_resource_id() == Some("ManagerEventSource"))
            .and_then(|r| r.physical_resource_id())
            .expect("the manager's event source mapping");
        let mapping = lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .expect("mapping");
        assert_eq!(
            mapping.event_source_arn(),
            Some("arn:aws:sqs:eu-west-1:123456789012:dpc-manager.fifo")
        );
        assert_eq!(mapping.batch_size(), Some(10));
        assert_eq!(
            mapping
                .function_response_types()
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>(),
            ["ReportBatchItemFailures"]
        );
        assert_eq!(
            moto::parameter(&config, "/dpc/central/registration-service-token").await,
            "arn:aws:lambda:eu-west-1:123456789012:function:dpc-registration"
        );
        objects(&s3, &bucket).await
    });
    assert_eq!(before.len(), 1, "{before:?}");

    // Again: the zip is there (nothing uploaded) and the stack has no changes.
    let again = run(
        &moto,
        dir.path(),
        &[&bootstrap[..], &["--yes", "--output", "json"]].concat(),
    );
    again.assert_code(0);
    let reports: Value = again.json();
    assert_eq!(reports.as_array().map(Vec::len), Some(1), "{reports}");
    assert_eq!(reports[0]["result"], "no-changes", "{reports}");
    assert_eq!(reports[0]["code"]["upload"], "unchanged", "{reports}");
    let after =
        runtime.block_on(async { objects(&dpc::aws::s3(&moto.sdk().await), &bucket).await });
    assert_eq!(after, before, "nothing uploaded");

    // Human output names the object and its fate.
    let human = run(&moto, dir.path(), &[&bootstrap[..], &["--yes"]].concat());
    human.assert_code(0);
    human.assert_stderr_contains(&format!("code: s3://{bucket}/{key} ("));
    human.assert_stderr_contains("): unchanged");
    human.assert_stderr_contains("dpc-central: no changes");
}

/// The deployed `dpc-lineage` function's `DPC_LINEAGE_URL`, read from moto's Lambda (`None`:
/// no such function), and the stack's `LineageUrl` parameter.
async fn deployed_lineage(config: &aws_config::SdkConfig) -> (Option<String>, String) {
    use dpc::deploy::central_stack as cs;
    let lambda = aws_sdk_lambda::Client::new(config);
    let function = match lambda
        .get_function()
        .function_name(cs::LINEAGE_FUNCTION)
        .send()
        .await
    {
        Ok(f) => Some(
            f.configuration()
                .and_then(|c| c.environment())
                .and_then(|e| e.variables())
                .and_then(|v| v.get(dpc::lambda::lineage::URL_VAR))
                .cloned()
                .unwrap_or_default(),
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!("{}: {e:?}", cs::LINEAGE_FUNCTION),
    };
    let stacks = aws_sdk_cloudformation::Client::new(config)
        .describe_stacks()
        .stack_name(cs::STACK_NAME)
        .send()
        .await
        .expect("the central stack");
    let parameter = stacks
        .stacks()
        .first()
        .map(|s| s.parameters())
        .unwrap_or_default()
        .iter()
        .find(|p| p.parameter_key() == Some(cs::LINEAGE_URL_PARAMETER))
        .and_then(|p| p.parameter_value())
        .unwrap_or_default()
        .to_string();
    (function, parameter)
}

/// The lineage endpoint is a stack parameter, kept like the Slack secret: without it
/// dpc-lineage has no URL and no feed (queue, rule, event source); `--lineage-url` gives it
/// one, a later run without the flag keeps the URL (and says so), dpc.yaml's http endpoint
/// replaces it, `--no-lineage` forgets it.
///
/// moto's CloudFormation honours a resource's Condition when it creates the stack only: on
/// an update it neither creates the feed when `HasLineage` turns true (the feed refers to no
/// parameter) nor deletes it when it turns false, so the feed is checked on the first run.
#[test]
fn the_lineage_endpoint_is_kept_by_later_runs_until_no_lineage() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dpc.yaml"), CONFIG).expect("dpc.yaml");
    let tiny = tiny(dir.path());
    let setup = |extra: &[&str]| {
        run(
            &moto,
            dir.path(),
            &[
                &["--bootstrap", tiny.to_str().expect("path"), "--yes"][..],
                extra,
            ]
            .concat(),
        )
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let lineage = || runtime.block_on(async { deployed_lineage(&moto.sdk().await).await });
    let says_kept = |run: &crate::common::Run| run.stderr().contains("lineage stays on");

    // With the code but no endpoint: the function, without a URL or anything feeding it.
    let first = setup(&["--no-lineage"]);
    first.assert_code(0);
    assert!(!says_kept(&first), "{}", first.stderr());
    assert_eq!(lineage(), (Some(String::new()), String::new()));
    let resources = runtime.block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk().await);
        let listed = cfn
            .describe_stack_resources()
            .stack_name("dpc-central")
            .send()
            .await
            .expect("resources");
        listed
            .stack_resources()
            .iter()
            .filter_map(|r| r.logical_resource_id().map(String::from))
            .filter(|id| id.starts_with("Lineage"))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        resources,
        [
            "LineageFunction",
            "LineageFunctionLogGroup",
            "LineageFunctionRole"
        ]
    );

    let url = "https://marquez.example.com/api/v1/lineage";
    setup(&["--lineage-url", url]).assert_code(0);
    assert_eq!(lineage(), (Some(url.to_string()), url.to_string()));

    let again = setup(&[]);
    again.assert_code(0);
    again.assert_stderr_contains(&format!(
        "dpc-central: lineage stays on, posting to the deployed endpoint {url} (--no-lineage turns it off)"
    ));
    again.assert_stderr_contains("dpc-central: no changes");
    assert_eq!(lineage(), (Some(url.to_string()), url.to_string()));

    // dpc.yaml's http endpoint is given, so it replaces the deployed one.
    let other = "http://marquez.internal:5000/api/v1/lineage";
    std::fs::write(
        dir.path().join("dpc.yaml"),
        format!("{CONFIG}lineage: {{transport: http, url: \"{other}\"}}\n"),
    )
    .expect("dpc.yaml");
    let from_config = setup(&[]);
    from_config.assert_code(0);
    assert!(!says_kept(&from_config), "{}", from_config.stderr());
    assert_eq!(lineage(), (Some(other.to_string()), other.to_string()));

    // --no-lineage forgets it, and later runs keep it off.
    std::fs::write(dir.path().join("dpc.yaml"), CONFIG).expect("dpc.yaml");
    let off = setup(&["--no-lineage"]);
    off.assert_code(0);
    assert!(!says_kept(&off), "{}", off.stderr());
    assert_eq!(lineage(), (Some(String::new()), String::new()));
    let later = setup(&[]);
    later.assert_code(0);
    assert!(!says_kept(&later), "{}", later.stderr());
    assert_eq!(lineage(), (Some(String::new()), String::new()));

    run(&moto, dir.path(), &["--lineage-url", url, "--no-lineage"])
        .assert_code(2)
        .assert_stderr_contains("cannot be used with");
}
