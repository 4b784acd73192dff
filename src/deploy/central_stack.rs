//! The versioned central-account stack `dpc-central`: the `dpc-central` bus the consumer and
//! producer accounts put status and refresh events on, the rule feeding them to the trigger
//! manager through an SQS FIFO queue (with a dead-letter queue and its alarm), the manager's
//! DynamoDB table, the artifacts bucket the functions' code is uploaded to, the manager,
//! reconciler, registration and notifier functions (only when their code is given:
//! `CodeBucket`/`CodeKey`; the notifier posts to Slack only with `SlackTokenSecretArn`, the
//! OpenLineage emitter is fed only with a `LineageUrl`), one rule per consumer account
//! forwarding its triggers to its
//! `dpc-pipelines` bus, and the SSM parameters `/dpc/central/…`. Built as a typed JSON value,
//! deterministically: the same accounts in any order give the same template.
//!
//! The manager's table is one table with a `pk`/`sk` design (see [`TABLE_DESIGN`]).

use serde_json::{Map, Value, json};

use crate::compile::cfn::{get_att, reference, sub};
use crate::events;

/// The stack's name in the central account.
pub const STACK_NAME: &str = "dpc-central";
/// Bumped whenever consumer stacks or dpc need something new from this stack.
pub const VERSION: u32 = 1;
/// Where the version is kept.
pub const VERSION_PARAMETER: &str = "/dpc/central/version";
/// The central bus's default name (`central.bus` in dpc.yaml may name another).
pub const BUS: &str = "dpc-central";
/// The rule feeding the trigger manager.
pub const MANAGER_RULE: &str = "dpc-trigger-events-manager";
/// The FIFO queue between the rule and the manager, and its dead-letter queue.
pub const QUEUE: &str = "dpc-manager.fifo";
pub const DEAD_LETTER_QUEUE: &str = "dpc-manager-dlq.fifo";
/// The one message group of the manager queue: the manager sees events in arrival order.
pub const MESSAGE_GROUP: &str = "dpc-manager";
/// The role each consumer account offers the reconciler (read-only).
pub const RECONCILER_READ_ROLE: &str = "dpc-reconciler-read";
/// The reconciler's own role: named, so the read roles can trust it alone.
pub const RECONCILER_ROLE: &str = "dpc-reconciler";
/// The functions, by name (and handler: the one `bootstrap` dispatches on it).
pub const MANAGER_FUNCTION: &str = "dpc-manager";
pub const RECONCILER_FUNCTION: &str = "dpc-reconciler";
pub const REGISTRATION_FUNCTION: &str = "dpc-registration";
/// The logical id of the bucket the functions' code is uploaded to (its name is CloudFormation's).
pub const ARTIFACTS_BUCKET: &str = "ArtifactsBucket";
/// Receives before a message goes to the dead-letter queue.
pub const MAX_RECEIVES: u32 = 5;
/// The manager function's timeout, seconds; the queue's visibility timeout is 6× it.
pub const MANAGER_TIMEOUT: u32 = 60;
/// Messages per manager invocation (SQS FIFO allows at most 10).
pub const BATCH_SIZE: u32 = 10;
/// The condition every function resource carries: `CodeBucket` and `CodeKey` are not empty.
pub const HAS_CODE: &str = "HasCode";
/// The notifier posts to Slack: code and a Slack token secret (without, it delivers email and
/// OpsGenie only).
pub const HAS_SLACK: &str = "HasSlack";
/// The parameter naming the Secrets Manager secret with the Slack bot token.
pub const SLACK_SECRET_PARAMETER: &str = "SlackTokenSecretArn";
/// The lineage function is deployed: code and an OpenLineage endpoint.
pub const HAS_LINEAGE: &str = "HasLineage";
/// The parameter holding the http(s) endpoint the lineage function posts to.
pub const LINEAGE_URL_PARAMETER: &str = "LineageUrl";
pub const NOTIFIER_FUNCTION: &str = "dpc-notifier";
/// The notifier's own role: named, so the pipelines' topics and notification keys can admit
/// it alone.
pub const NOTIFIER_ROLE: &str = "dpc-notifier";
pub const NOTIFIER_RULE: &str = "dpc-notifier-events";
pub const NOTIFIER_QUEUE: &str = "dpc-notifier";
pub const NOTIFIER_DEAD_LETTER_QUEUE: &str = "dpc-notifier-dlq";
/// The notifier's timeout: a batch of Slack calls with their 429 waits.
pub const NOTIFIER_TIMEOUT: u32 = 120;

/// What lives in the manager's one table: (what, `pk`, `sk`), as `manager::dynamo` writes it.
/// Upstream keys are `x:<account>/<region>/<pipeline>` and `p:<domain>/<name>[@<account>]`;
/// numbers in sort keys are zero-padded so that they sort. Items that expire carry
/// `expiresAt` (epoch seconds) for TTL. The sparse index `gsi1` (`gsi1pk`/`gsi1sk`) is used by
/// no item yet: every read the manager makes is a consistent read of the table itself.
pub const TABLE_DESIGN: &[(&str, &str, &str)] = &[
    (
        "commit version, outbox sequence, journal of a large commit",
        "META",
        "VERSION",
    ),
    ("registry", "REGISTRY", "<account>/<region>/<name>"),
    (
        "dependents index",
        "DEPENDENTS#<upstream key>",
        "<account>/<region>/<name>",
    ),
    (
        "dependency state",
        "PIPELINE#<account>/<region>/<name>",
        "STATE",
    ),
    (
        "history (expires after 90 days)",
        "PIPELINE#<account>/<region>/<name>",
        "HIST#<commit version>#<n>",
    ),
    (
        "run log by execution (expires after 400 days)",
        "RUN#<upstream key>",
        "ID#<executionArn>",
    ),
    (
        "run log by result time (expires after 400 days)",
        "RUN#<upstream key>",
        "T#<result time>#<executionArn>",
    ),
    ("latest run of an upstream", "RUN#<upstream key>", "LATEST"),
    (
        "event ids (expire after 35 days)",
        "EVENT#<event id>",
        "EVENT",
    ),
    (
        "facts (expire after 400 days)",
        "FACT#<x|executionArn|status|redrive>",
        "FACT",
    ),
    (
        "triggers (expire after 400 days)",
        "TRIGGERS",
        "<triggerId>",
    ),
    ("outbox (deleted once sent)", "OUTBOX", "<seq>"),
    (
        "reconciler watermarks",
        "RECONCILER#<stateMachineArn>",
        "WATERMARK",
    ),
];

/// The registration function's ARN in the central account and region (a `Fn::Sub` string):
/// the service token of the consumer accounts' `Custom::DpcRegistration` resources.
pub fn registration_service_token(region: &str, account: &str) -> String {
    format!("arn:${{AWS::Partition}}:lambda:{region}:{account}:function:{REGISTRATION_FUNCTION}")
}

