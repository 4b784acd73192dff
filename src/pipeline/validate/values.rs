//! Rules for single values shared by several checks: names, accounts, regions, tags,
//! durations, time zones, emails, URLs and Slack channels. Each reports at the value's span.

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::Checker;
use crate::diag::codes;
use crate::diag::diagnostic::did_you_mean;
use crate::pipeline::schema::Target;
use crate::pipeline::yaml::push_token;

/// Regions a typo is most likely aimed at (did-you-mean only; any well-formed name passes).
const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

fn err(
    c: &mut Checker,
    code: &'static crate::diag::diagnostic::Code,
    pointer: &str,
    message: String,
    help: impl Into<String>,
) {
    c.emit(code, pointer, Target::Value, message, Some(help.into()));
}

/// `^[a-z][a-z0-9-]*$`, at most 64 characters (pipeline and upstream names).
pub fn pipeline_name(c: &mut Checker, pointer: &str, name: &str) -> bool {
    let ok = is_pipeline_name(name);
    if !ok {
        let fixed: String = name.to_ascii_lowercase().replace(['_', ' ', '.'], "-");
        let help = if name.len() > 64 {
            format!("{} characters; at most 64 are allowed", name.len())
        } else if is_pipeline_name(&fixed) {
            format!("use lowercase letters, digits and hyphens, e.g. `{fixed}`")
        } else {
            "use lowercase letters, digits and hyphens, starting with a letter, at most 64 characters".to_string()
        };
        err(
            c,
            &codes::NAME_INVALID,
            pointer,
            format!("`{name}` is not a valid pipeline name"),
            help,
        );
    }
    ok
}

pub fn is_pipeline_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub fn team(c: &mut Checker, pointer: &str, team: &str) {
    if team.trim().is_empty() || !is_tag_value(team) || team.len() > 256 {
        err(
            c,
            &codes::TAG_INVALID,
            pointer,
            format!("`{team}` is not a valid team name"),
            "the team is used as a tag value: 1-256 letters, digits, spaces and _ . : / = + - @",
        );
    }
}

pub fn max_len(c: &mut Checker, pointer: &str, text: &str, max: usize) {
    let n = text.chars().count();
    if n > max {
        err(
            c,
            &codes::TEXT_TOO_LONG,
            pointer,
            format!("{n} characters; at most {max} are allowed"),
            "shorten it",
        );
    }
}

pub fn account(c: &mut Checker, pointer: &str, account: &str) -> bool {
    let ok = is_account(account);
    if !ok {
        let digits = account.chars().filter(char::is_ascii_digit).count();
        let help = if digits == account.len() && (9..12).contains(&digits) {
            "AWS account ids have exactly 12 digits; a leading zero may have been lost — quote the id".to_string()
        } else {
            "an AWS account id is exactly 12 digits, quoted: \"111111111111\"".to_string()
        };
        err(
            c,
            &codes::ACCOUNT_INVALID,
            pointer,
            format!("`{account}` is not a 12-digit AWS account id"),
            help,
        );
    }
    ok
}

pub fn is_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

pub fn region(c: &mut Checker, pointer: &str, region: &str) -> bool {
    let ok = is_region(region);
    if !ok {
        let help = match did_you_mean(region, KNOWN_REGIONS.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "AWS region names look like `eu-west-1`".to_string(),
        };
        err(
            c,
            &codes::REGION_INVALID,
            pointer,
            format!("`{region}` is not an AWS region"),
            help,
        );
    }
    ok
}

/// `xx-name-N`, with the optional `-gov` / `-iso*` partition part.
pub fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let (prefix, rest) = match parts.as_slice() {
        [p, mid @ .., n] if !mid.is_empty() => (*p, (mid, *n)),
        _ => return false,
    };
    let (mid, number) = rest;
    prefix.len() == 2
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && mid.len() <= 2
        && mid
            .iter()
            .all(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
}

pub fn tags(c: &mut Checker, pointer: &str, tags: &BTreeMap<String, String>) {
    const MAX_USER_TAGS: usize = 47;
    if tags.len() > MAX_USER_TAGS {
        c.emit(
            &codes::TAG_INVALID,
            pointer,
            Target::Key,
            format!("{} tags; at most {MAX_USER_TAGS} are allowed", tags.len()),
            Some("AWS allows 50 tags per resource and dpc adds 3 (team, pipeline, version)".into()),
        );
    }
    for (key, value) in tags {
        let at = push_token(pointer, key);
        let lower = key.to_ascii_lowercase();
        if key.is_empty() || key.chars().count() > 128 || !is_tag_value(key) {
            c.emit(
                &codes::TAG_INVALID,
                &at,
                Target::Key,
                format!("`{key}` is not a valid tag key"),
                Some("1-128 letters, digits, spaces and _ . : / = + - @".into()),
            );
        } else if lower.starts_with("aws:") || lower.starts_with("dpc:") {
            c.emit(
                &codes::TAG_INVALID,
                &at,
                Target::Key,
                format!("tag keys starting with `{}` are reserved", &key[..4]),
                Some("choose another prefix".into()),
            );
        }
        if value.chars().count() > 256 || !is_tag_value(value) {
            err(
                c,
                &codes::TAG_INVALID,
                &at,
                format!("`{value}` is not a valid tag value"),
                "at most 256 letters, digits, spaces and _ . : / = + - @",
            );
        }
    }
}

