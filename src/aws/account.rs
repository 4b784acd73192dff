//! An account's dpc resources as deploy uses them: reads the `/dpc/account/…` SSM parameters
//! the `dpc-account` stack writes, lists the account's stacks (status and tags) in one paged
//! call, and uploads files to the artifacts bucket, skipping objects already there with the
//! same SHA-256.

use std::collections::BTreeMap;

use aws_config::SdkConfig;

use super::describe;

/// Where the `dpc-account` stack keeps what pipeline stacks read.
pub const PARAMETER_PATH: &str = "/dpc/account/";
/// Object metadata key holding the object's SHA-256.
const SHA_METADATA: &str = "sha256";

/// The `/dpc/account/…` parameters by their last name (`version`, `artifacts-bucket`, …).
pub async fn parameters(config: &SdkConfig) -> Result<BTreeMap<String, String>, String> {
    let ssm = aws_sdk_ssm::Client::new(config);
    let mut pages = ssm
        .get_parameters_by_path()
        .path(PARAMETER_PATH)
        .recursive(true)
        .into_paginator()
        .send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("cannot read {PARAMETER_PATH}*: {}", describe(&e)))?;
        for p in page.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                let short = name.trim_start_matches(PARAMETER_PATH);
                out.insert(short.to_string(), value.to_string());
            }
        }
    }
    Ok(out)
}

/// A deployed stack as far as deploy needs to know before touching it.
#[derive(Debug, Clone, Default)]
pub struct StackState {
    pub status: String,
    pub tags: BTreeMap<String, String>,
}

/// Every stack of the account and region (deleted ones excluded), by name: one paged call
/// instead of one per stack.
pub async fn stacks(
    cfn: &aws_sdk_cloudformation::Client,
) -> Result<BTreeMap<String, StackState>, String> {
    let mut pages = cfn.describe_stacks().into_paginator().send();
    let mut out = BTreeMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("cannot list stacks: {}", describe(&e)))?;
        for s in page.stacks() {
            let tags = s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            let state = StackState {
                status: s
                    .stack_status()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                tags,
            };
            if let Some(name) = s.stack_name() {
                out.insert(name.to_string(), state);
            }
        }
    }
    Ok(out)
}

/// Puts `bytes` at `key` unless the object there already has this SHA-256.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    sha256: &str,
) -> Result<bool, String> {
    let head = s3.head_object().bucket(bucket).key(key).send().await;
    if let Ok(head) = &head
        && head
            .metadata()
            .and_then(|m| m.get(SHA_METADATA))
            .map(String::as_str)
            == Some(sha256)
    {
        return Ok(false);
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .metadata(SHA_METADATA, sha256)
        .body(bytes.into())
        .send()
        .await
        .map_err(|e| format!("cannot upload s3://{bucket}/{key}: {}", describe(&e)))?;
    Ok(true)
}

/// The https URL CloudFormation reads a template in the bucket from.
pub fn object_url(bucket: &str, region: &str, key: &str) -> String {
    format!("https://{bucket}.s3.{region}.amazonaws.com/{key}")
}
