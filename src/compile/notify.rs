//! Notifications in the per-pipeline stack: reads `notifications` and produces, per channel
//! delivered through SNS, an encrypted topic with its targets subscribed (EMAIL → an `email`
//! topic, OPSGENIE → an `opsgenie` topic with https subscriptions, OpsGenie's Amazon SNS
//! integration), and the policy that lets exactly the central account's notifier role
//! publish to them. No rule here: the central notifier reads every status, step and SLA event
//! on the central bus, renders it (`notify::email`, `notify::opsgenie`) and publishes to the
//! topics the registration names (`EmailTopicArn`, `OpsgenieTopicArn`, see `template`).
//! SLACK targets get nothing here either: the notifier posts to the registration's
//! `SlackChannels`.
//!
//! What each type sends: FULL_EXECUTION the run's start (RUNNING), each step's STARTED /
//! SUCCEEDED / FAILED and the final status; PIPELINE_STATUS the start and the final status;
//! FAILURE_ONLY only FAILED, TIMED_OUT and ABORTED.
//!
//! The topics are encrypted with the account's customer managed key (`NotificationsKmsKey`,
//! from `dpc-account`, whose policy lets the central notifier role use it through SNS only):
//! a cross-account publisher cannot use the AWS managed key `alias/aws/sns`.

use serde_json::{Map, Value, json};

use super::Env;
use super::cfn::{reference, sub};
use super::names;
use super::template::tags;
use crate::deploy::central_stack::NOTIFIER_ROLE;
use crate::manager::registry::Topics;
use crate::pipeline::model::{Channel, NotificationType, Notifications, Pipeline};

/// Run statuses each notification type reports (FULL_EXECUTION also its steps': [`sends_steps`]).
pub fn statuses(kind: NotificationType) -> &'static [&'static str] {
    match kind {
        NotificationType::FailureOnly => &["ABORTED", "FAILED", "TIMED_OUT"],
        NotificationType::PipelineStatus | NotificationType::FullExecution => {
            &["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"]
        }
    }
}

/// Whether a notification type reports step status events.
pub fn sends_steps(kind: NotificationType) -> bool {
    kind == NotificationType::FullExecution
}

/// The channels delivered through an SNS topic of the pipeline, with the topic's logical id
/// and name suffix.
const TOPICS: [(Channel, &str, &str); 2] = [
    (Channel::Email, "EmailTopic", "email"),
    (Channel::Opsgenie, "OpsgenieTopic", "opsgenie"),
];

/// The SLACK targets' channels, for the central notifier.
pub fn slack_channels(notifications: &Notifications) -> Vec<String> {
    notifications
        .targets
        .iter()
        .filter(|t| t.channel == Channel::Slack)
        .flat_map(|t| t.addresses.iter().cloned())
        .collect()
}

fn addresses(notifications: &Notifications, channel: Channel) -> Vec<&String> {
    notifications
        .targets
        .iter()
        .filter(|t| t.channel == channel)
        .flat_map(|t| &t.addresses)
        .collect()
}

/// A topic's name: `dpc-<pipeline>-email`, `dpc-<pipeline>-opsgenie`.
pub fn topic_name(pipeline: &str, suffix: &str) -> String {
    names::fit(&format!("dpc-{pipeline}-{suffix}"), names::SNS_TOPIC_MAX)
}

/// The logical ids of the pipeline's topics, by the registration property naming each.
pub fn topic_properties(notifications: &Notifications) -> Vec<(&'static str, &'static str)> {
    TOPICS
        .iter()
        .filter(|(channel, ..)| !addresses(notifications, *channel).is_empty())
        .map(|(channel, id, _)| {
            let property = if *channel == Channel::Email {
                "EmailTopicArn"
            } else {
                "OpsgenieTopicArn"
            };
            (property, *id)
        })
        .collect()
}

