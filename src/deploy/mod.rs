//! Deploying through CloudFormation. The pure parts live here: the
//! per-account `dpc-account` and central `dpc-central` stack templates, the functions' Lambda
//! package, and the decision what to do with a stack given its
//! current status. The AWS calls that use them sit at the edge.

pub mod account_stack;
pub mod central_stack;
pub mod changes;
#[allow(clippy::disallowed_methods)]
pub mod fleet;
pub mod package;
pub mod plan;
pub mod target;
