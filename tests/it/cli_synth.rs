//! End-to-end tests of `dpc synth`, `dpc explain` and `dpc test-event --pipeline`, running the
//! built binary on the examples and on temporary trees.

use std::path::Path;

use crate::common::dpc;

fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(read_tree(&path));
        } else {
            out.push((
                path.display().to_string(),
                std::fs::read(&path).expect("file"),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn synth_writes_every_artifact_of_every_example_identically_twice() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("dpc.out");
    let out_s = out.to_str().expect("utf8");
    dpc(["synth", "examples", "--out", out_s])
        .run()
        .assert_code(0);
    let dirs: Vec<_> = std::fs::read_dir(&out)
        .expect("out")
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    assert_eq!(dirs.len(), 12);
    for file in [
        "template.json",
        "state-machine.asl.json",
        "trigger-pattern.json",
        "schedule.json",
        "manifest.json",
    ] {
        let path = out.join("pipeline-x").join(file);
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect(file)).expect("json");
        assert!(!value.is_null() || file == "trigger-pattern.json");
    }
    let before = read_tree(&out);
    dpc(["synth", "examples", "--out", out_s])
        .run()
        .assert_code(0);
    assert_eq!(
        before,
        read_tree(&out),
        "a second synth must write the same bytes"
    );
}

#[test]
fn synth_manifest_hash_follows_script_contents() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("p");
    std::fs::create_dir_all(project.join("jobs")).expect("mkdir");
    std::fs::write(project.join("jobs/run.py"), "print(1)\n").expect("script");
    std::fs::write(project.join("pipeline.yaml"), "name: p\nteam: t\ncompute:\n  type: GLUE\n  glue: { version: \"5.0\", workerType: G.1X, numberOfWorkers: 2 }\nsteps:\n  - name: run\n    type: GLUE\n    script: jobs/run.py\n").expect("yaml");
    let out = tmp.path().join("out");
    let hash = || {
        dpc([
            "synth",
            project.to_str().expect("p"),
            "--out",
            out.to_str().expect("o"),
        ])
        .run()
        .assert_code(0);
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("p/manifest.json")).expect("m"))
                .expect("json");
        m["hash"].as_str().expect("hash").to_string()
    };
    let first = hash();
    assert_eq!(first, hash());
    std::fs::write(project.join("jobs/run.py"), "print(2)\n").expect("script");
    assert_ne!(
        first,
        hash(),
        "a changed script must change the manifest hash"
    );
}

#[test]
fn synth_refuses_invalid_pipelines_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("dpc.out");
    dpc([
        "synth",
        "tests/fixtures/invalid/trigger-pattern-too-large.yaml",
        "--out",
        out.to_str().expect("o"),
    ])
    .run()
    .assert_code(1)
    .assert_stderr_contains("dpc::trigger::pattern-too-large");
    assert!(!out.exists());
}

#[test]
fn synth_never_replaces_a_folder_it_did_not_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("precious.txt"), "keep").expect("write");
    dpc([
        "synth",
        "examples/case-study/listings",
        "--out",
        tmp.path().to_str().expect("o"),
    ])
    .run()
    .assert_code(2)
    .assert_stderr_contains("not a dpc output folder");
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("precious.txt")).expect("kept"),
        "keep"
    );
}

#[test]
fn synth_json_output_lists_pipelines_with_hashes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("o");
    let o = dpc([
        "--output",
        "json",
        "synth",
        "examples/data-mesh",
        "--out",
        out.to_str().expect("o"),
    ])
    .run();
    o.assert_code(0);
    let v = o.json();
    let list = v["pipelines"].as_array().expect("list");
    assert_eq!(list.len(), 8);
    assert!(
        list.iter()
            .all(|p| p["hash"].as_str().is_some_and(|h| h.len() == 64))
    );
}

#[test]
fn explain_says_the_condition_schedule_and_pattern_size() {
    let o = dpc(["explain", "examples/case-study/pipeline-x"]).run();
    o.assert_code(0);
    let out = o.stdout();
    for needle in [
        "upstream runs: ALL of",
        "listings (111111111111, eu-west-1) latest run SUCCEEDED",
        "cron(0 0 * * ? *)",
        "at most one",
        "$or combinations",
        "\"dpc.trigger-manager\"",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    let out = dpc(["explain", "examples/case-study/listings"])
        .run()
        .stdout();
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("  - ") && l.contains("T03:00:00+00:00"))
            .count(),
        5,
        "{out}"
    );
}

#[test]
fn explain_json_shows_fire_times_in_utc_and_local_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = tmp.path().join("p");
    std::fs::create_dir_all(&p).expect("mkdir");
    std::fs::write(p.join("pipeline.yaml"), "name: p\nteam: t\ntrigger:\n  schedule: { hour: 3, timezone: Europe/Berlin }\ncompute:\n  type: NONE\n").expect("yaml");
    let o = dpc(["--output", "json", "explain", p.to_str().expect("p")]).run();
    o.assert_code(0);
    let v = o.json();
    let next = v[0]["schedule"]["next"].as_array().expect("next");
    assert_eq!(next.len(), 5);
    for t in next {
        let local = t["local"].as_str().expect("local");
        assert!(
            local.contains("T03:00:00+01:00") || local.contains("T03:00:00+02:00"),
            "{local}"
        );
    }
    assert_eq!(v[0]["schedule"]["timezone"], "Europe/Berlin");
}

const MATCHING: &str = r#"{"source": "dpc.trigger-manager", "detail-type": "dpc Pipeline Trigger", "account": "999999999999",
  "detail": {"target": {"account": "333333333333", "region": "eu-west-1", "pipeline": "pipeline-x"}, "triggerId": "t",
  "upstreams": {"111111111111": {"eu-west-1": {"listings": {"status": "SUCCEEDED"}}},
                "222222222222": {"eu-west-1": {"searches": {"status": "SUCCEEDED"}}}}}}"#;

#[test]
fn test_event_against_a_pipelines_compiled_pattern() {
    let pipeline = "examples/case-study/pipeline-x";
    dpc(["test-event", "--pipeline", pipeline, "--event", MATCHING])
        .run()
        .assert_code(0)
        .assert_stdout("match\n");
    let failed = MATCHING.replacen("\"SUCCEEDED\"", "\"FAILED\"", 1);
    dpc(["test-event", "--pipeline", pipeline, "--event", &failed])
        .run()
        .assert_code(1)
        .assert_stdout("no match\n");
}

#[test]
fn test_event_pipeline_errors_exit_2() {
    dpc([
        "test-event",
        "--pipeline",
        "examples/case-study",
        "--event",
        MATCHING,
    ])
    .run()
    .assert_code(2)
    .assert_stderr_contains("takes one project");
    dpc([
        "test-event",
        "--pipeline",
        "examples/case-study/listings",
        "--event",
        MATCHING,
    ])
    .run()
    .assert_code(2)
    .assert_stderr_contains("no trigger pattern");
    let o = dpc([
        "test-event",
        "--pipeline",
        "examples/case-study/listings",
        "--pattern",
        "{}",
        "--event",
        MATCHING,
    ])
    .run();
    assert_eq!(o.code(), Some(2), "--pattern and --pipeline conflict");
}
