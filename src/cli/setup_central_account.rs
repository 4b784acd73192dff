//! `dpc setup-central-account`: deploys (or prints) the versioned central stack `dpc-central`
//! in the central account of dpc.yaml (or the credentials' account), for the consumer accounts
//! of dpc.yaml's `accounts` and `--account`. Adding an account is a re-run. The functions run
//! this executable (or `--bootstrap`), checked and zipped by `deploy::package` and uploaded to
//! the stack's own artifacts bucket, so the first run deploys twice: the stack (and bucket)
//! without functions, then with their code.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Value, json};

use super::setup_user_account::{
    ChangeSetArgs, Targets, announce, deploy, load_config, reach_each, request,
};
use super::term::{Term, print_reports, runtime};
use super::{Error, ExitStatus, GlobalArgs, OutputFormat, out};
use crate::aws::{
    self,
    cloudformation::{DeployOptions, Deployer, Progress, Report, StackResult},
    code::{self, Upload},
};
use crate::compile::to_pretty;
use crate::deploy::central_stack::{self as central, Consumer, Spec};
use crate::deploy::package::{self, Package, PackageError};
use crate::pipeline::model::Config;

#[derive(Debug, Args)]
pub struct SetupCentralAccountArgs {
    /// A consumer or producer account whose events the central bus takes and whose
    /// `dpc-pipelines` bus gets its triggers (repeatable; added to dpc.yaml's `accounts`).
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// An AWS Organizations id (`o-…`): every account of it may put events on the central bus.
    #[arg(long, value_name = "O")]
    pub org_id: Option<String>,
    /// Print the template instead of deploying it.
    #[arg(long)]
    pub print_template: bool,
    /// The executable the functions run as `bootstrap` (default: this dpc). It must be an
    /// x86_64 Linux executable needing glibc 2.34 at most (see README for the release build).
    #[arg(long, value_name = "PATH", conflicts_with = "no_functions")]
    pub bootstrap: Option<PathBuf>,
    /// Deploy the stack without the manager, reconciler and registration functions (removing
    /// them if they were deployed); nothing is packaged or uploaded.
    #[arg(long)]
    pub no_functions: bool,
    /// The Secrets Manager secret (ARN) holding the Slack bot token: the dpc-notifier function
    /// then also posts each run's thread to its pipeline's Slack channels. Later runs without
    /// it keep the deployed stack's secret.
    #[arg(long, value_name = "ARN")]
    pub slack_token_secret: Option<String>,
    /// Turn Slack off: forget the deployed stack's token secret (email and OpsGenie stay).
    #[arg(long, conflicts_with = "slack_token_secret")]
    pub no_slack: bool,
    /// Deploy the dpc-lineage function, posting every run's OpenLineage events to this http(s)
    /// endpoint (e.g. Marquez's `…/api/v1/lineage`); default: dpc.yaml's `lineage.url` with
    /// `transport: http`. Later runs without either keep the deployed stack's endpoint.
    #[arg(long, value_name = "URL")]
    pub lineage_url: Option<String>,
    /// Turn lineage off: forget the deployed stack's endpoint (the dpc-lineage function's
    /// queue and rule are removed; nothing feeds it).
    #[arg(long, conflicts_with = "lineage_url")]
    pub no_lineage: bool,
    /// Where to look for dpc.yaml (this folder or above).
    #[arg(long, default_value = ".")]
    pub config_dir: PathBuf,
    #[command(flatten)]
    pub change_set: ChangeSetArgs,
}

/// The stack parameters a run sets or keeps: the Slack token secret and the lineage endpoint
/// (empty: off). Given as `Option`s (`None`: keep the deployed stack's), deployed as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Settings<T> {
    slack: T,
    lineage: T,
}

/// The parameters of [`Settings`], in the order [`Settings::keep`] reads them.
const KEPT: [&str; 2] = [
    central::SLACK_SECRET_PARAMETER,
    central::LINEAGE_URL_PARAMETER,
];

