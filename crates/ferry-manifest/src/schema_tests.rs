//! The derived JSON Schema: described for editors, carrying validation's
//! limits, and what the repository keeps.

use serde_json::{json, Value};

use super::*;
use crate::limits;

/// Every property of every mapping in `schema`, with its path.
fn properties(schema: &Value, path: &str, out: &mut Vec<(String, Value, bool)>) {
    if let Some(Value::Object(properties)) = schema.get("properties") {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        for (name, property) in properties {
            let is_required = required.contains(&Value::from(name.as_str()));
            out.push((format!("{path}{name}"), property.clone(), is_required));
        }
    }
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                let path = match (key.as_str(), schema.get("properties")) {
                    ("properties", _) => path.to_owned(),
                    (name, Some(Value::Object(p))) if p.contains_key(name) => {
                        format!("{path}{name}.")
                    }
                    _ => path.to_owned(),
                };
                properties(value, &path, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| properties(item, path, out)),
        _ => {}
    }
}

#[test]
fn every_field_is_described_for_editors_and_every_required_one_has_an_example() {
    let mut all = Vec::new();
    properties(described(), "", &mut all);
    assert!(all.len() > 30, "{} fields", all.len());
    let undescribed: Vec<&str> = all
        .iter()
        .filter(|(_, schema, _)| schema["description"].as_str().is_none_or(str::is_empty))
        .map(|(path, _, _)| path.as_str())
        .collect();
    assert!(undescribed.is_empty(), "no doc comment for {undescribed:?}");
    let without_example: Vec<&str> = all
        .iter()
        .filter(|(_, schema, required)| *required && schema["examples"][0].is_null())
        .map(|(path, _, _)| path.as_str())
        .collect();
    assert!(
        without_example.is_empty(),
        "no example for {without_example:?}"
    );
}

#[test]
fn the_json_schema_carries_validations_limits() {
    let schema = json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let process = &schema["properties"]["spec"]["properties"]["processes"]["anyOf"][0]
        ["additionalProperties"];
    assert_eq!(process["additionalProperties"], false);
    let cpu = &process["properties"]["cpu"]["anyOf"][0];
    assert_eq!(cpu["type"], "integer");
    assert_eq!(cpu["enum"][0], 256);
    assert!(cpu.get("minimum").is_none(), "{cpu}");
    let scale = &process["properties"]["scale"]["anyOf"][0];
    assert_eq!(
        (&scale["minimum"], &scale["maximum"]),
        (&limits::SCALE.min.into(), &limits::SCALE.max.into())
    );
    let names = &schema["properties"]["spec"]["properties"]["processes"]["anyOf"][0]
        ["propertyNames"]["pattern"];
    assert_eq!(names, &Value::from(limits::process_name()));
    assert_eq!(
        schema["required"],
        json!(["apiVersion", "kind", "metadata", "spec"])
    );
    let text = schema.to_string();
    assert!(!text.contains(vocabulary::PREFIX), "{text}");
}

#[test]
fn an_optional_field_takes_null_in_one_form() {
    let schema = json_schema();
    let spec = &schema["properties"]["spec"]["properties"];
    for field in ["procfile", "env", "secrets", "domains", "processes"] {
        let alternatives = spec[field]["anyOf"]
            .as_array()
            .unwrap_or_else(|| panic!("{field}"));
        assert_eq!(alternatives.len(), 2, "{field}");
        assert_eq!(alternatives[1], json!({"type": "null"}), "{field}");
        assert!(spec[field]["description"].is_string(), "{field}");
    }
    assert!(spec["image"].get("anyOf").is_none());
}

/// `schema/ferry-manifest.schema.json` is what `ferry schema` prints.
#[test]
fn the_repositorys_copy_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/ferry-manifest.schema.json"
    );
    let text = std::fs::read_to_string(path).expect("schema/ferry-manifest.schema.json");
    let copy: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert!(
        copy == json_schema(),
        "schema/ferry-manifest.schema.json is stale: run \
         `cargo run -p ferry-cli -- schema > schema/ferry-manifest.schema.json`"
    );
}
