//! Committed files that mirror the code must not drift from it: the schemas in `schemas/`
//! (regenerate with `DPC_UPDATE_SCHEMAS=1 cargo test --test it drift::`) and README's code table.

use dpc::pipeline::schema::SchemaName;

#[test]
fn committed_schemas_match_the_code() {
    let update = std::env::var_os("DPC_UPDATE_SCHEMAS").is_some();
    for schema in SchemaName::ALL {
        let path = format!(
            "{}/schemas/{}",
            env!("CARGO_MANIFEST_DIR"),
            schema.file_name()
        );
        let generated = schema.render();
        if update {
            std::fs::write(&path, &generated).expect("write schema");
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{path} is out of date with the code; run `DPC_UPDATE_SCHEMAS=1 cargo test --test it drift::` and commit it"
        );
    }
}

#[test]
fn the_pipeline_schema_is_valid_draft_2020_12_with_descriptions() {
    let schema = SchemaName::Pipeline.schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(jsonschema::meta::is_valid(schema));
    // Every property has hover help.
    let defs = schema["$defs"].as_object().expect("$defs");
    let objects = defs.values().chain(std::iter::once(schema));
    for object in objects {
        for (key, prop) in object["properties"].as_object().into_iter().flatten() {
            let described = prop.get("description").is_some()
                || prop
                    .get("$ref")
                    .and_then(|r| r.as_str())
                    .and_then(|r| schema.pointer(r.trim_start_matches('#')))
                    .is_some_and(|d| d.get("description").is_some());
            assert!(described, "property `{key}` has no description");
        }
    }
}

#[test]
fn readme_lists_every_diagnostic_code() {
    let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR")))
        .expect("README");
    for code in dpc::diag::codes::ALL {
        assert!(
            readme.contains(&format!("`{}`", code.id)),
            "README does not document {}",
            code.id
        );
    }
}
