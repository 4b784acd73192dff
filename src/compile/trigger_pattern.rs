//! The consumer rule's trigger pattern: reads a pipeline's trigger and produces
//! the EventBridge pattern that re-checks its condition on a trigger event, measured by the
//! pattern engine against EventBridge's limits ([`size`] gives the same measure from the typed
//! pattern, without writing its JSON: what `dpc validate` checks).
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
use crate::pattern::{
    MAX_COMBINATIONS, MAX_EXPANDED_COMBINATIONS, Pattern, RESERVED_IN_OR, SizeError,
};
use crate::pipeline::model::{Condition, DataProductLeaf, ExecutionLeaf, Operator};

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
    Ok(Shape::of(env)?.map(|shape| shape.to_value(env)))
}

/// The size of `env`'s pattern as [`compile`] measures it (the same numbers, limits and
/// errors), computed from the typed pattern without writing and re-reading its JSON: what
/// `dpc validate` checks for every pipeline. `None` when the trigger waits on nothing.
pub fn size(env: &Env) -> Result<Option<Size>, CompileError> {
    let Some(shape) = Shape::of(env)? else {
        return Ok(None);
    };
    let size = shape.measure(env).ok_or_else(|| {
        CompileError::InvalidPattern("the pattern engine refuses the generated pattern".into())
    })?;
    if size.combinations <= MAX_COMBINATIONS && size.length <= env.pattern_limit {
        return Ok(Some(size));
    }
    Err(CompileError::PatternTooLarge(SizeError {
        combinations: size.combinations,
        max_combinations: MAX_COMBINATIONS,
        length: size.length,
        max_length: env.pattern_limit,
    }))
}

/// A pattern's `$or` combinations and its length in characters of compact JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub combinations: usize,
    pub length: usize,
}

/// A pattern before it is JSON: the pipeline's two blocks, typed.
struct Shape<'a> {
    upstreams: Option<Block<'a>>,
    data_products: Option<Block<'a>>,
}

impl<'a> Shape<'a> {
    fn of(env: &Env<'a>) -> Result<Option<Shape<'a>>, CompileError> {
        let Some(trigger) = env
            .pipeline
            .trigger
            .as_ref()
            .filter(|t| t.has_dependencies())
        else {
            return Ok(None);
        };
        let upstreams = match &trigger.executions {
            Some(exec) => Some(condition(exec, |leaf| execution_test(leaf, env))?),
            None => None,
        };
        let data_products = match &trigger.data_products {
            Some(dps) => Some(condition(dps, data_product_test)?),
            None => None,
        };
        for block in upstreams.iter().chain(&data_products) {
            block.check_or_names()?;
        }
        Ok(Some(Shape {
            upstreams,
            data_products,
        }))
    }

    fn to_value(&self, env: &Env) -> Value {
        let mut detail = Map::new();
        detail.insert(
            "target".into(),
            json!({
                "account": [env.account_text()],
                "region": [env.region_text()],
                "pipeline": [env.name()],
            }),
        );
        if let Some(block) = &self.upstreams {
            detail.insert("upstreams".into(), block.to_value());
        }
        if let Some(block) = &self.data_products {
            detail.insert("dataProducts".into(), block.to_value());
        }
        json!({
            "source": [events::TRIGGER_SOURCE],
            "detail-type": [events::TRIGGER_DETAIL_TYPE],
            "account": [env.central_account_text()],
            "detail": detail,
        })
    }

    /// What the pattern engine measures in [`Shape::to_value`]'s JSON, or `None` where it
    /// would refuse it.
    fn measure(&self, env: &Env) -> Option<Size> {
        let one = |s| Node::Strings(Strings::One(s));
        let mut detail = vec![(
            "target",
            Node::Object(vec![
                ("account", one(env.account_text())),
                ("region", one(env.region_text())),
                ("pipeline", one(env.name())),
            ]),
        )];
        if let Some(block) = &self.upstreams {
            detail.push(("upstreams", block.node()));
        }
        if let Some(block) = &self.data_products {
            detail.push(("dataProducts", block.node()));
        }
        let pattern = [
            ("source", one(events::TRIGGER_SOURCE)),
            ("detail-type", one(events::TRIGGER_DETAIL_TYPE)),
            ("account", one(env.central_account_text())),
            ("detail", Node::Object(detail)),
        ];
        let mut combinations = 0;
        let length = measure_object(&pattern, false, &mut combinations)?;
        Some(Size {
            combinations,
            length,
        })
    }
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
struct Test<'a> {
    path: Vec<&'a str>,
    values: BTreeSet<&'a str>,
}

fn execution_test<'a>(leaf: &'a ExecutionLeaf, env: &Env<'a>) -> Test<'a> {
    let account = leaf.account.as_deref().unwrap_or(env.account_text());
    let region = leaf.region.as_deref().unwrap_or(env.region_text());
    Test {
        path: vec![account, region, &leaf.name, "status"],
        values: leaf.statuses.iter().map(|s| s.as_str()).collect(),
    }
}

fn data_product_test(leaf: &DataProductLeaf) -> Test<'_> {
    // The trigger event keys data products by domain and name only; the manager checks the
    // producing account before it counts a refresh (the trigger event has no account level here).
    Test {
        path: vec![&leaf.domain, &leaf.name, "status"],
        values: BTreeSet::from([ARRIVED]),
    }
}

