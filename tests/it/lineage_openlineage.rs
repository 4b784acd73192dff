//! OpenLineage events of `dpc local run`, validated against the OpenLineage 2-0-2 schemas read
//! from the shared data folder (`openlineage-spec/`, see [`crate::common::shared`]): every event
//! of both examples (the JSON-lines file beside the store), a failing run's errorMessage, a
//! triggered run's jobDependencies pointing at its upstreams' runs, and the http transport
//! posting to a server on 127.0.0.1 that fails once with a 500.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::lambda::{Request, free_listener, serve, write_response};
use crate::common::{ROOT, Run, dpc, shared};

/// The facet files by the key dpc gives the facet in `run.facets` / `job.facets`.
const FACETS: [(&str, &str); 5] = [
    ("jobDependencies", "JobDependenciesRunFacet.json"),
    ("nominalTime", "NominalTimeRunFacet.json"),
    ("errorMessage", "ErrorMessageRunFacet.json"),
    ("processing_engine", "ProcessingEngineRunFacet.json"),
    ("jobType", "JobTypeJobFacet.json"),
];

fn spec_dir() -> PathBuf {
    shared::dir().join("openlineage-spec")
}

fn spec(file: &str) -> Value {
    let path = spec_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}).\nThe OpenLineage 2-0-2 schemas are not kept in this \
             repository: they are read from the shared data folder `../shared/openlineage-spec/` \
             beside the checkout (CI provides it), or from ${}/openlineage-spec/.",
            path.display(),
            shared::SHARED_DIR_VAR
        )
    });
    serde_json::from_str(&text).expect("a JSON schema")
}

/// Checks every event against `OpenLineage.json` (formats too: uuid, date-time, uri), each
/// facet against its own schema file (a facet dpc emits without a file here fails), and each
/// facet's `_schemaURL` against the file's `$id`. Panics naming the event and the problems.
pub(crate) fn validate_all(events: &[Value]) {
    assert!(!events.is_empty(), "no events to validate");
    for (e, problems) in events.iter().zip(problems(events)) {
        assert!(
            problems.is_empty(),
            "{e:#}\nis not a valid RunEvent: {problems:#?}"
        );
    }
}

/// What is wrong with each event (see [`validate_all`]).
fn problems(events: &[Value]) -> Vec<Vec<String>> {
    let core = spec("OpenLineage.json");
    let facets: Vec<(&str, Value)> = FACETS
        .iter()
        .map(|(k, f)| (*k, spec(&format!("facets/{f}"))))
        .collect();
    let id = |v: &Value| v["$id"].as_str().expect("$id").to_string();
    let mut registry = jsonschema::Registry::new()
        .add(id(&core), core.clone())
        .expect("core schema");
    for (_, f) in &facets {
        registry = registry.add(id(f), f.clone()).expect("facet schema");
    }
    let registry = registry.prepare().expect("registry");
    let build = |schema: &Value| {
        jsonschema::options()
            .with_registry(&registry)
            .should_validate_formats(true)
            .build(schema)
            .expect("a validator")
    };
    let event_validator = build(&core);
    let facet_validators: BTreeMap<&str, (String, jsonschema::Validator)> = facets
        .iter()
        .map(|(k, f)| (*k, (id(f), build(f))))
        .collect();
    let errors = |v: &jsonschema::Validator, x: &Value| -> Vec<String> {
        v.iter_errors(x)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect()
    };
    events
        .iter()
        .map(|e| {
            let mut out = errors(&event_validator, e);
            if !e["run"]["runId"].is_string() {
                out.push("not a RunEvent".into());
            }
            let all = [&e["run"]["facets"], &e["job"]["facets"]];
            for (key, facet) in all.iter().filter_map(|f| f.as_object()).flatten() {
                let Some((file_id, v)) = facet_validators.get(key.as_str()) else {
                    out.push(format!(
                        "facet `{key}` has no schema file to check it against"
                    ));
                    continue;
                };
                let wrapped = json!({key.clone(): facet});
                out.extend(
                    errors(v, &wrapped)
                        .into_iter()
                        .map(|x| format!("facet {key}: {x}")),
                );
                let url = facet["_schemaURL"].as_str().unwrap_or_default();
                if !url.starts_with(&format!("{file_id}#/$defs/")) {
                    out.push(format!("facet {key}: _schemaURL {url} is not in {file_id}"));
                }
            }
            out
        })
        .collect()
}