/// A consumer (or producer) account and the region of its `dpc-pipelines` bus (`None`: the
/// central region).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Consumer {
    pub account: String,
    pub region: Option<String>,
}

/// What the template is built from.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    /// The central bus's name (default [`BUS`]).
    pub bus: String,
    pub consumers: Vec<Consumer>,
    /// An AWS Organizations id whose accounts may all put events on the bus.
    pub org_id: Option<String>,
}

/// Builds the template. Consumers are sorted and de-duplicated by account first.
pub fn template(spec: &Spec) -> Value {
    let mut consumers = spec.consumers.clone();
    consumers.sort();
    consumers.dedup_by(|a, b| a.account == b.account);
    let bus_name = if spec.bus.is_empty() { BUS } else { &spec.bus };
    let mut r = Map::new();
    bus(&mut r, bus_name, &consumers, spec.org_id.as_deref());
    queue(&mut r, bus_name);
    table(&mut r);
    artifacts(&mut r);
    functions(&mut r, &consumers, spec.org_id.as_deref());
    notifier(&mut r, bus_name);
    lineage(&mut r, bus_name);
    forwarding(&mut r, bus_name, &consumers);
    parameters(&mut r);
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("dpc central account (version {VERSION}): central bus, trigger manager queue and table, artifacts bucket, manager/reconciler/registration/notifier/lineage functions, trigger forwarding"),
        "Parameters": {
            "CodeBucket": {"Type": "String", "Default": "", "Description": "S3 bucket holding the dpc functions' code (empty: the functions are not created)"},
            "CodeKey": {"Type": "String", "Default": "", "Description": "S3 key of the dpc functions' zip (provided.al2023, x86_64; empty: the functions are not created)"},
            SLACK_SECRET_PARAMETER: {"Type": "String", "Default": "", "Description": "ARN of the Secrets Manager secret holding the Slack bot token (empty: the notifier does not post to Slack)"},
            LINEAGE_URL_PARAMETER: {"Type": "String", "Default": "", "Description": "http(s) endpoint the dpc-lineage function posts OpenLineage events to (empty: the function is not created)"},
        },
        "Conditions": {
            HAS_CODE: {"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [reference("CodeBucket"), ""]}]},
                {"Fn::Not": [{"Fn::Equals": [reference("CodeKey"), ""]}]},
            ]},
            // HasCode spelled out (moto does not evaluate a nested `Condition`).
            HAS_SLACK: {"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [reference("CodeBucket"), ""]}]},
                {"Fn::Not": [{"Fn::Equals": [reference("CodeKey"), ""]}]},
                {"Fn::Not": [{"Fn::Equals": [reference(SLACK_SECRET_PARAMETER), ""]}]},
            ]},
            HAS_LINEAGE: {"Fn::And": [
                {"Fn::Not": [{"Fn::Equals": [reference("CodeBucket"), ""]}]},
                {"Fn::Not": [{"Fn::Equals": [reference("CodeKey"), ""]}]},
                {"Fn::Not": [{"Fn::Equals": [reference(LINEAGE_URL_PARAMETER), ""]}]},
            ]},
        },
        "Resources": r,
        "Outputs": outputs(),
    })
}

fn root(account: &str) -> Value {
    sub(&format!("arn:${{AWS::Partition}}:iam::{account}:root"))
}

/// The bus, and who may put events on it: the listed accounts, and the organization.
fn bus(r: &mut Map<String, Value>, name: &str, consumers: &[Consumer], org_id: Option<&str>) {
    r.insert(
        "CentralBus".into(),
        json!({"Type": "AWS::Events::EventBus", "Properties": {"Name": name}}),
    );
    if !consumers.is_empty() {
        let principals: Vec<Value> = consumers.iter().map(|c| root(&c.account)).collect();
        r.insert(
            "CentralBusAccountsPolicy".into(),
            json!({
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {
                    "EventBusName": reference("CentralBus"),
                    "StatementId": "dpc-accounts-put-events",
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": {"AWS": principals},
                        "Action": "events:PutEvents",
                        "Resource": get_att("CentralBus", "Arn"),
                    },
                },
            }),
        );
    }
    if let Some(org) = org_id {
        r.insert(
            "CentralBusOrganizationPolicy".into(),
            json!({
                "Type": "AWS::Events::EventBusPolicy",
                "Properties": {
                    "EventBusName": reference("CentralBus"),
                    "StatementId": "dpc-organization-puts-events",
                    "Statement": {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "events:PutEvents",
                        "Resource": get_att("CentralBus", "Arn"),
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}},
                    },
                },
            }),
        );
    }
}

/// The event pattern of the manager rule: `dpc-*` state machines' status changes, and data
/// product refreshes.
pub fn manager_pattern() -> Value {
    json!({"$or": [
        {
            "source": [events::STATUS_SOURCE],
            "detail-type": [events::STATUS_DETAIL_TYPE],
            "detail": {"stateMachineArn": [{"wildcard": "arn:*:states:*:*:stateMachine:dpc-*"}]},
        },
        {
            "source": [events::REFRESH_SOURCE],
            "detail-type": [events::REFRESH_DETAIL_TYPE],
        },
    ]})
}

/// Rules name the bus (moto cannot resolve a `Ref` to a bus there) and depend on it.
fn queue(r: &mut Map<String, Value>, bus_name: &str) {
    feed(
        r,
        bus_name,
        &Feed {
            id: "Manager",
            queue: QUEUE,
            dead_letter_queue: DEAD_LETTER_QUEUE,
            fifo: true,
            timeout: MANAGER_TIMEOUT,
            condition: None,
            rule: MANAGER_RULE,
            description: "dpc state machines' status changes and data product refreshes, to the trigger manager",
            pattern: manager_pattern(),
            target: "manager-queue",
            alarm: "dpc: events the trigger manager could not process are in the dead-letter queue",
        },
    );
}

/// A function's feed from the central bus: a rule into an SQS queue (FIFO in one message
/// group when `fifo`), a dead-letter queue after [`MAX_RECEIVES`] receives and an alarm on it;
/// the queue admits that rule only. Logical ids start with `id`.
struct Feed<'a> {
    id: &'a str,
    queue: &'a str,
    dead_letter_queue: &'a str,
    fifo: bool,
    /// Seconds; the queue hides a message for six times as long.
    timeout: u32,
    condition: Option<&'a str>,
    rule: &'a str,
    description: &'a str,
    pattern: Value,
    target: &'a str,
    alarm: &'a str,
}

