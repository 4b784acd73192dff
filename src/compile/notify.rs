//! Notifications in the per-pipeline stack: reads `notifications` and produces the encrypted
//! SNS topic, its subscriptions (EMAIL → email, OPSGENIE → https, SLACK → the central
//! notifier's https endpoint with the channel as a query parameter) and the rule that turns
//! this state machine's status changes into a readable message.
//!
//! The topic is encrypted with the account's customer managed key (`NotificationsKmsKey`,
//! from `dpc-account`): EventBridge cannot publish to a topic encrypted with the AWS managed
//! key `alias/aws/sns`, whose policy cannot grant it access.

use serde_json::{Map, Value, json};

use super::Env;
use super::cfn::{get_att, reference, sub};
use super::names;
use super::template::tags;
use crate::events;
use crate::pipeline::model::{Channel, NotificationType, Notifications};

/// Statuses each notification type reports (FULL_EXECUTION also logs every state: see template).
pub fn statuses(kind: NotificationType) -> &'static [&'static str] {
    match kind {
        NotificationType::FailureOnly => &["ABORTED", "FAILED", "TIMED_OUT"],
        NotificationType::PipelineStatus | NotificationType::FullExecution => {
            &["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"]
        }
    }
}

/// The notification resources, by logical id.
pub fn resources(env: &Env, notifications: &Notifications, out: &mut Map<String, Value>) {
    out.insert("NotificationTopic".into(), topic(env));
    out.insert("NotificationTopicPolicy".into(), topic_policy());
    out.insert("NotificationRule".into(), rule(env, notifications.kind));
    for target in &notifications.targets {
        for address in &target.addresses {
            let key = format!("{:?}:{address}", target.channel);
            out.insert(
                names::logical_id("Subscription", &key),
                subscription(target.channel, address),
            );
        }
    }
}

fn topic(env: &Env) -> Value {
    json!({
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": names::fit(&format!("dpc-{}-notifications", env.name()), names::SNS_TOPIC_MAX),
            "DisplayName": names::fit(&format!("dpc {}", env.name()), 100),
            "KmsMasterKeyId": reference("NotificationsKmsKey"),
            "Tags": tags(env),
        },
    })
}

fn topic_policy() -> Value {
    json!({
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [reference("NotificationTopic")],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "StatusChangesFromEventBridge",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": reference("NotificationTopic"),
                    "Condition": {"ArnEquals": {"aws:SourceArn": get_att("NotificationRule", "Arn")}},
                }],
            },
        },
    })
}

fn subscription(channel: Channel, address: &str) -> Value {
    let (protocol, endpoint) = match channel {
        Channel::Email => ("email", json!(address)),
        Channel::Opsgenie => ("https", json!(address)),
        Channel::Slack => (
            "https",
            sub(&format!(
                "${{SlackNotifierEndpoint}}?channel={}",
                percent_encode(address)
            )),
        ),
    };
    json!({
        "Type": "AWS::SNS::Subscription",
        "Properties": {"TopicArn": reference("NotificationTopic"), "Protocol": protocol, "Endpoint": endpoint},
    })
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Status changes of this state machine, on the default bus where Step Functions puts them.
fn rule(env: &Env, kind: NotificationType) -> Value {
    json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": names::fit(&format!("dpc-{}-notify", env.name()), names::EVENTS_RULE_MAX),
            "Description": format!("dpc pipeline {}: run status notifications", env.name()),
            "State": "ENABLED",
            "EventPattern": {
                "source": [events::STATUS_SOURCE],
                "detail-type": [events::STATUS_DETAIL_TYPE],
                "detail": {"stateMachineArn": [reference("StateMachine")], "status": statuses(kind)},
            },
            "Targets": [{
                "Id": "NotificationTopic",
                "Arn": reference("NotificationTopic"),
                "InputTransformer": {
                    "InputPathsMap": {
                        "arn": "$.detail.executionArn",
                        "execution": "$.detail.name",
                        "status": "$.detail.status",
                        "time": "$.time",
                    },
                    "InputTemplate": message_template(env),
                },
            }],
        },
    })
}

/// A JSON string template; text from the pipeline is stripped of what the transformer or
/// JSON would read as syntax.
fn message_template(env: &Env) -> String {
    let clean = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, '<' | '>' | '"' | '\\'))
            .collect::<String>()
    };
    format!(
        "\"dpc: pipeline {} (team {}) run <execution> is <status> at <time>. Execution: <arn>\"",
        clean(env.name()),
        clean(&env.pipeline.team)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_only_reports_only_failures() {
        assert!(!statuses(NotificationType::FailureOnly).contains(&"SUCCEEDED"));
        assert_eq!(statuses(NotificationType::PipelineStatus).len(), 5);
    }

    #[test]
    fn slack_channels_are_url_safe() {
        assert_eq!(percent_encode("data-alerts"), "data-alerts");
        assert_eq!(percent_encode("#a b"), "%23a%20b");
    }
}