/// `dpc local run PATH --from 2026-11-26 EXTRA…` in `dir` (store, logs and lineage there).
fn local_run(dir: &Path, path: &Path, extra: &[&str]) -> Run {
    dpc([
        "local",
        "run",
        "--from",
        "2026-11-26",
        "--store",
        ".dpc/store.db",
    ])
    .arg(path)
    .args(extra)
    .current_dir(dir)
    .run()
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect()
}

/// The events of `pipeline`'s runs: `(eventType, event)` in file order.
fn of<'a>(events: &'a [Value], pipeline: &str) -> Vec<(&'a str, &'a Value)> {
    events
        .iter()
        .filter(|e| e["job"]["name"] == pipeline)
        .map(|e| (e["eventType"].as_str().unwrap_or_default(), e))
        .collect()
}

/// Each run has one START then one COMPLETE, FAIL or ABORT, later or at the same time.
fn each_run_starts_and_ends(events: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in events {
        let id = e["run"]["runId"].as_str().expect("runId").to_string();
        runs.entry(id)
            .or_default()
            .push(e["eventType"].as_str().unwrap_or_default().to_string());
    }
    for (id, kinds) in &runs {
        assert_eq!(kinds.len(), 2, "run {id}: {kinds:?}");
        assert_eq!(kinds[0], "START", "run {id}: {kinds:?}");
        assert!(
            ["COMPLETE", "FAIL", "ABORT"].contains(&kinds[1].as_str()),
            "run {id}: {kinds:?}"
        );
    }
    runs
}

#[test]
fn every_event_of_both_examples_validates_against_the_schemas() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = local_run(dir.path(), &Path::new(ROOT).join("examples"), &[]);
    run.assert_code(0);
    run.assert_stderr_contains("OpenLineage event(s) to .dpc/lineage.jsonl");
    let events = read_lines(&dir.path().join(".dpc/lineage.jsonl"));
    validate_all(&events);
    let runs = each_run_starts_and_ends(&events);
    // Both examples: the case study's 3 runs (no fallback) and the data mesh's 8.
    assert_eq!(runs.len(), 11, "{runs:?}");
    assert!(runs.values().all(|k| k[1] == "COMPLETE"));
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = events
        .iter()
        .map(|e| {
            chrono::DateTime::parse_from_rfc3339(e["eventTime"].as_str().unwrap_or_default())
                .expect("RFC 3339")
        })
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "events are written in time order");

    // A scheduled run: its schedule time, up to the next one.
    let listings = of(&events, "listings");
    assert_eq!(
        listings[0].1["job"]["namespace"],
        "dpc://111111111111/eu-west-1"
    );
    let nominal = &listings[0].1["run"]["facets"]["nominalTime"];
    assert_eq!(nominal["nominalStartTime"], "2026-11-26T03:00:00Z");
    assert_eq!(nominal["nominalEndTime"], "2026-11-27T03:00:00Z");

    // pipeline-x names the runs of listings and searches that triggered it: all of them.
    let run_of = |p: &str| of(&events, p)[0].1["run"]["runId"].clone();
    let x = of(&events, "pipeline-x");
    let deps = &x[0].1["run"]["facets"]["jobDependencies"];
    assert_eq!(deps["trigger_rule"], "ALL_SUCCESS");
    let upstream: Vec<(&Value, &Value, &Value)> = deps["upstream"]
        .as_array()
        .expect("upstream")
        .iter()
        .map(|u| {
            (
                &u["job"]["name"],
                &u["job"]["namespace"],
                &u["run"]["runId"],
            )
        })
        .collect();
    assert_eq!(
        upstream,
        [
            (
                &json!("listings"),
                &json!("dpc://111111111111/eu-west-1"),
                &run_of("listings")
            ),
            (
                &json!("searches"),
                &json!("dpc://222222222222/eu-west-1"),
                &run_of("searches")
            ),
        ]
    );
    assert!(
        deps["upstream"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|u| u["status_trigger_rule"] == "EXECUTE_ON_SUCCESS")
    );
    assert_eq!(
        x[1].1["outputs"],
        json!([{"namespace": "dpc://data-product/rent-journey", "name": "metric-x"}])
    );

    // The data mesh: the products that arrived are inputs, the published one the output.
    let d1 = of(&events, "d1-ds1");
    assert_eq!(
        d1[0].1["inputs"],
        json!([
            {"namespace": "dpc://data-product/raw", "name": "RD1"},
            {"namespace": "dpc://data-product/raw", "name": "RD2"},
        ])
    );
    assert_eq!(
        d1[1].1["outputs"],
        json!([{"namespace": "dpc://data-product/D1", "name": "DS1"}])
    );
    assert_eq!(
        d1[0].1["run"]["facets"]["jobDependencies"]["trigger_rule"],
        "ALL_SUCCESS"
    );
}