fn feed(r: &mut Map<String, Value>, bus_name: &str, f: &Feed) {
    let id = |suffix: &str| format!("{}{suffix}", f.id);
    let mut put = |suffix: &str, mut resource: Value| {
        if let Some(condition) = f.condition {
            resource["Condition"] = json!(condition);
        }
        r.insert(id(suffix), resource);
    };
    let mut dead = json!({
        "QueueName": f.dead_letter_queue,
        "MessageRetentionPeriod": 1_209_600,
        "SqsManagedSseEnabled": true,
    });
    let mut queue = json!({
        "QueueName": f.queue,
        "VisibilityTimeout": 6 * f.timeout,
        "MessageRetentionPeriod": 1_209_600,
        "SqsManagedSseEnabled": true,
        "RedrivePolicy": {"deadLetterTargetArn": get_att(&id("DeadLetterQueue"), "Arn"), "maxReceiveCount": MAX_RECEIVES},
    });
    let mut target = json!({"Id": f.target, "Arn": get_att(&id("Queue"), "Arn")});
    if f.fifo {
        for q in [&mut dead, &mut queue] {
            q["FifoQueue"] = json!(true);
            q["ContentBasedDeduplication"] = json!(true);
        }
        target["SqsParameters"] = json!({"MessageGroupId": MESSAGE_GROUP});
    }
    put(
        "DeadLetterQueue",
        json!({"Type": "AWS::SQS::Queue", "Properties": dead}),
    );
    put(
        "Queue",
        json!({"Type": "AWS::SQS::Queue", "Properties": queue}),
    );
    put(
        "QueuePolicy",
        json!({
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [reference(&id("Queue"))],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": id("RuleSends"),
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": get_att(&id("Queue"), "Arn"),
                    "Condition": {"ArnEquals": {"aws:SourceArn": get_att(&id("Rule"), "Arn")}},
                }]},
            },
        }),
    );
    put(
        "Rule",
        json!({
            "Type": "AWS::Events::Rule",
            "DependsOn": ["CentralBus"],
            "Properties": {
                "Name": f.rule,
                "Description": f.description,
                "EventBusName": bus_name,
                "EventPattern": f.pattern,
                "State": "ENABLED",
                "Targets": [target],
            },
        }),
    );
    put(
        "DeadLetterAlarm",
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f.alarm,
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": get_att(&id("DeadLetterQueue"), "QueueName")}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
            },
        }),
    );
}

fn table(r: &mut Map<String, Value>) {
    let attribute = |name: &str| json!({"AttributeName": name, "AttributeType": "S"});
    r.insert("ManagerTable".into(), json!({
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [attribute("pk"), attribute("sk"), attribute("gsi1pk"), attribute("gsi1sk")],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [{
                "IndexName": "gsi1",
                "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }],
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": true},
            "SSESpecification": {"SSEEnabled": true},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
        },
    }));
}

/// Where `dpc setup-central-account` uploads the functions' zip (content-addressed keys, so no
/// versioning); private, encrypted, TLS only. Kept when the stack goes: functions being
/// rolled back may need an older zip.
fn artifacts(r: &mut Map<String, Value>) {
    r.insert(ARTIFACTS_BUCKET.into(), json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    }));
    r.insert("ArtifactsBucketPolicy".into(), json!({
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": reference(ARTIFACTS_BUCKET),
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [get_att(ARTIFACTS_BUCKET, "Arn"), sub(&format!("${{{ARTIFACTS_BUCKET}.Arn}}/*"))],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]},
        },
    }));
}

fn assume(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
}

fn allow(actions: &[&str], resource: Value) -> Value {
    json!({"Effect": "Allow", "Action": actions, "Resource": resource})
}

/// Item actions on the manager table and its index; no table management. TransactWriteItems
/// has no action of its own: each item of a transaction needs its Put/Update/Delete/
/// ConditionCheck action.
pub const TABLE_ACTIONS: &[&str] = &[
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];

fn table_items() -> Value {
    allow(
        TABLE_ACTIONS,
        json!([
            get_att("ManagerTable", "Arn"),
            sub("${ManagerTable.Arn}/index/gsi1")
        ]),
    )
}

fn put_central() -> Value {
    allow(&["events:PutEvents"], get_att("CentralBus", "Arn"))
}

/// One function as [`function`] makes it.
struct Function<'a> {
    id: &'a str,
    name: &'a str,
    timeout: u32,
    /// Its role's statements, besides writing its own logs.
    statements: Vec<Value>,
    managed: Vec<Value>,
    /// A fixed role name (others get CloudFormation's).
    role_name: Option<&'a str>,
    /// Environment variables besides `DPC_TABLE` and `DPC_CENTRAL_BUS_ARN`.
    environment: Vec<(&'a str, Value)>,
}

/// One function: its log group, role and the function, all only when there is code.
fn function(r: &mut Map<String, Value>, f: Function) {
    let Function {
        id,
        name,
        timeout,
        statements,
        managed,
        role_name,
        environment,
    } = f;
    let log_group = format!("{id}LogGroup");
    r.insert(
        log_group.clone(),
        json!({
            "Type": "AWS::Logs::LogGroup",
            "Condition": HAS_CODE,
            "Properties": {"LogGroupName": format!("/aws/lambda/{name}"), "RetentionInDays": 90},
        }),
    );
    let mut all = vec![allow(
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        get_att(&log_group, "Arn"),
    )];
    all.extend(statements);
    let mut role = json!({
        "AssumeRolePolicyDocument": assume("lambda.amazonaws.com"),
        "Policies": [{"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": all}}],
    });
    if !managed.is_empty() {
        role["ManagedPolicyArns"] = json!(managed);
    }
    if let Some(role_name) = role_name {
        role["RoleName"] = json!(role_name);
    }
    let mut variables = json!({
        "DPC_TABLE": reference("ManagerTable"),
        "DPC_CENTRAL_BUS_ARN": get_att("CentralBus", "Arn"),
    });
    for (key, value) in environment {
        variables[key] = value;
    }
    r.insert(
        format!("{id}Role"),
        json!({"Type": "AWS::IAM::Role", "Condition": HAS_CODE, "Properties": role}),
    );
    r.insert(
        id.into(),
        json!({
            "Type": "AWS::Lambda::Function",
            "Condition": HAS_CODE,
            "DependsOn": [log_group],
            "Properties": {
                "FunctionName": name,
                "Runtime": "provided.al2023",
                "Architectures": ["x86_64"],
                "Handler": name,
                "Code": {"S3Bucket": reference("CodeBucket"), "S3Key": reference("CodeKey")},
                "Role": get_att(&format!("{id}Role"), "Arn"),
                "Timeout": timeout,
                "MemorySize": 512,
                "Environment": {"Variables": variables},
            },
        }),
    );
}

