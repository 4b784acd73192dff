//! Property tests of `dpc::pattern`: arbitrary input never panics; a generated pattern always
//! matches an event generated to satisfy it; a `Machine` agrees with its patterns one by one.

use dpc::pattern::{Event, Machine, Pattern};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Arbitrary JSON values, biased towards pattern-like shapes and operator names.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        "[a-z$.]{0,6}",
        Just("$or".to_string()),
        Just("prefix".to_string()),
        Just("numeric".to_string()),
        Just("anything-but".to_string()),
        Just("exists".to_string()),
        Just("cidr".to_string()),
        Just("wildcard".to_string()),
        Just("equals-ignore-case".to_string()),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z*\\\\<>=./0-9]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_never_panics(pattern in arb_json(), event in arb_json()) {
        let (p, e) = (pattern.to_string(), event.to_string());
        if let Ok(p) = Pattern::parse(&p) {
            let _ = p.matches_json(&e);
            let _ = p.explain_json(&e);
            let _ = (p.combinations(), p.len());
            let mut m = Machine::new();
            m.add("p", &p);
            let _ = m.matches_json(&e);
        }
        let _ = Event::parse(e);
    }

    #[test]
    fn arbitrary_text_never_panics(p in "\\PC{0,40}", e in "[{}\\[\\]\",:a-z0-9 .\\\\-]{0,60}") {
        if let Ok(p) = Pattern::parse(&p) {
            let _ = p.matches_json(&e);
        }
        if let Ok(p) = Pattern::parse(r#"{"a": [{"exists": true}], "b": {"c": ["x"]}}"#) {
            let _ = p.matches_json(&e);
        }
        let _ = Event::parse(e);
    }
}

/// One field condition and an event value that satisfies it (`None`: the field is absent).
fn arb_condition() -> impl Strategy<Value = (Value, Option<Value>)> {
    let word = "[a-z]{1,6}";
    prop_oneof![
        word.prop_map(|s| (json!([s]), Some(json!(s)))),
        (-1_000_000i64..1_000_000).prop_map(|n| (json!([n]), Some(json!(n as f64)))),
        any::<bool>().prop_map(|b| (json!([b]), Some(json!(b)))),
        Just((json!([null]), Some(Value::Null))),
        (word, word)
            .prop_map(|(p, rest)| (json!([{"prefix": p}]), Some(json!(format!("{p}{rest}"))))),
        (word, word)
            .prop_map(|(s, head)| (json!([{"suffix": s}]), Some(json!(format!("{head}{s}"))))),
        word.prop_map(|s| (
            json!([{"equals-ignore-case": s.to_uppercase()}]),
            Some(json!(s))
        )),
        (word, word).prop_map(|(p, rest)| (
            json!([{"prefix": {"equals-ignore-case": p.to_uppercase()}}]),
            Some(json!(format!("{p}{rest}")))
        )),
        (word, word).prop_map(|(a, b)| (
            json!([{"wildcard": format!("{a}*{b}")}]),
            Some(json!(format!("{a}xyz{b}")))
        )),
        word.prop_map(|s| (
            json!([{"anything-but": [format!("{s}1"), format!("{s}2")]}]),
            Some(json!(s))
        )),
        word.prop_map(|s| (
            json!([{"anything-but": {"prefix": format!("{s}_")}}]),
            Some(json!(s))
        )),
        (-1000i64..1000, 1i64..1000, 0.0f64..1.0).prop_map(|(lo, width, t)| {
            let x = lo as f64 + t * width as f64;
            (
                json!([{"numeric": [">=", lo, "<=", lo + width]}]),
                Some(json!(x)),
            )
        }),
        (any::<[u8; 4]>(), 8u8..=32).prop_map(|(ip, bits)| {
            let cidr = format!("{}.{}.{}.{}/{bits}", ip[0], ip[1], ip[2], ip[3]);
            (
                json!([{"cidr": cidr}]),
                Some(json!(format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]))),
            )
        }),
        word.prop_map(|s| (json!([{"exists": true}]), Some(json!(s)))),
        Just((json!([{"exists": false}]), None)),
    ]
}

/// Inserts `value` at `path` in a nested JSON object.
fn insert(root: &mut Value, path: &[String], value: Value) {
    let mut node = root;
    for seg in &path[..path.len() - 1] {
        node = node
            .as_object_mut()
            .expect("object")
            .entry(seg.clone())
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut()
        .expect("object")
        .insert(path[path.len() - 1].clone(), value);
}

/// A pattern over 1-5 distinct field paths and an event satisfying it.
fn arb_matching_pair() -> impl Strategy<Value = (String, String)> {
    let field = (
        prop::collection::vec("[a-z]{1,4}", 0..3),
        arb_condition(),
        any::<bool>(),
    );
    (
        prop::collection::vec(field, 1..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(fields, with_or, noise)| {
            let (mut pattern, mut event) = (json!({}), json!({}));
            for (i, (tail, (cond, value), in_array)) in fields.into_iter().enumerate() {
                // A distinct first segment per field keeps paths from colliding.
                let path: Vec<String> = std::iter::once(format!("f{i}")).chain(tail).collect();
                insert(&mut pattern, &path, cond);
                if let Some(v) = value {
                    // Arrays match when any element does.
                    let v = if in_array { json!(["decoy", v, 7]) } else { v };
                    insert(&mut event, &path, v);
                }
            }
            if noise {
                insert(
                    &mut event,
                    &["noise".into()],
                    json!({"deep": [1, {"x": "y"}], "s": "t"}),
                );
            }
            if with_or {
                let satisfied = pattern.clone();
                pattern = json!({"$or": [{"never": ["matched"]}, satisfied]});
            }
            (pattern.to_string(), event.to_string())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_pattern_matches_an_event_built_to_satisfy_it((pattern, event) in arb_matching_pair()) {
        let p = Pattern::parse(&pattern).map_err(|e| TestCaseError::fail(format!("{e}: {pattern}")))?;
        prop_assert_eq!(p.matches_json(&event), Ok(true), "{} vs {}", pattern, event);
        let parsed = Event::parse(event.as_str()).expect("generated event is valid");
        prop_assert!(p.explain(&parsed).matched);
    }

    #[test]
    fn a_machine_agrees_with_its_patterns_one_by_one(pairs in prop::collection::vec(arb_matching_pair(), 1..6)) {
        let patterns: Vec<Pattern> = pairs.iter().map(|(p, _)| Pattern::parse(p).expect("valid")).collect();
        let mut machine = Machine::new();
        for (i, p) in patterns.iter().enumerate() {
            machine.add(format!("p{i}"), p);
        }
        for (_, event) in &pairs {
            let mut expected: Vec<String> = patterns
                .iter()
                .enumerate()
                .filter(|(_, p)| p.matches_json(event).unwrap_or(false))
                .map(|(i, _)| format!("p{i}"))
                .collect();
            expected.sort();
            prop_assert_eq!(machine.matches_json(event).expect("valid event"), expected);
        }
    }
}
