//! The registry of stable diagnostic codes. Codes never change meaning once released; README
//! lists them, and a test checks that each has an invalid fixture that triggers it.

use crate::diag::diagnostic::{Code, Severity};

macro_rules! codes {
    ($($name:ident = $id:literal, $sev:ident, $summary:literal;)*) => {
        $(pub const $name: Code = Code { id: $id, severity: Severity::$sev, summary: $summary };)*
        /// Every code, in a stable order.
        pub const ALL: &[&Code] = &[$(&$name),*];
    };
}

codes! {
    IO_READ = "dpc::io::read", Error, "a file could not be read";
    IO_NOT_UTF8 = "dpc::io::not-utf8", Error, "a file is not UTF-8 text";
    YAML_SYNTAX = "dpc::yaml::syntax", Error, "the file is not valid YAML";
    YAML_DUPLICATE_KEY = "dpc::yaml::duplicate-key", Error, "a mapping has the same key twice";
    YAML_BUDGET = "dpc::yaml::budget", Error, "the file exceeds an input budget (size, depth, anchors, aliases)";
    SCHEMA_UNKNOWN_KEY = "dpc::schema::unknown-key", Error, "a key that the format does not define";
    SCHEMA_MISSING_KEY = "dpc::schema::missing-key", Error, "a required key is missing";
    SCHEMA_WRONG_TYPE = "dpc::schema::wrong-type", Error, "a value has the wrong type";
    SCHEMA_INVALID_VALUE = "dpc::schema::invalid-value", Error, "a value is not one of the allowed values";
    NAME_INVALID = "dpc::name::invalid", Error, "a pipeline, step or resource name breaks the naming rules";
    ACCOUNT_INVALID = "dpc::account::invalid", Error, "an AWS account id is not 12 digits";
    REGION_INVALID = "dpc::region::invalid", Error, "not an AWS region name";
    TAG_INVALID = "dpc::tag::invalid", Error, "a tag key or value breaks AWS tag rules";
    TEXT_TOO_LONG = "dpc::text::too-long", Error, "a text is longer than AWS allows";
    TRIGGER_EMPTY_BLOCK = "dpc::trigger::empty-block", Error, "a trigger block or list is empty";
    TRIGGER_MISSING_OPERATOR = "dpc::trigger::missing-operator", Error, "allOf and anyOf together need an operator";
    TRIGGER_USELESS_OPERATOR = "dpc::trigger::useless-operator", Warning, "operator has no effect with only one block";
    TRIGGER_UNKNOWN_STATUS = "dpc::trigger::unknown-status", Error, "an execution status name is unknown";
    TRIGGER_SELF_DEPENDENCY = "dpc::trigger::self-dependency", Error, "a pipeline depends on itself";
    TRIGGER_CONTRADICTION = "dpc::trigger::contradicting-statuses", Error, "the same upstream twice in allOf with statuses that cannot both hold";
    TRIGGER_DUPLICATE_UPSTREAM = "dpc::trigger::duplicate-upstream", Warning, "the same upstream twice in one block (merged)";
    TRIGGER_RUNNING_IN_ALL_OF = "dpc::trigger::running-in-all-of", Warning, "RUNNING inside allOf rarely holds together with the other leaves";
    TRIGGER_PATTERN_TOO_LARGE = "dpc::trigger::pattern-too-large", Error, "the compiled trigger pattern is over EventBridge's limits";
    TRIGGER_RESERVED_NAME = "dpc::trigger::reserved-name", Error, "a name inside anyOf is an EventBridge pattern operator's name";
    TRIGGER_MIXED_CADENCE = "dpc::trigger::mixed-cadence", Warning, "allOf combines upstreams with different cadences and no window";
    WINDOW_CONFLICT = "dpc::window::conflict", Error, "within and resetAt cannot be combined";
    WINDOW_UNUSED = "dpc::window::unused", Warning, "a window without executions or dataProducts has no effect";
    SCHEDULE_EMPTY = "dpc::schedule::empty", Error, "a schedule sets no time";
    SCHEDULE_CONFLICT = "dpc::schedule::conflict", Error, "cron, rate and the field form cannot be combined";
    SCHEDULE_INVALID_CRON = "dpc::schedule::invalid-cron", Error, "a cron expression breaks AWS's rules";
    SCHEDULE_INVALID_FIELD = "dpc::schedule::invalid-field", Error, "a schedule field has an invalid value";
    SCHEDULE_DAY_AND_WEEKDAY = "dpc::schedule::day-and-weekday", Error, "day-of-month and day-of-week are both set";
    SCHEDULE_INVALID_RATE = "dpc::schedule::invalid-rate", Error, "a rate expression is invalid";
    SCHEDULE_DST_GAP = "dpc::schedule::dst-gap", Warning, "a scheduled time does not exist on a DST change day";
    SCHEDULE_DST_OVERLAP = "dpc::schedule::dst-overlap", Warning, "a scheduled time happens twice on a DST change day";
    TIMEZONE_UNKNOWN = "dpc::timezone::unknown", Error, "not an IANA time zone";
    DURATION_INVALID = "dpc::duration::invalid", Error, "a duration is malformed or out of range";
    COMPUTE_MISSING_SETTINGS = "dpc::compute::missing-settings", Error, "the compute type needs its settings block";
    COMPUTE_SETTINGS_MISMATCH = "dpc::compute::settings-mismatch", Error, "a settings block for another compute type";
    COMPUTE_INVALID = "dpc::compute::invalid", Error, "a compute setting is invalid";
    STEPS_EMPTY = "dpc::steps::empty", Error, "a pipeline with compute has no steps";
    STEPS_DUPLICATE_NAME = "dpc::steps::duplicate-name", Error, "two steps have the same name";
    STEPS_COMPUTE_MISMATCH = "dpc::steps::compute-mismatch", Error, "a step type cannot run on the pipeline's compute";
    STEPS_SCRIPT_NOT_FOUND = "dpc::steps::script-not-found", Error, "a local step script does not exist";
    STEPS_SCRIPT_OUTSIDE = "dpc::steps::script-outside-project", Error, "a local step script lies outside the project";
    STEPS_INVALID_S3_URI = "dpc::steps::invalid-s3-uri", Error, "an s3:// script URI is malformed";
    STEPS_RETRIES_RANGE = "dpc::steps::retries-range", Error, "retries must be between 0 and 10";
    STEPS_UNKNOWN_PLACEHOLDER = "dpc::steps::unknown-placeholder", Error, "an unknown or malformed {{placeholder}}";
    NOTIFY_EMPTY = "dpc::notifications::empty", Error, "notifications without targets or addresses";
    NOTIFY_INVALID_EMAIL = "dpc::notifications::invalid-email", Error, "not an email address";
    NOTIFY_INVALID_SLACK = "dpc::notifications::invalid-slack-channel", Error, "not a Slack channel name";
    NOTIFY_INVALID_URL = "dpc::notifications::invalid-url", Error, "not an https URL";
    NOTIFY_DUPLICATE = "dpc::notifications::duplicate-address", Warning, "the same address twice";
    DATA_PRODUCT_INVALID = "dpc::data-product::invalid-name", Error, "a data product domain or name breaks the naming rules";
    DATA_PRODUCT_DUPLICATE = "dpc::data-product::duplicate", Warning, "the same data product twice";
    SLA_INVALID_TIME = "dpc::sla::invalid-time", Error, "expectedBy is not HH:MM";
    CONFIG_INVALID_ROLE_ARN = "dpc::config::invalid-role-arn", Error, "not an IAM role ARN of that account";
    CONFIG_ACCOUNT_ACCESS = "dpc::config::account-access", Error, "an account needs exactly one of roleArn and profile";
    CONFIG_PATTERN_LIMIT = "dpc::config::pattern-limit", Error, "patternLength must be 2048 or 4096";
    CONFIG_LINEAGE = "dpc::config::lineage", Error, "lineage: http needs an http(s) url and no path, file no url";
    TREE_DUPLICATE_PIPELINE = "dpc::tree::duplicate-pipeline", Error, "two pipelines with the same account, region and name";
    TREE_CYCLE = "dpc::tree::cycle", Error, "pipelines depend on each other in a cycle";
    TREE_UNKNOWN_UPSTREAM = "dpc::tree::unknown-upstream", Warning, "an upstream pipeline is not in the validated tree";
    TREE_UNKNOWN_DATA_PRODUCT = "dpc::tree::unknown-data-product", Warning, "no pipeline in the tree publishes this data product";
}