fn functions(r: &mut Map<String, Value>, consumers: &[Consumer], org_id: Option<&str>) {
    let queue = allow(
        &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ],
        get_att("ManagerQueue", "Arn"),
    );
    function(
        r,
        Function {
            id: "ManagerFunction",
            name: MANAGER_FUNCTION,
            timeout: MANAGER_TIMEOUT,
            statements: vec![queue, table_items(), put_central()],
            managed: Vec::new(),
            role_name: None,
            environment: Vec::new(),
        },
    );
    r.insert(
        "ManagerEventSource".into(),
        json!({
            "Type": "AWS::Lambda::EventSourceMapping",
            "Condition": HAS_CODE,
            "Properties": {
                "EventSourceArn": get_att("ManagerQueue", "Arn"),
                "FunctionName": reference("ManagerFunction"),
                "BatchSize": BATCH_SIZE,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "Enabled": true,
            },
        }),
    );

    // The read roles the reconciler may assume change with the accounts; they sit in a policy
    // of their own, so adding an account leaves the (conditional) function role as it is.
    let mut managed = Vec::new();
    if !consumers.is_empty() {
        let roles: Vec<Value> = consumers
            .iter()
            .map(|c| {
                sub(&format!(
                    "arn:${{AWS::Partition}}:iam::{}:role/{RECONCILER_READ_ROLE}",
                    c.account
                ))
            })
            .collect();
        r.insert("ReconcilerReadRolesPolicy".into(), json!({
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": "dpc reconciler: assume the consumer accounts' read-only role",
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [allow(&["sts:AssumeRole"], json!(roles))]},
            },
        }));
        managed.push(reference("ReconcilerReadRolesPolicy"));
    }
    // Missing status events go through the manager's queue, as the rule would have sent them.
    function(
        r,
        Function {
            id: "ReconcilerFunction",
            name: RECONCILER_FUNCTION,
            timeout: 300,
            statements: vec![
                table_items(),
                allow(&["sqs:SendMessage"], get_att("ManagerQueue", "Arn")),
            ],
            managed,
            role_name: Some(RECONCILER_ROLE),
            environment: vec![("DPC_MANAGER_QUEUE_URL", reference("ManagerQueue"))],
        },
    );
    r.insert("ReconcilerSchedule".into(), json!({
        "Type": "AWS::Events::Rule",
        "Condition": HAS_CODE,
        "Properties": {
            "Name": RECONCILER_FUNCTION,
            "Description": "dpc: reconcile the manager's run log with the consumer accounts' executions",
            "ScheduleExpression": "rate(10 minutes)",
            "State": "ENABLED",
            "Targets": [{"Id": "reconciler", "Arn": get_att("ReconcilerFunction", "Arn")}],
        },
    }));
    r.insert(
        "ReconcilerSchedulePermission".into(),
        json!({
            "Type": "AWS::Lambda::Permission",
            "Condition": HAS_CODE,
            "Properties": {
                "FunctionName": reference("ReconcilerFunction"),
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": get_att("ReconcilerSchedule", "Arn"),
            },
        }),
    );

    function(
        r,
        Function {
            id: "RegistrationFunction",
            name: REGISTRATION_FUNCTION,
            timeout: 60,
            statements: vec![table_items()],
            managed: Vec::new(),
            role_name: None,
            environment: Vec::new(),
        },
    );
    // Pipeline stacks in the consumer accounts invoke it as their custom resource's service
    // token.
    for c in consumers {
        r.insert(
            format!("RegistrationPermission{}", c.account),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Condition": HAS_CODE,
                "Properties": {
                    "FunctionName": reference("RegistrationFunction"),
                    "Action": "lambda:InvokeFunction",
                    "Principal": c.account,
                },
            }),
        );
    }
    if let Some(org) = org_id {
        r.insert(
            "RegistrationPermissionOrganization".into(),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Condition": HAS_CODE,
                "Properties": {
                    "FunctionName": reference("RegistrationFunction"),
                    "Action": "lambda:InvokeFunction",
                    "Principal": "*",
                    "PrincipalOrgID": org,
                },
            }),
        );
    }
}

/// What the notifier reads: status changes of `dpc-*` state machines, step status events and
/// SLA alerts.
pub fn notifier_pattern() -> Value {
    json!({"$or": [
        {
            "source": [events::STATUS_SOURCE],
            "detail-type": [events::STATUS_DETAIL_TYPE],
            "detail": {"stateMachineArn": [{"wildcard": "arn:*:states:*:*:stateMachine:dpc-*"}]},
        },
        {
            "source": [events::STEP_SOURCE],
            "detail-type": [events::STEP_DETAIL_TYPE],
        },
        {
            "source": [events::SLA_SOURCE],
            "detail-type": [events::SLA_DETAIL_TYPE],
        },
    ]})
}

/// The Slack notifier: its queue (standard: messages of a run are ordered by the notifier
/// itself) and dead-letter queue, the rule on the central bus, the function reading the
/// token's secret only. All only with code and a secret.
fn notifier(r: &mut Map<String, Value>, bus_name: &str) {
    feed(
        r,
        bus_name,
        &Feed {
            id: "Notifier",
            queue: NOTIFIER_QUEUE,
            dead_letter_queue: NOTIFIER_DEAD_LETTER_QUEUE,
            fifo: false,
            timeout: NOTIFIER_TIMEOUT,
            condition: Some(HAS_CODE),
            rule: NOTIFIER_RULE,
            description: "dpc runs' status changes, step status events and SLA alerts, to the notifier",
            pattern: notifier_pattern(),
            target: "notifier-queue",
            alarm: "dpc: notifications the notifier could not deliver are in its dead-letter queue",
        },
    );
    let queue = allow(
        &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ],
        get_att("NotifierQueue", "Arn"),
    );
    // Publishing to the pipelines' topics: topics named `dpc-*` in any account, and their
    // accounts' notification keys through SNS only (each topic's and key's policy admits this
    // role alone).
    let publish = allow(&["sns:Publish"], sub("arn:${AWS::Partition}:sns:*:*:dpc-*"));
    let mut keys = allow(
        &["kms:Decrypt", "kms:GenerateDataKey"],
        sub("arn:${AWS::Partition}:kms:*:*:key/*"),
    );
    keys["Condition"] = json!({"StringLike": {"kms:ViaService": "sns.*.amazonaws.com"}});
    // The token's secret, readable only when Slack is on (a statement of the role's own policy:
    // moto loses a separate role policy when it updates the role).
    let slack_secret = json!({"Fn::If": [
        HAS_SLACK,
        allow(&["secretsmanager:GetSecretValue"], reference(SLACK_SECRET_PARAMETER)),
        reference("AWS::NoValue"),
    ]});
    function(
        r,
        Function {
            id: "NotifierFunction",
            name: NOTIFIER_FUNCTION,
            timeout: NOTIFIER_TIMEOUT,
            statements: vec![queue, table_items(), publish, keys, slack_secret],
            managed: Vec::new(),
            role_name: Some(NOTIFIER_ROLE),
            environment: vec![(
                crate::lambda::notifier::TOKEN_SECRET_VAR,
                reference(SLACK_SECRET_PARAMETER),
            )],
        },
    );
    r.insert(
        "NotifierEventSource".into(),
        json!({
            "Type": "AWS::Lambda::EventSourceMapping",
            "Condition": HAS_CODE,
            "Properties": {
                "EventSourceArn": get_att("NotifierQueue", "Arn"),
                "FunctionName": reference("NotifierFunction"),
                "BatchSize": BATCH_SIZE,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "Enabled": true,
            },
        }),
    );
}

