//! `dpc rerun --aws` and `dpc publish --central` against moto: the rerun's plan is read from
//! the central account's manager table (registrations and facts as the central manager would
//! have stored them: the case study with listings SUCCEEDED and searches FAILED today) and
//! names pipeline-x; then `dpc-searches` is started in its account (role from dpc.yaml) with a
//! RERUN input. A published refresh reaches an SQS queue subscribed by a rule to the central
//! bus, schema-shaped; a central bus that does not exist is reported, not ignored.
//!
//! Played by the test, where no dpc binary runs in AWS: the central manager's writes (the
//! registrations the stacks' custom resources send and the status facts of listings and
//! searches) are made with dpc's own manager on the moto table, as the manager Lambda does.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::common::lambda::take_all;
use crate::common::moto::Moto;
use dpc::manager::Manager;
use dpc::manager::dynamo::{DynamoStore, create_table};
use dpc::manager::registry::{self, PipelineId};
use dpc::manager::runlog::StatusFact;

const CENTRAL: &str = "999999999999";
const A: &str = "111111111111";
const B: &str = "222222222222";
const REGION: &str = "eu-west-1";

/// The case study with the central account reachable as dpc.yaml says.
fn project(dir: &Path) -> PathBuf {
    crate::common::case_study_with_central(dir, CENTRAL)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A status fact of `name` in `account` as Step Functions would emit it.
fn fact(account: &str, name: &str, status: &str, at: i64) -> dpc::events::StatusChangeEvent {
    let id = PipelineId {
        account: account.into(),
        region: REGION.into(),
        name: name.into(),
    };
    StatusFact {
        pipeline: &id,
        execution: &format!("{name}-scheduled"),
        status,
        started: at - 500,
        stopped: Some(at),
        input: r#"{"run":{"type":"SCHEDULED","triggerId":"s"}}"#,
        redrive: 0,
    }
    .event()
}

/// The central manager's table as it stands after today's scheduled runs: the tree
/// registered, listings SUCCEEDED and searches FAILED.
fn central_tables(moto: &Moto, rt: &tokio::runtime::Runtime, tree: &Path) {
    let sdk = rt.block_on(moto.sdk_as(CENTRAL));
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = "dpc-central-manager";
    rt.block_on(create_table(&dynamodb, table)).expect("table");
    rt.block_on(
        aws_sdk_ssm::Client::new(&sdk)
            .put_parameter()
            .name(dpc::cli::central::TABLE_PARAMETER)
            .value(table)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send(),
    )
    .expect("parameter");
    let validated =
        dpc::pipeline::load::validate_tree(&[tree.to_path_buf()], chrono::Utc::now().naive_utc())
            .expect("tree");
    let _entered = rt.enter();
    let mut manager = Manager::new(DynamoStore::new(dynamodb, table));
    let at = now() - 2_000;
    for (pipeline, config) in validated.pipelines() {
        let reg = registry::registration(pipeline, config).expect("registration");
        manager.register(&reg, at).expect("register");
    }
    manager
        .handle_status(&fact(A, "listings", "SUCCEEDED", at), at)
        .expect("listings");
    let failed = manager
        .handle_status(&fact(B, "searches", "FAILED", at + 1), at + 1)
        .expect("searches");
    assert_eq!(failed.triggers.len(), 1, "the fallback fired: {failed:?}");
}

#[test]
fn a_rerun_on_aws_plans_from_the_central_tables_and_starts_the_state_machine() {
    let moto = Moto::start();
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let tree = project(dir.path());
    central_tables(&moto, &rt, &tree);
    let sfn = aws_sdk_sfn::Client::new(&rt.block_on(moto.sdk_as(B)));
    let machine = rt
        .block_on(
            sfn.create_state_machine()
                .name("dpc-searches")
                .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
                .role_arn(format!("arn:aws:iam::{B}:role/dpc-states"))
                .send(),
        )
        .expect("state machine")
        .state_machine_arn()
        .to_string();
    assert_eq!(
        machine,
        format!("arn:aws:states:{REGION}:{B}:stateMachine:dpc-searches")
    );
    let executions = || {
        rt.block_on(sfn.list_executions().state_machine_arn(&machine).send())
            .expect("executions")
            .executions()
            .to_vec()
    };

    let plan = moto
        .dpc(["rerun", "searches", "--aws", "--downstream"])
        .arg(tree.join("searches"))
        .run();
    plan.assert_code(0)
        .assert_stdout_contains(
            "will follow: pipeline-x (333333333333) after listings SUCCEEDED, searches SUCCEEDED",
        )
        .assert_stdout_contains("will not follow: pipeline-x-fallback");
    assert!(executions().is_empty(), "--downstream starts nothing");

    let run = moto
        .dpc([
            "rerun",
            "searches",
            "--aws",
            "--yes",
            "--time",
            "2026-11-25T05:00:00Z",
        ])
        .arg(tree.join("searches"))
        .run();
    run.assert_code(0)
        .assert_stdout_contains("will follow: pipeline-x (333333333333)")
        .assert_stderr_contains("started searches in account 222222222222 as RERUN");
    let started = executions();
    assert_eq!(started.len(), 1, "{}", run.report());
    let arn = started[0].execution_arn();
    assert!(run.stdout().contains(arn), "{}", run.report());
    let described = rt
        .block_on(sfn.describe_execution().execution_arn(arn).send())
        .expect("describe");
    let input: Value = serde_json::from_str(described.input().unwrap_or("{}")).expect("input");
    assert_eq!(input["run"]["type"], "RERUN");
    // The failed run's logical time, which the steps see as {{run.time}} / {{run.date}}.
    assert_eq!(input["run"]["time"], "2026-11-25T05:00:00Z");
    assert!(
        input["run"]["triggerId"]
            .as_str()
            .is_some_and(|t| t.starts_with("rerun-")),
        "{input}"
    );
    // The manager reads a RERUN from this input: it counts for dependents.
    let observed = dpc::manager::runlog::observe_status(
        None,
        &dpc::events::ExecutionStatusChange {
            execution_arn: arn.to_string(),
            state_machine_arn: machine.clone(),
            name: None,
            status: "SUCCEEDED".into(),
            start_date: Some(1),
            stop_date: Some(2),
            input: described.input().map(str::to_string),
            redrive_count: None,
        },
        2,
    )
    .expect("observed");
    assert_eq!(observed.run.run_type.as_str(), "RERUN");
    assert!(!observed.run.is_manual());

    // Without --yes nor a terminal: refused, nothing started.
    moto.dpc(["rerun", "searches", "--aws"])
        .arg(tree.join("searches"))
        .run()
        .assert_code(2)
        .assert_stderr_contains("pass --yes");
    assert_eq!(executions().len(), 1);

    // A pipeline whose stack is not deployed: the failure says so.
    moto.dpc(["rerun", "listings", "--aws", "--yes"])
        .arg(tree.join("listings"))
        .run()
        .assert_code(1)
        .assert_stderr_contains(&format!(
            "cannot start arn:aws:states:{REGION}:{A}:stateMachine:dpc-listings"
        ))
        .assert_stderr_contains("dpc deploy");
}

#[test]
fn a_published_refresh_reaches_a_queue_subscribed_to_the_central_bus() {
    let moto = Moto::start();
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tmp");
    let tree = project(dir.path());
    let sdk = rt.block_on(moto.sdk_as(CENTRAL));
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    rt.block_on(async {
        events
            .create_event_bus()
            .name("dpc-central")
            .send()
            .await
            .expect("bus");
        let url = sqs
            .create_queue()
            .queue_name("refreshes")
            .send()
            .await
            .expect("queue")
            .queue_url()
            .unwrap_or_default()
            .to_string();
        let arn = format!("arn:aws:sqs:{REGION}:{CENTRAL}:refreshes");
        let pattern = json!({"source": [dpc::events::REFRESH_SOURCE], "detail-type": [dpc::events::REFRESH_DETAIL_TYPE]});
        events
            .put_rule()
            .name("refreshes")
            .event_bus_name("dpc-central")
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule("refreshes")
            .event_bus_name("dpc-central")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(arn)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target");
        url
    });
    let url = rt
        .block_on(sqs.get_queue_url().queue_name("refreshes").send())
        .expect("url")
        .queue_url()
        .unwrap_or_default()
        .to_string();

    let run = moto
        .dpc([
            "publish",
            "--central",
            "--config-dir",
            tree.to_str().expect("utf-8"),
            "--domain",
            "raw",
            "--name",
            "RD1",
            "--account",
            "444444444444",
            "--attribute",
            "rows=1200",
        ])
        .run();
    run.assert_code(0).assert_stderr_contains(
        "published raw/RD1 on the central bus dpc-central of account 999999999999",
    );
    let got = rt.block_on(take_all(&sdk, &url));
    assert_eq!(got.len(), 1, "{got:?}");
    let e = &got[0];
    assert_eq!(e["source"], "dpc.data-product");
    assert_eq!(e["detail-type"], "dpc Data Product Refreshed");
    assert_eq!(e["detail"]["domain"], "raw");
    assert_eq!(e["detail"]["name"], "RD1");
    assert_eq!(e["detail"]["account"], "444444444444");
    assert_eq!(e["detail"]["attributes"]["rows"], "1200");
    assert!(
        run.stdout().contains(e["id"].as_str().unwrap_or("?")),
        "{}",
        run.report()
    );
    // The contract's detail, as the manager reads it (moto's delivery leaves the envelope's
    // `account` out, so the envelope is not checked here; dpc checked it before sending).
    let detail: dpc::events::DataProductRefresh =
        serde_json::from_value(e["detail"].clone()).expect("a refresh detail");
    assert!(dpc::manager::time::parse_time(&detail.refreshed_at).is_some());

    // A central region where no bus exists: the refusal is reported.
    let config = std::fs::read_to_string(tree.join("dpc.yaml")).expect("dpc.yaml");
    std::fs::write(
        tree.join("dpc.yaml"),
        config.replace(
            "  region: eu-west-1\n  bus: dpc-central",
            "  region: eu-west-1\n  bus: no-such-bus",
        ),
    )
    .expect("dpc.yaml");
    moto.dpc([
        "publish",
        "--central",
        "--config-dir",
        tree.to_str().expect("utf-8"),
        "--domain",
        "raw",
        "--name",
        "RD1",
    ])
    .run()
    .assert_code(1)
    .assert_stderr_contains("no-such-bus");
    assert!(rt.block_on(take_all(&sdk, &url)).is_empty());
}
