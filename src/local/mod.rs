//! `dpc local run`: the whole system on one machine, built from the compiled artifacts.
//! [`world`] builds the environment (state machines, rules, schedules) from what the
//! compiler produces; [`runtime`] plays it in virtual time over the real trigger manager and
//! the ASL interpreter; [`services`] plays the AWS services the state machines call;
//! [`transform`] applies EventBridge input transformers; [`process`] (the edge) runs steps'
//! `local.command`s as real processes.

pub mod lineage;
#[allow(clippy::disallowed_methods)]
pub mod process;
pub mod report;
pub mod runtime;
pub mod services;
pub mod slack_post;
pub mod transform;
pub mod world;
