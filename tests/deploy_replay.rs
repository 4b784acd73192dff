//! The deployer on paths moto cannot produce (it neither rolls back failed stacks nor emits
//! per-resource events), replayed from CloudFormation responses in
//! `tests/fixtures/cloudformation-replay/<scenario>/` through the SDK's own
//! `StaticReplayClient`: the real deployer, SDK and XML parsing, with recorded HTTP exchanges
//! instead of a server. Each scenario also checks that the deployer made exactly the calls
//! the files name, in their order. The status decision itself is unit-tested per status in
//! `deploy::plan`.

use std::path::Path;
use std::sync::Mutex;

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use dpc::aws::cloudformation::{DeployOptions, Deployer, Outcome, Progress, Report, StackRequest};

/// Collects progress lines; confirms everything.
#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl Progress for Lines {
    fn line(&self, text: &str) {
        self.0.lock().expect("lock").push(text.to_string());
    }

    fn confirm(&self, _question: &str) -> Result<bool, String> {
        Ok(true)
    }
}

/// `05-describe-stack-events.xml` → `DescribeStackEvents` (and the HTTP status).
fn action(file: &str) -> (String, u16) {
    let stem = file.trim_end_matches(".xml");
    let status = if stem.contains("-400-") { 400 } else { 200 };
    let words = stem.split('-').skip(1).filter(|w| *w != "400");
    let name = words
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    (name, status)
}

fn replay(scenario: &str) -> (Report, Vec<String>) {
    let dir = Path::new("tests/fixtures/cloudformation-replay").join(scenario);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenario folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let events = files
        .iter()
        .map(|file| {
            let body = std::fs::read_to_string(dir.join(file)).expect("response");
            let request = http::Request::builder()
                .uri("https://cloudformation.eu-west-1.amazonaws.com/")
                .body(SdkBody::empty())
                .expect("request");
            let response = http::Response::builder()
                .status(action(file).1)
                .header("content-type", "text/xml")
                .body(SdkBody::from(body))
                .expect("response");
            ReplayEvent::new(request, response)
        })
        .collect();
    let client = StaticReplayClient::new(events);
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "replay"))
        .http_client(client.clone())
        .build();
    let cfn = aws_sdk_cloudformation::Client::from_conf(config);
    let lines = Lines::default();
    let request = StackRequest {
        name: "dpc-orders".into(),
        template_body: "{\"Resources\": {}}".into(),
        template_url: None,
        parameters: Vec::new(),
        tags: Vec::new(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let options = DeployOptions {
        yes: true,
        ..DeployOptions::default()
    };
    let report = runtime
        .block_on(
            Deployer {
                cfn: &cfn,
                progress: &lines,
            }
            .deploy(&request, options),
        )
        .expect("the deployer reports");
    let made: Vec<String> = client
        .actual_requests()
        .map(|r| {
            let body = std::str::from_utf8(r.body().bytes().unwrap_or_default()).unwrap_or("");
            body.split('&')
                .find_map(|kv| kv.strip_prefix("Action="))
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let expected: Vec<String> = files.iter().map(|f| action(f).0).collect();
    assert_eq!(made, expected, "the calls made, in order");
    let lines = lines.0.into_inner().expect("lines");
    (report, lines)
}

#[test]
fn a_failed_update_reports_the_failing_resource_and_its_reason() {
    let (report, lines) = replay("update-fails-and-rolls-back");
    let Outcome::Failed { status, reasons } = &report.outcome else {
        panic!("{report:?}");
    };
    assert_eq!(status, "UPDATE_ROLLBACK_COMPLETE");
    // The root cause only: "Resource update cancelled" of the rule is a consequence.
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(
        reasons[0].starts_with(
            "StateMachine: Resource handler returned message: \"Invalid State Machine Definition"
        ),
        "{reasons:?}"
    );
    assert_eq!(report.changes.len(), 2);
    // Each event is printed once, oldest first; the one from before the execution is not.
    let events: Vec<&String> = lines.iter().filter(|l| l.contains("_")).collect();
    assert!(
        events
            .iter()
            .any(|l| l.contains("StateMachine UPDATE_FAILED"))
    );
    assert!(
        !lines.iter().any(|l| l.contains("CREATE_COMPLETE")),
        "{lines:?}"
    );
    let first = lines.iter().position(|l| l.contains("UPDATE_IN_PROGRESS"));
    let last = lines
        .iter()
        .position(|l| l.contains("UPDATE_ROLLBACK_COMPLETE"));
    assert!(first < last, "{lines:?}");
}

#[test]
fn a_stack_in_rollback_complete_is_deleted_and_created_again() {
    let (report, lines) = replay("rollback-complete-is-recreated");
    assert!(
        lines[0].contains("ROLLBACK_COMPLETE") && lines[0].contains("deleted and created again"),
        "{lines:?}"
    );
    let Outcome::Deployed { outputs } = &report.outcome else {
        panic!("{report:?}");
    };
    assert_eq!(
        outputs,
        &vec![(
            "StateMachineArn".to_string(),
            "arn:aws:states:eu-west-1:123456789012:stateMachine:dpc-orders".to_string()
        )]
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("create change set") && l.contains("+ StateMachine")),
        "{lines:?}"
    );
}