/// A block (`executions` or `dataProducts`): the tests of the object under its `detail` key,
/// and the `$or` beside them (none, or at least two branches).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Block<'a> {
    tests: Vec<Test<'a>>,
    or: Vec<Vec<Test<'a>>>,
}

impl<'a> Block<'a> {
    /// EventBridge refuses an operator's name (`prefix`, `exists`, …) as a field name inside
    /// `$or`; every segment of a branch's paths is such a field name.
    fn check_or_names(&self) -> Result<(), CompileError> {
        let reserved = self
            .or
            .iter()
            .flatten()
            .flat_map(|t| t.path.iter())
            .find(|segment| RESERVED_IN_OR.contains(segment));
        match reserved {
            Some(name) => Err(CompileError::ReservedName {
                name: (*name).to_string(),
            }),
            None => Ok(()),
        }
    }

    fn to_value(&self) -> Value {
        let mut object = object_of(&self.tests);
        if !self.or.is_empty() {
            let list = self
                .or
                .iter()
                .map(|b| Value::Object(object_of(b)))
                .collect();
            object.insert("$or".into(), Value::Array(list));
        }
        Value::Object(object)
    }

    /// The block as [`Block::to_value`] writes it, borrowed.
    fn node(&self) -> Node<'_> {
        let mut members = node_members(&self.tests);
        if !self.or.is_empty() {
            let list = self
                .or
                .iter()
                .map(|b| Node::Object(node_members(b)))
                .collect();
            put_member(&mut members, "$or", Node::Or(list));
        }
        Node::Object(members)
    }
}

/// A block's condition as tests and `$or` branches.
fn condition<'a, L>(
    cond: &'a Condition<L>,
    test: impl Fn(&'a L) -> Test<'a>,
) -> Result<Block<'a>, CompileError> {
    let all = intersect(cond.all_of.iter().map(&test));
    let any = unite(cond.any_of.iter().map(&test));
    match (cond.all_of.is_empty(), any.is_empty(), cond.operator) {
        (_, true, _) => Ok(Block {
            tests: all?,
            or: Vec::new(),
        }),
        (true, false, _) | (false, false, Operator::And) => and_any(all?, any),
        // An allOf that can never hold is a dead alternative, not an error, beside anyOf.
        (false, false, Operator::Or) => match all {
            Ok(all) => {
                let mut branches = vec![all];
                branches.extend(any.into_iter().map(|t| vec![t]));
                Ok(Block {
                    tests: Vec::new(),
                    or: branches,
                })
            }
            Err(_) => and_any(Vec::new(), any),
        },
    }
}