impl Settings<Option<String>> {
    /// `--slack-token-secret` / `--no-slack`; `--lineage-url`, else dpc.yaml's http lineage
    /// endpoint, / `--no-lineage`.
    fn given(args: &SetupCentralAccountArgs, config: &Config) -> Result<Self, Error> {
        if let Some(slack) = &args.slack_token_secret
            && !(slack.starts_with("arn:") && slack.contains(":secretsmanager:"))
        {
            return Err(Error::usage(format!(
                "--slack-token-secret {slack}: not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
            )));
        }
        let slack = match (&args.slack_token_secret, args.no_slack) {
            (Some(arn), _) => Some(arn.clone()),
            (None, true) => Some(String::new()),
            (None, false) => None,
        };
        let lineage = match (&args.lineage_url, &config.lineage) {
            _ if args.no_lineage => Some(String::new()),
            (Some(url), _) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(
                    Error::usage(format!("--lineage-url {url}: not an http or https URL"))
                        .hint("e.g. --lineage-url https://marquez.example.com/api/v1/lineage"),
                );
            }
            (Some(url), _) => Some(url.clone()),
            (None, Some(crate::pipeline::model::Lineage::Http(url))) => Some(url.clone()),
            (None, _) => None,
        };
        Ok(Settings { slack, lineage })
    }

    /// Whether every value is given (nothing to read from the deployed stack).
    fn complete(&self) -> bool {
        self.slack.is_some() && self.lineage.is_some()
    }

    /// The values given, else the `deployed` ones (in [`KEPT`]'s order), and a line for each
    /// deployed one kept on.
    fn keep(self, deployed: &[String]) -> (Settings<String>, Vec<String>) {
        let stack = central::STACK_NAME;
        let mut said = Vec::new();
        let mut pick = |given: Option<String>, index: usize, say: &dyn Fn(&str) -> String| {
            given.unwrap_or_else(|| {
                let kept = deployed.get(index).cloned().unwrap_or_default();
                if !kept.is_empty() {
                    said.push(say(&kept));
                }
                kept
            })
        };
        let slack = pick(self.slack, 0, &|arn| {
            format!(
                "{stack}: Slack stays on with the deployed token secret {arn} (--no-slack turns it off)"
            )
        });
        let lineage = pick(self.lineage, 1, &|url| {
            format!(
                "{stack}: lineage stays on, posting to the deployed endpoint {} (--no-lineage turns it off)",
                crate::lambda::http::redact(url)
            )
        });
        (Settings { slack, lineage }, said)
    }
}

