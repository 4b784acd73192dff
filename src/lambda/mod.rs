//! The Lambda functions of the central account, served by the `dpc` binary itself as the
//! `provided.al2023` `bootstrap`: reads the Lambda environment (`_HANDLER`, `DPC_TABLE`,
//! `DPC_CENTRAL_BUS_ARN`, `DPC_MANAGER_QUEUE_URL`, the SDK's credentials and region), serves
//! the Lambda Runtime API with the handler named by `_HANDLER` over the manager's DynamoDB
//! store, and writes one JSON line per event (or request, or pass) to stdout, which Lambda
//! sends to CloudWatch Logs.
//!
//! Handlers: [`manager`] (`dpc-manager`, the SQS FIFO batch), [`registration`]
//! (`dpc-registration`, the CloudFormation custom resource), [`reconciler`]
//! (`dpc-reconciler`, the schedule) and [`notifier`] (`dpc-notifier`: Slack, email, OpsGenie). An unknown handler or a missing variable is an init
//! error, reported to the Runtime API (`/runtime/init/error`) before the process exits.

pub mod http;
pub mod lineage;
pub mod manager;
pub mod notifier;
pub mod reconciler;
pub mod registration;
pub mod slack;
pub mod topics;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::manager::Manager;
use crate::manager::dynamo::DynamoStore;
use crate::manager::store::Millis;

/// Set by Lambda (and by the test harness) to the Runtime API's `host:port`.
pub const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";
/// The manager's table (all three functions).
pub const TABLE_VAR: &str = "DPC_TABLE";
/// The central bus the manager puts triggers and refreshes on (an ARN).
pub const BUS_VAR: &str = "DPC_CENTRAL_BUS_ARN";
/// The manager's FIFO queue the reconciler sends missed statuses to.
pub const QUEUE_VAR: &str = "DPC_MANAGER_QUEUE_URL";

/// The functions, by handler name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Manager,
    Registration,
    Reconciler,
    Notifier,
    Lineage,
}

impl Handler {
    pub const ALL: [Handler; 5] = [
        Handler::Manager,
        Handler::Registration,
        Handler::Reconciler,
        Handler::Notifier,
        Handler::Lineage,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Handler::Manager => "dpc-manager",
            Handler::Registration => "dpc-registration",
            Handler::Reconciler => "dpc-reconciler",
            Handler::Notifier => "dpc-notifier",
            Handler::Lineage => "dpc-lineage",
        }
    }

    pub fn parse(name: &str) -> Option<Handler> {
        Handler::ALL.into_iter().find(|h| h.name() == name)
    }
}

/// True when this process is a Lambda function's bootstrap.
pub fn in_lambda() -> bool {
    std::env::var_os(RUNTIME_API).is_some()
}

/// Serves the Runtime API until Lambda ends the process; the exit code when it cannot.
pub fn main() -> ExitCode {
    let started = Instant::now();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            log(json!({"level": "ERROR", "error": format!("cannot start the async runtime: {e}")}));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(started)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(json!({"level": "ERROR", "error": e}));
            ExitCode::FAILURE
        }
    }
}

/// One JSON line on stdout (CloudWatch Logs).
pub fn log(line: Value) {
    println!("{line}");
}

fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn required(name: &str, handler: Handler) -> Result<String, String> {
    var(name).ok_or_else(|| {
        format!(
            "environment variable {name} is not set (the {} function needs it; the dpc-central stack sets it)",
            handler.name()
        )
    })
}