/// The checks catch what they are for: each broken copy of a valid event has a problem.
#[test]
fn the_checks_reject_broken_events() {
    let dir = tempfile::tempdir().expect("tmp");
    let tree = Path::new(ROOT).join("examples/case-study");
    local_run(dir.path(), &tree, &["--fail", "searches"]).assert_code(1);
    let events = read_lines(&dir.path().join(".dpc/lineage.jsonl"));
    let failed = events
        .iter()
        .find(|e| e["eventType"] == "FAIL")
        .expect("a FAIL event");
    type Break = fn(&mut Value);
    let breaks: [(&str, Break); 7] = [
        ("runId not a UUID", |e| {
            e["run"]["runId"] = json!("searches-1")
        }),
        ("eventTime not a date-time", |e| {
            e["eventTime"] = json!("yesterday")
        }),
        ("eventType unknown", |e| e["eventType"] = json!("DONE")),
        ("job without name", |e| {
            e["job"].as_object_mut().map(|j| j.remove("name"));
        }),
        ("errorMessage without programmingLanguage", |e| {
            let facet = &mut e["run"]["facets"]["errorMessage"];
            facet
                .as_object_mut()
                .map(|f| f.remove("programmingLanguage"));
        }),
        ("facet without _producer", |e| {
            let facet = &mut e["run"]["facets"]["errorMessage"];
            facet.as_object_mut().map(|f| f.remove("_producer"));
        }),
        ("a facet of no known schema", |e| {
            e["run"]["facets"]["custom"] = json!({"_producer": "urn:x", "_schemaURL": "urn:y"});
        }),
    ];
    assert!(problems(std::slice::from_ref(failed))[0].is_empty());
    for (what, f) in breaks {
        let mut broken = failed.clone();
        f(&mut broken);
        assert!(!problems(&[broken])[0].is_empty(), "{what}: not caught");
    }
}

#[test]
fn a_failed_run_has_its_error_and_the_fallback_names_the_one_that_fired() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = local_run(
        dir.path(),
        &Path::new(ROOT).join("examples/case-study"),
        &["--fail", "searches"],
    );
    run.assert_code(1);
    let events = read_lines(&dir.path().join(".dpc/lineage.jsonl"));
    validate_all(&events);
    each_run_starts_and_ends(&events);
    let searches = of(&events, "searches");
    assert_eq!(searches[1].0, "FAIL");
    let error = &searches[1].1["run"]["facets"]["errorMessage"];
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("FAILED: "),
        "{error}"
    );
    assert_eq!(searches[1].1["outputs"], json!([]));
    assert!(
        of(&events, "pipeline-x").is_empty(),
        "pipeline-x waits for a SUCCEEDED searches"
    );
    let fallback = of(&events, "pipeline-x-fallback");
    assert_eq!(fallback.len(), 2);
    let deps = &fallback[0].1["run"]["facets"]["jobDependencies"];
    assert_eq!(deps["trigger_rule"], "ONE_FAILED");
    assert_eq!(deps["upstream"].as_array().map(Vec::len), Some(1));
    assert_eq!(deps["upstream"][0]["job"]["name"], "searches");
    assert_eq!(
        deps["upstream"][0]["run"]["runId"],
        searches[0].1["run"]["runId"]
    );
    assert_eq!(
        deps["upstream"][0]["status_trigger_rule"],
        "EXECUTE_ON_FAILURE"
    );
}

/// A lineage endpoint on 127.0.0.1: answers 500 while told to fail, then 201, and keeps the
/// body of every post it accepted.
pub(crate) struct Endpoint {
    pub(crate) url: String,
    state: Arc<Mutex<EndpointState>>,
}

#[derive(Default)]
struct EndpointState {
    calls: u32,
    fail: u32,
    posted: Vec<Value>,
}

impl Endpoint {
    /// Fails the first `fail` posts.
    pub(crate) fn start(fail: u32) -> Endpoint {
        let (listener, port) = free_listener();
        let state = Arc::new(Mutex::new(EndpointState {
            fail,
            ..EndpointState::default()
        }));
        let shared = Arc::clone(&state);
        let handle = move |req: &Request, stream: &mut TcpStream| -> bool {
            let mut state = shared.lock().expect("lock");
            state.calls += 1;
            let ok = req.method == "POST" && req.path == "/api/v1/lineage";
            let status = if state.fail > 0 || !ok {
                state.fail = state.fail.saturating_sub(1);
                "500 Internal Server Error"
            } else {
                let body = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                state.posted.push(body);
                "201 Created"
            };
            drop(state);
            write_response(stream, status, &[], b"")
        };
        serve(listener, Arc::new(handle));
        Endpoint {
            url: format!("http://127.0.0.1:{port}/api/v1/lineage"),
            state,
        }
    }

