//! The AWS edge: SDK configuration from the standard credential chain plus `--profile`,
//! `--region` and `--endpoint-url` (also `AWS_ENDPOINT_URL`), per-account credentials (a role
//! to assume or a profile, from dpc.yaml), the CloudFormation deployer and the account's
//! dpc resources (SSM parameters, artifacts bucket), the central functions' code.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::deploy::target::Access;

pub mod account;
pub mod cloudformation;
pub mod code;

/// Where and as whom to call AWS.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Loads the SDK configuration.
pub async fn config(options: &Options) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    // Many stacks deploy at once: ride out CloudFormation's throttling with backoff.
    let retry = RetryConfig::standard()
        .with_max_attempts(10)
        .with_max_backoff(Duration::from_secs(20));
    loader.retry_config(retry).load().await
}

/// The configuration for one account and region, reached as `access` says.
pub async fn config_for(options: &Options, access: &Access, region: Option<&str>) -> SdkConfig {
    let mut options = options.clone();
    if let Some(region) = region {
        options.region = Some(region.to_string());
    }
    match access {
        Access::Caller => config(&options).await,
        Access::Profile(profile) => {
            options.profile = Some(profile.clone());
            config(&options).await
        }
        Access::AssumeRole(arn) => assume_role(config(&options).await, arn, "dpc-deploy").await,
    }
}

/// `base` with the credentials of role `arn`, assumed through STS (and refreshed by the SDK).
pub async fn assume_role(base: SdkConfig, arn: &str, session: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(arn)
        .session_name(session)
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}

/// Reaches `account` in `region` as `access` says, and checks that credentials other than the
/// caller's really are for that account (a wrong role or profile in dpc.yaml).
pub async fn reach(
    options: &Options,
    account: &str,
    region: Option<&str>,
    access: &Access,
) -> Result<SdkConfig, String> {
    let config = config_for(options, access, region).await;
    if *access != Access::Caller {
        let actual = caller_account(&config)
            .await
            .map_err(|e| format!("account {account} via {}: {e}", access.describe()))?;
        if actual != account {
            return Err(format!(
                "{} gives credentials for account {actual}, not {account}: fix `accounts` in dpc.yaml",
                access.describe()
            ));
        }
    }
    Ok(config)
}

/// An S3 client; path-style addressing when an endpoint is given (emulators have no
/// per-bucket host names).
pub fn s3(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder =
        aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// The account of the credentials in `config`.
pub async fn caller_account(config: &SdkConfig) -> Result<String, String> {
    let sts = aws_sdk_sts::Client::new(config);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| format!("cannot identify the caller: {}", describe(&e)))?;
    identity
        .account()
        .map(str::to_string)
        .ok_or_else(|| "STS returned no account".to_string())
}

/// An SDK error with its service message, for people.
pub fn describe<E: std::error::Error>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// The value of one SSM parameter.
pub async fn parameter(config: &SdkConfig, name: &str) -> Result<String, String> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let found = ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    found
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .ok_or_else(|| format!("{name} has no value"))
}
