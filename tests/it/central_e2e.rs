//! The central account end to end on moto server, through README's commands: `dpc
//! setup-central-account` (the functions packaged from a real dpc binary), `dpc
//! setup-user-account` for the case study's three accounts, `dpc deploy` of the case study;
//! then listings' and searches' status events, as Step Functions emits them, put on the
//! central bus — in the "wrong" order and each twice — must give exactly one pipeline-x
//! trigger on account C's `dpc-pipelines` bus, matching its deployed TriggerRule, and none for
//! the fallback; `dpc status --central` and `dpc history --central` read the outcome; `dpc
//! destroy` of pipeline-x deregisters it. And the notifier deployed by `dpc
//! setup-central-account --slack-token-secret`: pipeline-x's runs as one Slack thread per run
//! on the test Slack server, and as rendered email and OpsGenie messages on its topics.
//!
//! Played by the harness (`common::lambda`), only where moto cannot play AWS:
//! - Lambda: moto runs no function (it would need Docker). The harness downloads each
//!   function's deployed zip from the code bucket, unzips the `bootstrap` and runs it against
//!   its own Runtime API on 127.0.0.1, with the environment and role of the deployed function
//!   configuration.
//! - The manager's SQS event source mapping, which moto does not run: receive up to 10,
//!   invoke, delete the successes, release the failures.
//! - CloudFormation's calls to the `Custom::DpcRegistration` service token: moto's
//!   CloudFormation calls only a same-account function, in Docker. The accounts are set up
//!   with `--no-registration`, and for each deployed pipeline stack the harness sends the
//!   request CloudFormation would send — the Registration resource's properties read from the
//!   deployed template and resolved from the stack's parameters, pseudo parameters and
//!   physical ids — to the registration function's ARN; on destroy, the Delete.
//! - The `account` of a forwarded event: moto's bus-to-bus hop re-puts the event in the target
//!   account under that account's id, where EventBridge keeps the sender's. So the events the
//!   deployed forwarding rule selects on the central bus are also copied to a probe queue, and
//!   each is put again, by the central account, on a replica bus there carrying the deployed
//!   TriggerRule patterns of account C: so moto's EventBridge (not dpc's engine) matches them
//!   against the event as it reaches account C, the sender's account included. moto's hop
//!   itself is checked by a probe on account C's bus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::lambda::{
    EventSourceMapping, Function, ResponseUrl, new_queue, put_on, status_event, take_all,
};
use crate::common::moto::{self, Moto};

const CENTRAL: &str = "999999999999";
const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const REGION: &str = "eu-west-1";

/// The case study with the central account reachable as dpc.yaml says.
fn project(dir: &Path) -> PathBuf {
    crate::common::case_study_with_central(dir, CENTRAL)
}

/// The dpc under test without its debug information: the debug build is over Lambda's
/// 250 MB limit, which `setup-central-account` enforces.
fn stripped_dpc(dir: &Path) -> PathBuf {
    let out = dir.join("dpc-bootstrap");
    let status = std::process::Command::new("objcopy")
        .arg("--strip-debug")
        .arg(env!("CARGO_BIN_EXE_dpc"))
        .arg(&out)
        .status()
        .expect("objcopy (binutils) is needed to strip the debug build");
    assert!(status.success(), "objcopy --strip-debug failed");
    out
}

/// A deployed function as Lambda would run it: its bootstrap, environment and role.
struct Deployed {
    arn: String,
    env: Vec<(String, String)>,
}

async fn deployed(moto: &Moto, sdk: &aws_config::SdkConfig, name: &str) -> Deployed {
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let config = lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("function {name}: {e:?}"));
    assert_eq!(config.handler(), Some(name));
    let role = config.role().unwrap_or_default().to_string();
    let creds = aws_sdk_sts::Client::new(&moto.sdk().await)
        .assume_role()
        .role_arn(&role)
        .role_session_name(name)
        .send()
        .await
        .expect("the function's role");
    let c = creds.credentials().expect("credentials");
    let mut env: Vec<(String, String)> = moto
        .env()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    env.extend([
        ("AWS_ACCESS_KEY_ID".into(), c.access_key_id().to_string()),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            c.secret_access_key().to_string(),
        ),
        ("AWS_SESSION_TOKEN".into(), c.session_token().to_string()),
    ]);
    let vars = config.environment().and_then(|e| e.variables());
    env.extend(
        vars.into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    Deployed {
        arn: config.function_arn().unwrap_or_default().to_string(),
        env,
    }
}

