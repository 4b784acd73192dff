//! The `dpc-registration` function: reads a CloudFormation custom resource request for a
//! pipeline stack's `Custom::DpcRegistration` (properties as `compile::template` writes them),
//! registers or deregisters the pipeline with the trigger manager, and produces the
//! CloudFormation response that the function PUTs to the request's `ResponseURL`.
//!
//! Physical ids: a registered pipeline's id is its registry key (`account/region/name`).
//! - Create: register; the key. A Create that fails answers with `failed-<RequestId>`, never a
//!   key, so the Delete that CloudFormation's rollback sends for it removes nothing (least of
//!   all a registration that another stack made).
//! - Update: register the new properties (an update of the same key keeps the dependency
//!   state). When the identity changed, the new key is a new physical id, and CloudFormation
//!   then sends a Delete for the old one, which deregisters it. A failed Update keeps the old
//!   physical id (another id would read as a replacement).
//! - Delete: deregister the key; a physical id that is not a key, or a key not registered,
//!   succeeds (there is nothing to remove, and CloudFormation must not hang on it).
//!
//! The leaves are read back from the compiled trigger pattern (its `detail.upstreams` and
//! `detail.dataProducts` tests, through `$or` branches): the pattern is what the consumer's
//! rule checks, so the manager waits on exactly what it tests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::manager::Manager;
use crate::manager::registry::{
    Leaf, PipelineId, Registration, ScheduleSpec, Topics, Upstream, WindowSpec,
};
use crate::manager::sla::SlaSpec;
use crate::manager::store::{Millis, Store};
use crate::manager::window::Period;

/// The request kinds CloudFormation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Update,
    Delete,
}

/// Where the function runs: the fallback for the central account and region.
#[derive(Debug, Clone)]
pub struct Home {
    pub account: String,
    pub region: String,
}

/// The answer to one request, before it is PUT.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub success: bool,
    pub reason: Option<String>,
    pub physical_id: String,
    /// What was done, for the log (`registered`, `updated`, `deregistered`, `nothing`).
    pub action: &'static str,
}

