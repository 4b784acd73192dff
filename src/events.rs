//! The event contracts as typed values: the Step Functions status change that
//! upstream accounts forward, the trigger event the manager broadcasts, the data product
//! refresh event, and the step status event a FULL_EXECUTION state machine puts. Their JSON Schemas (`dpc schema NAME`) are generated from these types.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `source` of Step Functions status change events.
pub const STATUS_SOURCE: &str = "aws.states";
/// `detail-type` of Step Functions status change events.
pub const STATUS_DETAIL_TYPE: &str = "Step Functions Execution Status Change";
/// `source` of trigger events.
pub const TRIGGER_SOURCE: &str = "dpc.trigger-manager";
/// `detail-type` of trigger events.
pub const TRIGGER_DETAIL_TYPE: &str = "dpc Pipeline Trigger";
/// `source` of data product refresh events.
pub const REFRESH_SOURCE: &str = "dpc.data-product";
/// `detail-type` of data product refresh events.
pub const REFRESH_DETAIL_TYPE: &str = "dpc Data Product Refreshed";
/// `source` of step status events.
pub const STEP_SOURCE: &str = "dpc.pipeline";
/// `detail-type` of step status events.
pub const STEP_DETAIL_TYPE: &str = "dpc Step Status Change";
/// A missed SLA (`manager::sla::SlaAlert` as detail), put on the central bus by the manager
/// for the central notifier.
pub const SLA_SOURCE: &str = "dpc.trigger-manager";
/// The detail-type of a missed SLA.
pub const SLA_DETAIL_TYPE: &str = "dpc SLA Missed";

/// The EventBridge envelope around every event's `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<D> {
    /// Event id, unique per event (duplicates share it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub source: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    /// The account the event was put in (for triggers: the central account).
    pub account: String,
    pub region: String,
    /// ISO 8601 time the event was put.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    pub detail: D,
}

/// Step Functions "Execution Status Change" (`source: aws.states`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionStatusChange {
    pub execution_arn: String,
    pub state_machine_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (also PENDING_REDRIVE).
    pub status: String,
    /// Milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date: Option<i64>,
    /// Milliseconds since the epoch; absent while running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_date: Option<i64>,
    /// The execution input, as a JSON string (carries dpc's run context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// How often the execution was redriven (0 for the first attempt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_count: Option<u32>,
}

/// The trigger the central manager broadcasts to a consumer account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub target: Target,
    /// Deterministic: the same condition satisfied by the same runs gives the same id.
    pub trigger_id: String,
    /// account → region → pipeline → the run that satisfied the leaf.
    #[serde(default)]
    pub upstreams: BTreeMap<String, BTreeMap<String, BTreeMap<String, UpstreamRun>>>,
    /// domain → name → the refresh that satisfied the leaf.
    #[serde(default)]
    pub data_products: BTreeMap<String, BTreeMap<String, ProductArrival>>,
}

/// The pipeline a trigger starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Target {
    pub account: String,
    pub region: String,
    pub pipeline: String,
}

/// An upstream run inside a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamRun {
    pub status: String,
    pub execution_arn: String,
    /// Milliseconds since the epoch (0 while running).
    pub stop_date: i64,
}

/// A data product arrival inside a trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductArrival {
    /// Always `ARRIVED`.
    pub status: String,
    /// ISO 8601 time of the refresh.
    pub refreshed_at: String,
}

/// A data product was refreshed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataProductRefresh {
    pub domain: String,
    pub name: String,
    /// The producing account (12 digits).
    pub account: String,
    /// ISO 8601 time of the refresh.
    pub refreshed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub producer: Option<Producer>,
    /// Free-form attributes of the refresh (partition, row count, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The pipeline run that refreshed a data product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Producer {
    pub pipeline: String,
    pub execution_arn: String,
}

/// A step of a FULL_EXECUTION run started, succeeded or failed (put by the state machine
/// itself on its account's default bus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepStatusChange {
    pub pipeline: String,
    /// The pipeline's account (12 digits).
    pub account: String,
    pub region: String,
    pub execution_arn: String,
    /// The step's name, as in `pipeline.yaml`.
    pub step: String,
    pub status: StepStatus,
    /// 1 for the first try, 2 for the first retry, …
    pub attempt: u32,
    /// The error name, when FAILED (e.g. `States.TaskFailed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The cause as the service reported it, when FAILED (often a JSON string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// ISO 8601 time of the change.
    pub time: String,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Started,
    Succeeded,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Started => "STARTED",
            StepStatus::Succeeded => "SUCCEEDED",
            StepStatus::Failed => "FAILED",
        }
    }
}

