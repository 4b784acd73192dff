//! Shared helpers of the manager tests: registrations from pipeline YAML through the real
//! validator and compiler, and status events as AWS sends them.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use dpc::events::{Envelope, ExecutionStatusChange, StatusChangeEvent};
use dpc::manager::registry::{self, PipelineId, Registration};
use dpc::manager::runlog::{execution_arn, format_time, state_machine_arn};
use dpc::manager::store::Millis;
use dpc::source::SourceFile;
use dpc::validate::{self, Context};

pub fn registration(yaml: &str) -> Registration {
    let file = Arc::new(SourceFile::new("pipeline.yaml", yaml.to_string()));
    let ctx = Context {
        today: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
        file_exists: &|_| true,
    };
    let checked = validate::pipeline(&file, Path::new("."), &ctx);
    let pipeline = checked
        .value
        .unwrap_or_else(|| panic!("invalid test pipeline: {:?}", checked.diagnostics));
    registry::registration(&pipeline, None).expect("compiles")
}

pub fn upstream(account: &str, name: &str) -> PipelineId {
    PipelineId {
        account: account.into(),
        region: registry::LOCAL_REGION.into(),
        name: name.into(),
    }
}

/// A status event; its id is unique per (execution, status).
pub fn status_event(
    id: &PipelineId,
    exec: &str,
    status: &str,
    started: Millis,
    stopped: Option<Millis>,
    run_type: &str,
) -> StatusChangeEvent {
    Envelope {
        id: Some(format!("{exec}/{status}")),
        source: "aws.states".into(),
        detail_type: "Step Functions Execution Status Change".into(),
        account: id.account.clone(),
        region: id.region.clone(),
        time: Some(format_time(stopped.unwrap_or(started))),
        resources: Vec::new(),
        detail: ExecutionStatusChange {
            execution_arn: execution_arn(id, exec),
            state_machine_arn: state_machine_arn(id),
            name: Some(exec.into()),
            status: status.into(),
            start_date: Some(started),
            stop_date: stopped,
            input: Some(format!(r#"{{"run":{{"type":"{run_type}"}}}}"#)),
            redrive_count: None,
        },
    }
}

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the printed seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
