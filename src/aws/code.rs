//! The central functions' code in AWS: finds the `dpc-central` stack's artifacts bucket (its
//! resource, once created) and uploads the packaged `bootstrap` zip to it under its
//! content-addressed key, skipping the upload when the key is already there.

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
        .filter(|r| {
            r.resource_status()
                .is_some_and(|s| matches!(s.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE"))
        })
        .find_map(|r| r.physical_resource_id().map(str::to_string)))
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