/// Handles one request (a JSON value as CloudFormation sends it) and builds the response
/// body; `None` only when the request has no `ResponseURL` (then nobody can be answered).
pub fn handle<S: Store>(
    manager: &mut Manager<S>,
    request: &Value,
    home: &Home,
    now: Millis,
) -> (Answer, Value) {
    let answer = answer(manager, request, home, now);
    let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or_default();
    let mut body = json!({
        "Status": if answer.success { "SUCCESS" } else { "FAILED" },
        "PhysicalResourceId": answer.physical_id,
        "StackId": text("StackId"),
        "RequestId": text("RequestId"),
        "LogicalResourceId": text("LogicalResourceId"),
        "NoEcho": false,
        "Data": {"Key": answer.physical_id},
    });
    if let Some(reason) = &answer.reason {
        // CloudFormation refuses a response over 4 KiB; the reason is the part that can grow.
        body["Reason"] = json!(truncate(reason, 1_500));
    }
    (answer, body)
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn answer<S: Store>(manager: &mut Manager<S>, request: &Value, home: &Home, now: Millis) -> Answer {
    let text = |key: &str| request.get(key).and_then(Value::as_str);
    let old_id = text("PhysicalResourceId").unwrap_or_default().to_string();
    let failed_id = || format!("failed-{}", text("RequestId").unwrap_or("unknown"));
    let fail = |physical_id: String, reason: String| Answer {
        success: false,
        reason: Some(reason),
        physical_id,
        action: "nothing",
    };
    let kind = match text("RequestType") {
        Some("Create") => Kind::Create,
        Some("Update") => Kind::Update,
        Some("Delete") => Kind::Delete,
        other => {
            let id = if old_id.is_empty() {
                failed_id()
            } else {
                old_id
            };
            return fail(id, format!("unknown RequestType `{}`", other.unwrap_or("")));
        }
    };
    if kind == Kind::Delete {
        let Some(id) = parse_key(&old_id) else {
            return Answer {
                success: true,
                reason: None,
                physical_id: old_id,
                action: "nothing",
            };
        };
        return match manager.deregister(&id, now) {
            Ok(removed) => Answer {
                success: true,
                reason: None,
                physical_id: old_id,
                action: if removed { "deregistered" } else { "nothing" },
            },
            Err(e) => fail(old_id, format!("could not deregister {}: {e}", id.key())),
        };
    }
    let on_failure = || match kind {
        Kind::Update => old_id.clone(),
        _ => failed_id(),
    };
    let empty = Value::Object(Default::default());
    let properties = request.get("ResourceProperties").unwrap_or(&empty);
    let home = central_of(request, home);
    let reg = match registration(properties, &home) {
        Ok(r) => r,
        Err(e) => return fail(on_failure(), format!("invalid registration: {e}")),
    };
    let existed = manager
        .registrations()
        .map(|all| all.iter().any(|r| r.key() == reg.key()))
        .unwrap_or(false);
    match manager.register(&reg, now) {
        Ok(()) => Answer {
            success: true,
            reason: None,
            physical_id: reg.key(),
            action: if existed { "updated" } else { "registered" },
        },
        Err(e) => fail(
            on_failure(),
            format!("could not register {}: {e}", reg.key()),
        ),
    }
}

/// The central account and region: those of the function the stack invoked (its
/// `ServiceToken`), else where this function runs.
fn central_of(request: &Value, home: &Home) -> Home {
    let token = request
        .get("ServiceToken")
        .or_else(|| request.pointer("/ResourceProperties/ServiceToken"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match token.split(':').collect::<Vec<_>>().as_slice() {
        [_, _, "lambda", region, account, ..] if !region.is_empty() && !account.is_empty() => {
            Home {
                account: account.to_string(),
                region: region.to_string(),
            }
        }
        _ => home.clone(),
    }
}

/// `account/region/name` → the pipeline.
pub fn parse_key(key: &str) -> Option<PipelineId> {
    let mut parts = key.splitn(3, '/');
    let (account, region, name) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (digits && !region.is_empty() && !name.is_empty()).then(|| PipelineId {
        account: account.into(),
        region: region.into(),
        name: name.into(),
    })
}

/// Reads the properties of a `Custom::DpcRegistration` into a registration.
pub fn registration(properties: &Value, central: &Home) -> Result<Registration, String> {
    let text = |key: &str| -> Result<Option<String>, String> {
        match properties.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("`{key}` must be a string, not {other}")),
        }
    };
    let required = |key: &str| {
        text(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("`{key}` is missing"))
    };
    let id = PipelineId {
        account: required("Account")?,
        region: required("Region")?,
        name: required("Pipeline")?,
    };
    if parse_key(&id.key()).is_none() {
        return Err(format!("`{}` is not an account/region/name", id.key()));
    }
    let pattern = text("TriggerPattern")?.filter(|p| !p.is_empty());
    let (leaves, pattern_central) = match &pattern {
        Some(p) => {
            crate::pattern::Pattern::parse(p)
                .map_err(|e| format!("`TriggerPattern` is not a valid pattern: {e}"))?;
            let json: Value = serde_json::from_str(p)
                .map_err(|e| format!("`TriggerPattern` is not JSON: {e}"))?;
            (
                leaves_of(&json)?,
                json.pointer("/account/0")
                    .and_then(Value::as_str)
                    .map(String::from),
            )
        }
        None => (Vec::new(), None),
    };
    let leaves = narrow_products(leaves, properties.get("ProductAccounts"))?;
    let schedule = match text("Schedule")?.filter(|s| !s.is_empty()) {
        Some(expression) => {
            let spec = ScheduleSpec {
                expression,
                timezone: text("ScheduleTimezone")?.filter(|t| !t.is_empty()),
            };
            Period::parse(&spec).ok_or_else(|| {
                format!(
                    "`Schedule` `{}` (time zone {}) is not a valid schedule",
                    spec.expression,
                    spec.timezone.as_deref().unwrap_or("UTC")
                )
            })?;
            Some(spec)
        }
        None => None,
    };
    let window = match text("Window")? {
        Some(w) => window(&w)?,
        None => WindowSpec::SinceLastTrigger,
    };
    let propagate_manual = match text("PropagateManual")?.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(format!(
                "`PropagateManual` must be `true` or `false`, not `{other}`"
            ));
        }
    };
    let publishes = match properties.get("Publishes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .and_then(|s| s.split_once('/'))
                    .filter(|(d, n)| !d.is_empty() && !n.is_empty())
                    .map(|(d, n)| (d.to_string(), n.to_string()))
                    .ok_or_else(|| format!("`Publishes` item {item} is not `domain/name`"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("`Publishes` must be a list, not {other}")),
    };
    let sla = match text("Sla")?.filter(|s| !s.is_empty()) {
        Some(at) => Some(sla(&at, text("SlaTimezone")?.filter(|t| !t.is_empty()))?),
        None => None,
    };
    let slack_channels = match properties.get("SlackChannels") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| {
                c.as_str()
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .ok_or_else(|| format!("`SlackChannels` item {c} is not a channel"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("`SlackChannels` must be a list, not {other}")),
    };
    let notification_type = match text("NotificationType")?.filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            serde_json::from_value(Value::String(t.clone()))
                .map_err(|_| format!("`NotificationType` {t} is not a notification type"))?,
        ),
    };
    let team = text("Team")?.unwrap_or_default();
    let topic = |key: &str| -> Result<Option<String>, String> {
        match text(key)?.filter(|t| !t.is_empty()) {
            Some(arn) if !arn.starts_with("arn:") || !arn.contains(":sns:") => {
                Err(format!("`{key}` `{arn}` is not an SNS topic ARN"))
            }
            other => Ok(other),
        }
    };
    let topics = Topics {
        email: topic("EmailTopicArn")?,
        opsgenie: topic("OpsgenieTopicArn")?,
    };
    Ok(Registration {
        id,
        central_account: pattern_central.unwrap_or_else(|| central.account.clone()),
        central_region: central.region.clone(),
        pattern,
        leaves,
        schedule,
        window,
        propagate_manual,
        publishes,
        sla,
        slack_channels,
        team,
        notification_type,
        topics,
    })
}