/// The topics of a pipeline deployed in `account` and `region` (the registration dpc builds
/// offline, as the stack's would be).
pub fn topics(pipeline: &Pipeline, account: &str, region: &str) -> Topics {
    let arn = |channel: Channel, suffix: &str| {
        let n = pipeline.notifications.as_ref()?;
        (!addresses(n, channel).is_empty()).then(|| {
            format!(
                "arn:aws:sns:{region}:{account}:{}",
                topic_name(&pipeline.name, suffix)
            )
        })
    };
    Topics {
        email: arn(Channel::Email, "email"),
        opsgenie: arn(Channel::Opsgenie, "opsgenie"),
    }
}

/// The notification resources, by logical id (none when no target is on a topic).
pub fn resources(env: &Env, notifications: &Notifications, out: &mut Map<String, Value>) {
    let mut ids = Vec::new();
    for (channel, id, suffix) in TOPICS {
        let addresses = addresses(notifications, channel);
        if addresses.is_empty() {
            continue;
        }
        out.insert(id.into(), topic(env, channel, suffix, &addresses));
        ids.push(id);
    }
    if !ids.is_empty() {
        out.insert("NotificationTopicPolicy".into(), topic_policy(env, &ids));
    }
}

/// The topic with its targets subscribed (inline: a target is an address, nothing more).
fn topic(env: &Env, channel: Channel, suffix: &str, addresses: &[&String]) -> Value {
    let protocol = if channel == Channel::Email {
        "email"
    } else {
        "https"
    };
    let subscriptions: Vec<Value> = addresses
        .iter()
        .map(|a| json!({"Protocol": protocol, "Endpoint": a}))
        .collect();
    json!({
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": topic_name(env.name(), suffix),
            "DisplayName": names::fit(&format!("dpc {}", env.name()), 100),
            "KmsMasterKeyId": reference("NotificationsKmsKey"),
            "Subscription": subscriptions,
            "Tags": tags(env),
        },
    })
}

/// Only the central account's notifier role may publish (its account's root as principal,
/// narrowed to the role by its ARN: a principal naming the role itself would break, unseen,
/// when the role is re-created).
fn topic_policy(env: &Env, ids: &[&str]) -> Value {
    let central = env.central_account_text();
    let topics: Vec<Value> = ids.iter().map(|id| reference(id)).collect();
    json!({
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": topics,
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "CentralNotifierPublishes",
                    "Effect": "Allow",
                    "Principal": {"AWS": sub(&format!("arn:${{AWS::Partition}}:iam::{central}:root"))},
                    "Action": "sns:Publish",
                    "Resource": topics,
                    "Condition": {"ArnEquals": {"aws:PrincipalArn": notifier_role_arn(central)}},
                }],
            },
        },
    })
}

