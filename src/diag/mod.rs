//! Diagnostics: source files with line maps, the diagnostic type with spans, the registry of
//! stable codes, and the reports rendered from them (human, json, github, sarif).

pub mod codes;
pub mod diagnostic;
pub mod report;
pub mod source;