fn is_tag_value(text: &str) -> bool {
    text.chars()
        .all(|ch| ch.is_alphanumeric() || ch == ' ' || "_.:/=+-@".contains(ch))
}

/// Parses `90s`, `30m`, `2h`, `1h30m`, `2d` into seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut last_unit = u64::MAX;
    let mut any = false;
    for ch in text.trim().chars() {
        if ch.is_ascii_digit() {
            number.push(ch);
            continue;
        }
        let unit = match ch {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        // Units must be given largest first, once each.
        if number.is_empty() || unit >= last_unit {
            return None;
        }
        total = total.checked_add(number.parse::<u64>().ok()?.checked_mul(unit)?)?;
        number.clear();
        last_unit = unit;
        any = true;
    }
    (any && number.is_empty()).then_some(total)
}

/// A duration between `min` and `max` seconds.
pub fn duration(c: &mut Checker, pointer: &str, text: &str, min: u64, max: u64) -> Option<u64> {
    let Some(seconds) = parse_duration(text) else {
        err(
            c,
            &codes::DURATION_INVALID,
            pointer,
            format!("`{text}` is not a duration"),
            "write a number and a unit: `90s`, `30m`, `2h`, `1h30m`, `2d`",
        );
        return None;
    };
    if seconds < min || seconds > max {
        err(
            c,
            &codes::DURATION_INVALID,
            pointer,
            format!("`{text}` is out of range"),
            format!(
                "use a duration between {} and {}",
                human_seconds(min),
                human_seconds(max)
            ),
        );
        return None;
    }
    Some(seconds)
}

pub fn human_seconds(s: u64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

pub fn timezone(c: &mut Checker, pointer: &str, name: &str) -> Option<Tz> {
    if let Ok(tz) = name.parse::<Tz>() {
        return Some(tz);
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
    let help = match did_you_mean(name, names) {
        Some(s) => format!("did you mean `{s}`?"),
        None => "use an IANA time zone name such as `Europe/Berlin` or `UTC`".to_string(),
    };
    err(
        c,
        &codes::TIMEZONE_UNKNOWN,
        pointer,
        format!("`{name}` is not an IANA time zone"),
        help,
    );
    None
}

pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    local_ok && text.len() <= 254 && is_hostname(domain) && domain.contains('.')
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An `https://host[:port][/path][?query]` URL.
pub fn is_https_url(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        Some(_) => return false,
        None => authority,
    };
    is_hostname(host) && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Slack channel names: lowercase letters, digits, `-` and `_`, at most 80, optional `#`.
pub fn is_slack_channel(text: &str) -> bool {
    let name = text.strip_prefix('#').unwrap_or(text);
    !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Data product domains and names: `^[A-Za-z0-9][A-Za-z0-9_.-]*$`, at most 128.
pub fn data_product_part(c: &mut Checker, pointer: &str, text: &str, what: &str) -> bool {
    let mut chars = text.chars();
    let ok = text.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        err(
            c,
            &codes::DATA_PRODUCT_INVALID,
            pointer,
            format!("`{text}` is not a valid data product {what}"),
            "use letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 128 characters",
        );
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("2d"), Some(172_800));
        assert_eq!(parse_duration("90s"), Some(90));
        for bad in ["", "2", "h", "2x", "30m1h", "1h1h", "-1h", "1.5h"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert!(is_email("team@example.com"));
        assert!(!is_email("team@example"));
        assert!(!is_email("team.example.com"));
        assert!(is_https_url(
            "https://api.opsgenie.com/v1/json/amazonsns?apiKey=x"
        ));
        assert!(!is_https_url("http://api.opsgenie.com"));
        assert!(!is_https_url("https://bad host"));
        assert!(is_slack_channel("#data-pipeline-alerts"));
        assert!(!is_slack_channel("Data Alerts"));
        assert!(is_region("eu-west-1") && is_region("us-gov-west-1"));
        assert!(!is_region("eu-west1") && !is_region("europe"));
        assert!(is_account("111111111111") && !is_account("11111111111"));
    }
}
