//! Time as the manager keeps it: milliseconds since the Unix epoch (UTC), read from and
//! written as RFC 3339 text. Pure: "now" is always passed in.

pub use super::store::Millis;

/// RFC 3339 text → milliseconds.
pub fn parse_time(text: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Milliseconds → RFC 3339 text in UTC (seconds precision unless there are millis).
pub fn format_time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| ms.to_string())
}
