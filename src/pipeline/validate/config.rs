//! `dpc.yaml` checks: central account, default region, per-account access (role or profile)
//! and compiler limits.

use std::sync::Arc;

use super::{Checked, Checker, Context, parse_and_check_schema, values};
use crate::diag::codes;
use crate::diag::source::SourceFile;
use crate::pipeline::model::{self, AccountAccess, DEFAULT_PATTERN_LENGTH};
use crate::pipeline::raw;
use crate::pipeline::schema::{SchemaName, Target};
use crate::pipeline::yaml::push_token;

pub fn config(file: &Arc<SourceFile>, ctx: &Context) -> Checked<model::Config> {
    let mut diags = Vec::new();
    let Some(doc) = parse_and_check_schema(file, SchemaName::Config, ctx, &mut diags) else {
        return Checked::failed(diags);
    };
    if !diags.is_empty() || doc.value.is_null() {
        let value = doc.value.is_null().then(|| model::Config {
            pattern_length_limit: DEFAULT_PATTERN_LENGTH,
            file: Some(file.path.clone()),
            ..Default::default()
        });
        return Checked {
            value,
            diagnostics: diags,
            document: Some(doc),
        };
    }
    let Ok(raw) = serde_json::from_value::<raw::Config>(doc.value.clone()) else {
        return Checked {
            value: None,
            diagnostics: diags,
            document: Some(doc),
        };
    };
    let mut c = Checker {
        file,
        doc: &doc,
        ctx,
        diags,
    };
    let value = build(&mut c, raw, file);
    let diagnostics = c.diags;
    Checked::done(value, diagnostics, doc)
}

fn build(c: &mut Checker, raw: raw::Config, file: &Arc<SourceFile>) -> Option<model::Config> {
    if let Some(central) = &raw.central {
        values::account(c, "/central/account", &central.account);
        values::region(c, "/central/region", &central.region);
    }
    if let Some(region) = &raw.region {
        values::region(c, "/region", region);
    }
    let mut accounts = std::collections::BTreeMap::new();
    for (id, access) in &raw.accounts {
        let p = push_token("/accounts", id);
        if !values::is_account(id) {
            c.emit(
                &codes::ACCOUNT_INVALID,
                &p,
                Target::Key,
                format!("`{id}` is not a 12-digit AWS account id"),
                Some("quote the id: \"111111111111\":".into()),
            );
            continue;
        }
        match (&access.role_arn, &access.profile) {
            (Some(arn), None) => {
                if role_arn_ok(c, &format!("{p}/roleArn"), id, arn) {
                    accounts.insert(id.clone(), AccountAccess::RoleArn(arn.clone()));
                }
            }
            (None, Some(profile)) => {
                accounts.insert(id.clone(), AccountAccess::Profile(profile.clone()));
            }
            _ => c.emit(&codes::CONFIG_ACCOUNT_ACCESS, &p, Target::Key, format!("account `{id}` needs exactly one of `roleArn` and `profile`"),
                Some("give the role to assume (`roleArn: arn:aws:iam::<id>:role/<name>`) or a named profile".into())),
        }
    }
    let limit = raw
        .limits
        .as_ref()
        .and_then(|l| l.pattern_length)
        .unwrap_or(DEFAULT_PATTERN_LENGTH as i64);
    if limit != 2048 && limit != 4096 {
        c.emit(
            &codes::CONFIG_PATTERN_LIMIT,
            "/limits/patternLength",
            Target::Value,
            format!("patternLength {limit} is not supported"),
            Some(
                "EventBridge allows 2048 characters, or 4096 after a service quota increase".into(),
            ),
        );
    }
    let lineage = raw.lineage.as_ref().and_then(|l| lineage(c, l));
    Some(model::Config {
        lineage,
        central: raw.central.map(|c| model::Central {
            account: c.account,
            region: c.region,
            bus: c.bus.unwrap_or_else(|| "dpc-central".into()),
        }),
        region: raw.region,
        accounts,
        pattern_length_limit: limit as usize,
        file: Some(file.path.clone()),
    })
}

/// `lineage`: `http` needs an http(s) `url` and takes no `path`; `file` takes no `url`.
fn lineage(c: &mut Checker, l: &raw::Lineage) -> Option<model::Lineage> {
    let mut wrong = |pointer: &str, message: String, hint: &str| {
        c.emit(
            &codes::CONFIG_LINEAGE,
            pointer,
            Target::Value,
            message,
            Some(hint.into()),
        );
        None
    };
    match (l.transport, &l.path, &l.url) {
        (raw::LineageTransport::File, path, None) => {
            Some(model::Lineage::File(path.as_ref().map(Into::into)))
        }
        (raw::LineageTransport::File, _, Some(_)) => wrong(
            "/lineage/url",
            "`url` is for `transport: http`".into(),
            "remove `url`, or set `transport: http` to post the events there",
        ),
        (raw::LineageTransport::Http, Some(_), _) => wrong(
            "/lineage/path",
            "`path` is for `transport: file`".into(),
            "remove `path`, or set `transport: file`",
        ),
        (raw::LineageTransport::Http, None, None) => wrong(
            "/lineage/transport",
            "`transport: http` needs a `url`".into(),
            "e.g. `url: http://marquez:5000/api/v1/lineage`",
        ),
        (raw::LineageTransport::Http, None, Some(url)) => {
            if url.starts_with("http://") || url.starts_with("https://") {
                Some(model::Lineage::Http(url.clone()))
            } else {
                wrong(
                    "/lineage/url",
                    format!("`{url}` is not an http or https URL"),
                    "e.g. `url: https://datahub.example.com/openapi/openlineage/api/v1/lineage`",
                )
            }
        }
    }
}

fn role_arn_ok(c: &mut Checker, pointer: &str, account: &str, arn: &str) -> bool {
    let expected = format!("arn:aws:iam::{account}:role/");
    let partition_ok = ["arn:aws:", "arn:aws-cn:", "arn:aws-us-gov:"]
        .iter()
        .any(|p| arn.starts_with(p));
    let ok = partition_ok
        && arn.split(':').nth(4) == Some(account)
        && arn.contains(":role/")
        && arn.rsplit('/').next().is_some_and(|n| !n.is_empty());
    if !ok {
        c.emit(
            &codes::CONFIG_INVALID_ROLE_ARN,
            pointer,
            Target::Value,
            format!("`{arn}` is not an IAM role ARN in account {account}"),
            Some(format!("e.g. `{expected}dpc-deploy`")),
        );
    }
    ok
}
