//! `dpc setup-central-account` against a real AWS API emulator (moto server): the `dpc-central`
//! stack is created through a change set for the accounts of dpc.yaml and `--account`; its
//! bus, manager rule and FIFO queue target, dead-letter queue, table, forwarding rules and SSM
//! parameters exist; a second run changes nothing; one more `--account` adds its forwarding rule.
//! (moto's CloudFormation skips `AWS::Events::EventBusPolicy`, `AWS::SQS::QueuePolicy` and
//! `AWS::CloudWatch::Alarm`, so those are checked on the deployed template.)

use serde_json::Value;

use crate::common::moto::{self, Moto};

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

    let first = run(&moto, dir.path(), &["--yes"]);
    first.assert_code(0);
    let stderr = first.stderr();
    for expected in [
        "+ CentralBus (AWS::Events::EventBus)",
        "+ ForwardTriggers111111111111 (AWS::Events::Rule)",
        "+ ForwardTriggers222222222222 (AWS::Events::Rule)",
        "dpc-central (123456789012 eu-west-1): deployed",
        "warning: the manager, reconciler and registration functions are not deployed",
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
    let again = run(&moto, dir.path(), &["--yes", "--output", "json"]);
    again.assert_code(0);
    let reports: Value = again.json();
    assert_eq!(reports[0]["stack"], "dpc-central");
    assert_eq!(reports[0]["result"], "no-changes", "{reports}");

    // One more account: a change set that adds its forwarding rule.
    let more = run(
        &moto,
        dir.path(),
        &["--account", "333333333333", "--yes", "--output", "json"],
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
