//! Reads intrinsic expressions and inputs; checks each States.* function's result, including the examples of the developer guide and the error cases.

use dpc::asl::{Definition, MockHandler, Options, Status, run};
use serde_json::{Value, json};

use super::def;

/// Evaluates `expr` in a Pass state's Parameters on `input`: the value, or (error, cause).
fn eval(expr: &str, input: Value) -> Result<Value, (String, String)> {
    let d = def(json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"r.$": expr}, "End": true}}
    }));
    let ex = run(&d, input, &Options::default(), &mut MockHandler::default());
    match ex.status {
        Status::Succeeded => Ok(ex
            .output
            .and_then(|o| o.get("r").cloned())
            .unwrap_or(Value::Null)),
        _ => Err((ex.error.unwrap_or_default(), ex.cause.unwrap_or_default())),
    }
}

fn ok(expr: &str, input: Value) -> Value {
    eval(expr, input).unwrap_or_else(|e| panic!("{expr}: {e:?}"))
}

fn intrinsic_failure(expr: &str, input: Value) {
    match eval(expr, input) {
        Err((e, _)) => assert_eq!(e, "States.IntrinsicFailure", "{expr}"),
        Ok(v) => panic!("{expr} gave {v}"),
    }
}

fn parse_fails(expr: &str) {
    let r = Definition::parse(&json!({
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Parameters": {"r.$": expr}, "End": true}}
    }));
    let problems = r.err().unwrap_or_else(|| panic!("{expr} parsed"));
    assert!(
        problems
            .iter()
            .any(|p| p.path == "$.States['P'].Parameters['r.$']"),
        "{problems:?}"
    );
}

#[test]
fn format() {
    let input = json!({"name": "Arnav", "template": "Hello, my name is {}."});
    assert_eq!(
        ok(
            "States.Format('Hello, my name is {}.', $.name)",
            input.clone()
        ),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        ok("States.Format($.template, $.name)", input),
        json!("Hello, my name is Arnav.")
    );
    assert_eq!(
        ok(
            "States.Format('{} {} {} {}', 1, 2.5, true, null)",
            json!({})
        ),
        json!("1 2.5 true null")
    );
}

#[test]
fn format_escapes() {
    assert_eq!(
        ok(r"States.Format('\{\} {} it\'s \\', 'x')", json!({})),
        json!(r"{} x it's \")
    );
    parse_fails(r"States.Format('bad \n escape')");
}

#[test]
fn format_errors() {
    parse_fails("States.Format('{} {}', 'only one')");
    intrinsic_failure("States.Format($.t, 'a')", json!({"t": "no placeholder"}));
    assert_eq!(
        ok(
            "States.Format('{} {}', $.o, $.a)",
            json!({"o": {"Arg1": 1, "Arg2": []}, "a": ["x", 2, null]})
        ),
        json!("{Arg1=1, Arg2=[]} [x, 2, null]"),
        "objects and arrays as Java prints them"
    );
}

#[test]
fn json_string_round_trip() {
    assert_eq!(
        ok(
            "States.StringToJson($.s)",
            json!({"s": "{\"foo\": \"bar\"}"})
        ),
        json!({"foo": "bar"})
    );
    assert_eq!(
        ok("States.JsonToString($.u)", json!({"u": {"foo": "bar"}})),
        json!("{\"foo\":\"bar\"}")
    );
    intrinsic_failure("States.StringToJson($.s)", json!({"s": "{not json"}));
    intrinsic_failure("States.StringToJson($.s)", json!({"s": 5}));
}

#[test]
fn array() {
    let input = json!({"Id": 123456, "myInfo": {"numberField": 7}});
    assert_eq!(ok("States.Array($.Id)", input.clone()), json!([123456]));
    assert_eq!(
        ok(
            "States.Array('Foo', 2020, $.myInfo, 'Bar', $.myInfo.numberField)",
            input
        ),
        json!(["Foo", 2020, {"numberField": 7}, "Bar", 7])
    );
    assert_eq!(ok("States.Array()", json!({})), json!([]));
}

#[test]
fn array_partition() {
    let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]});
    assert_eq!(
        ok("States.ArrayPartition($.a, 4)", input.clone()),
        json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
    );
    intrinsic_failure("States.ArrayPartition($.a, 0)", input.clone());
    intrinsic_failure("States.ArrayPartition($.a, 'x')", input);
}