/// The status event as EventBridge delivers it.
pub type StatusChangeEvent = Envelope<ExecutionStatusChange>;
/// The trigger event.
pub type TriggerEvent = Envelope<Trigger>;
/// The refresh event.
pub type RefreshEvent = Envelope<DataProductRefresh>;
/// The step status event.
pub type StepStatusEvent = Envelope<StepStatusChange>;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::pipeline::schema::SchemaName;

    fn valid(schema: SchemaName, event: &serde_json::Value) -> bool {
        jsonschema::validator_for(schema.schema()).is_ok_and(|v| v.is_valid(event))
    }

    #[test]
    fn the_spec_trigger_event_fits_its_schema() {
        let event = json!({
            "source": "dpc.trigger-manager", "detail-type": "dpc Pipeline Trigger",
            "account": "999999999999", "region": "eu-west-1",
            "detail": {
                "target": {"account": "333333333333", "region": "eu-west-1", "pipeline": "pipeline-x"},
                "triggerId": "t-1",
                "upstreams": {"111111111111": {"eu-west-1": {"listings": {"status": "SUCCEEDED", "executionArn": "arn", "stopDate": 0}}}},
                "dataProducts": {"raw": {"RD1": {"status": "ARRIVED", "refreshedAt": "2026-11-21T04:00:00Z"}}}
            }
        });
        assert!(valid(SchemaName::TriggerEvent, &event));
        let mut wrong = event.clone();
        wrong["source"] = json!("someone.else");
        assert!(!valid(SchemaName::TriggerEvent, &wrong));
        let typed: super::TriggerEvent = serde_json::from_value(event).expect("typed");
        assert_eq!(typed.detail.target.pipeline, "pipeline-x");
    }

    #[test]
    fn refresh_and_status_events_fit_their_schemas() {
        let refresh = json!({
            "source": "dpc.data-product", "detail-type": "dpc Data Product Refreshed",
            "account": "444444444444", "region": "us-east-1",
            "detail": {"domain": "raw", "name": "RD1", "account": "444444444444", "refreshedAt": "2026-11-21T01:10:00Z",
                       "producer": {"pipeline": "raw-rd1", "executionArn": "arn"}}
        });
        assert!(valid(SchemaName::RefreshEvent, &refresh));
        let status = json!({
            "id": "e-1", "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
            "account": "111111111111", "region": "eu-west-1", "resources": ["arn"],
            "detail": {"executionArn": "arn:aws:states:eu-west-1:111111111111:execution:dpc-listings:r1",
                       "stateMachineArn": "arn:aws:states:eu-west-1:111111111111:stateMachine:dpc-listings",
                       "status": "SUCCEEDED", "startDate": 1, "stopDate": 2, "input": "{}"}
        });
        assert!(valid(SchemaName::StatusEvent, &status));
    }

    #[test]
    fn a_failed_step_event_fits_its_schema() {
        let step = json!({
            "source": "dpc.pipeline", "detail-type": "dpc Step Status Change",
            "account": "222222222222", "region": "eu-west-1",
            "detail": {"pipeline": "searches", "account": "222222222222", "region": "eu-west-1",
                       "executionArn": "arn:aws:states:eu-west-1:222222222222:execution:dpc-searches:r1",
                       "step": "load", "status": "FAILED", "attempt": 2,
                       "error": "States.TaskFailed", "cause": "exit 1", "time": "2026-11-26T05:20:00Z"}
        });
        assert!(valid(SchemaName::StepStatusEvent, &step));
        let mut wrong = step.clone();
        wrong["detail"]["status"] = json!("DONE");
        assert!(!valid(SchemaName::StepStatusEvent, &wrong));
        let typed: super::StepStatusEvent = serde_json::from_value(step).expect("typed");
        assert_eq!(typed.detail.status, super::StepStatus::Failed);
    }
}
