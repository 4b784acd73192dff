//! `dpc publish --domain D --name N [--account A] [--attribute K=V]... [PATH...]`: emits a
//! data product refresh event for an external producer, checked against the
//! refresh-event schema first. Locally it goes to the local environment's central bus: the
//! manager on the store `dpc local run` left decides, and the pipelines it triggers run (as
//! `dpc rerun` plays them); with `--central` it is put on the central bus of dpc.yaml's
//! central account (EventBridge PutEvents, the entry's error checked).

use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use super::rerun::{Local, print_plan};
use super::setup_user_account::load_config;
use super::status::DEFAULT_STORE;
use super::term::{aws_options, runtime};
use super::validate::validated;
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, outln};
use crate::events::{self, DataProductRefresh, Envelope, RefreshEvent};
use crate::local::world;
use crate::manager::registry::{LOCAL_ACCOUNT, LOCAL_REGION};
use crate::manager::time::{Millis, format_time};
use crate::manager::whatif::Origin;
use crate::pipeline::schema::{SchemaName, check};

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The data product's domain.
    #[arg(long)]
    pub domain: String,
    /// The data product's name.
    #[arg(long)]
    pub name: String,
    /// The producing account (12 digits; default: locally 000000000000, on AWS the caller's).
    #[arg(long)]
    pub account: Option<String>,
    /// A free-form attribute of the refresh (partition, row count, …); repeatable.
    #[arg(long = "attribute", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// Put it on the central bus of dpc.yaml's central account instead of the local one.
    #[arg(long)]
    pub central: bool,
    /// Where to look for dpc.yaml with --central (this folder or above).
    #[arg(long, default_value = ".")]
    pub config_dir: PathBuf,
    /// Project folders, pipeline.yaml files, or trees of projects to play locally (default:
    /// those `dpc local run` played with the store; else the current folder).
    pub paths: Vec<PathBuf>,
    /// The embedded store `dpc local run` left.
    #[arg(long, env = "DPC_STORE", default_value = DEFAULT_STORE)]
    pub store: PathBuf,
    /// Where step logs go (local).
    #[arg(long, value_name = "DIR", default_value = ".dpc/logs")]
    pub logs: PathBuf,
}

pub fn run(args: &PublishArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let attributes = attributes(&args.attributes)?;
    if args.central {
        return central(args, attributes, global);
    }
    let tree = validated(&super::rerun::projects(&args.store, &args.paths), global)?;
    let pipelines = world::build(&tree).map_err(Error::failed)?;
    let mut local = Local::open(&args.store, &pipelines)?;
    let account = args.account.clone().unwrap_or_else(|| LOCAL_ACCOUNT.into());
    let event = refresh_event(args, &account, LOCAL_REGION, attributes, local.at)?;
    let origin = Origin::Refresh {
        domain: args.domain.clone(),
        name: args.name.clone(),
        account: account.clone(),
    };
    let plan = local.plan(&origin)?;
    let what = format!("{}/{} is refreshed", args.domain, args.name);
    print_plan(&plan, &what, local.at, global)?;
    local.play(&tree, &pipelines, &args.logs, global, |runtime, at| {
        runtime.inject(at, event);
        Ok(())
    })
}

/// `--attribute K=V`, each key once.
fn attributes(pairs: &[String]) -> Result<Option<Map<String, Value>>, Error> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut map = Map::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(
                Error::usage(format!("--attribute `{pair}` is not KEY=VALUE"))
                    .hint("e.g. --attribute partition=2026-11-26"),
            );
        };
        if map
            .insert(key.to_string(), Value::String(value.to_string()))
            .is_some()
        {
            return Err(Error::usage(format!("--attribute `{key}` is given twice")));
        }
    }
    Ok(Some(map))
}

