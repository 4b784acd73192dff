//! The dependency graph of a validated tree: reads the model (pipelines with their `dpc.yaml`)
//! and, optionally, the manager's states, and produces a [`Graph`]: pipelines (grouped by
//! account and team), data products as their own nodes, upstreams outside the tree marked
//! external, edges with the rule (allOf/anyOf) and the statuses that trigger. Pure.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::manager::PipelineStatus;
use crate::manager::lifecycle::Phase;
use crate::manager::registry::Identity;
use crate::pipeline::model::{Condition, Config, Operator, Pipeline, Status};

/// The graph's shape version in `--format json` (bumped on an incompatible change).
pub const JSON_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Pipeline,
    DataProduct,
}

/// One node: a pipeline or a data product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// `pipeline:ACCOUNT/REGION/NAME` or `dataProduct:DOMAIN/NAME`.
    pub id: String,
    pub kind: Kind,
    /// The pipeline's name, or `DOMAIN/NAME`.
    pub name: String,
    /// Not in the tree: an upstream pipeline named by a leaf, or a data product nothing in
    /// the tree publishes.
    pub external: bool,
    /// The account it is grouped under (a data product: its first publisher's, or the
    /// account a leaf narrows it to; `None`: from anywhere).
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The EventBridge schedule expression (with its time zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// How allOf and anyOf combine, when a trigger has both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<&'static str>,
    /// With `--status`: the manager's phase (`WAITING`, `TRIGGERED`, `RUNNING`, `COMPLETED`,
    /// `ERROR`); `None` when the store does not know the pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'static str>,
    /// With `--status`, for a WAITING pipeline: the leaves that have not ARRIVED.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting_for: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EdgeKind {
    /// An upstream pipeline's run → the dependent (a `trigger.executions` leaf).
    Execution,
    /// A data product's refresh → the dependent (a `trigger.dataProducts` leaf).
    DataProduct,
    /// A pipeline → the data product it publishes.
    Publish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    AllOf,
    AnyOf,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::AllOf => "allOf",
            Rule::AnyOf => "anyOf",
        }
    }
}

/// One edge, from the upstream to what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    /// Node ids.
    pub from: String,
    pub to: String,
    #[serde(skip)]
    pub source: usize,
    #[serde(skip)]
    pub target: usize,
    pub kind: EdgeKind,
    /// The leaf's list (not for `publish`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// The run statuses that satisfy an execution leaf, canonical and sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<&'static str>,
    /// An execution leaf that no success satisfies (a fallback on failure).
    pub fallback: bool,
    /// The producing account a data product leaf is narrowed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_account: Option<String>,
    /// With `--status`: the dependent is WAITING and this leaf has not ARRIVED.
    pub waiting: bool,
    /// The leaf as `dpc status` names it (`listings`, `DOMAIN/NAME`).
    #[serde(skip)]
    pub leaf: String,
}

impl Edge {
    /// What the edge says: the rule and the statuses (`allOf · SUCCEEDED`), `from ACCOUNT`
    /// for a narrowed data product, nothing for `publish`.
    pub fn label(&self) -> String {
        let mut parts: Vec<String> = self.rule.iter().map(|r| r.as_str().to_string()).collect();
        if !self.statuses.is_empty() {
            parts.push(self.statuses.join(", "));
        }
        if let Some(account) = &self.from_account {
            parts.push(format!("from {account}"));
        }
        if self.fallback {
            parts.push("fallback".into());
        }
        if self.waiting {
            parts.push("waiting".into());
        }
        parts.join(" · ")
    }
}

