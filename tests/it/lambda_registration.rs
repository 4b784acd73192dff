//! The `dpc-registration` function end to end on moto server: CloudFormation custom resource
//! requests for the case study's synthesized pipeline stacks (`Custom::DpcRegistration`, their
//! references resolved as CloudFormation resolves them) register and deregister pipelines in
//! the manager's DynamoDB table (moto), and every request is answered by a PUT to its
//! `ResponseURL`.
//!
//! Played by the harness (`common::lambda`), because moto cannot: the Lambda Runtime API and
//! execution environment (the REAL `dpc` binary as bootstrap), CloudFormation's invocation of
//! the service token, and the pre-signed S3 `ResponseURL` (a server on 127.0.0.1 recording
//! the responses).

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::lambda::{
    Central, Outcome, ResponseUrl, case_study_template, registration_request,
};
use dpc::manager::Manager;

fn keys(central: &Central) -> Vec<String> {
    tokio::task::block_in_place(|| {
        Manager::new(central.store())
            .registrations()
            .expect("registrations")
            .iter()
            .map(|r| r.key())
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_update_delete_through_the_custom_resource_answer_cloudformation() {
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let responses = ResponseUrl::start();
    let mut function = central.function("dpc-registration");
    let template = case_study_template(dir.path(), "pipeline-x");
    let x = "333333333333/eu-west-1/pipeline-x";

    let create = registration_request(&template, "Create", "333333333333", &responses.url);
    let outcome = function.invoke(&create);
    assert!(
        matches!(&outcome, Outcome::Response(v) if v["Status"] == "SUCCESS"),
        "{outcome:?}\n{}",
        function.stderr()
    );
    let answered = responses.responses();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["Status"], "SUCCESS");
    assert_eq!(answered[0]["PhysicalResourceId"], x);
    assert_eq!(answered[0]["RequestId"], "Create-pipeline-x");
    assert_eq!(answered[0]["LogicalResourceId"], "Registration");
    assert_eq!(answered[0]["StackId"], create["StackId"]);
    assert_eq!(keys(&central), [x]);
    let status =
        tokio::task::block_in_place(|| Manager::new(central.store()).status(0).expect("status"));
    let leaves: Vec<&str> = status[0].leaves.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(leaves, ["listings", "searches"]);

    // An update that renames the pipeline is a new physical id; CloudFormation then deletes
    // the old one.
    let mut update = registration_request(&template, "Update", "333333333333", &responses.url);
    update["ResourceProperties"]["Pipeline"] = json!("pipeline-x2");
    update["PhysicalResourceId"] = json!(x);
    update["OldResourceProperties"] = create["ResourceProperties"].clone();
    assert!(matches!(function.invoke(&update), Outcome::Response(_)));
    assert_eq!(
        responses.responses()[1]["PhysicalResourceId"],
        "333333333333/eu-west-1/pipeline-x2"
    );
    let mut delete_old = registration_request(&template, "Delete", "333333333333", &responses.url);
    delete_old["PhysicalResourceId"] = json!(x);
    assert!(matches!(function.invoke(&delete_old), Outcome::Response(_)));
    assert_eq!(responses.responses()[2]["Status"], "SUCCESS");
    assert_eq!(keys(&central), ["333333333333/eu-west-1/pipeline-x2"]);

    // Deleting what was never registered succeeds (a rollback after a failed create).
    let mut stray = delete_old.clone();
    stray["PhysicalResourceId"] = json!("failed-Create-pipeline-y");
    assert!(matches!(function.invoke(&stray), Outcome::Response(_)));
    assert_eq!(responses.responses()[3]["Status"], "SUCCESS");

    // Invalid properties: FAILED with a reason people can act on, never a hanging stack.
    let mut bad = registration_request(&template, "Create", "333333333333", &responses.url);
    bad["ResourceProperties"]["Window"] = json!("whenever");
    assert!(matches!(function.invoke(&bad), Outcome::Response(_)));
    let failed = &responses.responses()[4];
    assert_eq!(failed["Status"], "FAILED");
    assert_eq!(failed["PhysicalResourceId"], "failed-Create-pipeline-x");
    let reason = failed["Reason"].as_str().unwrap_or_default();
    assert!(reason.contains("`Window` `whenever`"), "{reason}");

    // The log: one line per request, the pre-signed URL's query never in it. The line of the
    // last request may follow its response: read until the stdout reader has all five.
    let logged = |lines: &[Value]| {
        lines
            .iter()
            .filter(|l| l.get("requestType").is_some())
            .count()
    };
    let started = std::time::Instant::now();
    while logged(&function.lines()) < 5 && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let lines = function.lines();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("requestType").is_some())
        .collect();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[2]["action"], "deregistered");
    assert!(!function.stdout().join("\n").contains("X-Amz-Signature"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_url_that_answers_nothing_fails_the_invocation() {
    let central = Central::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut function = central.function("dpc-registration");
    let template = case_study_template(dir.path(), "listings");
    // Nobody listens on port 1: the PUT fails three times, and Lambda is told.
    let request = registration_request(&template, "Create", "111111111111", "http://127.0.0.1:1/r");
    let id = function.submit(&request);
    let outcome = function.wait(&id, Duration::from_secs(60));
    let Outcome::Error(e) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(e["errorType"], "dpc.ResponseNotDelivered", "{e}");
    // The registration itself was made: CloudFormation's retry (or a re-deploy) finds it.
    assert_eq!(keys(&central), ["111111111111/eu-west-1/listings"]);
}