/// The `dpc-pipelines` bus of a consumer account.
fn pipelines_bus(c: &Consumer) -> Value {
    let region = c.region.as_deref().unwrap_or("${AWS::Region}");
    sub(&format!(
        "arn:${{AWS::Partition}}:events:{region}:{}:event-bus/dpc-pipelines",
        c.account
    ))
}

/// One rule per consumer account: its triggers go to its `dpc-pipelines` bus.
fn forwarding(r: &mut Map<String, Value>, bus_name: &str, consumers: &[Consumer]) {
    if consumers.is_empty() {
        return;
    }
    let buses: Vec<Value> = consumers.iter().map(pipelines_bus).collect();
    r.insert(
        "ForwardTriggersRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": assume("events.amazonaws.com"),
                "Policies": [{"PolicyName": "put-consumer-buses", "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [allow(&["events:PutEvents"], json!(buses))],
                }}],
            },
        }),
    );
    for c in consumers {
        r.insert(format!("ForwardTriggers{}", c.account), json!({
            "Type": "AWS::Events::Rule",
            "DependsOn": ["CentralBus"],
            "Properties": {
                "Name": format!("dpc-forward-triggers-{}", c.account),
                "Description": format!("dpc triggers for account {} to its dpc-pipelines bus", c.account),
                "EventBusName": bus_name,
                "EventPattern": {
                    "source": [events::TRIGGER_SOURCE],
                    "detail-type": [events::TRIGGER_DETAIL_TYPE],
                    "detail": {"target": {"account": [c.account]}},
                },
                "State": "ENABLED",
                "Targets": [{"Id": "pipelines-bus", "Arn": pipelines_bus(c), "RoleArn": get_att("ForwardTriggersRole", "Arn")}],
            },
        }));
    }
}