/// `Sla` (`HH:MM`, local time) and `SlaTimezone` (IANA; absent: UTC) as the registry keeps them.
fn sla(at: &str, timezone: Option<String>) -> Result<SlaSpec, String> {
    let minutes = at
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
        .filter(|(h, m)| *h < 24 && *m < 60 && at.len() == 5)
        .map(|(h, m)| h * 60 + m)
        .ok_or_else(|| format!("`Sla` `{at}` is not a time `HH:MM`"))?;
    if let Some(tz) = &timezone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(format!("`SlaTimezone` `{tz}` is not an IANA time zone"));
    }
    Ok(SlaSpec {
        expected_by_minutes: minutes,
        timezone,
    })
}

/// `since-last-trigger` | `within <n>s` | `reset-at <cron(…)> <zone>` (as `template::window_text`).
fn window(text: &str) -> Result<WindowSpec, String> {
    if text == "since-last-trigger" {
        return Ok(WindowSpec::SinceLastTrigger);
    }
    if let Some(seconds) = text
        .strip_prefix("within ")
        .and_then(|s| s.strip_suffix('s'))
    {
        return seconds
            .parse()
            .map(|seconds| WindowSpec::Within { seconds })
            .map_err(|_| format!("`Window` `{text}`: `{seconds}` is not a number of seconds"));
    }
    if let Some(rest) = text.strip_prefix("reset-at ")
        && let Some((expression, zone)) = rest.rsplit_once(' ')
    {
        let spec = ScheduleSpec {
            expression: expression.to_string(),
            timezone: Some(zone.to_string()),
        };
        Period::parse(&spec).ok_or_else(|| format!("`Window` `{text}` is not a valid reset"))?;
        return Ok(WindowSpec::ResetAt(spec));
    }
    Err(format!(
        "`Window` `{text}` is not `since-last-trigger`, `within <n>s` or `reset-at <cron> <zone>`"
    ))
}

