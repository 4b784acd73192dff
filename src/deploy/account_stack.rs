//! The versioned per-account stack `dpc-account` (like `cdk bootstrap`): the
//! `dpc-pipelines` bus the central account may put triggers on, the rules forwarding `dpc-*`
//! state machines' status changes and step status events to the central bus (where the
//! manager and the central notifier read them), the artifacts bucket, the claims table,
//! the EMR and Glue roles, the central reconciler's read-only role, the notifications key, and
//! the SSM parameters (`/dpc/account/…`) that every pipeline stack reads. Built as a typed JSON
//! value, deterministically.

use serde_json::{Map, Value, json};

use crate::compile::cfn::{get_att, reference, sub};
use crate::deploy::central_stack::{
    RECONCILER_READ_ROLE, RECONCILER_ROLE, registration_service_token,
};
use crate::events;
use crate::pipeline::model::Central;

/// The stack's name in every account and region.
pub const STACK_NAME: &str = "dpc-account";
/// Bumped whenever pipeline stacks need something new from this stack; `dpc deploy` compares
/// it with `/dpc/account/version`.
/// 2: step status events forwarded; no Slack notifier endpoint.
/// 3: the notifications key admits the central notifier (through SNS), not EventBridge.
pub const VERSION: u32 = 3;
/// Where the version is kept.
pub const VERSION_PARAMETER: &str = "/dpc/account/version";
/// The parameter saying whether this stack creates the reconciler's read role (IAM names are
/// per account, stacks per account and region: one region has it).
pub const RECONCILER_ROLE_PARAMETER: &str = "CreateReconcilerReadRole";

/// Builds the template. Without a known central account, the central account and region
/// become stack parameters.
pub fn template(central: Option<&Central>) -> Value {
    let (central_account, central_region, central_bus) = match central {
        Some(c) => (c.account.clone(), c.region.clone(), c.bus.clone()),
        None => (
            "${CentralAccountId}".into(),
            "${CentralRegion}".into(),
            "dpc-central".into(),
        ),
    };
    let central_bus_arn = format!(
        "arn:${{AWS::Partition}}:events:{central_region}:{central_account}:event-bus/{central_bus}"
    );
    let mut resources = Map::new();
    bus(&mut resources, &central_account);
    forwarding(&mut resources, &central_bus_arn);
    storage(&mut resources);
    roles(&mut resources);
    reconciler_role(&mut resources, &central_account);
    notifications_key(&mut resources, &central_account);
    let registration = registration_service_token(&central_region, &central_account);
    parameters(&mut resources, &central_bus_arn, &registration);
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("dpc per-account resources (version {VERSION}): pipelines bus, status and step event forwarding, artifacts, claims, roles"),
        "Parameters": stack_parameters(central.is_none()),
        "Conditions": {
            "HasRegistrationToken": {"Fn::Not": [{"Fn::Equals": [reference("RegistrationServiceToken"), ""]}]},
            "CreatesReconcilerRole": {"Fn::Equals": [reference(RECONCILER_ROLE_PARAMETER), "true"]},
        },
        "Resources": resources,
        "Outputs": outputs(),
    })
}

fn stack_parameters(central_unknown: bool) -> Value {
    let mut out = json!({
        "RegistrationServiceToken": {
            "Type": "String", "Default": "",
            "Description": "Service token of the central registration custom resource (default: the central account's dpc-registration function)",
        },
        RECONCILER_ROLE_PARAMETER: {
            "Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
            "Description": "Create the central reconciler's read-only role (false in every region but one of an account: IAM role names are per account)",
        },
    });
    if central_unknown {
        out["CentralAccountId"] = json!({"Type": "String", "AllowedPattern": "^[0-9]{12}$", "Description": "The dpc central account"});
        out["CentralRegion"] = json!({"Type": "String", "AllowedPattern": "^[a-z]{2}(-[a-z]+)+-[0-9]+$", "Description": "The dpc central region"});
    }
    out
}

fn bus(r: &mut Map<String, Value>, central_account: &str) {
    r.insert(
        "PipelinesBus".into(),
        json!({"Type": "AWS::Events::EventBus", "Properties": {"Name": "dpc-pipelines"}}),
    );
    r.insert("PipelinesBusPolicy".into(), json!({
        "Type": "AWS::Events::EventBusPolicy",
        "Properties": {
            "EventBusName": reference("PipelinesBus"),
            "StatementId": "dpc-central-puts-triggers",
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": sub(&format!("arn:${{AWS::Partition}}:iam::{central_account}:root"))},
                "Action": "events:PutEvents",
                "Resource": get_att("PipelinesBus", "Arn"),
            },
        },
    }));
}