/// The graph of a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    pub version: u32,
    /// Whether node states come from a store (`--status`).
    pub with_status: bool,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// Builds the graph of the valid pipelines of a tree, each with its governing dpc.yaml.
    pub fn build(pipelines: &[(&Pipeline, Option<&Config>)]) -> Graph {
        let mut b = Builder::default();
        let mut sorted: Vec<(Identity, &Pipeline)> = pipelines
            .iter()
            .map(|(p, c)| (Identity::of(p, *c), *p))
            .collect();
        sorted.sort_by(|(a, p), (b, q)| {
            (&a.account, &p.team, &p.name, &a.region)
                .cmp(&(&b.account, &q.team, &q.name, &b.region))
        });
        for (id, p) in &sorted {
            b.pipeline(id, p);
        }
        for (id, p) in &sorted {
            b.publishes(id, p);
        }
        for (id, p) in &sorted {
            b.leaves(id, p);
        }
        Graph {
            version: JSON_VERSION,
            with_status: false,
            nodes: b.nodes,
            edges: b.edges,
        }
    }

    /// Applies the manager's states: each known pipeline's phase, and for a WAITING one the
    /// leaves not ARRIVED (on the node and on its edges).
    pub fn apply_states(&mut self, states: &[PipelineStatus]) {
        self.with_status = true;
        let by_id: HashMap<String, &PipelineStatus> = states
            .iter()
            .map(|s| {
                (
                    pipeline_id(&s.pipeline.account, &s.pipeline.region, &s.pipeline.name),
                    s,
                )
            })
            .collect();
        for node in &mut self.nodes {
            let Some(state) = by_id.get(&node.id) else {
                continue;
            };
            node.state = Some(state.phase.as_str());
            if state.phase == Phase::Waiting {
                node.waiting_for = state
                    .leaves
                    .iter()
                    .filter(|l| l.arrived.is_none())
                    .map(|l| l.label.clone())
                    .collect();
            }
        }
        for edge in &mut self.edges {
            edge.waiting = edge.kind != EdgeKind::Publish
                && self.nodes[edge.target].waiting_for.contains(&edge.leaf);
        }
    }

    /// The nodes per account (ascending; data products from anywhere last), per team when an
    /// account holds pipelines of several teams.
    pub fn groups(&self) -> Vec<Group> {
        type Teams<'a> = BTreeMap<(bool, Option<&'a str>), Vec<usize>>;
        let mut map: BTreeMap<(bool, Option<&str>), Teams> = BTreeMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            map.entry((n.account.is_none(), n.account.as_deref()))
                .or_default()
                .entry((n.team.is_none(), n.team.as_deref()))
                .or_default()
                .push(i);
        }
        map.into_iter()
            .map(|((_, account), teams)| {
                let named: Vec<&str> = teams.keys().filter_map(|(_, t)| *t).collect();
                let title = match (account, named.as_slice()) {
                    (None, _) => "data products from anywhere".to_string(),
                    (Some(a), [team]) => format!("account {a} · team {team}"),
                    (Some(a), _) => format!("account {a}"),
                };
                let mut group = Group {
                    account: account.map(str::to_string),
                    title,
                    teams: Vec::new(),
                    nodes: Vec::new(),
                };
                for ((_, team), nodes) in teams {
                    match team {
                        Some(team) if named.len() > 1 => {
                            group.teams.push((format!("team {team}"), nodes));
                        }
                        _ => group.nodes.extend(nodes),
                    }
                }
                group
            })
            .collect()
    }
}

/// Nodes drawn together: an account's (or data products from anywhere).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub account: Option<String>,
    /// `account A · team T` (one team), `account A` (several), or `data products from anywhere`.
    pub title: String,
    /// With several teams: per team (`team T`), its pipelines (node indexes).
    pub teams: Vec<(String, Vec<usize>)>,
    /// The others: the pipelines of its one team, data products, external pipelines.
    pub nodes: Vec<usize>,
}

impl Node {
    /// The lines under the name: what it is when not a pipeline of the tree, its schedule, and
    /// with `--status` its state and what it waits for.
    pub fn details(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (self.kind, self.external) {
            (Kind::Pipeline, true) => out.push("external pipeline".to_string()),
            (Kind::DataProduct, true) => out.push("external data product".to_string()),
            (Kind::DataProduct, false) => out.push("data product".to_string()),
            (Kind::Pipeline, false) => {}
        }
        if let Some(schedule) = &self.schedule {
            out.push(schedule.clone());
        }
        if let Some(op) = self.operator {
            out.push(format!("allOf {op} anyOf"));
        }
        match (self.state, self.waiting_for.is_empty()) {
            (Some(state), true) => out.push(state.to_string()),
            (Some(state), false) => out.push(format!("{state} on {}", self.waiting_for.join(", "))),
            (None, _) => {}
        }
        out
    }