#[test]
fn array_contains() {
    let input = json!({"a": [1, 2, 3, {"x": 1}], "n": 5});
    assert_eq!(
        ok("States.ArrayContains($.a, 3)", input.clone()),
        json!(true)
    );
    assert_eq!(
        ok("States.ArrayContains($.a, $.n)", input.clone()),
        json!(false)
    );
    assert_eq!(
        ok(
            "States.ArrayContains($.a, States.StringToJson('{\"x\":1}'))",
            input.clone()
        ),
        json!(true)
    );
    intrinsic_failure("States.ArrayContains($.n, 1)", input);
}

#[test]
fn array_range() {
    assert_eq!(
        ok("States.ArrayRange(1, 9, 2)", json!({})),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        ok("States.ArrayRange(5, 1, -2)", json!({})),
        json!([5, 3, 1])
    );
    assert_eq!(
        ok("States.ArrayRange(1, 1000, 1)", json!({}))
            .as_array()
            .map(Vec::len),
        Some(1000)
    );
    intrinsic_failure("States.ArrayRange(1, 1001, 1)", json!({}));
    intrinsic_failure("States.ArrayRange(1, 5, 0)", json!({}));
    intrinsic_failure("States.ArrayRange(1.5, 5, 1)", json!({}));
}

#[test]
fn array_get_item_length_unique() {
    let input = json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9], "i": 5});
    assert_eq!(ok("States.ArrayGetItem($.a, $.i)", input.clone()), json!(6));
    intrinsic_failure("States.ArrayGetItem($.a, 9)", input.clone());
    intrinsic_failure("States.ArrayGetItem($.a, -1)", input.clone());
    assert_eq!(ok("States.ArrayLength($.a)", input), json!(9));
    assert_eq!(
        ok(
            "States.ArrayUnique($.a)",
            json!({"a": [1, 2, 3, 3, 3, 3, 3, 3, 4]})
        ),
        json!([1, 2, 3, 4])
    );
    intrinsic_failure("States.ArrayLength($.s)", json!({"s": "abc"}));
}

#[test]
fn base64() {
    assert_eq!(
        ok("States.Base64Encode($.s)", json!({"s": "Data to encode"})),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        ok(
            "States.Base64Decode($.s)",
            json!({"s": "RGF0YSB0byBlbmNvZGU="})
        ),
        json!("Data to encode")
    );
    assert_eq!(ok("States.Base64Encode('a')", json!({})), json!("YQ=="));
    assert_eq!(ok("States.Base64Encode('ab')", json!({})), json!("YWI="));
    assert_eq!(ok("States.Base64Decode('YWI=')", json!({})), json!("ab"));
    intrinsic_failure("States.Base64Decode('not base64!')", json!({}));
    intrinsic_failure("States.Base64Decode('/w==')", json!({}));
    intrinsic_failure("States.Base64Encode($.s)", json!({"s": "x".repeat(10_001)}));
}

#[test]
fn hash() {
    let cases = [
        ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
        ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        (
            "SHA-256",
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        ),
        (
            "SHA-384",
            "d28a7d5cf25a74f11a50a18452b75e04bb3d70c9dd0510d6123aa008c756511b87525bdc835ebb27e1fb9e9374a15562",
        ),
        (
            "SHA-512",
            "6ce4adb348546d4f449c4d25aad9a7c9cb711d9e91982d3f0b29ca2f3f47d4ce2deba23bf2954f0f1d593fc50283731a533d30d425402d4f91316d871303aac4",
        ),
    ];
    for (algo, hex) in cases {
        assert_eq!(
            ok(
                "States.Hash($.d, $.a)",
                json!({"d": "input data", "a": algo})
            ),
            json!(hex),
            "{algo}"
        );
    }
    intrinsic_failure("States.Hash('x', 'SHA-3')", json!({}));
    intrinsic_failure("States.Hash(5, 'MD5')", json!({}));
}

