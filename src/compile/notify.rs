//! Notifications in the per-pipeline stack: reads `notifications` and produces, when a target
//! is EMAIL or OPSGENIE, the encrypted SNS topic, its subscriptions (EMAIL → email, OPSGENIE →
//! https) and the rules that turn this state machine's status changes (and, for
//! FULL_EXECUTION, its step status events) into a readable message. SLACK targets get nothing
//! here: the central notifier reads every status event on the central bus and the channels
//! from the registration (`SlackChannels`, see `template`).
//!
//! What each type sends: FULL_EXECUTION the run's start (RUNNING), each step's STARTED /
//! SUCCEEDED / FAILED and the final status; PIPELINE_STATUS the start and the final status;
//! FAILURE_ONLY only FAILED, TIMED_OUT and ABORTED.
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

/// The channels delivered through the pipeline's SNS topic.
fn on_topic(channel: Channel) -> bool {
    matches!(channel, Channel::Email | Channel::Opsgenie)
}

/// The SLACK targets' channels, for the central notifier.
pub fn slack_channels(notifications: &Notifications) -> Vec<String> {
    notifications
        .targets
        .iter()
        .filter(|t| t.channel == Channel::Slack)
        .flat_map(|t| t.addresses.iter().cloned())
        .collect()
}

/// The notification resources, by logical id (none when no target is on the topic).
pub fn resources(env: &Env, notifications: &Notifications, out: &mut Map<String, Value>) {
    if !notifications.targets.iter().any(|t| on_topic(t.channel)) {
        return;
    }
    let steps = sends_steps(notifications.kind);
    out.insert("NotificationTopic".into(), topic(env));
    out.insert("NotificationTopicPolicy".into(), topic_policy(steps));
    out.insert("NotificationRule".into(), rule(env, notifications.kind));
    if steps {
        out.insert("NotificationStepRule".into(), step_rule(env));
    }
    for target in notifications.targets.iter().filter(|t| on_topic(t.channel)) {
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

fn topic_policy(steps: bool) -> Value {
    let run = get_att("NotificationRule", "Arn");
    let rules = if steps {
        json!([run, get_att("NotificationStepRule", "Arn")])
    } else {
        run
    };
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
                    "Condition": {"ArnEquals": {"aws:SourceArn": rules}},
                }],
            },
        },
    })
}

fn subscription(channel: Channel, address: &str) -> Value {
    let protocol = if channel == Channel::Email {
        "email"
    } else {
        "https"
    };
    json!({
        "Type": "AWS::SNS::Subscription",
        "Properties": {"TopicArn": reference("NotificationTopic"), "Protocol": protocol, "Endpoint": address},
    })
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

/// The step status events of this state machine's executions (FULL_EXECUTION), on the default
/// bus where its `Step … started/succeeded/failed` states put them.
fn step_rule(env: &Env) -> Value {
    let executions = format!(
        "arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{}:",
        names::fit(&format!("dpc-{}", env.name()), names::STATE_MACHINE_MAX)
    );
    json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": names::fit(&format!("dpc-{}-notify-steps", env.name()), names::EVENTS_RULE_MAX),
            "Description": format!("dpc pipeline {}: step status notifications", env.name()),
            "State": "ENABLED",
            "EventPattern": step_pattern(&executions),
            "Targets": [{
                "Id": "NotificationTopic",
                "Arn": reference("NotificationTopic"),
                "InputTransformer": {
                    "InputPathsMap": {
                        "arn": "$.detail.executionArn",
                        "step": "$.detail.step",
                        "status": "$.detail.status",
                        "time": "$.detail.time",
                    },
                    "InputTemplate": step_message_template(env),
                },
            }],
        },
    })
}

/// Step status events of executions whose ARN starts with `executions` (a `Fn::Sub` text).
pub fn step_pattern(executions: &str) -> Value {
    json!({
        "source": [events::STEP_SOURCE],
        "detail-type": [events::STEP_DETAIL_TYPE],
        "detail": {"executionArn": [{"prefix": sub(executions)}]},
    })
}