async fn serve(started: Instant) -> Result<(), String> {
    let name = var("_HANDLER").unwrap_or_default();
    let Some(handler) = Handler::parse(&name) else {
        let names: Vec<_> = Handler::ALL.iter().map(|h| h.name()).collect();
        let why = format!(
            "unknown handler `{name}`: this bootstrap serves {}",
            names.join(", ")
        );
        return Err(init_error(why).await);
    };
    let sdk = crate::aws::config(&crate::aws::Options::default()).await;
    let table = match required(TABLE_VAR, handler) {
        Ok(t) => t,
        Err(e) => return Err(init_error(e).await),
    };
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let ready = |extra: Value| {
        let mut line = json!({"handler": handler.name(), "init": "ready", "initMs": started.elapsed().as_millis() as u64});
        if let (Some(l), Value::Object(e)) = (line.as_object_mut(), extra) {
            l.extend(e);
        }
        log(line);
    };
    match handler {
        Handler::Manager => {
            let bus = match required(BUS_VAR, handler) {
                Ok(b) => b,
                Err(e) => return Err(init_error(e).await),
            };
            ready(json!({"table": table, "bus": bus}));
            let bus = manager::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus);
            serve_manager(Manager::new(store), bus).await
        }
        Handler::Registration => {
            ready(json!({"table": table}));
            serve_registration(Manager::new(store), sdk.region().map(|r| r.to_string())).await
        }
        Handler::Reconciler => {
            let queue_url = match required(QUEUE_VAR, handler) {
                Ok(q) => q,
                Err(e) => return Err(init_error(e).await),
            };
            ready(json!({"table": table, "queue": queue_url}));
            let watermarks = reconciler::TableWatermarks {
                client: aws_sdk_dynamodb::Client::new(&sdk),
                table,
            };
            let reach = reconciler::Reach {
                sqs: aws_sdk_sqs::Client::new(&sdk),
                base: sdk,
                queue_url,
            };
            serve_reconciler(Manager::new(store), watermarks, reach).await
        }
        Handler::Lineage => {
            let url = match required(lineage::URL_VAR, handler) {
                Ok(u) => u,
                Err(e) => return Err(init_error(e).await),
            };
            ready(json!({"table": table, "url": http::redact(&url)}));
            let emitter = lineage::Emitter {
                client: aws_sdk_dynamodb::Client::new(&sdk),
                table,
                url,
            };
            serve_lineage(emitter).await
        }
        Handler::Notifier => {
            let channels = match var(notifier::CHANNELS_VAR)
                .map(|c| notifier::Channels::parse(&c))
                .transpose()
            {
                Ok(c) => c.unwrap_or_default(),
                Err(e) => return Err(init_error(e).await),
            };
            let base = var(notifier::API_URL_VAR).unwrap_or_else(|| slack::DEFAULT_BASE.into());
            // Slack only with a token secret; the token is read once per container, at init.
            let slack = match var(notifier::TOKEN_SECRET_VAR) {
                Some(secret) => {
                    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
                    match notifier::token(&secrets, &secret).await {
                        Ok(t) => Some(slack::Slack::new(base.clone(), t)),
                        Err(e) => return Err(init_error(e).await),
                    }
                }
                None => None,
            };
            ready(json!({"table": table, "slack": slack.as_ref().map(|_| base)}));
            let notifier = notifier::Notifier {
                slack,
                sns: aws_sdk_sns::Client::new(&sdk),
                records: notifier::Records {
                    client: aws_sdk_dynamodb::Client::new(&sdk),
                    table,
                },
                channels,
            };
            serve_notifier(notifier).await
        }
    }
}

async fn serve_notifier(notifier: notifier::Notifier) -> Result<(), String> {
    let notifier = Arc::new(notifier);
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let notifier = Arc::clone(&notifier);
        async move {
            let batch: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_value(event.payload)
                    .map_err(|e| diagnostic("dpc.BadEvent", format!("not an SQS event: {e}")))?;
            let started = Instant::now();
            let calls = notifier.slack.as_ref().map_or(0, |s| s.calls());
            let request_id = event.context.request_id.clone();
            let mut on_line = |line: &Value| {
                let mut line = line.clone();
                line["requestId"] = json!(request_id);
                log(line);
            };
            let response = notifier.handle_batch(&batch, &now_ms, &mut on_line).await;
            log(json!({
                "requestId": event.context.request_id,
                "records": batch.records.len(),
                "failures": response.batch_item_failures.len(),
                "slackCalls": notifier.slack.as_ref().map_or(0, |s| s.calls()) - calls,
                "ms": started.elapsed().as_millis() as u64,
            }));
            serde_json::to_value(&response).map_err(|e| diagnostic("dpc.Internal", e.to_string()))
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("the Runtime API loop ended: {e}"))
}

