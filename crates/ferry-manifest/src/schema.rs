//! The manifest's JSON Schema, derived from the manifest types with
//! `schemars`: each field's doc comment is its description, and the
//! ranges, patterns and choices are the attributes of [`crate::types`],
//! which read [`crate::limits`] as validation does.
//!
//! [`described`] is the schema the structural pass walks, with the
//! `x-ferry-*` keywords of [`crate::vocabulary`]; [`json_schema`] is the
//! same schema without them, for editors.

use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::types::Manifest;
use crate::vocabulary;

/// The schema of [`Manifest`], with the structural pass's keywords. Every
/// struct's and map's schema is inline (no `$ref`), and an optional field
/// is `{"anyOf": [<its value>, {"type": "null"}]}`.
pub(crate) fn described() -> &'static Value {
    static DESCRIBED: LazyLock<Value> = LazyLock::new(|| {
        let mut settings = SchemaSettings::draft2020_12();
        settings.inline_subschemas = true;
        let mut schema = settings
            .into_generator()
            .into_root_schema_for::<Manifest>()
            .to_value();
        optional_fields_take_null(&mut schema);
        schema
    });
    &DESCRIBED
}

/// The manifest's JSON Schema (draft 2020-12), for editors, derived from
/// the manifest types (see the module doc), so that it and the structural
/// pass cannot drift apart. It describes the shape (keys, types) and every
/// range, pattern and choice of a single value that `ferry validate`
/// enforces, and says in each field's description what is valid; the rules
/// that span fields (a `healthCheck` only with a `port`, valid Fargate
/// pairs) are `ferry validate`'s alone.
///
/// Caveat: a constrained string (`metadata.name`, `image`, a secret's
/// ARN) is `"type": "string"`, although Ferry takes a number or boolean
/// written there as its text: no number's text is a valid name, image or
/// path that anyone would write unquoted, so the schema takes the stricter
/// reading. The structural pass's `x-ferry-*` keywords are removed.
pub fn json_schema() -> Value {
    let mut schema = described().clone();
    remove_keywords(&mut schema, vocabulary::PREFIX);
    schema
}

/// serde reads an optional field's null as absent (an `Option`'s `None`,
/// a defaulted collection's empty value), so the schema of each field not
/// in `required` takes null too, in one form: its value's schema and
/// `{"type": "null"}` as the two alternatives of an `anyOf`, the
/// description outside.
fn optional_fields_take_null(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    let required: Vec<Value> = match map.get("required") {
        Some(Value::Array(required)) => required.clone(),
        _ => Vec::new(),
    };
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if !required.contains(&Value::from(name.as_str())) {
                take_null(property);
            }
        }
    }
    for value in map.values_mut() {
        match value {
            Value::Object(_) => optional_fields_take_null(value),
            Value::Array(items) => items.iter_mut().for_each(optional_fields_take_null),
            _ => {}
        }
    }
}

/// `property` as `{"anyOf": [<without null>, {"type": "null"}], ...}`.
fn take_null(property: &mut Value) {
    let Value::Object(map) = property else {
        return;
    };
    let null = serde_json::json!({"type": "null"});
    if let Some(Value::Array(alternatives)) = map.get("anyOf") {
        if alternatives.contains(&null) {
            return;
        }
    }
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            map.insert("type".to_owned(), only);
        }
    }
    // What describes the field stays outside; what constrains its value
    // goes into the first alternative.
    let mut outer = Map::new();
    for annotation in ["description", "examples", "default"] {
        if let Some(value) = map.remove(annotation) {
            outer.insert(annotation.to_owned(), value);
        }
    }
    let value = std::mem::take(map);
    outer.insert(
        "anyOf".to_owned(),
        Value::Array(vec![Value::Object(value), null]),
    );
    *map = outer;
}

/// `schema` without the keywords that start with `prefix`, at any depth.
fn remove_keywords(schema: &mut Value, prefix: &str) {
    match schema {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with(prefix));
            map.values_mut()
                .for_each(|value| remove_keywords(value, prefix));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|value| remove_keywords(value, prefix)),
        _ => {}
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
