//! `pipeline.yaml` and `dpc.yaml`, from bytes to the typed model: the span-keeping YAML
//! reader, the raw tree, the JSON Schema, validation into the model, loading whole trees of
//! projects, and the checks across pipelines.

pub mod cross;
#[allow(clippy::disallowed_methods)]
pub mod load;
pub mod model;
pub mod raw;
pub mod schema;
pub mod validate;
pub mod yaml;