/// `all ∧ (any₁ ∨ any₂ …)`. A path tested both outside and inside a `$or` branch has no
/// agreed meaning in EventBridge, so such tests move into every branch (intersected where the
/// branch tests the same path); a branch left with no status can never hold and is dropped.
fn and_any<'a>(all: Vec<Test<'a>>, any: Vec<Test<'a>>) -> Result<Block<'a>, CompileError> {
    let (moved, kept): (Vec<Test>, Vec<Test>) = all
        .into_iter()
        .partition(|t| any.iter().any(|a| a.path == t.path));
    let mut branches: Vec<Vec<Test>> = any
        .into_iter()
        .filter_map(|branch| {
            let mut tests = vec![branch];
            tests.extend(moved.iter().cloned());
            intersect(tests.into_iter()).ok()
        })
        .collect();
    match branches.len() {
        0 => {
            let upstream = moved.first().map(upstream_of).unwrap_or_default();
            Err(CompileError::Contradiction { upstream })
        }
        // One alternative is no alternative: plain conjuncts, not a one-branch `$or`.
        1 => Ok(Block {
            tests: [kept, branches.remove(0)].concat(),
            or: Vec::new(),
        }),
        _ => Ok(Block {
            tests: kept,
            or: branches,
        }),
    }
}

fn upstream_of(test: &Test) -> String {
    test.path[..test.path.len().saturating_sub(1)].join("/")
}

/// Merges tests on the same path by uniting their values (for a disjunction), keeping the
/// order of first appearance.
fn unite<'a>(tests: impl Iterator<Item = Test<'a>>) -> Vec<Test<'a>> {
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
fn intersect<'a>(tests: impl Iterator<Item = Test<'a>>) -> Result<Vec<Test<'a>>, CompileError> {
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
    Value::Array(
        test.values
            .iter()
            .map(|v| Value::String(v.to_string()))
            .collect(),
    )
}

/// Inserts `value` at `path`, creating (or reusing) the objects on the way.
fn insert(object: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = object;
    for key in parents {
        let slot = current
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            // Paths all end in `status`, so a prefix of one path is never another's leaf.
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { return };
        current = next;
    }
    current.insert(last.to_string(), value);
}

/// The pattern's JSON as a borrowed tree, to be measured without being written: objects keep
/// their members in insertion order (the length does not depend on the order).
enum Node<'a> {
    Object(Vec<(&'a str, Node<'a>)>),
    Strings(Strings<'a>),
    /// The alternatives under a `$or` key.
    Or(Vec<Node<'a>>),
}

/// An array of strings.
enum Strings<'a> {
    One(&'a str),
    Set(&'a BTreeSet<&'a str>),
}

/// [`object_of`], borrowed.
fn node_members<'a>(tests: &'a [Test<'a>]) -> Vec<(&'a str, Node<'a>)> {
    let mut members = Vec::new();
    for t in tests {
        put_path(
            &mut members,
            &t.path,
            Node::Strings(Strings::Set(&t.values)),
        );
    }
    members
}

/// [`insert`], borrowed.
fn put_path<'a>(members: &mut Vec<(&'a str, Node<'a>)>, path: &[&'a str], value: Node<'a>) {
    match path {
        [] => {}
        [last] => put_member(members, last, value),
        [key, rest @ ..] => {
            let at = match members.iter().position(|(k, _)| k == key) {
                Some(at) => at,
                None => {
                    members.push((key, Node::Object(Vec::new())));
                    members.len() - 1
                }
            };
            let slot = &mut members[at].1;
            if !matches!(slot, Node::Object(_)) {
                *slot = Node::Object(Vec::new());
            }
            if let Node::Object(next) = slot {
                put_path(next, rest, value);
            }
        }
    }
}

/// Sets `key` (replacing its value when present, as a JSON map does).
fn put_member<'a>(members: &mut Vec<(&'a str, Node<'a>)>, key: &'a str, value: Node<'a>) {
    match members.iter_mut().find(|(k, _)| *k == key) {
        Some(member) => member.1 = value,
        None => members.push((key, value)),
    }
}

/// The compact JSON length of an object, counting its `$or` combinations into `branches` as
/// the pattern engine expands them (0 before any field); `None` where the engine refuses the
/// pattern: an empty object or array, `$or` with fewer than 2 alternatives, an operator name
/// as a field inside `$or`, or more than [`MAX_EXPANDED_COMBINATIONS`] combinations.
fn measure_object(members: &[(&str, Node)], in_or: bool, branches: &mut usize) -> Option<usize> {
    if members.is_empty() {
        return None;
    }
    // Braces, colons and commas.
    let mut length = 2 * members.len() + 1;
    for (key, value) in members {
        length += string_length(key);
        match value {
            Node::Or(alternatives) if *key == "$or" => {
                if alternatives.len() < 2 {
                    return None;
                }
                length += alternatives.len() + 1;
                // Every branch so far is forked once per alternative.
                let before = (*branches).max(1);
                let mut after = 0;
                for alternative in alternatives {
                    let Node::Object(members) = alternative else {
                        return None;
                    };
                    let mut forked = before;
                    length += measure_object(members, true, &mut forked)?;
                    after += forked;
                    if after > MAX_EXPANDED_COMBINATIONS {
                        return None;
                    }
                }
                *branches = after;
            }
            _ if *key == "$or" => return None,
            _ if in_or && RESERVED_IN_OR.contains(key) => return None,
            Node::Object(inner) => length += measure_object(inner, in_or, branches)?,
            Node::Strings(strings) => {
                length += strings_length(strings)?;
                *branches = (*branches).max(1);
            }
            Node::Or(_) => return None,
        }
    }
    Some(length)
}

