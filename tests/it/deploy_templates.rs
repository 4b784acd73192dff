//! The per-account (`dpc-account`) and central (`dpc-central`) stack templates pass cfn-lint
//! with no errors or warnings, in each of their shapes.

use std::process::Command;

use dpc::deploy::account_stack as account;
use dpc::pipeline::model::Central;

#[test]
fn account_stack_passes_cfn_lint() {
    let central = Central {
        account: "999999999999".into(),
        region: "eu-west-1".into(),
        bus: "dpc-central".into(),
    };
    lint(&[
        ("fixed", account::template(Some(&central))),
        ("parameters", account::template(None)),
    ]);
}

/// Writes each template to a file and runs cfn-lint on them all: exit 0, or the report.
fn lint(templates: &[(&str, serde_json::Value)]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: Vec<_> = templates
        .iter()
        .map(|(name, template)| {
            let path = dir.path().join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(template).expect("json"))
                .expect("write");
            path
        })
        .collect();
    let output = Command::new("cfn-lint")
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cfn-lint could not be run ({e}): install it with `pip install cfn-lint` (.ci/run does)"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "cfn-lint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `dpc-central` stack template passes cfn-lint with no errors or warnings: one and
/// three consumer accounts, and with an organization.
#[test]
fn central_stack_passes_cfn_lint() {
    use dpc::deploy::central_stack::{self as central, Consumer, Spec};

    let spec = |ids: &[&str], org: Option<&str>| Spec {
        bus: central::BUS.into(),
        consumers: ids
            .iter()
            .map(|a| Consumer {
                account: (*a).into(),
                region: Some("eu-west-1".into()),
            })
            .collect(),
        org_id: org.map(String::from),
    };
    let three = ["111111111111", "222222222222", "333333333333"];
    lint(&[
        ("one", central::template(&spec(&three[..1], None))),
        ("three", central::template(&spec(&three, None))),
        (
            "organization",
            central::template(&spec(&three[..2], Some("o-abc123def4"))),
        ),
    ]);
}