/// The `bootstrap` of the zip the functions were deployed with (all three share it).
async fn deployed_bootstrap(sdk: &aws_config::SdkConfig, dir: &Path) -> PathBuf {
    let stack = stack(sdk, "dpc-central").await;
    let bucket = &stack.parameters["CodeBucket"];
    let key = &stack.parameters["CodeKey"];
    let s3 = dpc::aws::s3(sdk);
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("the code zip");
    let bytes = object.body.collect().await.expect("body").into_bytes();
    let zip = dir.join("code.zip");
    std::fs::write(&zip, &bytes).expect("zip");
    let out = dir.join("code");
    let unzip = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2]); print(oct(z.getinfo('bootstrap').external_attr >> 16))",
        ])
        .arg(&zip)
        .arg(&out)
        .output()
        .expect("python3");
    assert!(unzip.status.success(), "{unzip:?}");
    assert_eq!(String::from_utf8_lossy(&unzip.stdout).trim(), "0o100755");
    let bootstrap = out.join("bootstrap");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    bootstrap
}

/// What a deployed stack resolves references with.
struct Stack {
    id: String,
    parameters: BTreeMap<String, String>,
    physical: BTreeMap<String, String>,
    template: Value,
}

async fn stack(sdk: &aws_config::SdkConfig, name: &str) -> Stack {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let described = cfn
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("stack {name}: {e:?}"));
    let s = described.stacks().first().expect("the stack");
    let parameters = s
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.parameter_value()?.to_string(),
            ))
        })
        .collect();
    let resources = cfn
        .describe_stack_resources()
        .stack_name(name)
        .send()
        .await
        .expect("resources");
    let physical = resources
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_string(),
                r.physical_resource_id()?.to_string(),
            ))
        })
        .collect();
    let template = serde_json::from_str(&moto::template_body(sdk, name).await).expect("template");
    Stack {
        id: s.stack_id().unwrap_or_default().to_string(),
        parameters,
        physical,
        template,
    }
}

impl Stack {
    fn reference(&self, account: &str, name: &str) -> String {
        match name {
            "AWS::AccountId" => account.to_string(),
            "AWS::Region" => REGION.to_string(),
            "AWS::Partition" => "aws".to_string(),
            "AWS::StackId" => self.id.clone(),
            _ => self
                .parameters
                .get(name)
                .or_else(|| self.physical.get(name))
                .unwrap_or_else(|| panic!("cannot resolve Ref {name}"))
                .clone(),
        }
    }

    /// `value` with `Ref` and `Fn::Sub` resolved, as CloudFormation hands properties over.
    fn resolve(&self, account: &str, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
                json!(self.reference(account, map["Ref"].as_str().unwrap_or_default()))
            }
            Value::Object(map) if map.len() == 1 && map.contains_key("Fn::Sub") => {
                let mut text = map["Fn::Sub"].as_str().expect("Fn::Sub text").to_string();
                while let Some(start) = text.find("${") {
                    let end = start + text[start..].find('}').expect("closing brace");
                    let name = text[start + 2..end].to_string();
                    text.replace_range(start..=end, &self.reference(account, &name));
                }
                json!(text)
            }
            Value::Object(map) => {
                assert!(
                    !map.keys().any(|k| k.starts_with("Fn::")),
                    "unexpected intrinsic in registration properties: {value}"
                );
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), self.resolve(account, v)))
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.resolve(account, v)).collect())
            }
            other => other.clone(),
        }
    }
}

/// CloudFormation's request to the registration service for a pipeline stack.
fn registration_request(
    stack: &Stack,
    account: &str,
    kind: &str,
    token: &str,
    response_url: &str,
    physical_id: Option<&str>,
) -> Value {
    let resource = &stack.template["Resources"]["Registration"];
    assert_eq!(resource["Type"], "Custom::DpcRegistration");
    let mut properties = stack.resolve(account, &resource["Properties"]);
    // As with registration on: the token is the central registration function.
    properties["ServiceToken"] = json!(token);
    let mut request = json!({
        "RequestType": kind,
        "ServiceToken": token,
        "ResponseURL": response_url,
        "StackId": stack.id,
        "RequestId": format!("{kind}-{}", stack.id.len()),
        "LogicalResourceId": "Registration",
        "ResourceType": "Custom::DpcRegistration",
        "ResourceProperties": properties,
    });
    if let Some(id) = physical_id {
        request["PhysicalResourceId"] = json!(id);
    }
    request
}