    /// The CSS/class name of its state (`waiting`, `completed`, …), if it has one.
    pub fn state_class(&self) -> Option<String> {
        self.state.map(|s| s.to_ascii_lowercase())
    }
}

fn pipeline_id(account: &str, region: &str, name: &str) -> String {
    format!("pipeline:{account}/{region}/{name}")
}

fn product_id(domain: &str, name: &str) -> String {
    format!("dataProduct:{domain}/{name}")
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    index: HashMap<String, usize>,
}

impl Builder {
    fn add(&mut self, node: Node) -> usize {
        if let Some(&at) = self.index.get(&node.id) {
            return at;
        }
        self.index.insert(node.id.clone(), self.nodes.len());
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    fn pipeline(&mut self, id: &Identity, p: &Pipeline) {
        let trigger = p.trigger.as_ref();
        let schedule = trigger
            .and_then(|t| t.schedule.as_ref())
            .map(|s| match &s.timezone {
                Some(tz) => format!("{} {tz}", s.expr.expression()),
                None => s.expr.expression(),
            });
        let operator = trigger.and_then(|t| {
            let exec = t.executions.as_ref().and_then(combined);
            exec.or_else(|| t.data_products.as_ref().and_then(combined))
        });
        self.add(Node {
            id: pipeline_id(&id.account, &id.region, &p.name),
            kind: Kind::Pipeline,
            name: p.name.clone(),
            external: false,
            account: Some(id.account.clone()),
            region: Some(id.region.clone()),
            team: Some(p.team.clone()),
            schedule,
            operator,
            state: None,
            waiting_for: Vec::new(),
        });
    }

    fn publishes(&mut self, id: &Identity, p: &Pipeline) {
        let from = self.index[&pipeline_id(&id.account, &id.region, &p.name)];
        for dp in &p.publish {
            let to = self.add(Node {
                id: product_id(&dp.domain, &dp.name),
                kind: Kind::DataProduct,
                name: format!("{}/{}", dp.domain, dp.name),
                external: false,
                account: Some(id.account.clone()),
                region: None,
                team: None,
                schedule: None,
                operator: None,
                state: None,
                waiting_for: Vec::new(),
            });
            self.edge(
                from,
                to,
                EdgeKind::Publish,
                None,
                Vec::new(),
                None,
                String::new(),
            );
        }
    }

    fn leaves(&mut self, id: &Identity, p: &Pipeline) {
        let Some(trigger) = &p.trigger else { return };
        let to = self.index[&pipeline_id(&id.account, &id.region, &p.name)];
        if let Some(exec) = &trigger.executions {
            for (rule, leaf) in ruled(exec) {
                let account = leaf.account.clone().unwrap_or_else(|| id.account.clone());
                let region = leaf.region.clone().unwrap_or_else(|| id.region.clone());
                let from = self.add(Node {
                    id: pipeline_id(&account, &region, &leaf.name),
                    kind: Kind::Pipeline,
                    name: leaf.name.clone(),
                    external: true,
                    account: Some(account),
                    region: Some(region),
                    team: None,
                    schedule: None,
                    operator: None,
                    state: None,
                    waiting_for: Vec::new(),
                });
                let statuses = leaf.statuses.iter().map(|s| s.as_str()).collect();
                self.edge(
                    from,
                    to,
                    EdgeKind::Execution,
                    Some(rule),
                    statuses,
                    None,
                    leaf.name.clone(),
                );
            }
        }
        if let Some(dps) = &trigger.data_products {
            for (rule, leaf) in ruled(dps) {
                let from = self.add(Node {
                    id: product_id(&leaf.domain, &leaf.name),
                    kind: Kind::DataProduct,
                    name: format!("{}/{}", leaf.domain, leaf.name),
                    external: true,
                    account: leaf.account.clone(),
                    region: None,
                    team: None,
                    schedule: None,
                    operator: None,
                    state: None,
                    waiting_for: Vec::new(),
                });
                let label = format!("{}/{}", leaf.domain, leaf.name);
                self.edge(
                    from,
                    to,
                    EdgeKind::DataProduct,
                    Some(rule),
                    Vec::new(),
                    leaf.account.clone(),
                    label,
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn edge(
        &mut self,
        source: usize,
        target: usize,
        kind: EdgeKind,
        rule: Option<Rule>,
        statuses: Vec<&'static str>,
        from_account: Option<String>,
        leaf: String,
    ) {
        let fallback =
            kind == EdgeKind::Execution && !statuses.contains(&Status::Succeeded.as_str());
        self.edges.push(Edge {
            from: self.nodes[source].id.clone(),
            to: self.nodes[target].id.clone(),
            source,
            target,
            kind,
            rule,
            statuses,
            fallback,
            from_account,
            waiting: false,
            leaf,
        });
    }
}

/// A condition's leaves with the list each comes from.
fn ruled<L>(c: &Condition<L>) -> impl Iterator<Item = (Rule, &L)> {
    c.all_of
        .iter()
        .map(|l| (Rule::AllOf, l))
        .chain(c.any_of.iter().map(|l| (Rule::AnyOf, l)))
}

/// How a condition's allOf and anyOf combine, when it has both.
fn combined<L>(c: &Condition<L>) -> Option<&'static str> {
    (!c.all_of.is_empty() && !c.any_of.is_empty()).then_some(match c.operator {
        Operator::And => "AND",
        Operator::Or => "OR",
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::diag::source::SourceFile;
    use crate::manager::lifecycle::{LeafState, RunRef};
    use crate::manager::registry::PipelineId;
    use crate::pipeline::validate::{self, Context};

    fn pipeline(yaml: &str) -> Pipeline {
        let file = Arc::new(SourceFile::new("pipeline.yaml", yaml.to_string()));
        let ctx = Context {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("date"),
            file_exists: &|_| true,
        };
        let checked = validate::pipeline(&file, Path::new("."), &ctx);
        checked
            .value
            .unwrap_or_else(|| panic!("invalid test pipeline: {:?}", checked.diagnostics))
    }

    /// `a` and `b` (team t1) and `c` (team t2) in account 1; `c` waits on `a` (allOf
    /// SUCCEEDED), on `b` failing and on a product from elsewhere (anyOf, AND); `d` in account
    /// 2 waits on `gone`, which is not in the tree.
    fn tree() -> Vec<Pipeline> {
        vec![
            pipeline(
                "name: a\nteam: t1\naccount: \"111111111111\"\ntrigger: { schedule: { hour: 3 } }\ncompute: { type: NONE }\npublish: { dataProducts: [{ domain: d, name: A }] }\n",
            ),
            pipeline("name: b\nteam: t1\naccount: \"111111111111\"\ncompute: { type: NONE }\n"),
            pipeline(
                "name: c\nteam: t2\naccount: \"111111111111\"\ntrigger:\n  executions:\n    allOf: [{ name: a }]\n    anyOf: [{ name: b, status: [FAILED] }]\n    operator: AND\n  dataProducts:\n    allOf: [{ domain: x, name: ELSE }]\ncompute: { type: NONE }\n",
            ),
            pipeline(
                "name: d\nteam: t3\naccount: \"222222222222\"\ntrigger:\n  executions:\n    allOf: [{ name: gone }]\ncompute: { type: NONE }\n",
            ),
        ]
    }

    fn build(pipelines: &[Pipeline]) -> Graph {
        let pairs: Vec<(&Pipeline, Option<&Config>)> =
            pipelines.iter().map(|p| (p, None)).collect();
        Graph::build(&pairs)
    }

    fn node<'a>(g: &'a Graph, name: &str) -> &'a Node {
        g.nodes.iter().find(|n| n.name == name).expect(name)
    }

    #[test]
    fn nodes_edges_rules_and_fallbacks() {
        let g = build(&tree());
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "d/A", "x/ELSE", "gone"]);
        assert!(node(&g, "gone").external && node(&g, "x/ELSE").external);
        assert!(!node(&g, "d/A").external);
        assert_eq!(node(&g, "gone").account.as_deref(), Some("222222222222"));
        assert_eq!(node(&g, "x/ELSE").account, None);
        assert_eq!(node(&g, "a").schedule.as_deref(), Some("cron(0 3 * * ? *)"));
        assert_eq!(node(&g, "c").operator, Some("AND"));
        let labels: Vec<(String, String, String)> = g
            .edges
            .iter()
            .map(|e| {
                (
                    g.nodes[e.source].name.clone(),
                    g.nodes[e.target].name.clone(),
                    e.label(),
                )
            })
            .collect();
        let expect = |a: &str, b: &str, l: &str| (a.to_string(), b.to_string(), l.to_string());
        assert_eq!(
            labels,
            [
                expect("a", "d/A", ""),
                expect("a", "c", "allOf · SUCCEEDED"),
                expect("b", "c", "anyOf · FAILED · fallback"),
                expect("x/ELSE", "c", "allOf"),
                expect("gone", "d", "allOf · SUCCEEDED"),
            ]
        );
        assert_eq!(
            g.edges.iter().map(|e| e.fallback).collect::<Vec<_>>(),
            [false, false, true, false, false]
        );
    }

    #[test]
    fn groups_are_accounts_with_teams_when_several() {
        let g = build(&tree());
        let groups = g.groups();
        let titles: Vec<&str> = groups.iter().map(|g| g.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "account 111111111111",
                "account 222222222222 · team t3",
                "data products from anywhere"
            ]
        );
        let teams: Vec<&str> = groups[0].teams.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(teams, ["team t1", "team t2"]);
        // The product of account 1 sits in its group, outside the teams.
        assert_eq!(
            groups[0]
                .nodes
                .iter()
                .map(|&i| g.nodes[i].name.as_str())
                .collect::<Vec<_>>(),
            ["d/A"]
        );
        assert_eq!(groups[1].nodes.len(), 2, "d and the external gone");
    }

    #[test]
    fn states_colour_nodes_and_mark_what_a_waiting_pipeline_waits_for() {
        let mut g = build(&tree());
        let id = |name: &str| PipelineId {
            account: "111111111111".into(),
            region: crate::manager::registry::LOCAL_REGION.into(),
            name: name.into(),
        };
        let arrived = Some(RunRef {
            id: "r".into(),
            status: "SUCCEEDED".into(),
            time: 0,
        });
        let state = |name: &str, phase: Phase, leaves: Vec<LeafState>| PipelineStatus {
            pipeline: id(name),
            phase,
            leaves,
            last_trigger_id: None,
            last_trigger_at: None,
            fired: Vec::new(),
        };
        let leaf = |label: &str, arrived: Option<RunRef>| LeafState {
            label: label.into(),
            arrived,
        };
        g.apply_states(&[
            state("a", Phase::Completed, vec![]),
            state(
                "c",
                Phase::Waiting,
                vec![leaf("a", arrived), leaf("b", None), leaf("x/ELSE", None)],
            ),
        ]);
        assert!(g.with_status);
        assert_eq!(node(&g, "a").state, Some("COMPLETED"));
        assert_eq!(node(&g, "b").state, None);
        assert_eq!(node(&g, "c").waiting_for, ["b", "x/ELSE"]);
        assert_eq!(
            node(&g, "c").details(),
            ["allOf AND anyOf", "WAITING on b, x/ELSE"]
        );
        let waiting: Vec<&str> = g
            .edges
            .iter()
            .filter(|e| e.waiting)
            .map(|e| g.nodes[e.source].name.as_str())
            .collect();
        assert_eq!(waiting, ["b", "x/ELSE"]);
    }
}
