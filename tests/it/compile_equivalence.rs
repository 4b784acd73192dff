//! Equivalence of compiled trigger patterns and trigger conditions: for 10,000 random
//! conditions (allOf/anyOf/operator over up to 8 execution leaves with random status sets, and
//! optionally data product leaves) and random trigger events, the compiled pattern matched by
//! dpc's engine agrees with evaluating the condition directly (SPEC §4.2, §4.3, §6.2).

use dpc::compile::{CompileError, Env, trigger_pattern as pattern};
use dpc::pipeline::model::{
    Compute, Condition, DataProductLeaf, ExecutionLeaf, Operator, Pipeline, Status, Trigger, Window,
};
use serde_json::{Map, Value, json};

const CONDITIONS: usize = 10_000;
const EVENTS_PER_CONDITION: usize = 12;
const ACCOUNT: &str = "333333333333";
const REGION: &str = "eu-west-1";
const ACCOUNTS: [Option<&str>; 3] = [None, Some("111111111111"), Some("333333333333")];
const REGIONS: [Option<&str>; 3] = [None, Some("eu-west-1"), Some("us-east-1")];
const NAMES: [&str; 4] = ["a", "b", "c", "d"];
const DOMAINS: [&str; 2] = ["d1", "d2"];

/// xorshift64*: a seeded, dependency-free generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn statuses(rng: &mut Rng) -> Vec<Status> {
    let mut out: Vec<Status> = Status::ALL.into_iter().filter(|_| rng.chance(35)).collect();
    if out.is_empty() {
        out.push(rng.pick(&Status::ALL));
    }
    out
}

fn exec_leaf(rng: &mut Rng) -> ExecutionLeaf {
    ExecutionLeaf {
        name: rng.pick(&NAMES).into(),
        account: rng.pick(&ACCOUNTS).map(str::to_string),
        region: rng.pick(&REGIONS).map(str::to_string),
        statuses: statuses(rng),
    }
}

fn dp_leaf(rng: &mut Rng) -> DataProductLeaf {
    DataProductLeaf {
        domain: rng.pick(&DOMAINS).into(),
        name: rng.pick(&NAMES).into(),
        account: None,
    }
}

fn condition<L>(rng: &mut Rng, max: usize, leaf: impl Fn(&mut Rng) -> L) -> Condition<L> {
    let total = 1 + rng.below(max);
    let split = rng.below(total + 1);
    Condition {
        all_of: (0..split).map(|_| leaf(rng)).collect(),
        any_of: (split..total).map(|_| leaf(rng)).collect(),
        operator: if rng.chance(50) {
            Operator::And
        } else {
            Operator::Or
        },
    }
}

fn pipeline(trigger: Trigger) -> Pipeline {
    Pipeline {
        name: "child".into(),
        description: None,
        team: "t".into(),
        account: Some(ACCOUNT.into()),
        region: Some(REGION.into()),
        tags: Default::default(),
        trigger: Some(trigger),
        compute: Compute::None,
        steps: vec![],
        notifications: None,
        publish: vec![],
        sla: None,
        file: "child/pipeline.yaml".into(),
        dir: "child".into(),
    }
}

fn random_trigger(rng: &mut Rng) -> Trigger {
    let (executions, data_products) = match rng.below(3) {
        0 => (Some(condition(rng, 8, exec_leaf)), None),
        1 => (None, Some(condition(rng, 4, dp_leaf))),
        _ => (
            Some(condition(rng, 6, exec_leaf)),
            Some(condition(rng, 3, dp_leaf)),
        ),
    };
    Trigger {
        schedule: None,
        executions,
        data_products,
        window: Window::SinceLastTrigger,
        propagate_manual: false,
    }
}

/// Direct evaluation of a condition (SPEC §4.2).
fn holds<L>(c: &Condition<L>, leaf: impl Fn(&L) -> bool) -> bool {
    let all = c.all_of.iter().all(&leaf);
    let any = c.any_of.iter().any(&leaf);
    match (c.all_of.is_empty(), c.any_of.is_empty()) {
        (false, true) => all,
        (true, false) => any,
        _ if c.operator == Operator::And => all && any,
        _ => all || any,
    }
}

fn upstream_status<'a>(event: &'a Value, leaf: &ExecutionLeaf) -> Option<&'a str> {
    let account = leaf.account.as_deref().unwrap_or(ACCOUNT);
    let region = leaf.region.as_deref().unwrap_or(REGION);
    event["detail"]["upstreams"][account][region][&leaf.name]["status"].as_str()
}