/// Sends the request and returns CloudFormation's view of the answer.
fn play_cloudformation(registration: &mut Function, urls: &ResponseUrl, request: &Value) -> Value {
    let before = urls.responses().len();
    let outcome = tokio::task::block_in_place(|| registration.invoke(request));
    assert!(
        matches!(outcome, crate::common::lambda::Outcome::Response(_)),
        "{outcome:?}\n{}",
        registration.stderr()
    );
    let responses = urls.responses();
    assert_eq!(responses.len(), before + 1, "one response per request");
    let answer = responses[before].clone();
    assert_eq!(answer["Status"], "SUCCESS", "{answer}");
    answer
}

/// A rule on `bus` with `pattern` sending to a new queue; the queue's URL.
async fn probe(sdk: &aws_config::SdkConfig, bus: &str, name: &str, pattern: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let (url, arn) = new_queue(&sqs, name).await;
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .expect("probe rule");
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("probe")
        .arn(arn)
        .build()
        .expect("target");
    events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .expect("probe target");
    url
}

async fn rule_pattern(sdk: &aws_config::SdkConfig, bus: &str, name: &str) -> String {
    aws_sdk_eventbridge::Client::new(sdk)
        .describe_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap_or_else(|e| panic!("rule {name}: {e:?}"))
        .event_pattern()
        .unwrap_or_default()
        .to_string()
}

/// The forwarding rule of the central bus whose target is `account`'s bus.
async fn forwarding_pattern(sdk: &aws_config::SdkConfig, account: &str) -> String {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let rules = events
        .list_rules()
        .event_bus_name("dpc-central")
        .send()
        .await
        .expect("rules");
    for rule in rules.rules() {
        let name = rule.name().unwrap_or_default();
        let targets = events
            .list_targets_by_rule()
            .rule(name)
            .event_bus_name("dpc-central")
            .send()
            .await
            .expect("targets");
        if targets.targets().iter().any(|t| {
            t.arn()
                .contains(&format!("{account}:event-bus/dpc-pipelines"))
        }) {
            return rule.event_pattern().unwrap_or_default().to_string();
        }
    }
    panic!("no forwarding rule for {account}");
}

/// Whether moto's EventBridge matches `event`, as it reaches account C (with the sender's
/// account), with the deployed `patterns`: each pattern becomes a rule on a replica bus in the
/// sending account, where PutEvents gives the event that account. The names of the matching
/// patterns.
async fn matching(
    sender: &aws_config::SdkConfig,
    patterns: &[(&str, &str)],
    event: &Value,
) -> Vec<String> {
    let events = aws_sdk_eventbridge::Client::new(sender);
    let bus = "harness-replica";
    events
        .create_event_bus()
        .name(bus)
        .send()
        .await
        .expect("bus");
    let mut queues = Vec::new();
    for (name, pattern) in patterns {
        queues.push((
            *name,
            probe(sender, bus, &format!("replica-{name}"), pattern).await,
        ));
    }
    put_on(sender, bus, event).await;
    let mut out = Vec::new();
    for (name, url) in queues {
        if !take_all(sender, &url).await.is_empty() {
            out.push(name.to_string());
        }
    }
    out
}

async fn put_on_central_bus(sdk: &aws_config::SdkConfig, events: &[Value]) {
    for e in events {
        put_on(sdk, "dpc-central", e).await;
    }
}

