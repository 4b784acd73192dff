//! Email and OpsGenie from the central notifier: reads a run's status event (or a step's
//! event) with the pipeline's registration and produces the messages published to the
//! pipeline's SNS topics ([`plan`], pure) — on the email topic the subject and plain-text body
//! (`notify::email`) of every event the notification type reports; on the OpsGenie topic the
//! alert (`notify::opsgenie`, alias per run) of a run that did not succeed, and, once a run of
//! the pipeline succeeds, the close of every alert still open for it; and of a missed SLA
//! ([`plan_sla`], under every notification type) its email and its OpsGenie alert
//! (`notify::sla`, alias per pipeline and SLA day, left open like a run's) — then publishes
//! each once, with the same claim and record as Slack messages (`notifier`).
//!
//! Open alerts are kept per pipeline in the manager's table (`NOTIFY#<account>/<region>/<name>`
//! / `OPSGENIE#OPEN`, a string set of aliases): an alias is added before its alert is
//! published (a close of an alert OpsGenie never got is harmless; an alert nobody would close
//! is not), and removed once its close is published.
//!
//! The OpsGenie message is the Alert API body with `action` (`create` or `close`) added: the
//! integration's action rules create or close the alert named by `alias`.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use super::notifier::{Claim, Notifier};
use crate::compile::notify::{sends_steps, statuses};
use crate::manager::registry::Registration;
use crate::notify::sla::{self, SlaAlert};
use crate::notify::{RunView, Status, StepView, email, opsgenie};
use crate::pipeline::raw::NotificationType;

/// The channel a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Opsgenie,
}

/// One message for a topic, with its idempotency key (the sort key under the run's
/// `NOTIFY#<executionArn>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub channel: Channel,
    pub topic: String,
    pub key: String,
    pub subject: Option<String>,
    pub body: String,
}

/// What one event published.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Published {
    pub emails: u32,
    pub alerts: u32,
    pub closes: u32,
    pub skipped: u32,
}

impl Published {
    pub fn is_empty(&self) -> bool {
        *self == Published::default()
    }

    pub fn to_json(&self) -> Value {
        json!({"emails": self.emails, "alerts": self.alerts, "closes": self.closes, "skipped": self.skipped})
    }
}

/// The type a registration without one reports: everything.
fn kind(reg: &Registration) -> NotificationType {
    reg.notification_type
        .unwrap_or(NotificationType::FullExecution)
}

/// The messages a run's status (`step`: `None`) or a step's event gives, besides the closes of
/// open alerts (which need the table): the email when the type reports it, the alert when the
/// run did not succeed (every type reports failures).
pub fn plan(reg: &Registration, run: &RunView, step: Option<&StepView>) -> Vec<Message> {
    let mut out = Vec::new();
    let kind = kind(reg);
    if let Some(topic) = &reg.topics.email {
        let email = match step {
            Some(s) if sends_steps(kind) => Some((
                format!("EMAIL#step#{}#{}#{}", s.step, s.attempt, s.status.as_str()),
                email::step_subject(run, s),
                email::step_body(run, s),
            )),
            None if statuses(kind).contains(&run.status.as_str()) => Some((
                format!("EMAIL#run#-#-#{}", run.status.as_str()),
                email::subject(run),
                email::body(run, &[]),
            )),
            _ => None,
        };
        if let Some((key, subject, body)) = email {
            out.push(Message {
                channel: Channel::Email,
                topic: topic.clone(),
                key,
                subject: Some(subject),
                body,
            });
        }
    }
    if let Some(topic) = &reg.topics.opsgenie
        && step.is_none()
        && run.is_failure()
    {
        let mut alert = opsgenie::alert(run);
        alert["action"] = json!("create");
        out.push(Message {
            channel: Channel::Opsgenie,
            topic: topic.clone(),
            key: format!("OPSGENIE#alert#-#-#{}", run.status.as_str()),
            subject: None,
            body: alert.to_string(),
        });
    }
    out
}

/// The messages of a missed SLA, whatever the notification type (as on Slack): the email and
/// the OpsGenie alert, keyed under the alert's `NOTIFY#<key>`.
pub fn plan_sla(reg: &Registration, alert: &SlaAlert, team: &str) -> Vec<Message> {
    let mut out = Vec::new();
    if let Some(topic) = &reg.topics.email {
        out.push(Message {
            channel: Channel::Email,
            topic: topic.clone(),
            key: "EMAIL#sla".into(),
            subject: Some(sla::email_subject(alert)),
            body: sla::email_body(alert, team),
        });
    }
    if let Some(topic) = &reg.topics.opsgenie {
        let mut body = sla::opsgenie_alert(alert, team);
        body["action"] = json!("create");
        out.push(Message {
            channel: Channel::Opsgenie,
            topic: topic.clone(),
            key: "OPSGENIE#alert#sla".into(),
            subject: None,
            body: body.to_string(),
        });
    }
    out
}