/// Data product leaves that name their producing account (`ProductAccounts`: `domain/name` →
/// account; the pattern keys products by domain and name only).
fn narrow_products(mut leaves: Vec<Leaf>, accounts: Option<&Value>) -> Result<Vec<Leaf>, String> {
    let accounts = match accounts {
        None | Some(Value::Null) => return Ok(leaves),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(format!("`ProductAccounts` must be a map, not {other}")),
    };
    for (label, account) in accounts {
        let account = account
            .as_str()
            .ok_or_else(|| format!("`ProductAccounts` `{label}` is not an account id"))?;
        let leaf = leaves
            .iter_mut()
            .find(|l| {
                matches!(l.upstream, Upstream::Product { .. }) && l.upstream.label() == *label
            })
            .ok_or_else(|| {
                format!("`ProductAccounts` names `{label}`, which the pattern does not test")
            })?;
        if let Upstream::Product { account: a, .. } = &mut leaf.upstream {
            *a = Some(account.to_string());
        }
    }
    Ok(leaves)
}

/// The leaves a trigger pattern tests: `detail.upstreams.<account>.<region>.<name>.status` and
/// `detail.dataProducts.<domain>.<name>.status`, in any `$or` branch; statuses united.
fn leaves_of(pattern: &Value) -> Result<Vec<Leaf>, String> {
    let mut found: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for (block, depth) in [("upstreams", 3), ("dataProducts", 2)] {
        if let Some(v) = pattern.pointer(&format!("/detail/{block}")) {
            let mut path = vec![block.to_string()];
            walk(v, depth, &mut path, &mut found)?;
        }
    }
    let mut leaves: Vec<Leaf> = found
        .into_iter()
        .filter_map(|(path, mut statuses)| {
            statuses.sort();
            statuses.dedup();
            let upstream = match path.as_slice() {
                [_, account, region, name] => Upstream::Execution(PipelineId {
                    account: account.clone(),
                    region: region.clone(),
                    name: name.clone(),
                }),
                [_, domain, name] => Upstream::Product {
                    domain: domain.clone(),
                    name: name.clone(),
                    account: None,
                },
                _ => return None,
            };
            Some(Leaf { upstream, statuses })
        })
        .collect();
    leaves.sort_by_key(|l| l.upstream.key());
    Ok(leaves)
}