/// `dpc status --central --output json`.
fn central_status(moto: &Moto, tree: &str) -> Value {
    moto.dpc([
        "status",
        "--central",
        "--config-dir",
        tree,
        "--output",
        "json",
    ])
    .run()
    .assert_code(0)
    .json()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const PIPELINE_STACKS: [(&str, &str); 4] = [
    (A, "dpc-listings"),
    (B, "dpc-searches"),
    (C, "dpc-pipeline-x"),
    (C, "dpc-pipeline-x-fallback"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_study_triggers_across_accounts_through_the_central_account() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = project(dir.path());
    let tree_arg = tree.to_str().expect("utf-8 path");
    let bootstrap = stripped_dpc(dir.path());

    // README's commands.
    moto.dpc(["setup-central-account", "--config-dir", tree_arg, "--yes"])
        .arg("--bootstrap")
        .arg(&bootstrap)
        .run()
        .assert_code(0);
    moto.dpc(["setup-user-account", "--config-dir", tree_arg])
        .args(["--account", A, "--account", B, "--account", C])
        .args(["--no-registration", "--yes"])
        .run()
        .assert_code(0);
    moto.dpc(["deploy", tree_arg, "--yes"]).run().assert_code(0);

    let central = moto.sdk_as(CENTRAL).await;
    let code = deployed_bootstrap(&central, dir.path()).await;
    assert_eq!(
        std::fs::read(&code).expect("bootstrap"),
        std::fs::read(&bootstrap).expect("binary"),
        "the deployed zip holds the packaged binary"
    );
    let registration_fn = deployed(&moto, &central, "dpc-registration").await;
    let manager_fn = deployed(&moto, &central, "dpc-manager").await;
    let mut registration = Function::start_binary(
        code.clone(),
        "dpc-registration",
        registration_fn.env.clone(),
        CENTRAL,
    );
    let mut manager = Function::start_binary(code, "dpc-manager", manager_fn.env.clone(), CENTRAL);
    let init = manager
        .init_duration(Duration::from_secs(60))
        .expect("the manager's bootstrap asks for work");

    // CloudFormation creating each pipeline stack's Registration resource.
    let urls = ResponseUrl::start();
    let mut physical = BTreeMap::new();
    for (account, name) in PIPELINE_STACKS {
        let s = stack(&moto.sdk_as(account).await, name).await;
        let request =
            registration_request(&s, account, "Create", &registration_fn.arn, &urls.url, None);
        let answer = play_cloudformation(&mut registration, &urls, &request);
        physical.insert(
            name,
            (s, answer["PhysicalResourceId"].as_str().map(String::from)),
        );
    }
    assert_eq!(
        physical["dpc-pipeline-x"].1.as_deref(),
        Some("333333333333/eu-west-1/pipeline-x")
    );

    // Probes: what reaches account C's bus (moto's hop), and what the forwarding rule selects
    // on the central bus (with the account EventBridge keeps).
    let c = moto.sdk_as(C).await;
    let arrivals = probe(
        &c,
        "dpc-pipelines",
        "harness-arrivals",
        r#"{"source": ["dpc.trigger-manager"]}"#,
    )
    .await;
    let forwarded = probe(
        &central,
        "dpc-central",
        "harness-forwarded-to-c",
        &forwarding_pattern(&central, C).await,
    )
    .await;
    let x_pattern = rule_pattern(&c, "dpc-pipelines", "dpc-pipeline-x-trigger").await;
    let fallback_pattern =
        rule_pattern(&c, "dpc-pipelines", "dpc-pipeline-x-fallback-trigger").await;

    // searches before listings, then both again: EventBridge is at-least-once and unordered.
    let t = now();
    let listings = status_event(
        A,
        "listings",
        "l-1",
        "SUCCEEDED",
        t - 120_000,
        Some(t - 60_000),
    );
    let searches = status_event(
        B,
        "searches",
        "s-1",
        "SUCCEEDED",
        t - 90_000,
        Some(t - 30_000),
    );
    put_on_central_bus(
        &central,
        &[searches.clone(), listings.clone(), searches, listings],
    )
    .await;
    let queue_url = moto::parameter(&central, "/dpc/central/manager-queue-url").await;
    let mapping = EventSourceMapping::new(aws_sdk_sqs::Client::new(&central), &queue_url).await;
    let polls = mapping.drain(&mut manager, 10).await;
    let received: usize = polls.iter().map(|p| p.received.len()).sum();
    assert_eq!(received, 4, "{polls:#?}");
    assert!(polls.iter().all(|p| p.released.is_empty()), "{polls:#?}");

    // Exactly one trigger reaches account C's bus, for pipeline-x.
    let arrived = take_all(&c, &arrivals).await;
    let targets: Vec<&Value> = arrived.iter().map(|e| &e["detail"]["target"]).collect();
    assert_eq!(
        targets,
        [&json!({"account": C, "region": REGION, "pipeline": "pipeline-x"})],
        "{arrived:#?}\n{}",
        manager.stdout().join("\n")
    );
    // As EventBridge delivers it, it matches the deployed TriggerRule, not the fallback's.
    let selected = take_all(&central, &forwarded).await;
    assert_eq!(selected.len(), 1, "{selected:#?}");
    // moto's SQS target leaves `account` out of the event (its default template has none).
    assert!(selected[0]["account"].is_null(), "{selected:#?}");
    let matched = matching(
        &central,
        &[("pipeline-x", &x_pattern), ("fallback", &fallback_pattern)],
        &selected[0],
    )
    .await;
    assert_eq!(matched, ["pipeline-x"], "{x_pattern}\n{}", selected[0]);
    assert_eq!(selected[0]["detail"], arrived[0]["detail"]);

    // What each event cost, from the manager's log (one JSON line per event; the reader of
    // the bootstrap's stdout may lag its last response a little).
    let started = std::time::Instant::now();
    while manager
        .lines()
        .iter()
        .filter(|l| l.get("disposition").is_some())
        .count()
        < 4
        && started.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let lines: Vec<Value> = manager
        .lines()
        .into_iter()
        .filter(|l| l.get("disposition").is_some())
        .collect();
    let dispositions: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["disposition"].as_str())
        .collect();
    assert_eq!(
        dispositions,
        ["RECORDED", "RECORDED", "DUPLICATE", "DUPLICATE"],
        "{lines:#?}"
    );
    eprintln!(
        "central e2e: init {init:?}; per event: {}",
        serde_json::to_string(&lines).unwrap_or_default()
    );

    // dpc status --central: pipeline-x TRIGGERED, fired by both leaves.
    let status = central_status(&moto, tree_arg);
    let x = status
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["pipeline"]["name"] == "pipeline-x")
        .expect("pipeline-x")
        .clone();
    assert_eq!(x["phase"], "TRIGGERED", "{x:#}");
    let fired: Vec<&str> = x["fired"]
        .as_array()
        .expect("fired")
        .iter()
        .filter(|l| !l["arrived"].is_null())
        .filter_map(|l| l["label"].as_str())
        .collect();
    assert_eq!(fired, ["listings", "searches"], "{x:#}");
    let human = moto
        .dpc([
            "status",
            "--central",
            "--config-dir",
            tree_arg,
            "pipeline-x",
        ])
        .run()
        .assert_code(0)
        .stdout();
    assert!(human.contains("pipeline-x  TRIGGERED"), "{human}");
    assert_eq!(human.matches("ARRIVED").count(), 2, "{human}");
    moto.dpc([
        "history",
        "pipeline-x",
        "--central",
        "--config-dir",
        tree_arg,
    ])
    .run()
    .assert_code(0)
    .assert_stdout_contains("WAITING -> TRIGGERED");

    // Destroying pipeline-x's stack deregisters it.
    moto.dpc(["destroy", "--yes"])
        .arg(tree.join("pipeline-x"))
        .run()
        .assert_code(0);
    let (s, id) = &physical["dpc-pipeline-x"];
    let delete = registration_request(
        s,
        C,
        "Delete",
        &registration_fn.arn,
        &urls.url,
        id.as_deref(),
    );
    play_cloudformation(&mut registration, &urls, &delete);
    let status = central_status(&moto, tree_arg);
    let names: Vec<&str> = status
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["pipeline"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["listings", "searches", "pipeline-x-fallback"],
        "{status:#}"
    );
    moto.dpc([
        "history",
        "pipeline-x",
        "--central",
        "--config-dir",
        tree_arg,
    ])
    .run()
    .assert_code(1);
}