/// The close of the alert `alias`, as a run of the pipeline succeeded.
pub fn close(topic: &str, run: &RunView, alias: &str) -> Message {
    let mut body = opsgenie::close(run);
    body["alias"] = json!(alias);
    body["action"] = json!("close");
    Message {
        channel: Channel::Opsgenie,
        topic: topic.to_string(),
        key: format!("OPSGENIE#close#{alias}"),
        subject: None,
        body: body.to_string(),
    }
}

const OPEN: &str = "OPSGENIE#OPEN";

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

impl Notifier {
    /// Publishes what a run's status or a step's event gives on the pipeline's topics, each
    /// message once.
    pub(super) async fn publish(
        &self,
        reg: &Registration,
        run: &RunView,
        step: Option<&StepView>,
        now: i64,
    ) -> Result<Published, String> {
        let mut done = Published::default();
        if reg.topics.is_empty() {
            return Ok(done);
        }
        let pk = format!("NOTIFY#{}", run.execution_arn);
        let pipeline = format!("NOTIFY#{}", reg.key());
        for message in plan(reg, run, step) {
            if message.channel == Channel::Opsgenie {
                self.open_alerts(&pipeline, "ADD", &[opsgenie::alias(run)])
                    .await?;
            }
            self.publish_once(&pk, &message, now, &mut done).await?;
        }
        if let (Some(topic), None, Status::Succeeded) = (&reg.topics.opsgenie, step, run.status) {
            let open = self.open_aliases(&pipeline).await?;
            for alias in &open {
                let message = close(topic, run, alias);
                self.publish_once(&pk, &message, now, &mut done).await?;
            }
            if !open.is_empty() {
                self.open_alerts(&pipeline, "DELETE", &open).await?;
            }
        }
        Ok(done)
    }

    /// Publishes a missed SLA's email and OpsGenie alert, each once; its alias is left open
    /// for the pipeline's next success to close.
    pub(super) async fn publish_sla(
        &self,
        reg: &Registration,
        alert: &SlaAlert,
        team: &str,
        now: i64,
    ) -> Result<Published, String> {
        let mut done = Published::default();
        let pk = format!("NOTIFY#{}", alert.key);
        let pipeline = format!("NOTIFY#{}", reg.key());
        for message in plan_sla(reg, alert, team) {
            if message.channel == Channel::Opsgenie {
                self.open_alerts(&pipeline, "ADD", &[sla::opsgenie_alias(alert)])
                    .await?;
            }
            self.publish_once(&pk, &message, now, &mut done).await?;
        }
        Ok(done)
    }

    async fn publish_once(
        &self,
        pk: &str,
        message: &Message,
        now: i64,
        done: &mut Published,
    ) -> Result<(), String> {
        let sk = &message.key;
        match self.records.claim(pk, sk, now).await? {
            Claim::Done(_) => {
                done.skipped += 1;
                Ok(())
            }
            Claim::Busy => Err(format!(
                "{sk} is being published by another delivery: try again"
            )),
            Claim::Mine => {
                let sent = self
                    .sns
                    .publish()
                    .topic_arn(&message.topic)
                    .set_subject(message.subject.clone())
                    .message(&message.body)
                    .send()
                    .await;
                let id = match sent {
                    Ok(out) => out.message_id().unwrap_or_default().to_string(),
                    Err(e) => {
                        let mut why =
                            format!("Publish to {}: {}", message.topic, crate::aws::describe(&e));
                        // Refused: not published, so the claim goes; otherwise it may have
                        // been, and the lease runs out instead.
                        if e.as_service_error().is_some()
                            && let Err(r) = self.records.release(pk, sk).await
                        {
                            why.push_str(&format!(" (and releasing its claim: {r})"));
                        }
                        return Err(why);
                    }
                };
                match (message.channel, message.key.starts_with("OPSGENIE#close#")) {
                    (Channel::Email, _) => done.emails += 1,
                    (Channel::Opsgenie, false) => done.alerts += 1,
                    (Channel::Opsgenie, true) => done.closes += 1,
                }
                self.records.done(pk, sk, &id, now).await
            }
        }
    }

    /// The aliases of the pipeline's alerts not closed yet.
    async fn open_aliases(&self, pipeline: &str) -> Result<Vec<String>, String> {
        let out = self
            .records
            .client
            .get_item()
            .table_name(&self.records.table)
            .key("pk", s(pipeline))
            .key("sk", s(OPEN))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| format!("GetItem {pipeline}: {}", crate::aws::describe(&e)))?;
        let mut aliases: Vec<String> = out
            .item()
            .and_then(|i| i.get("aliases"))
            .and_then(|a| a.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        aliases.sort();
        Ok(aliases)
    }

