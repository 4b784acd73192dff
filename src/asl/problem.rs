//! Reads nothing; produces `Problem`, the located diagnostic that parsers of definitions and mock files return.

use std::fmt;

/// One problem found in a definition or a mock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON path of the offending value, e.g. `$.States['Claim'].Retry[0].BackoffRate`.
    pub path: String,
    /// Stable short code, e.g. `BAD_VALUE`.
    pub code: &'static str,
    /// Human message.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.path, self.message, self.code)
    }
}

/// Collects problems while walking a JSON document.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub list: Vec<Problem>,
}

impl Problems {
    pub fn add(&mut self, path: &str, code: &'static str, message: impl Into<String>) {
        self.list.push(Problem {
            path: path.to_string(),
            code,
            message: message.into(),
        });
    }
}

/// `base` plus an object key, dotted when the key is a plain identifier.
pub(crate) fn field(base: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        format!("{base}.{key}")
    } else {
        bracket(base, key)
    }
}

/// `base` plus an object key, always in bracket form.
pub(crate) fn bracket(base: &str, key: &str) -> String {
    format!(
        "{base}['{}']",
        key.replace('\\', "\\\\").replace('\'', "\\'")
    )
}

/// `base` plus an array index.
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}
