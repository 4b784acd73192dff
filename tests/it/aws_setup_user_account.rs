//! `dpc setup-user-account` against a real AWS API emulator (moto server): the stack is created
//! through a change set, its SSM parameters exist (the registration token names the central
//! registration function), the central reconciler's read role exists with its trust and
//! read-only policy (unless `--no-reconciler-role`), a second run changes nothing, and without a
//! terminal and without `--yes` nothing is deployed.

use serde_json::Value;

use crate::common::moto::{self, Moto};
use crate::common::{Run, dpc};

const CENTRAL: [&str; 4] = [
    "--central-account",
    "999999999999",
    "--central-region",
    "eu-west-1",
];

fn run(moto: &Moto, extra: &[&str]) -> Run {
    moto.dpc(["setup-user-account"])
        .args(CENTRAL)
        .args(extra)
        .run()
}

#[test]
fn setup_user_account_deploys_once_then_reports_no_changes() {
    let moto = Moto::start();

    // Without a terminal and without --yes: refused at once, before any AWS call.
    run(&moto, &[])
        .assert_code(2)
        .assert_stderr_contains("pass --yes");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk().await);
        let stacks = cfn.describe_stacks().send().await.expect("list stacks");
        assert!(stacks.stacks().is_empty(), "nothing left behind");
    });

    let first = run(&moto, &["--yes"]);
    first.assert_code(0);
    let stderr = first.stderr();
    assert!(
        stderr.contains("+ PipelinesBus (AWS::Events::EventBus)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dpc-account (123456789012 eu-west-1): deployed"),
        "{stderr}"
    );
    // moto returns no Outputs for stacks created through change sets, so outputs are not
    // asserted here; the stack and its resources are checked through the AWS APIs below.

    runtime.block_on(async {
        let config = moto.sdk().await;
        assert_eq!(
            moto::parameter(&config, "/dpc/account/version").await,
            ::dpc::deploy::account_stack::VERSION.to_string()
        );
        let bus = moto::parameter(&config, "/dpc/account/central-event-bus-arn").await;
        assert!(
            bus.ends_with(":999999999999:event-bus/dpc-central"),
            "{bus}"
        );
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let stacks = cfn
            .describe_stacks()
            .stack_name("dpc-account")
            .send()
            .await
            .expect("stack");
        let status = stacks
            .stacks()
            .first()
            .and_then(|s| s.stack_status())
            .map(|s| s.as_str().to_string());
        assert_eq!(status.as_deref(), Some("CREATE_COMPLETE"));
        assert_eq!(
            moto::parameter(&config, "/dpc/account/registration-service-token").await,
            "arn:aws:lambda:eu-west-1:999999999999:function:dpc-registration"
        );

        // The reconciler's read role: trusted by the central reconciler only, read-only.
        let (trust, policies) = reconciler_role(&config)
            .await
            .expect("dpc-reconciler-read");
        assert_eq!(
            trust["Statement"],
            serde_json::json!([{
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::999999999999:role/dpc-reconciler"}},
            }])
        );
        assert_eq!(
            policies,
            [serde_json::json!([
                {"Effect": "Allow", "Action": "states:ListExecutions",
                 "Resource": "arn:aws:states:*:123456789012:stateMachine:dpc-*"},
                {"Effect": "Allow", "Action": "states:DescribeExecution",
                 "Resource": "arn:aws:states:*:123456789012:execution:dpc-*:*"},
            ])]
        );
    });

    let again = run(&moto, &["--yes", "--output", "json"]);
    again.assert_code(0);
    let reports: Value = again.json();
    assert_eq!(reports[0]["stack"], "dpc-account");
    assert_eq!(reports[0]["result"], "no-changes");

    // Another central account changes the template: --no-execute shows the update only.
    let preview = moto
        .dpc([
            "setup-user-account",
            "--central-account",
            "888888888888",
            "--central-region",
            "eu-west-1",
            "--no-execute",
            "--output",
            "json",
        ])
        .run();
    preview.assert_code(0);
    let reports: Value = preview.json();
    assert_eq!(reports[0]["result"], "prepared");
    let modified = reports[0]["changes"].as_array().expect("changes");
    assert!(
        modified
            .iter()
            .any(|c| c["logicalId"] == "CentralBusParameter" && c["action"] == "Modify"),
        "{modified:?}"
    );
    runtime.block_on(async {
        let value = moto::parameter(&moto.sdk().await, "/dpc/account/central-event-bus-arn").await;
        assert!(
            value.contains(":999999999999:"),
            "not executed, so unchanged: {value}"
        );
    });
}

#[test]
fn print_template_needs_no_credentials() {
    let out = dpc(["setup-user-account", "--print-template"])
        .args(CENTRAL)
        .env_remove("AWS_ENDPOINT_URL")
        .run();
    out.assert_code(0);
    let template: Value = out.json();
    assert_eq!(
        template["Resources"]["PipelinesBus"]["Properties"]["Name"],
        "dpc-pipelines"
    );
}

/// A policy document as IAM returns it: URL-encoded JSON. (moto may send it plain, and an
/// inline policy CloudFormation made as a Python dict literal, quoted with `'`.)
fn policy_document(text: &str) -> Value {
    if let Ok(value) = serde_json::from_str(text) {
        return value;
    }
    if text.starts_with("{'") {
        return serde_json::from_str(&text.replace('\'', "\"")).expect("policy");
    }
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy {text}: {e}"))
}

/// The role `dpc-reconciler-read`: its trust policy and its inline policies' statements, or
/// `None` when there is no such role.
async fn reconciler_role(config: &aws_config::SdkConfig) -> Option<(Value, Vec<Value>)> {
    let iam = aws_sdk_iam::Client::new(config);
    let role = match iam.get_role().role_name("dpc-reconciler-read").send().await {
        Ok(role) => role,
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            return None;
        }
        Err(e) => panic!("get role: {e:?}"),
    };
    let trust = policy_document(
        role.role()
            .and_then(|r| r.assume_role_policy_document())
            .expect("trust policy"),
    );
    let names = iam
        .list_role_policies()
        .role_name("dpc-reconciler-read")
        .send()
        .await
        .expect("policies");
    let mut policies = Vec::new();
    for name in names.policy_names() {
        let policy = iam
            .get_role_policy()
            .role_name("dpc-reconciler-read")
            .policy_name(name)
            .send()
            .await
            .expect("policy");
        policies.push(policy_document(policy.policy_document())["Statement"].clone());
    }
    Some((trust, policies))
}

#[test]
fn no_reconciler_role_leaves_it_to_another_region() {
    let moto = Moto::start();
    run(&moto, &["--yes", "--no-reconciler-role"]).assert_code(0);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        assert!(reconciler_role(&moto.sdk().await).await.is_none());
    });
}
