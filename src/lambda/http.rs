//! A small HTTP(S) client for the requests the functions make outside the AWS SDK: the
//! CloudFormation response (`PUT` to a pre-signed S3 `ResponseURL`), an init error to the
//! Lambda Runtime API and the Slack Web API. Built on the hyper, hyper-util and hyper-rustls (native roots) that the
//! AWS SDK already links, so it adds no code of its own to the binary.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Sends `body` with `method` to `url` (http or https); the status and the response text.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, String), String> {
    exchange(method, url, headers, body)
        .await
        .map(|r| (r.status, r.text))
}

/// An answer: its status, the `Retry-After` header (seconds, when given) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub text: String,
}

/// [`send`] with the answer's `Retry-After`.
pub async fn exchange(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<Answer, String> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-length", body.len());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("bad request to {}: {e}", redact(url)))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{method} {}: {}", redact(url), crate::aws::describe(&e)))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let text = response
            .into_body()
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        Ok(Answer {
            status,
            retry_after,
            text,
        })
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{method} {}: no answer in {TIMEOUT:?}", redact(url)))?
}

/// The URL without its query (a pre-signed URL's signature is a credential: never logged).
pub fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
