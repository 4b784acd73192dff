//! Where each pipeline stack goes and as whom. Reads the pipelines' `account` and `region`, the
//! caller's account and `dpc.yaml`'s `accounts`, and produces per account the credentials to
//! use (the caller's, a role to assume, a profile) or why its pipelines are refused; also
//! judges an account's `dpc-account` version, and whether a deployed stack is already what
//! would be deployed. Pure: the caller's identity and what AWS holds are given.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::account_stack::VERSION;
use crate::compile::names;
use crate::pipeline::model::AccountAccess;

/// Stack tag holding the hash of what was deployed (manifest plus account parameters).
pub const HASH_TAG: &str = "dpc:hash";

/// How to reach one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The credentials dpc was started with.
    Caller,
    AssumeRole(String),
    Profile(String),
}

impl Access {
    /// How the account is reached, for people: `role arn:…`, `profile p`.
    pub fn describe(&self) -> String {
        match self {
            Access::Caller => "the caller's credentials".to_string(),
            Access::AssumeRole(arn) => format!("role {arn}"),
            Access::Profile(p) => format!("profile {p}"),
        }
    }
}

/// The credentials for `account`: dpc.yaml's entry if it has one, else the caller's when the
/// caller is in that account, else a refusal that says how to fix it.
pub fn access(
    account: &str,
    caller: &str,
    accounts: &BTreeMap<String, AccountAccess>,
) -> Result<Access, String> {
    match accounts.get(account) {
        Some(AccountAccess::RoleArn(arn)) => Ok(Access::AssumeRole(arn.clone())),
        Some(AccountAccess::Profile(profile)) => Ok(Access::Profile(profile.clone())),
        None if account == caller => Ok(Access::Caller),
        None => Err(format!(
            "the credentials are for account {caller}, not {account}: add `accounts: {{\"{account}\": {{roleArn: arn:aws:iam::{account}:role/<deploy-role>}}}}` (or `profile: <name>`) to dpc.yaml, or run with credentials for {account} (e.g. --profile)"
        )),
    }
}

/// Whether an account's `dpc-account` stack (its `/dpc/account/version`) allows deploying;
/// the error says what to run.
pub fn account_ready(account: &str, region: &str, version: Option<&str>) -> Result<(), String> {
    let setup = format!("dpc setup-user-account --account {account} --region {region}");
    let Some(text) = version else {
        return Err(format!(
            "account {account} has no dpc-account stack in {region}: run `{setup}` first"
        ));
    };
    match text.trim().parse::<u32>() {
        Ok(v) if v == VERSION => Ok(()),
        Ok(v) if v < VERSION => Err(format!(
            "the dpc-account stack of account {account} in {region} is version {v}, this dpc needs {VERSION}: run `{setup}` to update it"
        )),
        Ok(v) => Err(format!(
            "the dpc-account stack of account {account} in {region} is version {v}, newer than this dpc understands ({VERSION}): upgrade dpc"
        )),
        Err(_) => Err(format!(
            "account {account} in {region}: /dpc/account/version holds {text:?}, not a version: run `{setup}`"
        )),
    }
}

/// Whether a stack in `status` carrying `deployed` (its hash tag) already is `wanted`, so no
/// change set is needed. Only settled, successful stacks count: after a rollback the tags are
/// the old ones, and an operation in progress must be looked at by the status decision.
pub fn unchanged(status: Option<&str>, deployed: Option<&str>, wanted: &str) -> bool {
    matches!(
        status,
        Some("CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE")
    ) && deployed == Some(wanted)
}

/// Values for the template's parameters that have no default, from the account's
/// `/dpc/account/…` parameters (the central bus, when dpc.yaml does not name it).
pub fn stack_parameters(
    template: &Value,
    account: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    let Some(declared) = template.get("Parameters").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let bus = || {
        account.get("central-event-bus-arn").ok_or_else(|| {
            "the account has no /dpc/account/central-event-bus-arn: set `central` in dpc.yaml, or run `dpc setup-user-account` with the central account".to_string()
        })
    };
    let mut out = Vec::new();
    for (name, spec) in declared {
        if spec.get("Default").is_some() {
            continue;
        }
        let value = match name.as_str() {
            "CentralEventBusArn" => bus()?.clone(),
            "CentralAccountId" => bus()?
                .split(':')
                .nth(4)
                .filter(|a| a.len() == 12)
                .ok_or("/dpc/account/central-event-bus-arn is not an event bus ARN")?
                .to_string(),
            other => return Err(format!("no value for the template parameter {other}")),
        };
        out.push((name.clone(), value));
    }
    Ok(out)
}