/// The central notifier's role (a `Fn::Sub`).
pub fn notifier_role_arn(central_account: &str) -> Value {
    sub(&format!(
        "arn:${{AWS::Partition}}:iam::{central_account}:role/{NOTIFIER_ROLE}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::model::{Compute, Config, NotificationTarget};

    fn pipeline(kind: NotificationType, channels: &[(Channel, &str)]) -> Pipeline {
        Pipeline {
            name: "p".into(),
            description: None,
            team: "t".into(),
            account: Some("123456789012".into()),
            region: None,
            tags: Default::default(),
            trigger: None,
            compute: Compute::None,
            steps: vec![],
            notifications: Some(Notifications {
                kind,
                targets: channels
                    .iter()
                    .map(|&(channel, address)| NotificationTarget {
                        channel,
                        addresses: vec![address.into()],
                    })
                    .collect(),
            }),
            publish: vec![],
            sla: None,
            file: "p/pipeline.yaml".into(),
            dir: "p".into(),
        }
    }

    fn routed(p: &Pipeline) -> Map<String, Value> {
        let env = Env::new(p, None::<&Config>, "0.0.0");
        let mut out = Map::new();
        if let Some(n) = &p.notifications {
            resources(&env, n, &mut out);
        }
        out
    }

    const MAIL: (Channel, &str) = (Channel::Email, "team@example.com");
    const GENIE: (Channel, &str) = (
        Channel::Opsgenie,
        "https://api.opsgenie.com/v1/json/amazonsns?apiKey=k",
    );

    #[test]
    fn each_channel_has_its_topic_with_its_targets_subscribed() {
        let p = pipeline(NotificationType::FullExecution, &[MAIL, GENIE]);
        let r = routed(&p);
        let keys: Vec<&String> = r.keys().collect();
        assert_eq!(
            keys,
            ["EmailTopic", "NotificationTopicPolicy", "OpsgenieTopic"]
        );
        let email = &r["EmailTopic"]["Properties"];
        assert_eq!(email["TopicName"], "dpc-p-email");
        assert_eq!(
            email["Subscription"],
            json!([{"Protocol": "email", "Endpoint": MAIL.1}])
        );
        assert_eq!(email["KmsMasterKeyId"], reference("NotificationsKmsKey"));
        assert_eq!(
            r["OpsgenieTopic"]["Properties"]["Subscription"],
            json!([{"Protocol": "https", "Endpoint": GENIE.1}])
        );
        let topics = topics(&p, "123456789012", "eu-west-1");
        assert_eq!(
            topics.email.as_deref(),
            Some("arn:aws:sns:eu-west-1:123456789012:dpc-p-email")
        );
        assert_eq!(
            topics.opsgenie.as_deref(),
            Some("arn:aws:sns:eu-west-1:123456789012:dpc-p-opsgenie")
        );
        let n = p.notifications.as_ref().expect("notifications");
        assert_eq!(
            topic_properties(n),
            [
                ("EmailTopicArn", "EmailTopic"),
                ("OpsgenieTopicArn", "OpsgenieTopic")
            ]
        );
    }

    #[test]
    fn only_the_central_notifier_role_may_publish() {
        let r = routed(&pipeline(NotificationType::FailureOnly, &[MAIL]));
        assert!(!r.contains_key("OpsgenieTopic"));
        let statement = &r["NotificationTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"];
        assert_eq!(statement.as_array().map(Vec::len), Some(1));
        let s = &statement[0];
        assert_eq!(s["Action"], "sns:Publish");
        assert_eq!(
            s["Principal"]["AWS"],
            sub("arn:${AWS::Partition}:iam::${CentralAccountId}:root")
        );
        assert_eq!(
            s["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            sub("arn:${AWS::Partition}:iam::${CentralAccountId}:role/dpc-notifier")
        );
        assert_eq!(s["Resource"], json!([reference("EmailTopic")]));
        // No rule, no wildcard, no service principal.
        let text = Value::Object(r).to_string();
        assert!(
            !text.contains("AWS::Events::Rule") && !text.contains('*'),
            "{text}"
        );
    }

    #[test]
    fn slack_is_left_to_the_central_notifier() {
        let p = pipeline(NotificationType::FullExecution, &[(Channel::Slack, "C1")]);
        assert!(routed(&p).is_empty());
        assert!(topics(&p, "1", "r").is_empty());
        let p = pipeline(
            NotificationType::FullExecution,
            &[(Channel::Slack, "C1"), MAIL],
        );
        let r = routed(&p);
        assert!(r.contains_key("EmailTopic") && !r.contains_key("OpsgenieTopic"));
        assert!(!Value::Object(r).to_string().contains("Slack"));
    }

    #[test]
    fn each_type_reports_exactly_its_statuses() {
        let run = |kind| statuses(kind).to_vec();
        assert_eq!(
            run(NotificationType::FullExecution),
            ["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"]
        );
        assert_eq!(
            run(NotificationType::PipelineStatus),
            ["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"]
        );
        assert_eq!(
            run(NotificationType::FailureOnly),
            ["ABORTED", "FAILED", "TIMED_OUT"]
        );
        assert!(sends_steps(NotificationType::FullExecution));
        assert!(!sends_steps(NotificationType::PipelineStatus));
        assert!(!sends_steps(NotificationType::FailureOnly));
    }
}
