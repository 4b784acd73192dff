//! The `dpc-account` stack template (SPEC §5.2) passes cfn-lint with no errors or warnings,
//! both with the central account fixed and as stack parameters.

use std::process::Command;

use dpc::deploy::account_stack as account;
use dpc::pipeline::model::Central;

#[test]
fn account_stack_passes_cfn_lint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let central = Central {
        account: "999999999999".into(),
        region: "eu-west-1".into(),
        bus: "dpc-central".into(),
    };
    let mut files = Vec::new();
    for (name, template) in [
        ("fixed", account::template(Some(&central))),
        ("parameters", account::template(None)),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&template).expect("json"),
        )
        .expect("write");
        files.push(path);
    }
    let output = Command::new("cfn-lint")
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cfn-lint could not be run ({e}): install it with `pip install cfn-lint` (.ci/run does)"));
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "cfn-lint:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