fn step_message_template(env: &Env) -> String {
    format!(
        "\"dpc: pipeline {} (team {}) step <step> is <status> at <time>. Execution: <arn>\"",
        clean(env.name()),
        clean(&env.pipeline.team)
    )
}

/// Text from the pipeline stripped of what the transformer or JSON would read as syntax.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '<' | '>' | '"' | '\\'))
        .collect()
}

/// A JSON string template; text from the pipeline is stripped of what the transformer or
/// JSON would read as syntax.
fn message_template(env: &Env) -> String {
    format!(
        "\"dpc: pipeline {} (team {}) run <execution> is <status> at <time>. Execution: <arn>\"",
        clean(env.name()),
        clean(&env.pipeline.team)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::model::{Compute, Config, NotificationTarget, Pipeline};

    fn pipeline(kind: NotificationType, channels: &[Channel]) -> Pipeline {
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
                    .map(|&channel| NotificationTarget {
                        channel,
                        addresses: vec!["x@example.com".into()],
                    })
                    .collect(),
            }),
            publish: vec![],
            sla: None,
            file: "p/pipeline.yaml".into(),
            dir: "p".into(),
        }
    }

    fn routed(kind: NotificationType, channels: &[Channel]) -> Map<String, Value> {
        let p = pipeline(kind, channels);
        let env = Env::new(&p, None::<&Config>, "0.0.0");
        let mut out = Map::new();
        if let Some(n) = &p.notifications {
            resources(&env, n, &mut out);
        }
        out
    }

    fn rule_statuses(r: &Map<String, Value>) -> Value {
        r["NotificationRule"]["Properties"]["EventPattern"]["detail"]["status"].clone()
    }

    #[test]
    fn full_execution_routes_start_steps_and_final_status() {
        let r = routed(NotificationType::FullExecution, &[Channel::Email]);
        assert_eq!(
            rule_statuses(&r),
            json!(["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"])
        );
        let steps = &r["NotificationStepRule"]["Properties"]["EventPattern"];
        assert_eq!(steps["source"], json!([events::STEP_SOURCE]));
        assert_eq!(steps["detail-type"], json!([events::STEP_DETAIL_TYPE]));
        assert_eq!(
            steps["detail"]["executionArn"][0]["prefix"],
            sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:dpc-p:")
        );
        let allowed = &r["NotificationTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
            ["Condition"]["ArnEquals"]["aws:SourceArn"];
        assert_eq!(allowed.as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn pipeline_status_routes_start_and_final_status_only() {
        let r = routed(NotificationType::PipelineStatus, &[Channel::Opsgenie]);
        assert_eq!(
            rule_statuses(&r),
            json!(["ABORTED", "FAILED", "RUNNING", "SUCCEEDED", "TIMED_OUT"])
        );
        assert!(!r.contains_key("NotificationStepRule"));
    }

    #[test]
    fn failure_only_routes_failures_only() {
        let r = routed(NotificationType::FailureOnly, &[Channel::Email]);
        assert_eq!(rule_statuses(&r), json!(["ABORTED", "FAILED", "TIMED_OUT"]));
        assert!(!r.contains_key("NotificationStepRule"));
    }

    #[test]
    fn slack_is_left_to_the_central_notifier() {
        assert!(routed(NotificationType::FullExecution, &[Channel::Slack]).is_empty());
        let r = routed(
            NotificationType::FullExecution,
            &[Channel::Slack, Channel::Email],
        );
        let subscriptions: Vec<&Value> = r
            .iter()
            .filter(|(k, _)| k.starts_with("Subscription"))
            .map(|(_, v)| &v["Properties"]["Protocol"])
            .collect();
        assert_eq!(subscriptions, [&json!("email")]);
        assert!(!Value::Object(r).to_string().contains("Slack"));
    }

    #[test]
    fn failure_only_reports_only_failures() {
        assert!(!statuses(NotificationType::FailureOnly).contains(&"SUCCEEDED"));
        assert_eq!(statuses(NotificationType::PipelineStatus).len(), 5);
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
