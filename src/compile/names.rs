//! AWS resource names and CloudFormation logical ids: reads a pipeline's names and produces
//! names within each service's length limit. A name that is too long keeps a readable prefix
//! and ends with a short hash of the full name, so distinct pipelines keep distinct names and
//! the same pipeline always gets the same one.

use sha2::{Digest, Sha256};

/// Length limits of the names dpc gives resources.
pub const STATE_MACHINE_MAX: usize = 80;
pub const EVENTS_RULE_MAX: usize = 64;
pub const SCHEDULE_MAX: usize = 64;
pub const SQS_QUEUE_MAX: usize = 80;
pub const SNS_TOPIC_MAX: usize = 256;
pub const GLUE_JOB_MAX: usize = 255;
pub const LOG_GROUP_MAX: usize = 512;

/// Hex digits of the hash suffix of a shortened name.
const HASH_LEN: usize = 8;

/// `full` if it fits in `max` characters, else its first characters, `-` and a hash of `full`.
/// Names here are ASCII (pipeline name rules), so bytes are characters.
pub fn fit(full: &str, max: usize) -> String {
    if full.len() <= max {
        return full.to_string();
    }
    let keep = max.saturating_sub(HASH_LEN + 1);
    let prefix = full[..keep].trim_end_matches('-');
    format!("{prefix}-{}", short_hash(full))
}

/// The first hex digits of the SHA-256 of `text`.
pub fn short_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))[..HASH_LEN].to_string()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A logical id from a prefix and a free-form name: alphanumeric CamelCase of the name plus a
/// hash of it, since CamelCasing alone can map two names to one id (`a-1b`, `a1b`).
pub fn logical_id(prefix: &str, name: &str) -> String {
    let camel: String = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect();
    let camel: String = camel.chars().take(200).collect();
    format!("{prefix}{camel}{}", short_hash(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept_and_long_ones_fit_with_a_hash() {
        assert_eq!(fit("dpc-x-trigger", 64), "dpc-x-trigger");
        let long = format!("dpc-{}-trigger", "a".repeat(64));
        let fitted = fit(&long, EVENTS_RULE_MAX);
        assert_eq!(fitted.len(), EVENTS_RULE_MAX);
        assert!(fitted.ends_with(&short_hash(&long)));
        assert_ne!(fit(&format!("{long}x"), 64), fitted);
    }

    #[test]
    fn logical_ids_are_alphanumeric_and_distinct() {
        let a = logical_id("GlueJob", "a-1b");
        let b = logical_id("GlueJob", "a1b");
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(a.starts_with("GlueJobA1b"));
    }
}
