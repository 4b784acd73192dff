//! Notification, publish and SLA checks: channel address formats, duplicates, data product
//! names, and the SLA time of day in its zone.

use std::collections::HashSet;

use chrono::NaiveTime;

use super::{Checker, schedule, values};
use crate::diag::codes;
use crate::pipeline::model;
use crate::pipeline::raw::{self, Channel};
use crate::pipeline::schema::Target;

pub fn notifications(c: &mut Checker, raw: &raw::Notifications) -> Option<model::Notifications> {
    if raw.targets.is_empty() {
        c.emit(
            &codes::NOTIFY_EMPTY,
            "/notifications/targets",
            Target::Key,
            "`targets` is empty",
            Some("add a target such as `{channel: EMAIL, addresses: [team@example.com]}`".into()),
        );
        return None;
    }
    let mut ok = true;
    for (i, target) in raw.targets.iter().enumerate() {
        let p = format!("/notifications/targets/{i}/addresses");
        if target.addresses.is_empty() {
            c.emit(
                &codes::NOTIFY_EMPTY,
                &p,
                Target::Key,
                "`addresses` is empty",
                Some("list at least one address".into()),
            );
            ok = false;
        }
        let mut seen = HashSet::new();
        for (j, address) in target.addresses.iter().enumerate() {
            let at = format!("{p}/{j}");
            ok &= address_ok(c, &at, target.channel, address);
            if !seen.insert(address.as_str()) {
                c.emit(
                    &codes::NOTIFY_DUPLICATE,
                    &at,
                    Target::Value,
                    format!("`{address}` is listed twice"),
                    Some("remove one".into()),
                );
            }
        }
    }
    ok.then(|| model::Notifications {
        kind: raw.kind,
        targets: raw
            .targets
            .iter()
            .map(|t| model::NotificationTarget {
                channel: t.channel,
                addresses: t.addresses.clone(),
            })
            .collect(),
    })
}

fn address_ok(c: &mut Checker, pointer: &str, channel: Channel, address: &str) -> bool {
    let (ok, code, message, help) = match channel {
        Channel::Email => (values::is_email(address), &codes::NOTIFY_INVALID_EMAIL, "is not an email address", "e.g. `team@example.com`".to_string()),
        Channel::Opsgenie => (values::is_https_url(address), &codes::NOTIFY_INVALID_URL, "is not an https URL",
            "use the OpsGenie Amazon SNS integration URL, e.g. `https://api.opsgenie.com/v1/json/amazonsns?apiKey=...`".to_string()),
        Channel::Slack => {
            let fixed = address.trim_start_matches('#').to_ascii_lowercase().replace(' ', "-");
            (values::is_slack_channel(address), &codes::NOTIFY_INVALID_SLACK, "is not a Slack channel name",
                format!("Slack channel names are lowercase letters, digits, `-` and `_`, e.g. `{fixed}`"))
        }
    };
    if !ok {
        c.emit(
            code,
            pointer,
            Target::Value,
            format!("`{address}` {message}"),
            Some(help),
        );
    }
    ok
}

pub fn publish(c: &mut Checker, raw: &raw::Publish) -> Option<Vec<model::DataProduct>> {
    if raw.data_products.is_empty() {
        c.emit(
            &codes::TRIGGER_EMPTY_BLOCK,
            "/publish/dataProducts",
            Target::Key,
            "`publish.dataProducts` is empty",
            Some("list the data products this pipeline refreshes, or remove `publish`".into()),
        );
        return None;
    }
    let mut ok = true;
    let mut out: Vec<model::DataProduct> = Vec::new();
    for (i, dp) in raw.data_products.iter().enumerate() {
        let p = format!("/publish/dataProducts/{i}");
        ok &= values::data_product_part(c, &format!("{p}/domain"), &dp.domain, "domain");
        ok &= values::data_product_part(c, &format!("{p}/name"), &dp.name, "name");
        let product = model::DataProduct {
            domain: dp.domain.clone(),
            name: dp.name.clone(),
        };
        if out.contains(&product) {
            c.emit(
                &codes::DATA_PRODUCT_DUPLICATE,
                &format!("{p}/name"),
                Target::Value,
                format!(
                    "data product `{}/{}` is published twice",
                    dp.domain, dp.name
                ),
                Some("list it once".into()),
            );
        } else {
            out.push(product);
        }
    }
    ok.then_some(out)
}

pub fn sla(c: &mut Checker, raw: &raw::Sla) -> Option<model::Sla> {
    let time = NaiveTime::parse_from_str(&raw.expected_by, "%H:%M")
        .ok()
        .filter(|_| raw.expected_by.len() == 5);
    let Some(time) = time else {
        c.emit(
            &codes::SLA_INVALID_TIME,
            "/sla/expectedBy",
            Target::Value,
            format!("`{}` is not a time of day", raw.expected_by),
            Some("write HH:MM on a 24-hour clock, quoted: \"07:00\"".into()),
        );
        return None;
    };
    if let Some(name) = &raw.timezone {
        let tz = values::timezone(c, "/sla/timezone", name)?;
        schedule::dst_time_warnings(c, "/sla/expectedBy", time, tz);
    }
    use chrono::Timelike;
    Some(model::Sla {
        expected_by_minutes: time.hour() * 60 + time.minute(),
        timezone: raw.timezone.clone(),
    })
}
