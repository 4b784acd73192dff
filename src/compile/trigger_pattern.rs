//! The consumer rule's trigger pattern: reads a pipeline's trigger and produces
//! the EventBridge pattern that re-checks its condition on a trigger event, measured by the
//! pattern engine against EventBridge's limits.
//!
//! Shape: `source`, `detail-type`, `account` (the central account) and `detail.target` are
//! pinned. Each leaf becomes one field test, `…<account>.<region>.<name>.status` under
//! `detail.upstreams` or `<domain>.<name>.status: ["ARRIVED"]` under `detail.dataProducts`.
//! `allOf` is the conjunction of its tests; `anyOf` is a `$or` of them; `operator: AND` puts
//! both in one object, `operator: OR` makes the whole `allOf` one more `$or` branch. Each
//! block's `$or` lives inside its own object (`detail.upstreams` / `detail.dataProducts`), so
//! executions and data products together never put two `$or` keys side by side.
//!
//! Leaves sharing a path are merged, never written twice: in a conjunction their status sets
//! intersect (an empty intersection is a [`CompileError::Contradiction`]), in a disjunction
//! they unite.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{CompileError, Env};
use crate::events;
use crate::pattern::Pattern;
use crate::pipeline::model::{Condition, DataProductLeaf, ExecutionLeaf, Operator, Trigger};

/// The status a data product leaf tests.
pub const ARRIVED: &str = "ARRIVED";

/// A compiled trigger pattern with its size as EventBridge measures it.
#[derive(Debug, Clone)]
pub struct TriggerPattern {
    pub json: Value,
    /// Compact JSON, as deployed and as measured.
    pub text: String,
    pub combinations: usize,
    pub length: usize,
    /// The limit checked against (2048 or 4096).
    pub max_length: usize,
}

impl TriggerPattern {
    /// The pattern compiled by dpc's engine (the text was parsed once already).
    pub fn engine(&self) -> Result<Pattern, CompileError> {
        Pattern::parse(&self.text).map_err(|e| CompileError::InvalidPattern(e.to_string()))
    }

    /// True when the text holds a deploy-time placeholder (`${…}`).
    pub fn has_placeholders(&self) -> bool {
        self.text.contains("${")
    }
}

/// The pattern of `env`'s pipeline, or `None` when its trigger waits on nothing; an error when
/// the condition cannot hold or the pattern is over the limits.
pub fn compile(env: &Env) -> Result<Option<TriggerPattern>, CompileError> {
    let Some(json) = build(env)? else {
        return Ok(None);
    };
    measure(json, env.pattern_limit).map(Some)
}

/// The pattern as JSON, unmeasured.
pub fn build(env: &Env) -> Result<Option<Value>, CompileError> {
    let Some(trigger) = env
        .pipeline
        .trigger
        .as_ref()
        .filter(|t| t.has_dependencies())
    else {
        return Ok(None);
    };
    let mut detail = Map::new();
    detail.insert(
        "target".into(),
        json!({
            "account": [env.account_text()],
            "region": [env.region_text()],
            "pipeline": [env.name()],
        }),
    );
    insert_blocks(trigger, env, &mut detail)?;
    Ok(Some(json!({
        "source": [events::TRIGGER_SOURCE],
        "detail-type": [events::TRIGGER_DETAIL_TYPE],
        "account": [env.central_account_text()],
        "detail": detail,
    })))
}

fn insert_blocks(
    trigger: &Trigger,
    env: &Env,
    detail: &mut Map<String, Value>,
) -> Result<(), CompileError> {
    if let Some(exec) = &trigger.executions {
        let tests = |leaf: &ExecutionLeaf| execution_test(leaf, env);
        detail.insert("upstreams".into(), condition(exec, tests)?);
    }
    if let Some(dps) = &trigger.data_products {
        detail.insert("dataProducts".into(), condition(dps, data_product_test)?);
    }
    Ok(())
}

/// Measures `json` with the pattern engine and checks it against the limits.
pub fn measure(json: Value, max_length: usize) -> Result<TriggerPattern, CompileError> {
    let text = json.to_string();
    let engine = Pattern::parse(&text).map_err(|e| CompileError::InvalidPattern(e.to_string()))?;
    engine
        .check_size(max_length)
        .map_err(CompileError::PatternTooLarge)?;
    Ok(TriggerPattern {
        json,
        combinations: engine.combinations(),
        length: engine.len(),
        max_length,
        text,
    })
}