/// A step status event as a FULL_EXECUTION state machine puts it (forwarded to the central
/// bus by the account stack's ForwardStepRule).
fn step_event(execution: &str, step: &str, status: &str, time: &str) -> Value {
    let arn = format!("arn:aws:states:{REGION}:{C}:execution:dpc-pipeline-x:{execution}");
    json!({
        "source": dpc::events::STEP_SOURCE,
        "detail-type": dpc::events::STEP_DETAIL_TYPE,
        "resources": [arn],
        "detail": {
            "pipeline": "pipeline-x", "account": C, "region": REGION,
            "executionArn": arn, "step": step, "status": status, "attempt": 1, "time": time,
        }
    })
}

/// A queue subscribed to `topic` (in the topic's account); its URL.
async fn subscribe_probe(sdk: &aws_config::SdkConfig, topic: &str, name: &str) -> String {
    let (url, arn) = new_queue(&aws_sdk_sqs::Client::new(sdk), name).await;
    aws_sdk_sns::Client::new(sdk)
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .expect("probe subscription");
    url
}

/// The notifier deployed by `dpc setup-central-account --slack-token-secret`, end to end: the
/// secret is kept by a later run without the flag, pipeline-x (FULL_EXECUTION: Slack, email,
/// OpsGenie) deployed with its topics and subscriptions, registered, and its run's events on
/// the central bus reach the deployed notifier (its zip, environment and role), which posts
/// one Slack thread with a message per step to the test Slack server and publishes the
/// rendered email and OpsGenie messages, read back through SQS probes on the topics.
///
/// Played by the harness, besides what the module says: Slack itself (the deployed function's
/// `DPC_SLACK_API_URL` points at `common::slack`'s server, as a team's test workspace would),
/// and the topics' subscribers: moto delivers email nowhere and would POST the OpsGenie
/// subscription to the internet, so that subscription is replaced by an SQS probe (the email
/// one stays; a probe is added next to it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_central_notifier_posts_a_thread_per_run_and_publishes_email_and_opsgenie() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = project(dir.path());
    let tree_arg = tree.to_str().expect("utf-8 path");
    let bootstrap = stripped_dpc(dir.path());
    let central = moto.sdk_as(CENTRAL).await;
    let secret = aws_sdk_secretsmanager::Client::new(&central)
        .create_secret()
        .name("dpc/slack-bot")
        .secret_string(r#"{"token": "xoxb-e2e"}"#)
        .send()
        .await
        .expect("secret")
        .arn()
        .unwrap_or_default()
        .to_string();

    let setup = |extra: &[&str]| {
        moto.dpc(["setup-central-account", "--config-dir", tree_arg, "--yes"])
            .arg("--bootstrap")
            .arg(&bootstrap)
            .args(extra)
            .run()
    };
    setup(&["--slack-token-secret", &secret]).assert_code(0);
    // A later run without the flag keeps the deployed secret.
    setup(&[])
        .assert_code(0)
        .assert_stderr_contains("Slack stays on with the deployed token secret");
    let stack_parameter = |sdk: aws_config::SdkConfig| async move {
        stack(&sdk, "dpc-central").await.parameters
            [dpc::deploy::central_stack::SLACK_SECRET_PARAMETER]
            .clone()
    };
    assert_eq!(stack_parameter(central.clone()).await, secret);
    moto.dpc(["setup-user-account", "--config-dir", tree_arg])
        .args(["--account", C, "--no-registration", "--yes"])
        .run()
        .assert_code(0);
    moto.dpc(["deploy", "--yes"])
        .arg(tree.join("pipeline-x"))
        .run()
        .assert_code(0);

    // The pipeline stack's topics and their subscriptions.
    let c = moto.sdk_as(C).await;
    let x = stack(&c, "dpc-pipeline-x").await;
    let email_topic = x.physical["EmailTopic"].clone();
    let genie_topic = x.physical["OpsgenieTopic"].clone();
    let sns = aws_sdk_sns::Client::new(&c);
    let subscribed = |topic: String| {
        let sns = sns.clone();
        async move {
            sns.list_subscriptions_by_topic()
                .topic_arn(topic)
                .send()
                .await
                .expect("subscriptions")
                .subscriptions()
                .iter()
                .map(|s| {
                    (
                        s.protocol().unwrap_or_default().to_string(),
                        s.endpoint().unwrap_or_default().to_string(),
                        s.subscription_arn().unwrap_or_default().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let emails = subscribed(email_topic.clone()).await;
    assert_eq!(
        emails
            .iter()
            .map(|(p, e, _)| (p.as_str(), e.as_str()))
            .collect::<Vec<_>>(),
        [("email", "rent-journey@example.com")]
    );
    let genie = subscribed(genie_topic.clone()).await;
    assert_eq!(
        genie
            .iter()
            .map(|(p, e, _)| (p.as_str(), e.as_str()))
            .collect::<Vec<_>>(),
        [("https", "https://api.opsgenie.com/v1/json/amazonsns")]
    );
    sns.unsubscribe()
        .subscription_arn(&genie[0].2)
        .send()
        .await
        .expect("unsubscribe");
    let email_probe = subscribe_probe(&c, &email_topic, "harness-email").await;
    let genie_probe = subscribe_probe(&c, &genie_topic, "harness-opsgenie").await;

    // The deployed functions, from the deployed zip; pipeline-x registered.
    let code = deployed_bootstrap(&central, dir.path()).await;
    let registration_fn = deployed(&moto, &central, "dpc-registration").await;
    let notifier_fn = deployed(&moto, &central, "dpc-notifier").await;
    assert!(
        notifier_fn
            .env
            .iter()
            .any(|(k, v)| k == "DPC_SLACK_TOKEN_SECRET_ARN" && *v == secret),
        "{:?}",
        notifier_fn.env
    );
    let mut registration = Function::start_binary(
        code.clone(),
        "dpc-registration",
        registration_fn.env.clone(),
        CENTRAL,
    );
    let urls = ResponseUrl::start();
    let request = registration_request(&x, C, "Create", &registration_fn.arn, &urls.url, None);
    play_cloudformation(&mut registration, &urls, &request);
    let slack = crate::common::slack::SlackServer::start();
    let mut env = notifier_fn.env.clone();
    env.push(("DPC_SLACK_API_URL".into(), slack.url.clone()));
    let mut notifier = Function::start_binary(code, "dpc-notifier", env, CENTRAL);
    let sqs = aws_sdk_sqs::Client::new(&central);
    let notifier_queue = sqs
        .get_queue_url()
        .queue_name(dpc::deploy::central_stack::NOTIFIER_QUEUE)
        .send()
        .await
        .expect("the notifier's queue")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let mapping = EventSourceMapping::new(sqs, &notifier_queue).await;

    // Run 1 fails in its second step; run 2 succeeds. One event at a time, as they happen.
    let t = now();
    let mut failed = status_event(C, "pipeline-x", "run-1", "FAILED", t, Some(t + 60_000));
    failed["detail"]["error"] = json!("States.TaskFailed");
    failed["detail"]["cause"] = json!(r#"{"errorMessage": "measure-x: no rows for yesterday"}"#);
    let run1 = [
        status_event(C, "pipeline-x", "run-1", "RUNNING", t, None),
        step_event("run-1", "prepare", "STARTED", "2026-01-01T10:00:01Z"),
        step_event("run-1", "prepare", "SUCCEEDED", "2026-01-01T10:00:30Z"),
        step_event("run-1", "measure-x", "STARTED", "2026-01-01T10:00:31Z"),
        step_event("run-1", "measure-x", "FAILED", "2026-01-01T10:01:00Z"),
        failed,
    ];
    let run2 = [
        status_event(C, "pipeline-x", "run-2", "RUNNING", t + 120_000, None),
        status_event(
            C,
            "pipeline-x",
            "run-2",
            "SUCCEEDED",
            t + 120_000,
            Some(t + 180_000),
        ),
    ];
    for event in run1.iter().chain(&run2) {
        put_on_central_bus(&central, std::slice::from_ref(event)).await;
        let polls = mapping.drain(&mut notifier, 5).await;
        let received: usize = polls.iter().map(|p| p.received.len()).sum();
        assert_eq!(received, 1, "{event}\n{polls:#?}");
        assert!(
            polls.iter().all(|p| p.released.is_empty()),
            "{polls:#?}\n{:#?}",
            notifier.lines()
        );
    }

    // Slack: run 1 is one thread, a reply per step event and the final one, the root updated.
    let calls = slack.calls();
    assert!(
        calls.iter().all(|c| c.token == "xoxb-e2e"),
        "the secret's token"
    );
    assert!(
        calls.iter().all(|c| c.channel == "data-pipeline-alerts"),
        "{calls:#?}"
    );
    let root = calls[0].ts.clone().expect("the root's ts");
    let thread: Vec<&str> = calls
        .iter()
        .filter(|c| c.thread_ts.as_deref() == Some(root.as_str()))
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(thread.len(), 5, "{calls:#?}");
    for (text, want) in thread.iter().zip([
        "step prepare started",
        "step prepare succeeded",
        "step measure-x started",
        "step measure-x failed",
        "FAILED after 1m",
    ]) {
        assert!(text.contains(want), "{text} lacks {want}");
    }
    assert!(
        calls
            .iter()
            .any(|c| c.method == "chat.update" && c.ts.as_deref() == Some(root.as_str())),
        "{calls:#?}"
    );
    assert!(
        calls[0].text.contains("team rent-journey"),
        "{}",
        calls[0].text
    );

    // Email: every event FULL_EXECUTION reports, rendered (SNS's envelope, as the probe gets it).
    let mails = take_all(&c, &email_probe).await;
    let subjects: Vec<&str> = mails.iter().filter_map(|m| m["Subject"].as_str()).collect();
    assert_eq!(
        subjects,
        [
            "[dpc] pipeline-x RUNNING (333333333333)",
            "[dpc] pipeline-x step prepare STARTED (333333333333)",
            "[dpc] pipeline-x step prepare SUCCEEDED (333333333333)",
            "[dpc] pipeline-x step measure-x STARTED (333333333333)",
            "[dpc] pipeline-x step measure-x FAILED (333333333333)",
            "[dpc] pipeline-x FAILED after 1m 00s (333333333333)",
            "[dpc] pipeline-x RUNNING (333333333333)",
            "[dpc] pipeline-x SUCCEEDED after 1m 00s (333333333333)",
        ],
        "{mails:#?}"
    );
    let failure = mails[5]["Message"].as_str().unwrap_or_default();
    assert!(
        failure.contains("Why: States.TaskFailed: measure-x: no rows for yesterday"),
        "{failure}"
    );
    assert!(failure.contains("Team:        rent-journey"), "{failure}");

    // OpsGenie: run 1's alert, then its close when run 2 succeeded.
    let genie: Vec<Value> = take_all(&c, &genie_probe)
        .await
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap_or_default()).expect("JSON"))
        .collect();
    assert_eq!(genie.len(), 2, "{genie:#?}");
    assert_eq!(genie[0]["action"], "create");
    assert_eq!(genie[0]["priority"], "P2");
    let alias = format!("dpc-{C}-pipeline-x-run-1");
    assert_eq!(genie[0]["alias"], alias.as_str());
    assert!(
        genie[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("no rows for yesterday"),
        "{}",
        genie[0]
    );
    assert_eq!(genie[1]["action"], "close");
    assert_eq!(genie[1]["alias"], alias.as_str());

    // Redelivered: nothing is posted or published again.
    let before = slack.calls().len();
    put_on_central_bus(&central, &run1).await;
    mapping.drain(&mut notifier, 5).await;
    assert_eq!(slack.calls().len(), before);
    assert!(take_all(&c, &email_probe).await.is_empty());
    assert!(take_all(&c, &genie_probe).await.is_empty());

    // --no-slack turns Slack off: the secret is forgotten, the notifier stays.
    setup(&["--no-slack"]).assert_code(0);
    assert_eq!(stack_parameter(central.clone()).await, "");
    deployed(&moto, &central, "dpc-notifier").await;
    // Without functions too, a secret once given is kept (another secret: moto compares a
    // change set's parameters with those the stack was created with, and would see no update).
    let other = aws_sdk_secretsmanager::Client::new(&central)
        .create_secret()
        .name("dpc/slack-bot-2")
        .secret_string("xoxb-2")
        .send()
        .await
        .expect("secret")
        .arn()
        .unwrap_or_default()
        .to_string();
    let no_functions = |extra: &[&str]| {
        moto.dpc(["setup-central-account", "--config-dir", tree_arg, "--yes"])
            .arg("--no-functions")
            .args(extra)
            .run()
            .assert_code(0);
    };
    no_functions(&["--slack-token-secret", &other]);
    assert_eq!(stack_parameter(central.clone()).await, other);
    no_functions(&[]);
    assert_eq!(stack_parameter(central.clone()).await, other);
}
