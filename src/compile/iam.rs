//! IAM for the per-pipeline stack: reads what the state machine's states use and produces
//! least-privilege roles: each action only on the resources its states touch, EMR actions
//! only on clusters tagged with this pipeline.

use serde_json::{Value, json};

use super::Env;
use super::cfn::{get_att, reference, sub};
use super::state_machine::Uses;
use super::template::tags;

/// The state machine's execution role.
pub fn state_machine_role(env: &Env, uses: &Uses) -> Value {
    let mut statements = vec![claim_statement(), logs_statement()];
    if uses.emr {
        statements.extend(emr_statements(env));
    }
    if !uses.glue_jobs.is_empty() {
        statements.push(glue_statement(&uses.glue_jobs));
    }
    if let Some(bus) = &uses.publish_bus {
        statements.push(json!({"Sid": "PublishRefreshEvents", "Effect": "Allow", "Action": "events:PutEvents", "Resource": sub(bus)}));
    }
    if uses.step_events {
        let bus = format!(
            "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{}",
            super::state_machine::STEP_BUS
        );
        statements.push(json!({"Sid": "PutStepStatusEvents", "Effect": "Allow", "Action": "events:PutEvents", "Resource": sub(&bus)}));
    }
    role(env, "states.amazonaws.com", "dpc-state-machine", statements)
}

/// The role EventBridge rules (trigger and UTC schedule) start the state machine with.
pub fn events_role(env: &Env) -> Value {
    role(
        env,
        "events.amazonaws.com",
        "dpc-start-execution",
        vec![start_statement()],
    )
}

/// The role an EventBridge Scheduler schedule starts the state machine with; Scheduler also
/// writes undeliverable starts to the dead-letter queue with it.
pub fn scheduler_role(env: &Env) -> Value {
    let dlq = json!({"Sid": "DeadLetter", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": get_att("DeadLetterQueue", "Arn")});
    role(
        env,
        "scheduler.amazonaws.com",
        "dpc-start-execution",
        vec![start_statement(), dlq],
    )
}

fn role(env: &Env, service: &str, policy_name: &str, statements: Vec<Value>) -> Value {
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": format!("dpc pipeline {}: {service}", env.name()),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    // Only on behalf of this account (confused-deputy protection).
                    "Condition": {"StringEquals": {"aws:SourceAccount": reference("AWS::AccountId")}},
                }],
            },
            "Policies": [{
                "PolicyName": policy_name,
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }],
            "Tags": tags(env),
        },
    })
}

fn start_statement() -> Value {
    json!({"Sid": "StartExecution", "Effect": "Allow", "Action": "states:StartExecution", "Resource": reference("StateMachine")})
}

fn claim_statement() -> Value {
    json!({
        "Sid": "ClaimTrigger",
        "Effect": "Allow",
        "Action": "dynamodb:PutItem",
        "Resource": sub("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${ClaimsTableName}"),
    })
}

/// Step Functions' log delivery API has no resource-level permissions: AWS documents `*`.
fn logs_statement() -> Value {
    json!({
        "Sid": "LogDelivery",
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries",
            "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
        ],
        "Resource": "*",
    })
}

fn emr_statements(env: &Env) -> Vec<Value> {
    let tagged = json!({"StringEquals": {"aws:ResourceTag/dpc:pipeline": env.name()}});
    let clusters =
        sub("arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/*");
    let rules: Vec<Value> = ["RunJobFlowRule", "AddJobFlowStepsRule"]
        .iter()
        .map(|r| sub(&format!("arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/StepFunctionsGetEventForEMR{r}")))
        .collect();
    vec![
        json!({
            "Sid": "CreateTaggedCluster", "Effect": "Allow",
            "Action": ["elasticmapreduce:RunJobFlow", "elasticmapreduce:AddTags"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/dpc:pipeline": env.name()}},
        }),
        json!({
            "Sid": "UseOwnClusters", "Effect": "Allow",
            "Action": [
                "elasticmapreduce:AddJobFlowSteps", "elasticmapreduce:CancelSteps",
                "elasticmapreduce:DescribeCluster", "elasticmapreduce:DescribeStep",
                "elasticmapreduce:TerminateJobFlows",
            ],
            "Resource": clusters,
            "Condition": tagged,
        }),
        json!({
            "Sid": "PassEmrRoles", "Effect": "Allow", "Action": "iam:PassRole",
            "Resource": [
                sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${EmrServiceRole}"),
                sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${EmrInstanceProfile}"),
            ],
        }),
        // `.sync` EMR integrations wait through these Step Functions managed rules.
        json!({
            "Sid": "EmrSyncRules", "Effect": "Allow",
            "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            "Resource": rules,
        }),
    ]
}

fn glue_statement(jobs: &[String]) -> Value {
    let arns: Vec<Value> = jobs
        .iter()
        .map(|j| {
            sub(&format!(
                "arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:job/{j}"
            ))
        })
        .collect();
    json!({
        "Sid": "RunGlueJobs", "Effect": "Allow",
        "Action": ["glue:BatchStopJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:StartJobRun"],
        "Resource": arns,
    })
}
