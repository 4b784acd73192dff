//! Reads RFC 3339 timestamps and virtual clock values; produces epoch milliseconds and AWS-style timestamp text.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Virtual time: milliseconds since the Unix epoch.
pub type Millis = i64;

/// Parses a timestamp as Step Functions accepts it: RFC 3339 with an upper-case `T` between
/// date and time and an upper-case `Z` for UTC (the profile of the States Language).
pub fn parse_timestamp(s: &str) -> Option<Millis> {
    if s.as_bytes().get(10) != Some(&b'T') || s.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc).timestamp_millis())
}

/// The instant as a `DateTime`, clamped into chrono's range.
pub fn to_datetime(t: Millis) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// ISO-8601 text with milliseconds and `Z`, as in the context object.
pub fn format(t: Millis) -> String {
    to_datetime(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Whole or fractional seconds to milliseconds, saturating.
pub fn secs_to_millis(s: f64) -> Millis {
    if s.is_nan() || s <= 0.0 {
        return 0;
    }
    let ms = (s * 1000.0).round();
    if ms >= i64::MAX as f64 {
        i64::MAX
    } else {
        ms as i64
    }
}

/// Serialises a time as ISO-8601 text with milliseconds.
pub fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}