fn is_account(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

fn is_org_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The template's input: dpc.yaml's accounts and `--account`, the central bus, `--org-id`.
fn spec(args: &SetupCentralAccountArgs, config: &Config) -> Result<Spec, Error> {
    if let Some(bad) = args.accounts.iter().find(|a| !is_account(a)) {
        return Err(Error::usage(format!(
            "`{bad}` is not an AWS account id (12 digits)"
        )));
    }
    if let Some(org) = args.org_id.as_deref().filter(|o| !is_org_id(o)) {
        return Err(
            Error::usage(format!("`{org}` is not an AWS Organizations id")).hint(
                "pass the id `aws organizations describe-organization` shows, like `o-a1b2c3d4e5`",
            ),
        );
    }
    let consumers: Vec<Consumer> = config
        .accounts
        .keys()
        .chain(&args.accounts)
        .map(|account| Consumer {
            account: account.clone(),
            region: config.region.clone(),
        })
        .collect();
    if consumers.is_empty() {
        return Err(Error::usage("no consumer account is known").hint(
            "list the accounts under `accounts` in dpc.yaml, or pass --account ID (repeatable)",
        ));
    }
    Ok(Spec {
        bus: config
            .central
            .as_ref()
            .map_or_else(|| central::BUS.to_string(), |c| c.bus.clone()),
        consumers,
        org_id: args.org_id.clone(),
    })
}

pub fn run(args: &SetupCentralAccountArgs, global: &GlobalArgs) -> Result<ExitStatus, Error> {
    let config = load_config(&args.config_dir)?.unwrap_or_default();
    let given = Settings::given(args, &config)?;
    let template = central::template(&spec(args, &config)?);
    if args.print_template {
        out(&to_pretty(&template))?;
        return Ok(ExitStatus::Success);
    }
    let options = args.change_set.options()?;
    // Checked before any AWS call: a bootstrap Lambda cannot run deploys nothing.
    let package = if args.no_functions {
        None
    } else {
        Some(read_package(args.bootstrap.as_deref())?)
    };
    // The central account of dpc.yaml, reached as its `accounts` entry says; else the caller's.
    let accounts: Vec<String> = config.central.iter().map(|c| c.account.clone()).collect();
    let region = config
        .central
        .as_ref()
        .map(|c| c.region.clone())
        .or_else(|| global.region.clone())
        .or_else(|| config.region.clone());
    let targets = Targets {
        accounts: &accounts,
        access: &config.accounts,
        region: region.as_deref(),
    };
    let Some(package) = package else {
        // No function runs with these values now: what is kept goes unsaid.
        let deployed = if given.complete() {
            Vec::new()
        } else {
            runtime()?
                .block_on(deployed_parameters(&targets, global, &KEPT))
                .map_err(Error::failed)?
        };
        let (settings, _) = given.keep(&deployed);
        let status = deploy(
            central::STACK_NAME,
            &template,
            code_parameters("", "", &settings),
            &targets,
            options,
            global,
        )?;
        if !global.quiet {
            eprintln!(
                "warning: --no-functions: the manager, reconciler and registration functions are not deployed; events wait in {} for up to 14 days",
                central::QUEUE
            );
            eprintln!(
                "hint: until they are, set up consumer accounts with `dpc setup-user-account --no-registration`"
            );
        }
        return Ok(status);
    };
    let runtime = runtime()?;
    let term = Term::new(global.quiet);
    let result = runtime.block_on(deploy_with_code(
        &template, &package, &given, &targets, options, global, &term,
    ));
    term.finish();
    let (reports, upload) = result.map_err(Error::failed)?;
    print(&reports, upload.as_ref(), &package, global)
}

/// The deployed stack's parameters `names` (empty when the stack or a parameter is missing),
/// kept by a run that does not set them.
async fn deployed_parameters(
    targets: &Targets<'_>,
    global: &GlobalArgs,
    names: &[&str],
) -> Result<Vec<String>, String> {
    let Some((_, config)) = reach_each(targets, global).await?.into_iter().next() else {
        return Ok(vec![String::new(); names.len()]);
    };
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    code::stack_parameters(&cfn, central::STACK_NAME, names).await
}

fn code_parameters(bucket: &str, key: &str, settings: &Settings<String>) -> Vec<(String, String)> {
    vec![
        ("CodeBucket".to_string(), bucket.to_string()),
        ("CodeKey".to_string(), key.to_string()),
        (
            central::SLACK_SECRET_PARAMETER.to_string(),
            settings.slack.clone(),
        ),
        (
            central::LINEAGE_URL_PARAMETER.to_string(),
            settings.lineage.clone(),
        ),
    ]
}

/// The bootstrap (`path`, else this executable), checked and zipped.
fn read_package(path: Option<&Path>) -> Result<Package, Error> {
    let path = match path {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .map_err(|e| Error::usage(format!("cannot find this executable: {e}")))?,
    };
    let shown = path.display();
    let file = std::fs::File::open(&path)
        .map_err(|e| Error::usage(format!("cannot read the bootstrap {shown}: {e}")))?;
    // A debug build is far larger than Lambda takes: refused without reading it.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut bytes = Vec::new();
    let checked = if size > package::UNZIPPED_LIMIT {
        Err(PackageError::TooLarge { size })
    } else {
        file.take(package::UNZIPPED_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::usage(format!("cannot read the bootstrap {shown}: {e}")))?;
        package::package(&bytes)
    };
    checked.map_err(|e| {
        let error = Error::usage(format!("{shown}: {e}"));
        if e.rebuild_helps() {
            error.hint(package::BUILD_HINT)
        } else {
            error
        }
    })
}

/// Uploads the code and deploys the stack with it; the first time (no artifacts bucket yet),
/// the stack is deployed without new code first (so without functions on a new stack). The
/// code's fate is `None` when the stack could not be created.
async fn deploy_with_code(
    template: &Value,
    package: &Package,
    given: &Settings<Option<String>>,
    targets: &Targets<'_>,
    options: DeployOptions,
    global: &GlobalArgs,
    term: &Term,
) -> Result<(Vec<Report>, Option<Code>), String> {
    let mut reports = Vec::new();
    let mut code = None;
    let key = package.key();
    for (id, config) in reach_each(targets, global).await? {
        let region = announce(term, &id, &config);
        let cfn = aws_sdk_cloudformation::Client::new(&config);
        let deployer = Deployer {
            cfn: &cfn,
            progress: term,
        };
        let deployed = if given.complete() {
            Vec::new()
        } else {
            code::stack_parameters(&cfn, central::STACK_NAME, &KEPT).await?
        };
        let (settings, said) = given.clone().keep(&deployed);
        for line in said {
            term.line(&line);
        }
        let mut deploy = async |parameters| {
            let mut report = deployer
                .deploy(&request(central::STACK_NAME, template, parameters), options)
                .await?;
            report.account = Some(id.clone());
            report.region.clone_from(&region);
            reports.push(report.clone());
            Ok::<_, String>(report)
        };
        let bucket = match code::stack_bucket(&cfn, central::STACK_NAME, central::ARTIFACTS_BUCKET)
            .await?
        {
            Some(bucket) => bucket,
            None => {
                // The code the functions run now, if any, stays for this first step.
                let current =
                    code::stack_parameters(&cfn, central::STACK_NAME, &["CodeBucket", "CodeKey"])
                        .await?;
                term.line(&format!(
                    "{}: no artifacts bucket yet: deploying the stack without new code first",
                    central::STACK_NAME
                ));
                let first = deploy(code_parameters(&current[0], &current[1], &settings)).await?;
                if !matches!(
                    first.outcome,
                    StackResult::Deployed { .. } | StackResult::NoChanges
                ) {
                    if matches!(first.outcome, StackResult::Prepared { .. }) {
                        term.line("the functions' code is uploaded once that change set is executed: run again without --no-execute");
                    }
                    continue;
                }
                code::stack_bucket(&cfn, central::STACK_NAME, central::ARTIFACTS_BUCKET)
                    .await?
                    .ok_or_else(|| {
                        format!(
                            "{} has no {} after its deployment",
                            central::STACK_NAME,
                            central::ARTIFACTS_BUCKET
                        )
                    })?
            }
        };
        let s3 = aws::s3(&config);
        let upload = code::upload(&s3, &bucket, &key, package.zip.clone()).await?;
        term.line(&format!(
            "code: s3://{bucket}/{key} ({} bytes): {}",
            package.zip.len(),
            upload.as_str()
        ));
        code = Some(Code {
            bucket: bucket.clone(),
            upload,
        });
        deploy(code_parameters(&bucket, &key, &settings)).await?;
    }
    Ok((reports, code))
}

/// Where the code went.
struct Code {
    bucket: String,
    upload: Upload,
}

/// The stack reports, as for every deploy; in JSON, the last one also says where the code is.
fn print(
    reports: &[Report],
    code: Option<&Code>,
    package: &Package,
    global: &GlobalArgs,
) -> Result<ExitStatus, Error> {
    if global.output != OutputFormat::Json {
        return print_reports(reports, global);
    }
    let mut docs: Vec<Value> = reports
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    if let (Some(code), Some(last)) = (code, docs.last_mut()) {
        last["code"] = json!({
            "bucket": code.bucket,
            "key": package.key(),
            "sha256": package.sha256,
            "bytes": package.zip.len(),
            "upload": code.upload.as_str(),
            "glibc": package.needs.highest(),
        });
    }
    out(&to_pretty(&Value::Array(docs)))?;
    Ok(ExitStatus::check(
        reports.iter().all(|r| r.outcome.is_success()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(slack: Option<&str>, lineage: Option<&str>) -> Settings<Option<String>> {
        Settings {
            slack: slack.map(String::from),
            lineage: lineage.map(String::from),
        }
    }

    #[test]
    fn a_value_not_given_is_the_deployed_one_and_said_when_on() {
        let deployed = ["arn:s".to_string(), "https://m/api?key=k".to_string()];
        let (kept, said) = given(None, None).keep(&deployed);
        assert_eq!(
            kept,
            Settings {
                slack: "arn:s".to_string(),
                lineage: "https://m/api?key=k".to_string(),
            }
        );
        assert_eq!(said.len(), 2);
        assert!(said[0].contains("token secret arn:s (--no-slack"));
        assert!(
            said[1].contains("endpoint https://m/api (--no-lineage"),
            "the query is not shown: {}",
            said[1]
        );

        // Given (empty: turned off), the deployed values go, unsaid.
        let (set, said) = given(Some(""), Some("https://new")).keep(&deployed);
        assert_eq!(
            (set.slack.as_str(), set.lineage.as_str()),
            ("", "https://new")
        );
        assert!(said.is_empty());
        assert!(given(Some(""), Some("")).complete());
        assert!(!given(Some(""), None).complete());

        // Nothing deployed: off, nothing said.
        let (none, said) = given(None, None).keep(&[]);
        assert_eq!(none, Settings::default());
        assert!(said.is_empty());
    }
}