/// One leaf as a field test: the path of its `status` field and the accepted values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Test {
    path: Vec<String>,
    values: BTreeSet<String>,
}

fn execution_test(leaf: &ExecutionLeaf, env: &Env) -> Test {
    let account = leaf.account.as_deref().unwrap_or(env.account_text());
    let region = leaf.region.as_deref().unwrap_or(env.region_text());
    Test {
        path: vec![
            account.into(),
            region.into(),
            leaf.name.clone(),
            "status".into(),
        ],
        values: leaf
            .statuses
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
    }
}

fn data_product_test(leaf: &DataProductLeaf) -> Test {
    // The trigger event keys data products by domain and name only; the manager checks the
    // producing account before it counts a refresh (the trigger event has no account level here).
    Test {
        path: vec![leaf.domain.clone(), leaf.name.clone(), "status".into()],
        values: BTreeSet::from([ARRIVED.to_string()]),
    }
}

/// A block (`executions` or `dataProducts`) as the object under its `detail` key.
fn condition<L>(cond: &Condition<L>, test: impl Fn(&L) -> Test) -> Result<Value, CompileError> {
    let all = intersect(cond.all_of.iter().map(&test));
    let any = unite(cond.any_of.iter().map(&test));
    let object = match (cond.all_of.is_empty(), any.is_empty(), cond.operator) {
        (_, true, _) => object_of(&all?),
        (true, false, _) | (false, false, Operator::And) => and_any(all?, any)?,
        // An allOf that can never hold is a dead alternative, not an error, beside anyOf.
        (false, false, Operator::Or) => match all {
            Ok(all) => {
                let mut branches = vec![Value::Object(object_of(&all))];
                branches.extend(
                    any.iter()
                        .map(|t| Value::Object(object_of(std::slice::from_ref(t)))),
                );
                Map::from_iter([("$or".to_string(), Value::Array(branches))])
            }
            Err(_) => and_any(Vec::new(), any)?,
        },
    };
    Ok(Value::Object(object))
}

/// `all ∧ (any₁ ∨ any₂ …)`. A path tested both outside and inside a `$or` branch has no
/// agreed meaning in EventBridge, so such tests move into every branch (intersected where the
/// branch tests the same path); a branch left with no status can never hold and is dropped.
fn and_any(all: Vec<Test>, any: Vec<Test>) -> Result<Map<String, Value>, CompileError> {
    let (moved, kept): (Vec<Test>, Vec<Test>) = all
        .into_iter()
        .partition(|t| any.iter().any(|a| a.path == t.path));
    let branches: Vec<Vec<Test>> = any
        .into_iter()
        .filter_map(|branch| {
            let mut tests = vec![branch];
            tests.extend(moved.iter().cloned());
            intersect(tests.into_iter()).ok()
        })
        .collect();
    let mut object = object_of(&kept);
    match branches.as_slice() {
        [] => {
            let upstream = moved.first().map(upstream_of).unwrap_or_default();
            return Err(CompileError::Contradiction { upstream });
        }
        // One alternative is no alternative: plain conjuncts, not a one-branch `$or`.
        [only] => object = object_of(&[kept, only.clone()].concat()),
        many => {
            let list = many.iter().map(|b| Value::Object(object_of(b))).collect();
            object.insert("$or".into(), Value::Array(list));
        }
    }
    Ok(object)
}

fn upstream_of(test: &Test) -> String {
    test.path[..test.path.len().saturating_sub(1)].join("/")
}

/// Merges tests on the same path by uniting their values (for a disjunction), keeping the
/// order of first appearance.
fn unite(tests: impl Iterator<Item = Test>) -> Vec<Test> {
    let mut out: Vec<Test> = Vec::new();
    for t in tests {
        match out.iter_mut().find(|o| o.path == t.path) {
            Some(o) => o.values.extend(t.values),
            None => out.push(t),
        }
    }
    out
}

/// Merges tests on the same path by keeping only the values they share (for a conjunction);
/// an empty intersection can never hold.
fn intersect(tests: impl Iterator<Item = Test>) -> Result<Vec<Test>, CompileError> {
    let mut merged: Vec<Test> = Vec::new();
    for t in tests {
        match merged.iter_mut().find(|m| m.path == t.path) {
            Some(m) => m.values.retain(|v| t.values.contains(v)),
            None => merged.push(t),
        }
    }
    match merged.iter().find(|t| t.values.is_empty()) {
        Some(t) => Err(CompileError::Contradiction {
            upstream: upstream_of(t),
        }),
        None => Ok(merged),
    }
}