async fn serve_lineage(emitter: lineage::Emitter) -> Result<(), String> {
    let emitter = Arc::new(emitter);
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let emitter = Arc::clone(&emitter);
        async move {
            let batch: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_value(event.payload)
                    .map_err(|e| diagnostic("dpc.BadEvent", format!("not an SQS event: {e}")))?;
            let started = Instant::now();
            let request_id = event.context.request_id.clone();
            let mut on_line = |line: &Value| {
                let mut line = line.clone();
                line["requestId"] = json!(request_id);
                log(line);
            };
            let response = emitter.handle_batch(&batch, &mut on_line).await;
            log(json!({
                "requestId": event.context.request_id,
                "records": batch.records.len(),
                "failures": response.batch_item_failures.len(),
                "ms": started.elapsed().as_millis() as u64,
            }));
            serde_json::to_value(&response).map_err(|e| diagnostic("dpc.Internal", e.to_string()))
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("the Runtime API loop ended: {e}"))
}

/// Reports an init error to the Runtime API (Lambda then shows it as the invocation's
/// error); `why`, to end the process with.
/// A pipeline's registration, read from the manager table's registry item as the store keeps
/// it (the notifier and the lineage emitter read it; only the manager writes it).
async fn read_registration(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
) -> Result<Option<crate::manager::registry::Registration>, String> {
    let s = |text: &str| aws_sdk_dynamodb::types::AttributeValue::S(text.to_string());
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(crate::manager::dynamo::REGISTRY))
        .key("sk", s(key))
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading the registration {key}: {}",
                crate::aws::describe(&e)
            )
        })?;
    match out
        .item()
        .and_then(|i| i.get("body"))
        .and_then(|b| b.as_s().ok())
    {
        None => Ok(None),
        Some(body) => serde_json::from_str(body)
            .map(Some)
            .map_err(|e| format!("the registration {key} does not read: {e}")),
    }
}

async fn init_error(why: String) -> String {
    let Some(api) = var(RUNTIME_API) else {
        return why;
    };
    let url = format!("http://{api}/2018-06-01/runtime/init/error");
    let body = json!({"errorType": "Runtime.InitError", "errorMessage": why}).to_string();
    let headers = [("lambda-runtime-function-error-type", "Runtime.InitError")];
    if let Err(e) = http::send("POST", &url, &headers, body.into_bytes()).await {
        log(json!({"level": "ERROR", "error": format!("reporting the init error: {e}")}));
    }
    why
}

fn diagnostic(kind: &str, message: String) -> Diagnostic {
    Diagnostic {
        error_type: kind.to_string(),
        error_message: message,
    }
}

async fn serve_manager(
    manager: Manager<DynamoStore>,
    bus: manager::EventBridgeBus,
) -> Result<(), String> {
    let state = Arc::new(Mutex::new((manager, bus)));
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let state = Arc::clone(&state);
        async move {
            let batch: aws_lambda_events::event::sqs::SqsEvent =
                serde_json::from_value(event.payload)
                    .map_err(|e| diagnostic("dpc.BadEvent", format!("not an SQS event: {e}")))?;
            let mut guard = state.lock().await;
            let (manager, bus) = &mut *guard;
            // Calls per record: what the store and the bus did since the line before (the
            // first record's include sending what an earlier invocation left).
            let store = manager.store_mut().clone();
            let before = (store.calls(), bus.calls());
            let mut last = before;
            let started = Instant::now();
            let request_id = event.context.request_id.clone();
            let mut on_line = |line: &Value| {
                let now = (store.calls(), bus.calls());
                let mut line = line.clone();
                line["requestId"] = json!(request_id);
                line["calls"] = calls_json(now.0 - last.0, now.1 - last.1);
                last = now;
                log(line);
            };
            let report = manager::handle_batch(manager, bus, &batch, &now_ms, &mut on_line).await;
            let after = (store.calls(), bus.calls());
            log(json!({
                "requestId": event.context.request_id,
                "records": batch.records.len(),
                "failures": report.response.batch_item_failures.len(),
                "ms": started.elapsed().as_millis() as u64,
                "calls": calls_json(after.0 - before.0, after.1 - before.1),
            }));
            serde_json::to_value(&report.response)
                .map_err(|e| diagnostic("dpc.Internal", e.to_string()))
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("the Runtime API loop ended: {e}"))
}