fn parameters(r: &mut Map<String, Value>) {
    let values: [(&str, &str, Value); 6] = [
        (
            "VersionParameter",
            VERSION_PARAMETER,
            json!(VERSION.to_string()),
        ),
        (
            "BusParameter",
            "/dpc/central/event-bus-arn",
            get_att("CentralBus", "Arn"),
        ),
        (
            "QueueParameter",
            "/dpc/central/manager-queue-url",
            reference("ManagerQueue"),
        ),
        (
            "TableParameter",
            "/dpc/central/manager-table",
            reference("ManagerTable"),
        ),
        (
            "DeadLetterQueueParameter",
            "/dpc/central/manager-dead-letter-queue-url",
            reference("ManagerDeadLetterQueue"),
        ),
        (
            "ArtifactsBucketParameter",
            "/dpc/central/artifacts-bucket",
            reference(ARTIFACTS_BUCKET),
        ),
    ];
    for (id, name, value) in values {
        r.insert(id.into(), json!({"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}}));
    }
    r.insert("RegistrationTokenParameter".into(), json!({
        "Type": "AWS::SSM::Parameter",
        "Condition": HAS_CODE,
        "Properties": {"Name": "/dpc/central/registration-service-token", "Type": "String", "Value": get_att("RegistrationFunction", "Arn")},
    }));
}

/// The `dpc-lineage` function (with code and a [`LINEAGE_URL_PARAMETER`]: dpc.yaml's
/// `lineage: {transport: http}` or `--lineage-url`): posts each dpc run's OpenLineage events
/// to the endpoint.
pub const LINEAGE_FUNCTION: &str = "dpc-lineage";
pub const LINEAGE_RULE: &str = "dpc-lineage-events";
pub const LINEAGE_QUEUE: &str = "dpc-lineage";
pub const LINEAGE_DEAD_LETTER_QUEUE: &str = "dpc-lineage-dlq";
/// Seconds one lineage batch may take (each event is tried a few times, see
/// `lambda::lineage::TRIES`).
pub const LINEAGE_TIMEOUT: u32 = 120;

/// What the lineage function reads: status changes of `dpc-*` state machines.
pub fn lineage_pattern() -> Value {
    json!({
        "source": [events::STATUS_SOURCE],
        "detail-type": [events::STATUS_DETAIL_TYPE],
        "detail": {"stateMachineArn": [{"wildcard": "arn:*:states:*:*:stateMachine:dpc-*"}]},
    })
}

/// The OpenLineage emitter: the `dpc-lineage` function posting to the `LineageUrl`
/// parameter, reading registrations from the manager's table (GetItem only), and what feeds
/// it: its own queue (standard, so a slow endpoint never holds up triggering) with a
/// dead-letter queue and its alarm, the rule on the central bus and the event source mapping.
/// The feed exists only with code and a URL ([`HAS_LINEAGE`]); the function, like the
/// notifier, with the code: moto cannot update a stack whose code changes while a function
/// under a narrower condition is off (it resolves the function's role, never created), and
/// unfed it is never invoked.
fn lineage(r: &mut Map<String, Value>, bus_name: &str) {
    feed(
        r,
        bus_name,
        &Feed {
            id: "Lineage",
            queue: LINEAGE_QUEUE,
            dead_letter_queue: LINEAGE_DEAD_LETTER_QUEUE,
            fifo: false,
            timeout: LINEAGE_TIMEOUT,
            condition: Some(HAS_LINEAGE),
            rule: LINEAGE_RULE,
            description: "dpc runs' status changes, to the OpenLineage emitter",
            pattern: lineage_pattern(),
            target: "lineage-queue",
            alarm: "dpc: OpenLineage events the endpoint did not take are in the lineage dead-letter queue",
        },
    );
    // The queue exists with an endpoint only (as the notifier's Slack secret statement).
    let queue = json!({"Fn::If": [
        HAS_LINEAGE,
        allow(
            &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            get_att("LineageQueue", "Arn"),
        ),
        reference("AWS::NoValue"),
    ]});
    let read = allow(&["dynamodb:GetItem"], get_att("ManagerTable", "Arn"));
    function(
        r,
        Function {
            id: "LineageFunction",
            name: LINEAGE_FUNCTION,
            timeout: LINEAGE_TIMEOUT,
            statements: vec![queue, read],
            managed: Vec::new(),
            role_name: None,
            environment: vec![(
                crate::lambda::lineage::URL_VAR,
                reference(LINEAGE_URL_PARAMETER),
            )],
        },
    );
    r.insert(
        "LineageEventSource".into(),
        json!({
            "Type": "AWS::Lambda::EventSourceMapping",
            "Condition": HAS_LINEAGE,
            "Properties": {
                "EventSourceArn": get_att("LineageQueue", "Arn"),
                "FunctionName": reference("LineageFunction"),
                "BatchSize": BATCH_SIZE,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "Enabled": true,
            },
        }),
    );
}

fn outputs() -> Value {
    json!({
        "Version": {"Description": "dpc-central stack version", "Value": VERSION.to_string()},
        "CentralBusArn": {"Value": get_att("CentralBus", "Arn")},
        "ManagerQueueUrl": {"Value": reference("ManagerQueue")},
        "ManagerDeadLetterQueueUrl": {"Value": reference("ManagerDeadLetterQueue")},
        "ManagerTable": {"Value": reference("ManagerTable")},
        "ArtifactsBucket": {"Description": "Where dpc uploads the functions' code", "Value": reference(ARTIFACTS_BUCKET)},
        "RegistrationServiceToken": {
            "Condition": HAS_CODE,
            "Description": "Service token of the registration custom resource (dpc setup-user-account's RegistrationServiceToken)",
            "Value": get_att("RegistrationFunction", "Arn"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumers(ids: &[&str]) -> Vec<Consumer> {
        ids.iter()
            .map(|a| Consumer {
                account: (*a).into(),
                region: None,
            })
            .collect()
    }

    fn spec(ids: &[&str], org: Option<&str>) -> Spec {
        Spec {
            bus: BUS.into(),
            consumers: consumers(ids),
            org_id: org.map(String::from),
        }
    }

    /// Every value under an `Action` key, anywhere but in a `Deny` statement.
    fn actions(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) if map.get("Effect").is_some_and(|e| e == "Deny") => {}
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "Action" {
                        match v {
                            Value::String(s) => out.push(s.clone()),
                            Value::Array(a) => {
                                out.extend(a.iter().filter_map(|s| s.as_str().map(String::from)))
                            }
                            _ => out.push(v.to_string()),
                        }
                    } else {
                        actions(v, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| actions(v, out)),
            _ => {}
        }
    }

    fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a String, &'a Value)> {
        t["Resources"]
            .as_object()
            .map(|m| m.iter().filter(|(_, r)| r["Type"] == kind).collect())
            .unwrap_or_default()
    }

    #[test]
    fn no_iam_action_is_a_wildcard() {
        for t in [
            template(&spec(&["111111111111"], None)),
            template(&spec(
                &["111111111111", "222222222222"],
                Some("o-abc123def4"),
            )),
        ] {
            let mut all = Vec::new();
            actions(&t, &mut all);
            assert!(all.len() > 10, "{all:?}");
            for action in all {
                assert!(!action.contains('*'), "wildcard action {action}");
                assert!(action.contains(':'), "not a service action: {action}");
            }
        }
    }

    #[test]
    fn the_bus_policy_is_never_open() {
        for t in [
            template(&spec(&["111111111111"], None)),
            template(&spec(&["111111111111"], Some("o-abc123def4"))),
            template(&spec(&[], Some("o-abc123def4"))),
            template(&spec(&[], None)),
        ] {
            for (id, policy) in resources_of_type(&t, "AWS::Events::EventBusPolicy") {
                let statement = &policy["Properties"]["Statement"];
                if statement["Principal"] == "*" {
                    assert_eq!(
                        statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
                        "o-abc123def4",
                        "{id}"
                    );
                } else {
                    let principals = statement["Principal"]["AWS"].as_array().expect(id);
                    assert!(!principals.is_empty(), "{id}");
                }
            }
        }
        let t = template(&spec(&["222222222222", "111111111111"], None));
        let principals = &t["Resources"]["CentralBusAccountsPolicy"]["Properties"]["Statement"]["Principal"]
            ["AWS"];
        assert_eq!(
            principals,
            &json!([
                {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:root"},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::222222222222:root"},
            ])
        );
        assert!(
            template(&spec(&[], None))["Resources"]
                .get("CentralBusOrganizationPolicy")
                .is_none()
        );
    }

    #[test]
    fn one_forwarding_rule_per_account_to_its_pipelines_bus() {
        let ids = [
            "333333333333",
            "111111111111",
            "222222222222",
            "111111111111",
        ];
        let t = template(&spec(&ids, None));
        let rules: Vec<_> = resources_of_type(&t, "AWS::Events::Rule")
            .into_iter()
            .filter(|(id, _)| id.starts_with("ForwardTriggers"))
            .collect();
        assert_eq!(rules.len(), 3);
        for (_, rule) in rules {
            let p = &rule["Properties"];
            let account = p["EventPattern"]["detail"]["target"]["account"][0]
                .as_str()
                .expect("account");
            assert_eq!(p["EventPattern"]["source"][0], events::TRIGGER_SOURCE);
            assert_eq!(
                p["Targets"][0]["Arn"]["Fn::Sub"],
                format!(
                    "arn:${{AWS::Partition}}:events:${{AWS::Region}}:{account}:event-bus/dpc-pipelines"
                )
            );
        }
        let role = &t["Resources"]["ForwardTriggersRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"][0]["Resource"];
        assert_eq!(role.as_array().map(Vec::len), Some(3));
        // The same accounts in another order give the same template.
        let again = template(&spec(
            &["222222222222", "333333333333", "111111111111"],
            None,
        ));
        assert_eq!(t, again);
    }

    #[test]
    fn the_queue_outlives_six_function_timeouts_and_batches_stay_fifo_sized() {
        let t = template(&spec(&["111111111111"], None));
        let r = &t["Resources"];
        let timeout = r["ManagerFunction"]["Properties"]["Timeout"]
            .as_u64()
            .expect("timeout");
        let visibility = r["ManagerQueue"]["Properties"]["VisibilityTimeout"]
            .as_u64()
            .expect("visibility");
        assert!(visibility >= 6 * timeout, "{visibility} < 6 × {timeout}");
        let mapping = &r["ManagerEventSource"]["Properties"];
        assert!(mapping["BatchSize"].as_u64().expect("batch") <= 10);
        assert_eq!(
            mapping["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"])
        );
        assert_eq!(r["ManagerQueue"]["Properties"]["FifoQueue"], true);
        assert_eq!(
            r["ManagerRule"]["Properties"]["Targets"][0]["SqsParameters"]["MessageGroupId"],
            MESSAGE_GROUP
        );
        assert_eq!(
            r["ManagerQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"],
            MAX_RECEIVES
        );
    }

    #[test]
    fn every_function_resource_waits_for_code() {
        let t = template(&spec(&["111111111111"], Some("o-abc123def4")));
        for kind in [
            "AWS::Lambda::Function",
            "AWS::Lambda::Permission",
            "AWS::Lambda::EventSourceMapping",
            "AWS::Logs::LogGroup",
        ] {
            let found = resources_of_type(&t, kind);
            assert!(!found.is_empty(), "{kind}");
            for (id, r) in found {
                // The lineage function's feed needs an endpoint too.
                let condition = if id == "LineageEventSource" {
                    HAS_LINEAGE
                } else {
                    HAS_CODE
                };
                assert_eq!(r["Condition"], condition, "{id}");
            }
        }
        // Each narrower condition is HasCode and more, spelled out.
        for narrower in [HAS_SLACK, HAS_LINEAGE] {
            assert_eq!(
                t["Conditions"][narrower]["Fn::And"]
                    .as_array()
                    .map(|a| a[..2].to_vec()),
                t["Conditions"][HAS_CODE]["Fn::And"].as_array().cloned(),
                "{narrower}"
            );
        }
        let functions = resources_of_type(&t, "AWS::Lambda::Function");
        assert_eq!(functions.len(), 5);
        for (_, f) in functions {
            assert_eq!(f["Properties"]["Runtime"], "provided.al2023");
            assert_eq!(f["Properties"]["Handler"], f["Properties"]["FunctionName"]);
        }
    }

    #[test]
    fn the_rules_match_dpc_events_only() {
        use crate::pattern::Pattern;
        let manager = Pattern::parse(&manager_pattern().to_string()).expect("manager pattern");
        let status = |arn: &str| {
            json!({"source": events::STATUS_SOURCE, "detail-type": events::STATUS_DETAIL_TYPE,
                   "account": "111111111111", "region": "eu-west-1",
                   "detail": {"stateMachineArn": arn, "status": "SUCCEEDED"}})
            .to_string()
        };
        let matches = |p: &Pattern, e: &str| p.matches_json(e).expect("event");
        assert!(matches(
            &manager,
            &status("arn:aws:states:eu-west-1:111111111111:stateMachine:dpc-listings")
        ));
        assert!(!matches(
            &manager,
            &status("arn:aws:states:eu-west-1:111111111111:stateMachine:other")
        ));
        let refresh = json!({"source": events::REFRESH_SOURCE, "detail-type": events::REFRESH_DETAIL_TYPE,
                             "account": "111111111111", "region": "eu-west-1", "detail": {}});
        assert!(matches(&manager, &refresh.to_string()));

        let t = template(&spec(&["111111111111", "222222222222"], None));
        let forward = &t["Resources"]["ForwardTriggers111111111111"]["Properties"]["EventPattern"];
        let forward = Pattern::parse(&forward.to_string()).expect("forward pattern");
        let trigger = |account: &str| {
            json!({"source": events::TRIGGER_SOURCE, "detail-type": events::TRIGGER_DETAIL_TYPE,
                   "account": "999999999999", "region": "eu-west-1",
                   "detail": {"target": {"account": account, "region": "eu-west-1", "pipeline": "p"}}})
            .to_string()
        };
        assert!(matches(&forward, &trigger("111111111111")));
        assert!(!matches(&forward, &trigger("222222222222")));
    }

    #[test]
    fn the_notifier_reads_dpc_runs_steps_and_slas_and_only_its_secret() {
        use crate::pattern::Pattern;
        let p = Pattern::parse(&notifier_pattern().to_string()).expect("notifier pattern");
        let event = |source: &str, kind: &str, detail: Value| {
            json!({"source": source, "detail-type": kind, "account": "111111111111",
                   "region": "eu-west-1", "detail": detail})
            .to_string()
        };
        let machine = |m: &str| json!({"stateMachineArn": format!("arn:aws:states:eu-west-1:111111111111:stateMachine:{m}")});
        let status = |m| {
            event(
                events::STATUS_SOURCE,
                events::STATUS_DETAIL_TYPE,
                machine(m),
            )
        };
        assert!(p.matches_json(&status("dpc-listings")).expect("event"));
        assert!(!p.matches_json(&status("other")).expect("event"));
        let step = event(events::STEP_SOURCE, events::STEP_DETAIL_TYPE, json!({}));
        assert!(p.matches_json(&step).expect("event"));
        let sla = event(events::SLA_SOURCE, events::SLA_DETAIL_TYPE, json!({}));
        assert!(p.matches_json(&sla).expect("event"));
        let trigger = event(
            events::TRIGGER_SOURCE,
            events::TRIGGER_DETAIL_TYPE,
            json!({}),
        );
        assert!(!p.matches_json(&trigger).expect("event"));

        let t = template(&spec(&["111111111111"], None));
        let secret = reference(SLACK_SECRET_PARAMETER);
        // The secret is readable with Slack on only.
        let slack = policy(&t, "NotifierFunctionRole")
            .into_iter()
            .find(|s| s.get("Fn::If").is_some())
            .expect("the secret's statement");
        assert_eq!(slack["Fn::If"][0], HAS_SLACK);
        assert_eq!(slack["Fn::If"][1]["Resource"], secret);
        assert_eq!(
            slack["Fn::If"][1]["Action"],
            json!(["secretsmanager:GetSecretValue"])
        );
        assert_eq!(slack["Fn::If"][2], reference("AWS::NoValue"));
        // Topics and keys: publish, and the keys through SNS only.
        let publish = sub("arn:${AWS::Partition}:sns:*:*:dpc-*");
        assert_eq!(
            allowed(&t, "NotifierFunctionRole", &publish),
            ["sns:Publish"]
        );
        let keys = policy(&t, "NotifierFunctionRole")
            .into_iter()
            .find(|s| s["Action"] == json!(["kms:Decrypt", "kms:GenerateDataKey"]))
            .expect("the keys' statement");
        assert_eq!(
            keys["Condition"]["StringLike"]["kms:ViaService"],
            "sns.*.amazonaws.com"
        );
        assert_eq!(
            t["Resources"]["NotifierFunctionRole"]["Properties"]["RoleName"],
            NOTIFIER_ROLE
        );
        for role in [
            "NotifierFunctionRole",
            "ManagerFunctionRole",
            "ReconcilerFunctionRole",
            "RegistrationFunctionRole",
        ] {
            assert!(allowed(&t, role, &secret).is_empty(), "{role}");
        }
        let r = &t["Resources"];
        assert_eq!(
            r["NotifierFunction"]["Properties"]["Environment"]["Variables"]
                [crate::lambda::notifier::TOKEN_SECRET_VAR],
            secret
        );
        assert_eq!(
            r["NotifierQueue"]["Properties"]["VisibilityTimeout"],
            6 * NOTIFIER_TIMEOUT
        );
        assert_eq!(
            r["NotifierEventSource"]["Properties"]["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"])
        );
    }

    #[test]
    fn the_lineage_emitter_is_fed_with_code_and_a_url_parameter() {
        let t = template(&spec(&["111111111111"], None));
        let parameter = &t["Parameters"][LINEAGE_URL_PARAMETER];
        assert_eq!(parameter["Default"], "");
        assert_eq!(
            t["Conditions"][HAS_LINEAGE]["Fn::And"][2],
            json!({"Fn::Not": [{"Fn::Equals": [reference(LINEAGE_URL_PARAMETER), ""]}]})
        );
        let lineage: Vec<&String> = t["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, r)| r["Condition"] == HAS_LINEAGE)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(
            lineage,
            [
                "LineageDeadLetterAlarm",
                "LineageDeadLetterQueue",
                "LineageEventSource",
                "LineageQueue",
                "LineageQueuePolicy",
                "LineageRule",
            ]
        );
        let r = &t["Resources"];
        // The function comes with the code, as the notifier; its queue is readable only when
        // the queue exists.
        for id in [
            "LineageFunction",
            "LineageFunctionLogGroup",
            "LineageFunctionRole",
        ] {
            assert_eq!(r[id]["Condition"], HAS_CODE, "{id}");
        }
        let queue = policy(&t, "LineageFunctionRole")
            .into_iter()
            .find(|s| s.get("Fn::If").is_some())
            .expect("the queue's statement");
        assert_eq!(queue["Fn::If"][0], HAS_LINEAGE);
        assert_eq!(
            queue["Fn::If"][1]["Resource"],
            get_att("LineageQueue", "Arn")
        );
        assert_eq!(queue["Fn::If"][2], reference("AWS::NoValue"));
        assert_eq!(
            r["LineageFunction"]["Properties"]["Environment"]["Variables"]
                [crate::lambda::lineage::URL_VAR],
            reference(LINEAGE_URL_PARAMETER)
        );
        assert_eq!(
            r["LineageFunction"]["Properties"]["Code"],
            json!({"S3Bucket": reference("CodeBucket"), "S3Key": reference("CodeKey")})
        );
        assert_eq!(r["LineageRule"]["Properties"]["EventBusName"], BUS);
        assert_eq!(
            allowed(&t, "LineageFunctionRole", &get_att("ManagerTable", "Arn")),
            ["dynamodb:GetItem"]
        );
    }

    fn policy(t: &Value, role: &str) -> Vec<Value> {
        t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The actions a role's inline policy allows on `resource` (compared as JSON).
    fn allowed(t: &Value, role: &str, resource: &Value) -> Vec<String> {
        let mut out: Vec<String> = policy(t, role)
            .iter()
            .filter(|s| {
                s["Resource"] == *resource
                    || s["Resource"]
                        .as_array()
                        .is_some_and(|a| a.contains(resource))
            })
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(String::from))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn each_function_gets_its_environment_and_only_the_access_it_uses() {
        let t = template(&spec(&["111111111111"], None));
        let r = &t["Resources"];
        let table = get_att("ManagerTable", "Arn");
        for id in [
            "ManagerFunction",
            "ReconcilerFunction",
            "RegistrationFunction",
        ] {
            let variables = &r[id]["Properties"]["Environment"]["Variables"];
            assert_eq!(variables["DPC_TABLE"], reference("ManagerTable"), "{id}");
            assert_eq!(
                variables["DPC_CENTRAL_BUS_ARN"],
                get_att("CentralBus", "Arn"),
                "{id}"
            );
            assert_eq!(
                allowed(&t, &format!("{id}Role"), &table),
                TABLE_ACTIONS,
                "{id}"
            );
            assert_eq!(
                r[id]["Properties"]["Code"],
                json!({"S3Bucket": reference("CodeBucket"), "S3Key": reference("CodeKey")})
            );
        }
        let queue = get_att("ManagerQueue", "Arn");
        let bus = get_att("CentralBus", "Arn");
        assert_eq!(
            allowed(&t, "ManagerFunctionRole", &queue),
            [
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage"
            ]
        );
        assert_eq!(
            allowed(&t, "ManagerFunctionRole", &bus),
            ["events:PutEvents"]
        );
        assert_eq!(
            allowed(&t, "ReconcilerFunctionRole", &queue),
            ["sqs:SendMessage"]
        );
        assert!(allowed(&t, "ReconcilerFunctionRole", &bus).is_empty());
        assert_eq!(
            r["ReconcilerFunction"]["Properties"]["Environment"]["Variables"]["DPC_MANAGER_QUEUE_URL"],
            reference("ManagerQueue")
        );
        assert_eq!(
            policy(&t, "RegistrationFunctionRole").len(),
            2,
            "logs and table only"
        );
        assert_eq!(
            r["ReconcilerFunctionRole"]["Properties"]["RoleName"],
            RECONCILER_ROLE
        );
    }

    #[test]
    fn the_artifacts_bucket_is_private_encrypted_and_tls_only() {
        let t = template(&spec(&["111111111111"], None));
        let bucket = &t["Resources"][ARTIFACTS_BUCKET];
        assert_eq!(bucket["Type"], "AWS::S3::Bucket");
        assert!(bucket.get("Condition").is_none(), "exists before any code");
        let p = &bucket["Properties"];
        assert!(
            p.get("VersioningConfiguration").is_none(),
            "keys are content-addressed"
        );
        assert_eq!(
            p["PublicAccessBlockConfiguration"]["BlockPublicPolicy"],
            true
        );
        assert_eq!(
            p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
                ["SSEAlgorithm"],
            "AES256"
        );
        let deny = &t["Resources"]["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            [0];
        assert_eq!(deny["Effect"], "Deny");
        assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert_eq!(
            t["Outputs"]["ArtifactsBucket"]["Value"],
            reference(ARTIFACTS_BUCKET)
        );
        assert_eq!(
            registration_service_token("eu-west-1", "123456789012"),
            "arn:${AWS::Partition}:lambda:eu-west-1:123456789012:function:dpc-registration"
        );
    }

    #[test]
    fn the_reconciler_assumes_only_the_consumers_read_roles() {
        let t = template(&spec(&["111111111111", "222222222222"], None));
        let r = &t["Resources"];
        assert_eq!(
            r["ReconcilerFunctionRole"]["Properties"]["ManagedPolicyArns"],
            json!([reference("ReconcilerReadRolesPolicy")])
        );
        let assume =
            &r["ReconcilerReadRolesPolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
        assert_eq!(assume["Action"], json!(["sts:AssumeRole"]));
        assert_eq!(
            assume["Resource"],
            json!([
                {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:role/dpc-reconciler-read"},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::222222222222:role/dpc-reconciler-read"},
            ])
        );
    }
}