/// Status changes of this account's `dpc-*` state machines, and the step status events their
/// executions put on the default bus (FULL_EXECUTION), go to the central bus, once.
fn forwarding(r: &mut Map<String, Value>, central_bus_arn: &str) {
    r.insert("ForwardRole".into(), json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": assume("events.amazonaws.com"),
            "Policies": [{"PolicyName": "put-central", "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": sub(central_bus_arn)}],
            }}],
        },
    }));
    r.insert("ForwardStatusRule".into(), json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": "Forward dpc state machines' status changes to the central bus",
            "EventPattern": {
                "source": [events::STATUS_SOURCE],
                "detail-type": [events::STATUS_DETAIL_TYPE],
                "detail": {"stateMachineArn": [{"prefix": sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:dpc-")}]},
            },
            "State": "ENABLED",
            "Targets": [{"Id": "central", "Arn": sub(central_bus_arn), "RoleArn": get_att("ForwardRole", "Arn")}],
        },
    }));
    r.insert("ForwardStepRule".into(), json!({
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": "Forward dpc executions' step status events to the central bus",
            "EventPattern": {
                "source": [events::STEP_SOURCE],
                "detail-type": [events::STEP_DETAIL_TYPE],
                "detail": {"executionArn": [{"prefix": sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:dpc-")}]},
            },
            "State": "ENABLED",
            "Targets": [{"Id": "central", "Arn": sub(central_bus_arn), "RoleArn": get_att("ForwardRole", "Arn")}],
        },
    }));
}

fn storage(r: &mut Map<String, Value>) {
    r.insert("ArtifactsBucket".into(), json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {"Rules": [{"Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]},
        },
    }));
    r.insert("ArtifactsBucketPolicy".into(), json!({
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": reference("ArtifactsBucket"),
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                "Resource": [get_att("ArtifactsBucket", "Arn"), sub("${ArtifactsBucket.Arn}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]},
        },
    }));
    r.insert(
        "ClaimsTable".into(),
        json!({
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "triggerId", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "triggerId", "KeyType": "HASH"}],
                "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": true},
                "SSESpecification": {"SSEEnabled": true},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
            },
        }),
    );
}

fn assume(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
}

