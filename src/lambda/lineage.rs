//! OpenLineage over HTTP: POSTs each RunEvent (JSON) to an endpoint (Marquez's
//! `/api/v1/lineage`, DataHub's OpenLineage API, …), retrying what may pass on a second try
//! (connection errors, 408, 429, 5xx) with a growing pause — `dpc local run` with dpc.yaml's
//! `lineage: {transport: http}` — and the `dpc-lineage` function of the central account: it
//! reads the status changes of dpc runs from its own queue (fed by a rule on the central bus,
//! so triggering never waits for it), the pipeline's registration from the manager's table
//! (read only), and posts the run's event; a record that could not be posted is retried by
//! the queue, then kept in its dead-letter queue.

use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde_json::{Value, json};

use super::http;
use crate::events;
use crate::lineage::openlineage;
use crate::manager::registry::Registration;
use crate::manager::runlog::pipeline_of;

/// The endpoint the `dpc-lineage` function posts to.
pub const URL_VAR: &str = "DPC_LINEAGE_URL";

/// Tries per event.
pub const TRIES: u32 = 4;
/// The first pause between tries (doubled each time).
const FIRST_PAUSE: Duration = Duration::from_millis(200);
/// The longest `Retry-After` waited for.
const MAX_WAIT_SECS: u64 = 10;

/// POSTs `events` to `url` in order; how many tries it took in all. Stops at the first event
/// that could not be delivered.
pub async fn post_all(url: &str, events: &[Value]) -> Result<u32, String> {
    let mut tries = 0;
    for e in events {
        tries += post(url, e).await?;
    }
    Ok(tries)
}

/// POSTs one event; the number of tries it took.
pub async fn post(url: &str, event: &Value) -> Result<u32, String> {
    let headers = [("content-type", "application/json")];
    let body = event.to_string().into_bytes();
    let mut pause = FIRST_PAUSE;
    for attempt in 1..=TRIES {
        let (retry, why, wait) = match http::exchange("POST", url, &headers, body.clone()).await {
            Ok(a) if (200..300).contains(&a.status) => return Ok(attempt),
            Ok(a) => {
                let retry = matches!(a.status, 408 | 429 | 500..=599);
                let text: String = a.text.chars().take(300).collect();
                let wait = a.retry_after.filter(|s| *s <= MAX_WAIT_SECS);
                (retry, format!("answered {}: {text}", a.status), wait)
            }
            Err(e) => (true, e, None),
        };
        if !retry || attempt == TRIES {
            return Err(format!(
                "POST {}: {why} (after {attempt} tries)",
                http::redact(url)
            ));
        }
        tokio::time::sleep(wait.map_or(pause, Duration::from_secs)).await;
        pause *= 2;
    }
    Err(format!("POST {}: no try made", http::redact(url)))
}

/// The `dpc-lineage` function: the manager's table (read only) and the endpoint.
pub struct Emitter {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub url: String,
}

impl Emitter {
    /// Handles a batch; the records that failed (for SQS to deliver again) and one log line
    /// per record.
    pub async fn handle_batch(
        &self,
        batch: &SqsEvent,
        on_line: &mut impl FnMut(&Value),
    ) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in &batch.records {
            let id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            match self.handle(body).await {
                Ok(line) => {
                    let mut line = line;
                    line["messageId"] = json!(id);
                    on_line(&line);
                }
                Err(e) => {
                    on_line(&json!({"messageId": id, "result": "FAILED", "error": e}));
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id;
                    response.batch_item_failures.push(failure);
                }
            }
        }
        response
    }

    /// One status change: its event posted, or why there is none.
    async fn handle(&self, body: &str) -> Result<Value, String> {
        let event: Value =
            serde_json::from_str(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let ignored = |why: String| Ok(json!({"result": "IGNORED", "why": why}));
        if event["source"] != events::STATUS_SOURCE
            || event["detail-type"] != events::STATUS_DETAIL_TYPE
        {
            return ignored("not a Step Functions status change".into());
        }
        let detail = &event["detail"];
        let machine = detail["stateMachineArn"].as_str().unwrap_or_default();
        let Ok(id) = pipeline_of(machine) else {
            return ignored(format!("{machine} is not a dpc pipeline"));
        };
        let Some(reg) = self.registration(&id.key()).await? else {
            return ignored(format!("{} is not registered", id.key()));
        };
        let Some(lineage) = openlineage::of_status_change(&reg, detail) else {
            return ignored(format!(
                "status {} has no OpenLineage event",
                detail["status"]
            ));
        };
        let tries = post(&self.url, &lineage).await?;
        Ok(json!({
            "result": "POSTED",
            "pipeline": id.key(),
            "eventType": lineage["eventType"],
            "runId": lineage["run"]["runId"],
            "tries": tries,
        }))
    }

    async fn registration(&self, key: &str) -> Result<Option<Registration>, String> {
        super::read_registration(&self.client, &self.table, key).await
    }
}
