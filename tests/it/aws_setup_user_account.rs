//! `dpc setup-user-account` against a real AWS API emulator (moto server): the stack is created
//! through a change set, its SSM parameters exist, a second run changes nothing, and without a
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
        assert_eq!(moto::parameter(&config, "/dpc/account/version").await, "1");
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