/// Tests (on distinct paths) as one object.
fn object_of(tests: &[Test]) -> Map<String, Value> {
    let mut object = Map::new();
    for t in tests {
        insert(&mut object, &t.path, values(t));
    }
    object
}

fn values(test: &Test) -> Value {
    Value::Array(test.values.iter().cloned().map(Value::String).collect())
}

/// Inserts `value` at `path`, creating (or reusing) the objects on the way.
fn insert(object: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for key in parents {
        let slot = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            // Paths all end in `status`, so a prefix of one path is never another's leaf.
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { return };
        current = next;
    }
    current.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::model::Status;

    fn leaf(name: &str, account: &str, statuses: &[Status]) -> ExecutionLeaf {
        ExecutionLeaf {
            name: name.into(),
            account: Some(account.into()),
            region: Some("eu-west-1".into()),
            statuses: statuses.to_vec(),
        }
    }

    fn upstreams(all: Vec<ExecutionLeaf>, any: Vec<ExecutionLeaf>, op: Operator) -> Value {
        let cond = Condition {
            all_of: all,
            any_of: any,
            operator: op,
        };
        let env_free = |l: &ExecutionLeaf| Test {
            path: vec![
                l.account.clone().unwrap_or_default(),
                "eu-west-1".into(),
                l.name.clone(),
                "status".into(),
            ],
            values: l.statuses.iter().map(|s| s.to_string()).collect(),
        };
        condition(&cond, env_free).unwrap()
    }

    #[test]
    fn all_of_is_one_object_with_shared_prefixes_merged() {
        let s = [Status::Succeeded];
        let v = upstreams(
            vec![leaf("a", "1", &s), leaf("b", "1", &s)],
            vec![],
            Operator::And,
        );
        assert_eq!(
            v,
            json!({"1": {"eu-west-1": {"a": {"status": ["SUCCEEDED"]}, "b": {"status": ["SUCCEEDED"]}}}})
        );
    }

    #[test]
    fn same_upstream_twice_intersects_in_all_of_and_unites_in_any_of() {
        let v = upstreams(
            vec![
                leaf("a", "1", &[Status::Succeeded, Status::Failed]),
                leaf("a", "1", &[Status::Failed]),
            ],
            vec![],
            Operator::And,
        );
        assert_eq!(
            v,
            json!({"1": {"eu-west-1": {"a": {"status": ["FAILED"]}}}})
        );
        let v = upstreams(
            vec![],
            vec![
                leaf("a", "1", &[Status::Failed]),
                leaf("a", "1", &[Status::Aborted]),
            ],
            Operator::And,
        );
        assert_eq!(
            v,
            json!({"1": {"eu-west-1": {"a": {"status": ["ABORTED", "FAILED"]}}}})
        );
    }

    #[test]
    fn contradiction_is_an_error() {
        let cond = Condition {
            all_of: vec![
                leaf("a", "1", &[Status::Succeeded]),
                leaf("a", "1", &[Status::Failed]),
            ],
            any_of: vec![],
            operator: Operator::And,
        };
        let err = condition(&cond, |l| Test {
            path: vec![l.name.clone(), "status".into()],
            values: l.statuses.iter().map(|s| s.to_string()).collect(),
        });
        assert!(matches!(err, Err(CompileError::Contradiction { .. })));
    }

    #[test]
    fn operator_or_makes_all_of_one_branch() {
        let s = [Status::Succeeded];
        let v = upstreams(
            vec![leaf("a", "1", &s), leaf("b", "1", &s)],
            vec![leaf("c", "2", &s), leaf("d", "2", &s)],
            Operator::Or,
        );
        let branches = v["$or"].as_array().unwrap();
        assert_eq!(branches.len(), 3);
        assert_eq!(v.as_object().unwrap().len(), 1);
    }

    #[test]
    fn operator_and_keeps_conjunction_beside_or() {
        let s = [Status::Succeeded];
        let v = upstreams(
            vec![leaf("a", "1", &s)],
            vec![leaf("c", "2", &s), leaf("d", "2", &s)],
            Operator::And,
        );
        assert_eq!(v["$or"].as_array().unwrap().len(), 2);
        assert!(v["1"].is_object());
    }
}
