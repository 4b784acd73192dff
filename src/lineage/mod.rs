//! Lineage: the dependency graph of a validated tree (`graph`) and what it is drawn as. Pure: it
//! reads the model and states passed in, and produces text.

pub mod graph;
pub mod openlineage;
