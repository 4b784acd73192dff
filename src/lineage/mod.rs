//! Lineage: the dependency graph of a validated tree (`graph`) and what it is drawn as
//! (`mermaid`, `dot`, `html` over `svg`; JSON is the graph serialized). Pure: it reads the
//! model and states passed in, and produces text.

pub mod dot;
pub mod graph;
pub mod html;
pub mod mermaid;
pub mod openlineage;
pub mod svg;