async fn serve_registration(
    manager: Manager<DynamoStore>,
    region: Option<String>,
) -> Result<(), String> {
    let state = Arc::new(Mutex::new(manager));
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let state = Arc::clone(&state);
        let region = region.clone();
        async move {
            let request = event.payload;
            let home = home_of(&event.context.invoked_function_arn, region);
            let Some(url) = request.get("ResponseURL").and_then(Value::as_str) else {
                let why =
                    "the request has no ResponseURL: not a CloudFormation custom resource request";
                log(json!({"requestId": event.context.request_id, "error": why}));
                return Err(diagnostic("dpc.BadEvent", why.into()));
            };
            let mut manager = state.lock().await;
            let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                registration::handle(&mut manager, &request, &home, now_ms())
            }));
            let (answer, body) = match handled {
                Ok(done) => done,
                Err(_) => {
                    // Never leave CloudFormation waiting, even on a bug.
                    let failed = json!({
                        "Status": "FAILED", "Reason": "internal error: the registration handler panicked",
                        "PhysicalResourceId": request.get("PhysicalResourceId").cloned().unwrap_or_else(|| json!(format!("failed-{}", event.context.request_id))),
                        "StackId": request.get("StackId"), "RequestId": request.get("RequestId"),
                        "LogicalResourceId": request.get("LogicalResourceId"),
                    });
                    let answer = registration::Answer {
                        success: false,
                        reason: Some("panicked".into()),
                        physical_id: String::new(),
                        action: "nothing",
                    };
                    (answer, failed)
                }
            };
            let put = respond(url, &body).await;
            log(json!({
                "requestId": event.context.request_id,
                "requestType": request.get("RequestType"),
                "stackId": request.get("StackId"),
                "physicalResourceId": answer.physical_id,
                "status": body["Status"],
                "action": answer.action,
                "reason": answer.reason,
                "responded": put.is_ok(),
                "error": put.as_ref().err(),
            }));
            match put {
                Ok(()) => {
                    Ok(json!({"Status": body["Status"], "PhysicalResourceId": answer.physical_id}))
                }
                Err(e) => Err(diagnostic("dpc.ResponseNotDelivered", e)),
            }
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("the Runtime API loop ended: {e}"))
}

/// DynamoDB and EventBridge calls, as the log shows them.
fn calls_json(dynamodb: crate::manager::dynamo::Calls, put_events: u64) -> Value {
    json!({
        "dynamodbReads": dynamodb.reads,
        "dynamodbWrites": dynamodb.writes,
        "itemsRead": dynamodb.items_read,
        "itemsWritten": dynamodb.items_written,
        "putEvents": put_events,
    })
}

/// PUTs the response to CloudFormation, trying three times (the pre-signed URL is S3).
async fn respond(url: &str, body: &Value) -> Result<(), String> {
    let bytes = body.to_string().into_bytes();
    let mut last = String::new();
    for attempt in 0..3u64 {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(500 * attempt)).await;
        }
        // S3 signed the URL without a content type: send an empty one.
        match http::send("PUT", url, &[("content-type", "")], bytes.clone()).await {
            Ok((status, _)) if (200..300).contains(&status) => return Ok(()),
            Ok((status, text)) => {
                last = format!(
                    "PUT {} answered {status}: {}",
                    http::redact(url),
                    text.chars().take(300).collect::<String>()
                )
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The function's own account and region, from its ARN.
fn home_of(function_arn: &str, region: Option<String>) -> registration::Home {
    let parts: Vec<&str> = function_arn.split(':').collect();
    match parts.as_slice() {
        [_, _, "lambda", r, a, ..] => registration::Home {
            account: a.to_string(),
            region: r.to_string(),
        },
        _ => registration::Home {
            account: String::new(),
            region: region.unwrap_or_default(),
        },
    }
}

async fn serve_reconciler(
    manager: Manager<DynamoStore>,
    watermarks: reconciler::TableWatermarks,
    reach: reconciler::Reach,
) -> Result<(), String> {
    let state = Arc::new(Mutex::new((manager, watermarks, reach)));
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let state = Arc::clone(&state);
        async move {
            let mut guard = state.lock().await;
            let (manager, watermarks, reach) = &mut *guard;
            let started = Instant::now();
            let mut summary = reconciler::reconcile(manager, watermarks, reach, now_ms()).await;
            summary["ms"] = json!(started.elapsed().as_millis() as u64);
            let mut line = summary.clone();
            line["requestId"] = json!(event.context.request_id);
            log(line);
            Ok::<Value, Diagnostic>(summary)
        }
    });
    lambda_runtime::run(handler)
        .await
        .map_err(|e| format!("the Runtime API loop ended: {e}"))
}