fn expected(trigger: &Trigger, event: &Value) -> bool {
    let target = &event["detail"]["target"];
    let pinned = event["source"] == "dpc.trigger-manager"
        && event["detail-type"] == "dpc Pipeline Trigger"
        && event["account"] == "999999999999"
        && target["account"] == ACCOUNT
        && target["region"] == REGION
        && target["pipeline"] == "child";
    let exec = trigger.executions.as_ref().is_none_or(|c| {
        holds(c, |l| {
            upstream_status(event, l).is_some_and(|s| l.statuses.iter().any(|x| x.as_str() == s))
        })
    });
    let dps = trigger.data_products.as_ref().is_none_or(|c| {
        holds(c, |l| {
            event["detail"]["dataProducts"][&l.domain][&l.name]["status"] == "ARRIVED"
        })
    });
    pinned && exec && dps
}

fn set(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    let (last, parents) = path.split_last().expect("path");
    let mut current = map;
    for key in parents {
        current = current
            .entry(key.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object");
    }
    current.insert(last.to_string(), value);
}

/// An event biased towards the condition's leaves, so both outcomes are common.
fn random_event(rng: &mut Rng, trigger: &Trigger) -> Value {
    let mut upstreams = Map::new();
    for leaf in trigger.executions.iter().flat_map(|c| c.leaves()) {
        if rng.chance(75) {
            let status = if rng.chance(70) {
                rng.pick(&leaf.statuses)
            } else {
                rng.pick(&Status::ALL)
            };
            let account = leaf.account.as_deref().unwrap_or(ACCOUNT);
            let region = leaf.region.as_deref().unwrap_or(REGION);
            set(
                &mut upstreams,
                &[account, region, &leaf.name],
                json!({"status": status.as_str(), "executionArn": "arn"}),
            );
        }
    }
    if rng.chance(30) {
        let (a, r, n) = (
            rng.pick(&ACCOUNTS).unwrap_or(ACCOUNT),
            rng.pick(&REGIONS).unwrap_or(REGION),
            rng.pick(&NAMES),
        );
        set(
            &mut upstreams,
            &[a, r, n],
            json!({"status": rng.pick(&Status::ALL).as_str()}),
        );
    }
    let mut products = Map::new();
    for leaf in trigger.data_products.iter().flat_map(|c| c.leaves()) {
        if rng.chance(75) {
            let status = if rng.chance(90) { "ARRIVED" } else { "WAITING" };
            set(
                &mut products,
                &[&leaf.domain, &leaf.name],
                json!({"status": status}),
            );
        }
    }
    let pipeline = if rng.chance(5) { "other" } else { "child" };
    let central = if rng.chance(3) {
        "888888888888"
    } else {
        "999999999999"
    };
    json!({
        "version": "0", "id": "e", "source": "dpc.trigger-manager", "detail-type": "dpc Pipeline Trigger",
        "account": central, "time": "2026-01-01T00:00:00Z", "region": REGION, "resources": [],
        "detail": {
            "target": {"account": ACCOUNT, "region": REGION, "pipeline": pipeline},
            "triggerId": "t", "upstreams": upstreams, "dataProducts": products,
        },
    })
}

#[test]
fn compiled_patterns_agree_with_conditions() {
    let central = dpc::pipeline::model::Central {
        account: "999999999999".into(),
        region: REGION.into(),
        bus: "dpc-central".into(),
    };
    let config = dpc::pipeline::model::Config {
        central: Some(central),
        pattern_length_limit: 2048,
        ..Default::default()
    };
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut matched, mut unmatched, mut contradictions) = (0, 0, 0);
    for i in 0..CONDITIONS {
        let p = pipeline(random_trigger(&mut rng));
        let trigger = p.trigger.clone().expect("trigger");
        let env = Env::new(&p, Some(&config), "test");
        let compiled = pattern::compile(&env);
        let events: Vec<Value> = (0..EVENTS_PER_CONDITION)
            .map(|_| random_event(&mut rng, &trigger))
            .collect();
        match compiled {
            Ok(Some(tp)) => {
                let engine = tp.engine().expect("engine");
                for event in &events {
                    let want = expected(&trigger, event);
                    let got = engine.matches_json(&event.to_string()).expect("event");
                    assert_eq!(
                        got, want,
                        "condition #{i}\npattern {}\nevent {event}\ntrigger {trigger:?}",
                        tp.text
                    );
                    if got { matched += 1 } else { unmatched += 1 }
                }
            }
            Err(CompileError::Contradiction { .. }) => {
                contradictions += 1;
                for event in &events {
                    assert!(
                        !expected(&trigger, event),
                        "condition #{i} was called contradictory but holds for {event}"
                    );
                }
            }
            other => panic!("condition #{i}: unexpected {other:?}"),
        }
    }
    // Both outcomes must be well represented, or the agreement would prove little.
    assert!(
        matched > 10_000 && unmatched > 10_000,
        "matched {matched}, unmatched {unmatched}"
    );
    assert!(
        contradictions < CONDITIONS / 2,
        "{contradictions} contradictions"
    );
}
