//! dpc's integration tests, in one test binary (`cargo test --test it`; one module per area,
//! filter with e.g. `cargo test --test it cli_validate::`). One binary links dpc and the AWS
//! SDKs once instead of once per file. Shared support is in [`common`]: the [`common::Dpc`]
//! runner of the built `dpc` binary, the moto server, the manager helpers and the location of
//! the shared EventBridge conformance corpus.
//!
//! Fixtures live beside this folder (`tests/fixtures/`, `tests/scenarios/`, …), snapshots in
//! `tests/it/snapshots/`, proptest's regression seeds in `tests/proptest-regressions/`.

// Tests are an edge: they read files, run processes and read the clock.
#![allow(clippy::disallowed_methods)]

mod common;

mod asl;
mod aws_deploy;
mod aws_rerun;
mod aws_setup_central_account;
mod aws_setup_user_account;
mod central_e2e;
mod cli_graph;
mod cli_local;
mod cli_local_report;
mod cli_local_run;
mod cli_rerun;
mod cli_synth;
mod cli_test;
mod cli_test_event;
mod cli_validate;
mod compile_equivalence;
mod compile_examples;
mod deploy_replay;
mod deploy_templates;
mod drift;
mod invalid_fixtures;
mod lambda_manager;
mod lambda_notifier;
mod lambda_reconciler;
mod lambda_registration;
mod lineage_central;
mod lineage_openlineage;
mod local_notify;
mod local_runtime;
mod local_sla;
mod manager_crash;
mod manager_dynamo;
mod manager_random;
mod pattern_conformance;
mod pattern_props;
mod validate_props;