fn strings_length(strings: &Strings) -> Option<usize> {
    match strings {
        Strings::One(s) => Some(string_length(s) + 2),
        Strings::Set(set) if set.is_empty() => None,
        Strings::Set(set) => {
            Some(set.len() + 1 + set.iter().map(|s| string_length(s)).sum::<usize>())
        }
    }
}

/// Characters of `s` as a JSON string literal, escaped as the pattern engine writes it.
fn string_length(s: &str) -> usize {
    let escaped: usize = s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' => 2,
            c if (c as u32) < 0x20 => 6,
            _ => 1,
        })
        .sum();
    escaped + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::model::{Central, Pipeline, Status, Trigger, Window};
    use proptest::prelude::*;

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
        fn env_free(l: &ExecutionLeaf) -> Test<'_> {
            Test {
                path: vec![
                    l.account.as_deref().unwrap_or_default(),
                    "eu-west-1",
                    &l.name,
                    "status",
                ],
                values: l.statuses.iter().map(|s| s.as_str()).collect(),
            }
        }
        condition(&cond, env_free).unwrap().to_value()
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
            path: vec![&l.name, "status"],
            values: l.statuses.iter().map(|s| s.as_str()).collect(),
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

    /// Names that are valid for the pattern engine and names it refuses inside `$or`, or that
    /// JSON must escape.
    const NAMES: [&str; 12] = [
        "a",
        "b",
        "pipeline-x",
        "status",
        "prefix",
        "exists",
        "$or",
        "q\"t",
        "back\\slash",
        "tab\tbell\u{7}",
        "é-ü",
        "",
    ];

    fn pipeline(trigger: Trigger, account: Option<&str>, region: Option<&str>) -> Pipeline {
        Pipeline {
            name: "p".into(),
            description: None,
            team: "t".into(),
            account: account.map(str::to_string),
            region: region.map(str::to_string),
            tags: Default::default(),
            trigger: Some(trigger),
            compute: crate::pipeline::model::Compute::None,
            steps: vec![],
            notifications: None,
            publish: vec![],
            sla: None,
            file: "p/pipeline.yaml".into(),
            dir: "p".into(),
        }
    }

    fn env_of<'a>(p: &'a Pipeline, central: Option<&'a Central>, limit: usize) -> Env<'a> {
        Env {
            pipeline: p,
            account: p.account.as_deref(),
            region: p.region.as_deref(),
            central,
            pattern_limit: limit,
            version: "0.0.0",
            config: None,
        }
    }

    /// [`size`] against [`compile`]: the same numbers and the same errors (an invalid pattern
    /// is reported as one, with another message).
    fn assert_same_size(env: &Env) {
        let fast = size(env);
        let slow = compile(env).map(|p| {
            p.map(|p| Size {
                combinations: p.combinations,
                length: p.length,
            })
        });
        match (&fast, &slow) {
            (Err(CompileError::InvalidPattern(_)), Err(CompileError::InvalidPattern(_))) => {}
            _ => assert_eq!(fast, slow),
        }
    }

    fn exec_leaves(max: usize) -> impl Strategy<Value = Vec<ExecutionLeaf>> {
        let leaf = (
            0..NAMES.len(),
            prop::option::of(prop::sample::select(vec![
                "111111111111",
                "prefix",
                "${AWS::AccountId}",
            ])),
            prop::option::of(prop::sample::select(vec!["eu-west-1", "exists"])),
            // Bit i: Status::ALL[i]; 0 is an empty set, which validation never lets through.
            0u8..32,
        )
            .prop_map(|(name, account, region, bits)| ExecutionLeaf {
                name: NAMES[name].to_string(),
                account: account.map(str::to_string),
                region: region.map(str::to_string),
                statuses: Status::ALL
                    .into_iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, s)| s)
                    .collect(),
            });
        prop::collection::vec(leaf, 0..max)
    }

    fn dp_leaves(max: usize) -> impl Strategy<Value = Vec<DataProductLeaf>> {
        let leaf = (0..NAMES.len(), 0..NAMES.len()).prop_map(|(d, n)| DataProductLeaf {
            domain: NAMES[d].to_string(),
            name: NAMES[n].to_string(),
            account: None,
        });
        prop::collection::vec(leaf, 0..max)
    }

    fn operator() -> impl Strategy<Value = Operator> {
        prop::sample::select(vec![Operator::And, Operator::Or])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The size `dpc validate` computes is the one the pattern engine measures.
        #[test]
        fn size_is_what_the_engine_measures(
            executions in prop::option::of((exec_leaves(6), exec_leaves(6), operator())),
            data_products in prop::option::of((dp_leaves(5), dp_leaves(5), operator())),
            account in prop::option::of(prop::sample::select(vec!["222222222222", "x\"y"])),
            region in prop::option::of(prop::sample::select(vec!["us-east-1", "cidr"])),
            with_central in any::<bool>(),
            limit in prop::sample::select(vec![300usize, 600, 2048, 4096]),
        ) {
            let trigger = Trigger {
                schedule: None,
                executions: executions.map(|(all_of, any_of, operator)| Condition { all_of, any_of, operator }),
                data_products: data_products.map(|(all_of, any_of, operator)| Condition { all_of, any_of, operator }),
                window: Window::SinceLastTrigger,
                propagate_manual: false,
            };
            let p = pipeline(trigger, account, region);
            let central = Central {
                account: "999999999999".into(),
                region: "eu-west-1".into(),
                bus: "b".into(),
            };
            assert_same_size(&env_of(&p, with_central.then_some(&central), limit));
        }
    }

    /// An anyOf leaf with no status (which validation refuses) beside an allOf alternative
    /// makes an empty array, which the engine refuses.
    #[test]
    fn size_refuses_what_the_engine_refuses() {
        let leaf = |name: &str, statuses: Vec<Status>| ExecutionLeaf {
            name: name.into(),
            account: None,
            region: None,
            statuses,
        };
        let trigger = Trigger {
            schedule: None,
            executions: Some(Condition {
                all_of: vec![leaf("a", vec![Status::Succeeded])],
                any_of: vec![leaf("b", vec![]), leaf("c", vec![Status::Failed])],
                operator: Operator::Or,
            }),
            data_products: None,
            window: Window::SinceLastTrigger,
            propagate_manual: false,
        };
        let p = pipeline(trigger, None, None);
        let env = env_of(&p, None, 2048);
        assert!(matches!(size(&env), Err(CompileError::InvalidPattern(_))));
        assert_same_size(&env);
    }

    /// Around EventBridge's 1,000 combinations and the engine's 10,000: many anyOf leaves in
    /// both blocks.
    #[test]
    fn size_counts_combinations_like_the_engine() {
        for (executions, products) in [(3, 2), (31, 32), (32, 32), (100, 100), (101, 100)] {
            let any_of = (0..executions)
                .map(|i| ExecutionLeaf {
                    name: format!("e{i}"),
                    account: None,
                    region: None,
                    statuses: vec![Status::Succeeded],
                })
                .collect();
            let dps = (0..products)
                .map(|i| DataProductLeaf {
                    domain: "d".into(),
                    name: format!("p{i}"),
                    account: None,
                })
                .collect();
            let trigger = Trigger {
                schedule: None,
                executions: Some(Condition {
                    all_of: vec![],
                    any_of,
                    operator: Operator::And,
                }),
                data_products: Some(Condition {
                    all_of: vec![],
                    any_of: dps,
                    operator: Operator::And,
                }),
                window: Window::SinceLastTrigger,
                propagate_manual: false,
            };
            let p = pipeline(trigger, Some("111111111111"), None);
            for limit in [2048, 1_000_000] {
                assert_same_size(&env_of(&p, None, limit));
            }
        }
    }
}