#[test]
fn json_merge() {
    let input =
        json!({"j1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "j2": {"a": {"a3": 1, "a4": 2}, "c": 3}});
    assert_eq!(
        ok("States.JsonMerge($.j1, $.j2, false)", input.clone()),
        json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
    );
    intrinsic_failure("States.JsonMerge($.j1, $.j2, true)", input.clone());
    intrinsic_failure("States.JsonMerge($.j1, 5, false)", input);
}

#[test]
fn math() {
    assert_eq!(
        ok("States.MathAdd($.v, $.s)", json!({"v": 111, "s": -1})),
        json!(110)
    );
    assert_eq!(
        ok("States.MathAdd(1.5, 1)", json!({})),
        json!(3),
        "rounded, as Java's Math.round"
    );
    intrinsic_failure("States.MathAdd('1', 1)", json!({}));
    for _ in 0..3 {
        let r = ok("States.MathRandom(1, 999)", json!({}))
            .as_i64()
            .unwrap_or(-1);
        assert!((1..999).contains(&r), "{r}");
    }
    let a = ok("States.MathRandom(0, 1000000, 42)", json!({}));
    let b = ok("States.MathRandom(0, 1000000, 42)", json!({}));
    assert_eq!(a, b);
    intrinsic_failure("States.MathRandom(5, 5)", json!({}));
}

#[test]
fn string_split() {
    assert_eq!(
        ok("States.StringSplit($.s, ',')", json!({"s": "1,2,3,4,5"})),
        json!(["1", "2", "3", "4", "5"])
    );
    assert_eq!(
        ok(
            "States.StringSplit($.s, $.d)",
            json!({"s": "This.is+a,test=string", "d": ".+,="})
        ),
        json!(["This", "is", "a", "test", "string"])
    );
    intrinsic_failure("States.StringSplit(1, ',')", json!({}));
}

#[test]
fn uuid_is_v4_and_seeded() {
    let u = ok("States.UUID()", json!({}));
    let s = u.as_str().unwrap_or("");
    assert_eq!(s.len(), 36);
    assert_eq!(s.as_bytes().get(14), Some(&b'4'));
    assert!(matches!(
        s.as_bytes().get(19),
        Some(b'8' | b'9' | b'a' | b'b')
    ));
    assert_eq!(u, ok("States.UUID()", json!({})), "same seed, same UUID");
}

#[test]
fn nested_and_context() {
    let input = json!({"run": {"time": "2026-11-26T03:00:00Z"}});
    assert_eq!(
        ok(
            "States.ArrayGetItem(States.StringSplit($.run.time, 'T'), 0)",
            input
        ),
        json!("2026-11-26")
    );
    assert_eq!(
        ok("States.Format('x-{}', $$.Execution.Name)", json!({})),
        json!("x-execution")
    );
    assert_eq!(
        ok(
            "States.ArrayLength(States.Array(1, States.Array(2, 3)))",
            json!({})
        ),
        json!(2)
    );
}

#[test]
fn missing_path_argument_is_runtime() {
    let (e, _) = eval("States.Format('{}', $.nope)", json!({}))
        .err()
        .unwrap_or_default();
    assert_eq!(e, "States.Runtime");
}

#[test]
fn bad_calls_are_problems() {
    parse_fails("States.Nope(1)");
    parse_fails("States.ArrayLength()");
    parse_fails("States.UUID(1)");
    parse_fails("States.Array('unterminated)");
    parse_fails("States.Array(1) trailing");
    parse_fails("Format('x')");
}

#[test]
fn intrinsic_failure_is_catchable() {
    let d = def(json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"x.$": "States.ArrayGetItem($.a, 5)"},
                  "Catch": [{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "C"}], "End": true},
            "C": {"Type": "Pass", "End": true}
        }
    }));
    let ex = run(
        &d,
        json!({"a": []}),
        &Options::default(),
        &mut MockHandler::default(),
    );
    assert_eq!(ex.status, Status::Succeeded);
    assert_eq!(
        ex.output.and_then(|o| o.get("Error").cloned()),
        Some(json!("States.IntrinsicFailure"))
    );
}
