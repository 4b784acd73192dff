//! Data shared with other projects, read where it lives instead of being copied into this
//! repository: `../shared/` beside the checkout (as CI lays it out), or `$DPC_SHARED_DIR`.
//! A missing file is an error naming the full path, never a skipped test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// Overrides the folder holding the shared data (the one with `eventbridge-conformance/`).
pub const SHARED_DIR_VAR: &str = "DPC_SHARED_DIR";

/// The shared data folder: `$DPC_SHARED_DIR`, else `../shared` relative to the repository root.
pub fn dir() -> PathBuf {
    match std::env::var_os(SHARED_DIR_VAR) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // The parent folder rather than `..`, so messages show a plain path.
        _ => {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            root.parent().unwrap_or(root).join("shared")
        }
    }
}

/// The text of `relative` (e.g. `eventbridge-conformance/cases.jsonl`) in the shared folder.
/// Panics with the full path and what is expected there when it cannot be read.
pub fn read(relative: &str) -> String {
    let path = dir().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}).\nThe EventBridge conformance corpus (aws/event-ruler's cases, \
             `eventbridge-conformance/cases.jsonl` and `status-event-benchmark.json`) is not kept \
             in this repository: it is read from the shared data folder `../shared/` beside the \
             checkout (CI provides it). Put the folder there, or set {SHARED_DIR_VAR} to the \
             folder that holds `eventbridge-conformance/`.",
            path.display()
        )
    })
}