/// The hash a deployment is known by: what was compiled (the manifest's hash) and every value
/// CloudFormation resolves at deploy time (the account's parameters, the stack parameters), so
/// a changed bucket or central bus is deployed even when the pipeline is not.
pub fn deployment_hash(
    manifest_hash: &str,
    account: &BTreeMap<String, String>,
    parameters: &[(String, String)],
) -> String {
    let mut all = Sha256::new();
    all.update(manifest_hash.as_bytes());
    for (key, value) in account.iter().chain(parameters.iter().map(|(k, v)| (k, v))) {
        all.update(format!("\n{key}\0{value}").as_bytes());
    }
    names::hex(&all.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> BTreeMap<String, AccountAccess> {
        BTreeMap::from([
            (
                "111111111111".to_string(),
                AccountAccess::RoleArn("arn:aws:iam::111111111111:role/d".into()),
            ),
            (
                "222222222222".to_string(),
                AccountAccess::Profile("two".into()),
            ),
        ])
    }

    #[test]
    fn dpc_yaml_access_wins_then_the_caller_then_a_refusal_with_the_fix() {
        let a = accounts();
        assert_eq!(
            access("111111111111", "111111111111", &a),
            Ok(Access::AssumeRole(
                "arn:aws:iam::111111111111:role/d".into()
            ))
        );
        assert_eq!(
            access("222222222222", "999999999999", &a),
            Ok(Access::Profile("two".into()))
        );
        assert_eq!(
            access("333333333333", "333333333333", &a),
            Ok(Access::Caller)
        );
        let refusal = access("333333333333", "999999999999", &a).unwrap_err();
        assert!(refusal.contains("not 333333333333"), "{refusal}");
        assert!(refusal.contains("roleArn"), "{refusal}");
        assert!(refusal.contains("--profile"), "{refusal}");
    }

    #[test]
    fn parameters_without_defaults_come_from_the_central_bus_arn() {
        let template = serde_json::json!({"Parameters": {
            "ArtifactsBucket": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/dpc/account/artifacts-bucket"},
            "CentralAccountId": {"Type": "String"},
            "CentralEventBusArn": {"Type": "String"},
        }});
        let account = BTreeMap::from([(
            "central-event-bus-arn".to_string(),
            "arn:aws:events:eu-west-1:999999999999:event-bus/dpc-central".to_string(),
        )]);
        assert_eq!(
            stack_parameters(&template, &account),
            Ok(vec![
                ("CentralAccountId".into(), "999999999999".into()),
                (
                    "CentralEventBusArn".into(),
                    "arn:aws:events:eu-west-1:999999999999:event-bus/dpc-central".into()
                ),
            ])
        );
        let missing = stack_parameters(&template, &BTreeMap::new()).unwrap_err();
        assert!(missing.contains("setup-user-account"), "{missing}");
        let none = serde_json::json!({"Parameters": {"X": {"Default": "1"}}});
        assert_eq!(stack_parameters(&none, &BTreeMap::new()), Ok(vec![]));
    }

    #[test]
    fn the_deployment_hash_covers_what_cloudformation_resolves() {
        let a = BTreeMap::from([("artifacts-bucket".to_string(), "b1".to_string())]);
        let b = BTreeMap::from([("artifacts-bucket".to_string(), "b2".to_string())]);
        let p = vec![("CentralAccountId".to_string(), "1".to_string())];
        let base = deployment_hash("m", &a, &p);
        assert_eq!(base, deployment_hash("m", &a, &p));
        assert_ne!(base, deployment_hash("n", &a, &p));
        assert_ne!(base, deployment_hash("m", &b, &p));
        assert_ne!(base, deployment_hash("m", &a, &[]));
    }

    #[test]
    fn the_account_stack_must_be_this_version() {
        let ok = VERSION.to_string();
        assert_eq!(account_ready("1", "eu-west-1", Some(&ok)), Ok(()));
        let missing = account_ready("1", "eu-west-1", None).unwrap_err();
        assert!(missing.contains("dpc setup-user-account --account 1 --region eu-west-1"));
        let old = account_ready("1", "eu-west-1", Some("0")).unwrap_err();
        assert!(
            old.contains("version 0") && old.contains("to update it"),
            "{old}"
        );
        let newer = (VERSION + 1).to_string();
        let new = account_ready("1", "eu-west-1", Some(&newer)).unwrap_err();
        assert!(new.contains("upgrade dpc"), "{new}");
        let junk = account_ready("1", "eu-west-1", Some("v1")).unwrap_err();
        assert!(junk.contains("not a version"), "{junk}");
    }

    #[test]
    fn only_a_settled_stack_with_the_same_hash_is_unchanged() {
        assert!(unchanged(Some("CREATE_COMPLETE"), Some("h"), "h"));
        assert!(unchanged(Some("UPDATE_COMPLETE"), Some("h"), "h"));
        assert!(!unchanged(Some("UPDATE_COMPLETE"), Some("g"), "h"));
        assert!(!unchanged(Some("UPDATE_COMPLETE"), None, "h"));
        assert!(!unchanged(None, None, "h"));
        for status in [
            "UPDATE_ROLLBACK_COMPLETE",
            "ROLLBACK_COMPLETE",
            "UPDATE_IN_PROGRESS",
            "REVIEW_IN_PROGRESS",
            "UPDATE_ROLLBACK_FAILED",
        ] {
            assert!(!unchanged(Some(status), Some("h"), "h"), "{status}");
        }
    }
}