fn read_artifacts() -> Value {
    json!({"PolicyName": "read-artifacts", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [get_att("ArtifactsBucket", "Arn"), sub("${ArtifactsBucket.Arn}/*")]},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": sub("${ArtifactsBucket.Arn}/logs/*")},
    ]}})
}

fn managed(policy: &str) -> Value {
    sub(&format!("arn:${{AWS::Partition}}:iam::aws:policy/{policy}"))
}

fn roles(r: &mut Map<String, Value>) {
    r.insert("EmrServiceRole".into(), json!({
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": assume("elasticmapreduce.amazonaws.com"),
                       "ManagedPolicyArns": [managed("service-role/AmazonEMRServicePolicy_v2")]},
    }));
    r.insert("EmrInstanceRole".into(), json!({
        "Type": "AWS::IAM::Role",
        "Properties": {"AssumeRolePolicyDocument": assume("ec2.amazonaws.com"), "Policies": [read_artifacts()]},
    }));
    r.insert(
        "EmrInstanceProfile".into(),
        json!({
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"Roles": [reference("EmrInstanceRole")]},
        }),
    );
    r.insert(
        "GlueJobRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": assume("glue.amazonaws.com"),
                           "ManagedPolicyArns": [managed("service-role/AWSGlueServiceRole")],
                           "Policies": [read_artifacts()]},
        }),
    );
}

/// The role the central account's reconciler assumes to list this account's `dpc-*`
/// executions: trusted by the central account's reconciler role only, read-only.
fn reconciler_role(r: &mut Map<String, Value>, central_account: &str) {
    let states = |resource: &str| {
        sub(&format!(
            "arn:${{AWS::Partition}}:states:*:${{AWS::AccountId}}:{resource}"
        ))
    };
    r.insert("ReconcilerReadRole".into(), json!({
        "Type": "AWS::IAM::Role",
        "Condition": "CreatesReconcilerRole",
        "Properties": {
            "RoleName": RECONCILER_READ_ROLE,
            "Description": "dpc: the central reconciler reads this account's dpc-* executions",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": sub(&format!("arn:${{AWS::Partition}}:iam::{central_account}:root"))},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": sub(&format!("arn:${{AWS::Partition}}:iam::{central_account}:role/{RECONCILER_ROLE}"))}},
            }]},
            "Policies": [{"PolicyName": "read-dpc-executions", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "states:ListExecutions", "Resource": states("stateMachine:dpc-*")},
                {"Effect": "Allow", "Action": "states:DescribeExecution", "Resource": states("execution:dpc-*:*")},
            ]}}],
        },
    }));
}

/// Topics are encrypted with this key; the central account's notifier role may use it to
/// publish to them, through SNS only.
fn notifications_key(r: &mut Map<String, Value>, central_account: &str) {
    r.insert("NotificationsKey".into(), json!({
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "dpc notification topics",
            "EnableKeyRotation": true,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "CentralNotifierPublishes", "Effect": "Allow",
                 "Principal": {"AWS": sub(&format!("arn:${{AWS::Partition}}:iam::{central_account}:root"))},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
                 "Condition": {
                     "StringEquals": {"kms:ViaService": sub("sns.${AWS::Region}.amazonaws.com")},
                     "ArnEquals": {"aws:PrincipalArn": crate::compile::notify::notifier_role_arn(central_account)},
                 }},
            ]},
        },
    }));
    r.insert("NotificationsKeyAlias".into(), json!({
        "Type": "AWS::KMS::Alias",
        "Properties": {"AliasName": "alias/dpc-notifications", "TargetKeyId": reference("NotificationsKey")},
    }));
}

/// The SSM parameters pipeline stacks read (see `compile::template`).
fn parameters(r: &mut Map<String, Value>, central_bus_arn: &str, registration: &str) {
    let registration = json!({"Fn::If": ["HasRegistrationToken", reference("RegistrationServiceToken"), sub(registration)]});
    let values: [(&str, &str, Value); 9] = [
        (
            "VersionParameter",
            VERSION_PARAMETER,
            json!(VERSION.to_string()),
        ),
        (
            "ArtifactsBucketParameter",
            "/dpc/account/artifacts-bucket",
            reference("ArtifactsBucket"),
        ),
        (
            "ClaimsTableParameter",
            "/dpc/account/claims-table",
            reference("ClaimsTable"),
        ),
        (
            "EmrInstanceProfileParameter",
            "/dpc/account/emr-instance-profile",
            reference("EmrInstanceProfile"),
        ),
        (
            "EmrServiceRoleParameter",
            "/dpc/account/emr-service-role",
            reference("EmrServiceRole"),
        ),
        (
            "GlueJobRoleParameter",
            "/dpc/account/glue-job-role",
            get_att("GlueJobRole", "Arn"),
        ),
        (
            "NotificationsKeyParameter",
            "/dpc/account/notifications-kms-key",
            get_att("NotificationsKey", "Arn"),
        ),
        (
            "RegistrationTokenParameter",
            "/dpc/account/registration-service-token",
            registration,
        ),
        (
            "CentralBusParameter",
            "/dpc/account/central-event-bus-arn",
            sub(central_bus_arn),
        ),
    ];
    for (id, name, value) in values {
        r.insert(id.into(), json!({"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}}));
    }
}

fn outputs() -> Value {
    json!({
        "Version": {"Description": "dpc-account stack version", "Value": VERSION.to_string()},
        "PipelinesBusArn": {"Value": get_att("PipelinesBus", "Arn")},
        "ArtifactsBucket": {"Value": reference("ArtifactsBucket")},
        "ClaimsTable": {"Value": reference("ClaimsTable")},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provides_every_ssm_parameter_pipeline_stacks_read() {
        let t = template(None).to_string();
        for name in [
            "/dpc/account/artifacts-bucket",
            "/dpc/account/claims-table",
            "/dpc/account/emr-instance-profile",
            "/dpc/account/emr-service-role",
            "/dpc/account/glue-job-role",
            "/dpc/account/notifications-kms-key",
            "/dpc/account/registration-service-token",
            VERSION_PARAMETER,
        ] {
            assert!(t.contains(name), "{name}");
        }
    }

    #[test]
    fn a_known_central_account_is_fixed_in_the_template() {
        let central = Central {
            account: "999999999999".into(),
            region: "eu-west-1".into(),
            bus: "dpc-central".into(),
        };
        let t = template(Some(&central));
        assert!(t["Parameters"].get("CentralAccountId").is_none());
        let target =
            t["Resources"]["ForwardStatusRule"]["Properties"]["Targets"][0]["Arn"]["Fn::Sub"]
                .as_str()
                .unwrap_or_default();
        assert_eq!(
            target,
            "arn:${AWS::Partition}:events:eu-west-1:999999999999:event-bus/dpc-central"
        );
        assert!(
            template(None)["Parameters"]
                .get("CentralAccountId")
                .is_some()
        );
    }

    #[test]
    fn the_reconciler_read_role_trusts_the_central_reconciler_only_and_reads_only() {
        let central = Central {
            account: "999999999999".into(),
            region: "eu-west-1".into(),
            bus: "dpc-central".into(),
        };
        let t = template(Some(&central));
        let role = &t["Resources"]["ReconcilerReadRole"];
        assert_eq!(role["Condition"], "CreatesReconcilerRole");
        assert_eq!(role["Properties"]["RoleName"], RECONCILER_READ_ROLE);
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"];
        assert_eq!(trust.as_array().map(Vec::len), Some(1));
        assert_eq!(
            trust[0]["Principal"]["AWS"],
            sub("arn:${AWS::Partition}:iam::999999999999:root")
        );
        assert_eq!(
            trust[0]["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            sub("arn:${AWS::Partition}:iam::999999999999:role/dpc-reconciler")
        );
        let statements = &role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
        let granted: Vec<(&str, &str)> = statements
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["Action"].as_str().unwrap_or_default(),
                    s["Resource"]["Fn::Sub"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            granted,
            [
                (
                    "states:ListExecutions",
                    "arn:${AWS::Partition}:states:*:${AWS::AccountId}:stateMachine:dpc-*"
                ),
                (
                    "states:DescribeExecution",
                    "arn:${AWS::Partition}:states:*:${AWS::AccountId}:execution:dpc-*:*"
                ),
            ]
        );
        // Without a known central account, its parameter is trusted.
        let open = template(None);
        assert_eq!(
            open["Resources"]["ReconcilerReadRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
                [0]["Principal"]["AWS"],
            sub("arn:${AWS::Partition}:iam::${CentralAccountId}:root")
        );
    }

    #[test]
    fn the_notifications_key_admits_the_central_notifier_through_sns_only() {
        let t = template(None);
        let statements =
            &t["Resources"]["NotificationsKey"]["Properties"]["KeyPolicy"]["Statement"];
        let notifier = statements
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["Sid"] == "CentralNotifierPublishes")
            .expect("the notifier's statement");
        assert_eq!(
            notifier["Principal"]["AWS"],
            sub("arn:${AWS::Partition}:iam::${CentralAccountId}:root")
        );
        assert_eq!(
            notifier["Condition"]["ArnEquals"]["aws:PrincipalArn"],
            sub("arn:${AWS::Partition}:iam::${CentralAccountId}:role/dpc-notifier")
        );
        assert_eq!(
            notifier["Condition"]["StringEquals"]["kms:ViaService"],
            sub("sns.${AWS::Region}.amazonaws.com")
        );
        assert_eq!(
            notifier["Action"],
            json!(["kms:Decrypt", "kms:GenerateDataKey"])
        );
        // Nobody else but the account itself.
        assert_eq!(statements.as_array().map(Vec::len), Some(2));
        assert!(!statements.to_string().contains("events.amazonaws.com"));
    }

    #[test]
    fn the_registration_token_defaults_to_the_central_registration_function() {
        let central = Central {
            account: "999999999999".into(),
            region: "eu-west-1".into(),
            bus: "dpc-central".into(),
        };
        let t = template(Some(&central));
        assert_eq!(
            t["Resources"]["RegistrationTokenParameter"]["Properties"]["Value"]["Fn::If"][2],
            sub("arn:${AWS::Partition}:lambda:eu-west-1:999999999999:function:dpc-registration")
        );
    }

    #[test]
    fn the_bucket_is_private_encrypted_versioned_and_tls_only() {
        let t = template(None);
        let bucket = &t["Resources"]["ArtifactsBucket"]["Properties"];
        assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
        assert_eq!(
            bucket["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"],
            true
        );
        let policy = &t["Resources"]["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
            [0];
        assert_eq!(policy["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert_eq!(
            t["Resources"]["ClaimsTable"]["Properties"]["TimeToLiveSpecification"]["Enabled"],
            true
        );
    }
}