    /// `ADD`s or `DELETE`s aliases of the pipeline's open alerts.
    async fn open_alerts(
        &self,
        pipeline: &str,
        how: &str,
        aliases: &[String],
    ) -> Result<(), String> {
        self.records
            .client
            .update_item()
            .table_name(&self.records.table)
            .key("pk", s(pipeline))
            .key("sk", s(OPEN))
            .update_expression(format!("{how} aliases :a"))
            .expression_attribute_values(":a", AttributeValue::Ss(aliases.to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("UpdateItem {pipeline}: {}", crate::aws::describe(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::registry::Topics;
    use crate::notify::fixtures::{failed_step, triggered};

    fn reg(kind: Option<NotificationType>, email: bool, genie: bool) -> Registration {
        let mut reg = crate::manager::tests::reg(
            "name: pipeline-x\nteam: analytics\naccount: \"333333333333\"\ncompute: {type: NONE}\n",
        );
        reg.notification_type = kind;
        reg.topics = Topics {
            email: email.then(|| "arn:aws:sns:eu-west-1:333333333333:dpc-pipeline-x-email".into()),
            opsgenie: genie
                .then(|| "arn:aws:sns:eu-west-1:333333333333:dpc-pipeline-x-opsgenie".into()),
        };
        reg
    }

    fn channels(messages: &[Message]) -> Vec<(Channel, String)> {
        messages
            .iter()
            .map(|m| (m.channel, m.key.clone()))
            .collect()
    }

    #[test]
    fn the_type_decides_the_emails_and_failures_page() {
        use NotificationType::*;
        let running = triggered(Status::Running);
        let failed = triggered(Status::Failed);
        let succeeded = triggered(Status::Succeeded);
        let step = failed_step();
        let full = reg(Some(FullExecution), true, true);
        assert_eq!(
            channels(&plan(&full, &running, None)),
            [(Channel::Email, "EMAIL#run#-#-#RUNNING".to_string())]
        );
        assert_eq!(
            channels(&plan(&full, &running, Some(&step))),
            [(Channel::Email, "EMAIL#step#load#2#FAILED".to_string())]
        );
        assert_eq!(
            channels(&plan(&full, &failed, None)),
            [
                (Channel::Email, "EMAIL#run#-#-#FAILED".to_string()),
                (Channel::Opsgenie, "OPSGENIE#alert#-#-#FAILED".to_string())
            ]
        );
        let status = reg(Some(PipelineStatus), true, false);
        assert!(plan(&status, &running, Some(&step)).is_empty());
        assert_eq!(plan(&status, &succeeded, None).len(), 1);
        let failures = reg(Some(FailureOnly), true, true);
        assert!(plan(&failures, &running, None).is_empty());
        assert!(plan(&failures, &succeeded, None).is_empty());
        assert_eq!(plan(&failures, &failed, None).len(), 2);
        assert!(plan(&reg(None, false, false), &failed, None).is_empty());
    }

    #[test]
    fn messages_carry_the_rendered_text() {
        let failed = triggered(Status::Failed);
        let messages = plan(&reg(None, true, true), &failed, None);
        assert_eq!(
            messages[0].subject.as_deref(),
            Some(email::subject(&failed).as_str())
        );
        assert_eq!(messages[0].body, email::body(&failed, &[]));
        let alert: Value = serde_json::from_str(&messages[1].body).expect("JSON");
        assert_eq!(alert["action"], "create");
        assert_eq!(alert["alias"], opsgenie::alias(&failed));
        assert_eq!(alert["priority"], "P2");
        assert_eq!(messages[1].subject, None);
        let closing = close("t", &triggered(Status::Succeeded), "dpc-1-x-old");
        let body: Value = serde_json::from_str(&closing.body).expect("JSON");
        assert_eq!(
            (body["action"].as_str(), body["alias"].as_str()),
            (Some("close"), Some("dpc-1-x-old"))
        );
    }

    #[test]
    fn a_missed_sla_goes_to_both_topics_under_every_type() {
        let alert = crate::notify::sla::fixtures::missed();
        for kind in [
            None,
            Some(NotificationType::FullExecution),
            Some(NotificationType::PipelineStatus),
            Some(NotificationType::FailureOnly),
        ] {
            let messages = plan_sla(&reg(kind, true, true), &alert, "analytics");
            assert_eq!(
                channels(&messages),
                [
                    (Channel::Email, "EMAIL#sla".to_string()),
                    (Channel::Opsgenie, "OPSGENIE#alert#sla".to_string())
                ]
            );
            assert_eq!(
                messages[0].subject.as_deref(),
                Some(sla::email_subject(&alert).as_str())
            );
            assert_eq!(messages[0].body, sla::email_body(&alert, "analytics"));
            let body: Value = serde_json::from_str(&messages[1].body).expect("JSON");
            assert_eq!(body["action"], "create");
            assert_eq!(body["alias"], sla::opsgenie_alias(&alert));
        }
        assert!(plan_sla(&reg(None, false, false), &alert, "").is_empty());
    }
}
