//! The central functions' code in AWS: finds the `dpc-central` stack's artifacts bucket (its
//! resource, once created) and the code its functions run now (its parameters), and uploads the
//! packaged `bootstrap` zip to the bucket under its content-addressed key, skipping the upload
//! when the key is already there.

use aws_sdk_cloudformation::Client as Cfn;

use super::describe;

/// What happened to the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    Uploaded,
    /// The key (the zip's SHA-256) was there already.
    Unchanged,
}

impl Upload {
    pub fn as_str(self) -> &'static str {
        match self {
            Upload::Uploaded => "uploaded",
            Upload::Unchanged => "unchanged",
        }
    }
}

/// The name of the stack's bucket `logical_id`, once the stack has created it (`None`: no
/// such stack, or not that resource yet).
pub async fn stack_bucket(
    cfn: &Cfn,
    stack: &str,
    logical_id: &str,
) -> Result<Option<String>, String> {
    let out = match cfn
        .describe_stack_resources()
        .stack_name(stack)
        .logical_resource_id(logical_id)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if describe(&e).contains("does not exist") => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read the resources of {stack}: {}",
                describe(&e)
            ));
        }
    };
    Ok(out
        .stack_resources()
        .iter()
        .filter(|r| r.logical_resource_id() == Some(logical_id))
        .filter(|r| r.resource_status().is_some_and(|s| exists(s.as_str())))
        .find_map(|r| r.physical_resource_id().map(str::to_string)))
}

/// Whether a resource in this status exists (was created and is not being deleted).
fn exists(status: &str) -> bool {
    !(status.starts_with("DELETE_")
        || status.starts_with("ROLLBACK_")
        || matches!(status, "CREATE_IN_PROGRESS" | "CREATE_FAILED"))
}

/// The values of the stack's parameters `names` (empty when the stack or a parameter is
/// missing): what a deployment keeps when it is not changing them.
pub async fn stack_parameters(
    cfn: &Cfn,
    stack: &str,
    names: &[&str],
) -> Result<Vec<String>, String> {
    let out = match cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        Err(e) if describe(&e).contains("does not exist") => {
            return Ok(vec![String::new(); names.len()]);
        }
        Err(e) => return Err(format!("cannot read {stack}: {}", describe(&e))),
    };
    let parameters = out
        .stacks()
        .first()
        .map(|s| s.parameters())
        .unwrap_or_default();
    Ok(names
        .iter()
        .map(|name| {
            parameters
                .iter()
                .find(|p| p.parameter_key() == Some(name))
                .and_then(|p| p.parameter_value())
                .unwrap_or_default()
                .to_string()
        })
        .collect())
}

/// Puts `zip` at `key` unless that key exists: keys name the content, so an existing one
/// holds these bytes.
pub async fn upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    zip: Vec<u8>,
) -> Result<Upload, String> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => return Ok(Upload::Unchanged),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(e) => return Err(format!("cannot read s3://{bucket}/{key}: {}", describe(&e))),
    }
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/zip")
        .body(zip.into())
        .send()
        .await
        .map_err(|e| format!("cannot upload s3://{bucket}/{key}: {}", describe(&e)))?;
    Ok(Upload::Uploaded)
}
