//! The AWS edge: SDK configuration from the standard credential chain plus `--profile`,
//! `--region` and `--endpoint-url` (also `AWS_ENDPOINT_URL`), and the CloudFormation deployer.

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub mod cloudformation;

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
    loader.load().await
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
