//! The deployer on paths moto cannot produce (it neither rolls back failed stacks nor emits
//! per-resource events), replayed from CloudFormation responses in
//! `tests/fixtures/cloudformation-replay/<scenario>/`: a replay server on 127.0.0.1 answers
//! each request with the next file, so the real deployer, SDK, HTTP client and XML parsing run
//! unchanged. Each scenario also checks that the deployer made exactly the calls the files
//! name, in their order. The status decision itself is unit-tested per status in
//! `deploy::plan`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_sdk_cloudformation::config::{BehaviorVersion, Credentials, Region};
use dpc::aws::cloudformation::{
    DeployOptions, Deployer, Progress, Report, StackRequest, StackResult,
};

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

/// Recorded responses (HTTP status, body) still to give, and the actions asked for.
#[derive(Default)]
struct Tape {
    responses: VecDeque<(u16, String)>,
    actions: Vec<String>,
}

/// Serves `tape` on a free 127.0.0.1 port, one connection per thread; returns the URL.
fn serve(tape: Arc<Mutex<Tape>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tape = Arc::clone(&tape);
            std::thread::spawn(move || answer(stream, &tape));
        }
    });
    url
}

/// Answers every request of a keep-alive connection with the tape's next response.
fn answer(stream: TcpStream, tape: &Mutex<Tape>) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        let action = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .unwrap_or_default()
            .to_string();
        let (status, xml) = {
            let mut tape = tape.lock().expect("tape");
            tape.actions.push(action);
            // Past the end: a client error, which the SDK does not retry.
            tape.responses
                .pop_front()
                .unwrap_or((400, "<ErrorResponse><Error><Code>OutOfTape</Code><Message>no recorded response left</Message></Error></ErrorResponse>".into()))
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n",
            xml.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(xml.as_bytes()).is_err() {
            return;
        }
    }
}

fn replay(scenario: &str) -> (Report, Vec<String>) {
    let dir = Path::new("tests/fixtures/cloudformation-replay").join(scenario);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("scenario folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let tape = Arc::new(Mutex::new(Tape::default()));
    for file in &files {
        let body = std::fs::read_to_string(dir.join(file)).expect("response");
        let status = action(file).1;
        tape.lock()
            .expect("tape")
            .responses
            .push_back((status, body));
    }
    let config = aws_sdk_cloudformation::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(serve(Arc::clone(&tape)))
        .credentials_provider(Credentials::new("AKID", "secret", None, None, "replay"))
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
    let made = tape.lock().expect("tape").actions.clone();
    let expected: Vec<String> = files.iter().map(|f| action(f).0).collect();
    assert_eq!(made, expected, "the calls made, in order");
    let lines = lines.0.into_inner().expect("lines");
    (report, lines)
}

#[test]
fn a_failed_update_reports_the_failing_resource_and_its_reason() {
    let (report, lines) = replay("update-fails-and-rolls-back");
    let StackResult::Failed { status, reasons } = &report.outcome else {
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
    let StackResult::Deployed { outputs } = &report.outcome else {
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