/// The refresh event, checked against the refresh-event schema and the contract's rules.
fn refresh_event(
    args: &PublishArgs,
    account: &str,
    region: &str,
    attributes: Option<Map<String, Value>>,
    at: Millis,
) -> Result<Value, Error> {
    for (flag, value) in [("--domain", &args.domain), ("--name", &args.name)] {
        if value.trim().is_empty() {
            return Err(Error::usage(format!("{flag} is empty")));
        }
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::usage(format!(
            "--account `{account}` is not an AWS account id (12 digits)"
        )));
    }
    let time = format_time(at);
    let detail = DataProductRefresh {
        domain: args.domain.clone(),
        name: args.name.clone(),
        account: account.to_string(),
        refreshed_at: time.clone(),
        producer: None,
        attributes,
    };
    let id = format!(
        "publish-{}-{}-{account}-{}",
        args.domain,
        args.name,
        time.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    );
    let event: RefreshEvent = Envelope {
        id: Some(id),
        source: events::REFRESH_SOURCE.into(),
        detail_type: events::REFRESH_DETAIL_TYPE.into(),
        account: account.to_string(),
        region: region.to_string(),
        time: Some(time),
        resources: Vec::new(),
        detail,
    };
    let value = serde_json::to_value(&event)
        .map_err(|e| Error::usage(format!("internal error: the refresh event: {e}")))?;
    let findings = check(SchemaName::RefreshEvent, &value);
    if let Some(f) = findings.first() {
        return Err(Error::usage(format!(
            "the refresh event does not fit the refresh-event schema at `{}`: {}",
            f.pointer, f.message
        ))
        .hint("`dpc schema refresh-event` prints the contract"));
    }
    Ok(value)
}

/// `--central`: PutEvents on the central bus, as the central account's credentials allow.
fn central(
    args: &PublishArgs,
    attributes: Option<Map<String, Value>>,
    global: &GlobalArgs,
) -> Result<ExitStatus, Error> {
    let config = load_config(&args.config_dir)?.unwrap_or_default();
    let (central, access) = super::central::central_of(
        &config,
        "add `central: {account: ID, region: REGION}` to dpc.yaml, or leave out --central to publish locally",
    )?;
    let options = aws_options(global);
    let runtime = runtime()?;
    let now = chrono::Utc::now().timestamp_millis();
    let event_id = runtime.block_on(async {
        let account = match &args.account {
            Some(a) => a.clone(),
            None => {
                let base = crate::aws::config(&options).await;
                crate::aws::caller_account(&base)
                    .await
                    .map_err(Error::failed)?
            }
        };
        let event = refresh_event(args, &account, &central.region, attributes, now)?;
        let sdk = crate::aws::reach(&options, &central.account, Some(&central.region), &access)
            .await
            .map_err(Error::failed)?;
        put(&sdk, &central, &event).await
    })?;
    match global.output {
        OutputFormat::Json => outln(&json!({"eventId": event_id}).to_string())?,
        OutputFormat::Human => outln(&event_id)?,
    }
    if !global.quiet {
        eprintln!(
            "published {}/{} on the central bus {} of account {}",
            args.domain, args.name, central.bus, central.account
        );
    }
    Ok(ExitStatus::Success)
}

async fn put(
    sdk: &aws_config::SdkConfig,
    central: &crate::pipeline::model::Central,
    event: &Value,
) -> Result<String, Error> {
    let bus = format!(
        "arn:aws:events:{}:{}:event-bus/{}",
        central.region, central.account, central.bus
    );
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(&bus)
        .source(events::REFRESH_SOURCE)
        .detail_type(events::REFRESH_DETAIL_TYPE)
        .detail(event["detail"].to_string())
        .build();
    let answer = aws_sdk_eventbridge::Client::new(sdk)
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| Error::failed(format!("PutEvents on {bus}: {}", crate::aws::describe(&e))))?;
    let Some(first) = answer.entries().first() else {
        return Err(Error::failed(format!(
            "PutEvents on {bus} answered no entry"
        )));
    };
    if let Some(code) = first.error_code() {
        return Err(Error::failed(format!(
            "PutEvents on {bus} refused the event: {code}: {}",
            first.error_message().unwrap_or_default()
        )));
    }
    Ok(first.event_id().unwrap_or_default().to_string())
}
