//! `dpc setup-user-account` against a real AWS API emulator (moto server): the stack is created
//! through a change set, its SSM parameters exist, a second run changes nothing, and without a
//! terminal and without `--yes` nothing is deployed.

mod moto;

use std::process::Output;

use moto::Moto;
use serde_json::Value;

const CENTRAL: [&str; 4] = [
    "--central-account",
    "999999999999",
    "--central-region",
    "eu-west-1",
];

fn run(moto: &Moto, extra: &[&str]) -> Output {
    let mut args = vec!["setup-user-account"];
    args.extend_from_slice(&CENTRAL);
    args.extend_from_slice(extra);
    moto.dpc(&args).output().expect("dpc runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn setup_user_account_deploys_once_then_reports_no_changes() {
    let moto = Moto::start();

    // Without a terminal and without --yes: refused at once, before any AWS call.
    let refused = run(&moto, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains("pass --yes"),
        "{}",
        text(&refused.stderr)
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk().await);
        let stacks = cfn.describe_stacks().send().await.expect("list stacks");
        assert!(stacks.stacks().is_empty(), "nothing left behind");
    });

    let first = run(&moto, &["--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let stderr = text(&first.stderr);
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
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let reports: Value = serde_json::from_slice(&again.stdout).expect("json reports");
    assert_eq!(reports[0]["stack"], "dpc-account");
    assert_eq!(reports[0]["result"], "no-changes");

    // Another central account changes the template: --no-execute shows the update only.
    let preview = moto
        .dpc(&[
            "setup-user-account",
            "--central-account",
            "888888888888",
            "--central-region",
            "eu-west-1",
            "--no-execute",
            "--output",
            "json",
        ])
        .output()
        .expect("dpc runs");
    assert_eq!(preview.status.code(), Some(0), "{}", text(&preview.stderr));
    let reports: Value = serde_json::from_slice(&preview.stdout).expect("json reports");
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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dpc"))
        .args(["setup-user-account", "--print-template"])
        .args(CENTRAL)
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("dpc runs");
    assert_eq!(out.status.code(), Some(0));
    let template: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        template["Resources"]["PipelinesBus"]["Properties"]["Name"],
        "dpc-pipelines"
    );
}
