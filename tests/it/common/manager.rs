//! Shared helpers of the manager tests: registrations from pipeline YAML through the real
//! validator and compiler, and status events as AWS sends them.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use dpc::diag::source::SourceFile;
use dpc::events::StatusChangeEvent;
use dpc::manager::registry::{self, PipelineId, Registration};
use dpc::manager::runlog::StatusFact;
use dpc::manager::store::Millis;
use dpc::pipeline::validate::{self, Context};

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
    let input = format!(r#"{{"run":{{"type":"{run_type}"}}}}"#);
    StatusFact {
        pipeline: id,
        execution: exec,
        status,
        started,
        stopped,
        input: &input,
        redrive: 0,
    }
    .event()
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
