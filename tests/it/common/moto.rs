//! A moto server (PyPI `moto[server]`, installed by `.ci/run`) on 127.0.0.1 with a free port,
//! started for one test and stopped by its own PID when dropped. No hand-written SDK stubs.
//! (A dpc wired to it: `Moto::dpc`, next to the runner in `common/mod.rs`; the deploy bench
//! includes this file on its own.)
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
    /// Keeps the SDK and dpc away from the developer's own AWS config.
    pub home: tempfile::TempDir,
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("moto_server could not be started ({e}): install it with `pip install 'moto[server]'` (.ci/run does)"));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            home: tempfile::tempdir().expect("home"),
        }
    }

    /// The environment a dpc process or SDK client needs to talk to this server only.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "eu-west-1".into()),
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("HOME", self.home.path().display().to_string()),
        ]
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }
}

impl Moto {
    /// The configuration for `account`, reached the way dpc reaches it: STS AssumeRole (moto
    /// puts the assumed role's calls in the role's account).
    pub async fn sdk_as(&self, account: &str) -> aws_config::SdkConfig {
        let arn = format!("arn:aws:iam::{account}:role/dpc-test");
        dpc::aws::assume_role(self.sdk().await, &arn, "dpc-test").await
    }
}

/// The value of an SSM parameter the `dpc-account` stack writes.
pub async fn parameter(config: &aws_config::SdkConfig, name: &str) -> String {
    let out = aws_sdk_ssm::Client::new(config)
        .get_parameter()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("parameter {name}: {e}"));
    out.parameter()
        .and_then(|p| p.value())
        .unwrap_or_default()
        .to_string()
}

/// The template a stack was deployed with.
pub async fn template_body(config: &aws_config::SdkConfig, stack: &str) -> String {
    let out = aws_sdk_cloudformation::Client::new(config)
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .unwrap_or_else(|e| panic!("template of {stack}: {e}"));
    out.template_body().unwrap_or_default().to_string()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