fn walk(
    value: &Value,
    depth: usize,
    path: &mut Vec<String>,
    found: &mut BTreeMap<Vec<String>, Vec<String>>,
) -> Result<(), String> {
    let Value::Object(object) = value else {
        return Err(format!(
            "`TriggerPattern` has a test at {} that dpc does not write",
            path.join(".")
        ));
    };
    for (key, child) in object {
        if key == "$or" {
            for branch in child.as_array().into_iter().flatten() {
                walk(branch, depth, path, found)?;
            }
            continue;
        }
        path.push(key.clone());
        if depth == 0 {
            if key != "status" {
                return Err(format!(
                    "`TriggerPattern` tests {} (dpc tests only `status` there)",
                    path.join(".")
                ));
            }
            let statuses = child
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let leaf = path[..path.len() - 1].to_vec();
            found.entry(leaf).or_default().extend(statuses);
        } else {
            walk(child, depth - 1, path, found)?;
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::memory::MemoryStore;

    const CASE_STUDY_X: &str = r#"{"account":["999999999999"],"detail":{"target":{"account":["333333333333"],"pipeline":["pipeline-x"],"region":["eu-west-1"]},"upstreams":{"111111111111":{"eu-west-1":{"listings":{"status":["SUCCEEDED"]}}},"222222222222":{"eu-west-1":{"searches":{"status":["SUCCEEDED"]}}}}},"detail-type":["dpc Pipeline Trigger"],"source":["dpc.trigger-manager"]}"#;

    fn home() -> Home {
        Home {
            account: "999999999999".into(),
            region: "eu-west-1".into(),
        }
    }

    fn properties() -> Value {
        json!({
            "ServiceToken": "arn:aws:lambda:eu-west-1:999999999999:function:dpc-registration",
            "Pipeline": "pipeline-x", "Team": "rent-journey", "Account": "333333333333",
            "Region": "eu-west-1",
            "StateMachineArn": "arn:aws:states:eu-west-1:333333333333:stateMachine:dpc-pipeline-x",
            "Publishes": ["rent-journey/metric-x"], "DpcVersion": "0.1.0",
            "TriggerPattern": CASE_STUDY_X, "Schedule": "cron(0 0 * * ? *)",
            "ScheduleTimezone": "UTC", "Window": "since-last-trigger", "PropagateManual": "false",
            "Sla": "09:00", "SlaTimezone": "Europe/Berlin",
        })
    }

    fn request(kind: &str, physical: Option<&str>, props: Value) -> Value {
        let mut r = json!({
            "RequestType": kind, "RequestId": "req-1", "ResponseURL": "http://127.0.0.1:1/r",
            "StackId": "arn:aws:cloudformation:eu-west-1:333333333333:stack/dpc-pipeline-x/1",
            "LogicalResourceId": "Registration", "ResourceType": "Custom::DpcRegistration",
            "ServiceToken": "arn:aws:lambda:eu-west-1:999999999999:function:dpc-registration",
            "ResourceProperties": props,
        });
        if let Some(p) = physical {
            r["PhysicalResourceId"] = json!(p);
        }
        r
    }

    #[test]
    fn the_properties_give_the_registration_the_compiler_gives() {
        let reg = registration(&properties(), &home()).expect("valid");
        assert_eq!(reg.key(), "333333333333/eu-west-1/pipeline-x");
        let labels: Vec<_> = reg.leaves.iter().map(|l| l.upstream.key()).collect();
        assert_eq!(
            labels,
            [
                "x:111111111111/eu-west-1/listings",
                "x:222222222222/eu-west-1/searches"
            ]
        );
        assert_eq!(reg.leaves[0].statuses, ["SUCCEEDED"]);
        assert_eq!(reg.central_account, "999999999999");
        assert_eq!(
            reg.publishes,
            [("rent-journey".to_string(), "metric-x".to_string())]
        );
        assert_eq!(
            window("within 3600s"),
            Ok(WindowSpec::Within { seconds: 3600 })
        );
        assert!(matches!(
            window("reset-at cron(0 6 * * ? *) Europe/Berlin"),
            Ok(WindowSpec::ResetAt(_))
        ));
        assert!(window("whenever").is_err());
        let sla = reg.sla.expect("sla");
        assert_eq!(sla.expected_by_minutes, 9 * 60);
        assert_eq!(sla.timezone.as_deref(), Some("Europe/Berlin"));
        assert!(super::sla("9:00", None).is_err() && super::sla("24:00", None).is_err());
        assert!(super::sla("09:00", Some("Mars/Olympus".into())).is_err());
        assert_eq!(
            super::sla("00:30", None).map(|s| s.expected_by_minutes),
            Ok(30)
        );
    }

    #[test]
    fn slack_channels_are_read_when_given() {
        assert!(
            registration(&properties(), &home())
                .expect("valid")
                .slack_channels
                .is_empty()
        );
        let mut p = properties();
        p["SlackChannels"] = json!(["C1", "#runs"]);
        let reg = registration(&p, &home()).expect("valid");
        assert_eq!(reg.slack_channels, ["C1", "#runs"]);
        p["SlackChannels"] = json!("C1");
        assert!(registration(&p, &home()).is_err());
        let mut p = properties();
        p["Team"] = json!("rent-journey");
        p["NotificationType"] = json!("FAILURE_ONLY");
        let reg = registration(&p, &home()).expect("valid");
        assert_eq!(reg.team, "rent-journey");
        assert_eq!(
            reg.notification_type,
            Some(crate::pipeline::raw::NotificationType::FailureOnly)
        );
        p["NotificationType"] = json!("SOMETIMES");
        assert!(registration(&p, &home()).is_err());
    }

    #[test]
    fn notification_topics_are_read_when_given() {
        assert!(
            registration(&properties(), &home())
                .expect("valid")
                .topics
                .is_empty()
        );
        let mut p = properties();
        let arn = "arn:aws:sns:eu-west-1:333333333333:dpc-pipeline-x-email";
        p["EmailTopicArn"] = json!(arn);
        let reg = registration(&p, &home()).expect("valid");
        assert_eq!(reg.topics.email.as_deref(), Some(arn));
        assert_eq!(reg.topics.opsgenie, None);
        p["OpsgenieTopicArn"] = json!("https://api.opsgenie.com");
        assert!(registration(&p, &home()).is_err());
    }

    #[test]
    fn or_branches_and_data_products_are_leaves_too() {
        let p = json!({"detail": {
            "upstreams": {"$or": [
                {"1": {"r": {"a": {"status": ["FAILED"]}}}},
                {"1": {"r": {"a": {"status": ["SUCCEEDED"]}, "b": {"status": ["SUCCEEDED"]}}}},
            ]},
            "dataProducts": {"raw": {"RD1": {"status": ["ARRIVED"]}}},
        }});
        let leaves = leaves_of(&p).expect("leaves");
        let keys: Vec<_> = leaves.iter().map(|l| l.upstream.key()).collect();
        assert_eq!(keys, ["p:raw/RD1", "x:1/r/a", "x:1/r/b"]);
        assert_eq!(leaves[1].statuses, ["FAILED", "SUCCEEDED"]);
    }

    #[test]
    fn product_accounts_narrow_data_product_leaves() {
        let p = json!({"detail": {"dataProducts": {"raw": {
            "RD1": {"status": ["ARRIVED"]}, "RD2": {"status": ["ARRIVED"]}}}}});
        let accounts = json!({"raw/RD1": "444444444444"});
        let leaves =
            narrow_products(leaves_of(&p).expect("leaves"), Some(&accounts)).expect("narrowed");
        let keys: Vec<_> = leaves.iter().map(|l| l.upstream.read_key()).collect();
        assert_eq!(keys, ["p:raw/RD1@444444444444", "p:raw/RD2"]);
        let unknown = json!({"raw/RD9": "444444444444"});
        assert!(narrow_products(leaves_of(&p).expect("leaves"), Some(&unknown)).is_err());
    }

    #[test]
    fn create_update_with_a_new_identity_and_the_deletes_that_follow() {
        let mut m = Manager::new(MemoryStore::new());
        let (a, body) = handle(&mut m, &request("Create", None, properties()), &home(), 1);
        assert!(a.success, "{a:?}");
        assert_eq!(
            body["PhysicalResourceId"],
            "333333333333/eu-west-1/pipeline-x"
        );
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(body["RequestId"], "req-1");

        let mut renamed = properties();
        renamed["Pipeline"] = json!("pipeline-y");
        let old = "333333333333/eu-west-1/pipeline-x";
        let (a, _) = handle(&mut m, &request("Update", Some(old), renamed), &home(), 2);
        assert_eq!(a.physical_id, "333333333333/eu-west-1/pipeline-y");
        assert_eq!(m.registrations().expect("regs").len(), 2);
        let (a, _) = handle(
            &mut m,
            &request("Delete", Some(old), properties()),
            &home(),
            3,
        );
        assert_eq!(a.action, "deregistered");
        let keys: Vec<_> = m
            .registrations()
            .expect("regs")
            .iter()
            .map(Registration::key)
            .collect();
        assert_eq!(keys, ["333333333333/eu-west-1/pipeline-y"]);
        // A second Delete, or one of something never registered, succeeds.
        let (a, _) = handle(
            &mut m,
            &request("Delete", Some(old), properties()),
            &home(),
            4,
        );
        assert!(a.success && a.action == "nothing");
    }

    #[test]
    fn a_failed_create_never_answers_with_a_key() {
        let mut m = Manager::new(MemoryStore::new());
        let mut bad = properties();
        bad["Window"] = json!("whenever");
        let (a, body) = handle(&mut m, &request("Create", None, bad.clone()), &home(), 1);
        assert_eq!(body["Status"], "FAILED");
        assert_eq!(a.physical_id, "failed-req-1");
        assert!(
            body["Reason"]
                .as_str()
                .unwrap_or_default()
                .contains("`Window` `whenever`")
        );
        let (a, _) = handle(&mut m, &request("Update", Some("k"), bad), &home(), 1);
        assert_eq!(a.physical_id, "k");
        let (a, _) = handle(
            &mut m,
            &request("Delete", Some("failed-req-1"), json!({})),
            &home(),
            1,
        );
        assert!(a.success);
    }
}