    /// Fails the next `n` posts.
    pub(crate) fn fail_next(&self, n: u32) {
        self.state.lock().expect("lock").fail = n;
    }

    /// How many posts it was sent, and the events it accepted.
    pub(crate) fn posts(&self) -> (u32, Vec<Value>) {
        let state = self.state.lock().expect("lock");
        (state.calls, state.posted.clone())
    }
}

/// Copies the case study to `dir` with `lineage` added to its dpc.yaml.
fn case_study_with(dir: &Path, lineage: &str) -> PathBuf {
    let to = dir.join("case-study");
    crate::common::copy_tree(&Path::new(ROOT).join("examples/case-study"), &to);
    let config = to.join("dpc.yaml");
    let text = std::fs::read_to_string(&config).expect("dpc.yaml");
    std::fs::write(&config, format!("{text}lineage: {lineage}\n")).expect("write dpc.yaml");
    to
}

#[test]
fn the_http_transport_posts_every_event_and_retries_after_a_500() {
    let endpoint = Endpoint::start(1);
    let dir = tempfile::tempdir().expect("tmp");
    let tree = case_study_with(
        dir.path(),
        &format!("{{transport: http, url: \"{}\"}}", endpoint.url),
    );
    let run = local_run(dir.path(), &tree, &[]);
    run.assert_code(0);
    run.assert_stderr_contains(&format!(
        "posted 6 OpenLineage event(s) to {}",
        endpoint.url
    ));
    assert!(
        !dir.path().join(".dpc/lineage.jsonl").exists(),
        "http replaces the file"
    );
    let (calls, posted) = endpoint.posts();
    assert_eq!(calls, 7, "6 events (3 runs), the first one twice");
    validate_all(&posted);
    each_run_starts_and_ends(&posted);
    assert_eq!(posted[0]["eventType"], "START");
    assert_eq!(posted[0]["job"]["name"], "listings");

    // A file transport writes where it says.
    let dir = tempfile::tempdir().expect("tmp");
    let tree = case_study_with(dir.path(), "{transport: file, path: out/ol.jsonl}");
    local_run(dir.path(), &tree, &[]).assert_code(0);
    let events = read_lines(&dir.path().join("out/ol.jsonl"));
    assert_eq!(events.len(), 6);
    validate_all(&events);
}

#[test]
fn an_endpoint_that_keeps_failing_fails_the_command_with_the_answer() {
    let endpoint = Endpoint::start(u32::MAX);
    let dir = tempfile::tempdir().expect("tmp");
    let tree = case_study_with(
        dir.path(),
        &format!("{{transport: http, url: \"{}\"}}", endpoint.url),
    );
    let run = local_run(dir.path(), &tree, &[]);
    run.assert_code(1);
    run.assert_stderr_contains("answered 500");
    assert_eq!(endpoint.posts().0, 4, "four tries of the first event");
}

#[test]
fn validate_rejects_an_http_transport_without_a_url() {
    let dir = tempfile::tempdir().expect("tmp");
    let tree = case_study_with(dir.path(), "{transport: http}");
    let run = dpc(["validate"]).arg(&tree).run();
    run.assert_code(1);
    run.assert_stderr_contains("dpc::config::lineage");
    run.assert_stderr_contains("`transport: http` needs a `url`");
}

#[test]
fn a_resumed_run_adds_its_events_to_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let tree = Path::new(ROOT).join("examples/case-study");
    local_run(dir.path(), &tree, &[]).assert_code(0);
    let file = dir.path().join(".dpc/lineage.jsonl");
    let first = read_lines(&file);
    dpc([
        "local",
        "run",
        "--from",
        "2026-11-27",
        "--store",
        ".dpc/store.db",
        "--resume",
    ])
    .arg(&tree)
    .current_dir(dir.path())
    .run()
    .assert_code(0);
    let both = read_lines(&file);
    assert!(
        both.len() > first.len(),
        "{} then {}",
        first.len(),
        both.len()
    );
    assert_eq!(both[..first.len()], first[..]);
    validate_all(&both);
    each_run_starts_and_ends(&both);
    // A run without --resume starts the file afresh (the same runs; the steps' real
    // durations move the end times).
    local_run(dir.path(), &tree, &[]).assert_code(0);
    let key = |e: &Value| (e["run"]["runId"].clone(), e["eventType"].clone());
    let again: Vec<_> = read_lines(&file).iter().map(key).collect();
    assert_eq!(again, first.iter().map(key).collect::<Vec<_>>());
}
