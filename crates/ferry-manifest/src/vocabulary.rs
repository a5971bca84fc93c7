//! What the manifest types' `#[schemars(...)]` attributes say beyond
//! JSON Schema's own keywords, for the structural pass.
//!
//! The manifest types of [`crate::types`] are the one description of a
//! manifest: serde reads them, the JSON Schema is derived from them, and
//! the structural pass ([`crate::structure`]) walks that derived schema.
//! The pass needs a few facts that no standard keyword carries; the
//! functions here write them into the schema as `x-ferry-*` keywords, and
//! [`crate::json_schema`] removes those keywords before editors see it:
//!
//! - [`FIELDS`]: a mapping's field names in declaration order (JSON
//!   objects have none), for "expected one of ..." messages;
//! - [`YAML_STRING`]: the value must be a YAML string: serde takes no
//!   number or boolean for it (an untagged enum's string) where elsewhere
//!   Ferry takes `8080` as the text "8080";
//! - [`UNIT`]: the unit of an integer, for hints when a value is written
//!   in another one ("write 512, not '512Mi'").
//!
//! This module reads only [`crate::limits`] and [`crate::fargate`], so
//! that the types can use it without a cycle.

use schemars::Schema;
use serde::de::{self, DeserializeOwned, Visitor};
use serde_json::{json, Value};

use crate::fargate;
use crate::limits;

/// Keyword: the field names of a mapping, in declaration order.
pub(crate) const FIELDS: &str = "x-ferry-fields";
/// Keyword: `true` if only a YAML string is taken (no number or boolean).
pub(crate) const YAML_STRING: &str = "x-ferry-yamlString";
/// Keyword: the unit of an integer, one of [`CPU_UNITS`] and [`MIB`].
pub(crate) const UNIT: &str = "x-ferry-unit";
/// [`UNIT`] of Fargate CPU units.
pub(crate) const CPU_UNITS: &str = "cpu units";
/// [`UNIT`] of memory in MiB.
pub(crate) const MIB: &str = "MiB";

/// The prefix of every keyword here.
pub(crate) const PREFIX: &str = "x-ferry-";

/// Records the field names of the struct `T` in declaration order, as
/// serde names them (renamed), under [`FIELDS`].
pub(crate) fn field_order<T: DeserializeOwned>(schema: &mut Schema) {
    schema.insert(FIELDS.to_owned(), Value::from(serde_fields::<T>().to_vec()));
}

/// The field names serde reads for the struct `T`, in declaration order:
/// serde hands them to [`de::Deserializer::deserialize_struct`], which a
/// deserializer that reads nothing captures.
fn serde_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Capture(&'static [&'static str]);

    impl<'de> de::Deserializer<'de> for &mut Capture {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct's field names are read"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(de::Error::custom("only a struct's field names are read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }

    let mut capture = Capture(&[]);
    // Always an error: the deserializer reads no data, only the names.
    let _ = T::deserialize(&mut capture);
    capture.0
}

/// Only a YAML string is taken (see [`YAML_STRING`]).
pub(crate) fn yaml_string_only(schema: &mut Schema) {
    schema.insert(YAML_STRING.to_owned(), Value::Bool(true));
}

/// A map's values are taken as written: any scalar but null, a number or
/// boolean as its text (`PORT: 8080` is "8080").
pub(crate) fn values_as_written(schema: &mut Schema) {
    schema.insert(
        "additionalProperties".to_owned(),
        json!({"type": ["string", "number", "boolean"]}),
    );
}

/// An argument of a command given as a list: a YAML string, each one.
pub(crate) fn arguments(schema: &mut Schema) {
    schema.insert(
        "items".to_owned(),
        json!({"type": "string", "title": "a string (one argument)", YAML_STRING: true}),
    );
}

/// `cpu`: one of Fargate's CPU sizes, in CPU units.
pub(crate) fn fargate_cpu(schema: &mut Schema) {
    one_of(schema, fargate::cpu_values(), CPU_UNITS);
}

/// `memory`: a memory size (MiB) some Fargate CPU size allows; which CPU
/// it needs is `ferry validate`'s to check.
pub(crate) fn fargate_memory(schema: &mut Schema) {
    one_of(schema, fargate::memory_values(), MIB);
}

fn one_of(schema: &mut Schema, values: Vec<i64>, unit: &str) {
    // The choices say more than the type's range.
    schema.remove("minimum");
    schema.remove("maximum");
    schema.insert("enum".to_owned(), Value::from(values));
    schema.insert(UNIT.to_owned(), Value::from(unit));
}

/// `healthCheck.matcher`: a pattern of codes, or one code, which YAML
/// reads as a number and Ferry takes as written. JSON Schema applies
/// `pattern` to strings only and the range to numbers only.
pub(crate) fn matcher(schema: &mut Schema) {
    schema.insert("type".to_owned(), json!(["string", "integer"]));
    schema.insert("pattern".to_owned(), limits::HEALTH_CHECK_MATCHER.into());
    schema.insert("minimum".to_owned(), limits::MATCHER_CODE.min.into());
    schema.insert("maximum".to_owned(), limits::MATCHER_CODE.max.into());
}

/// `progressDeadline`: a duration within its bounds.
pub(crate) fn progress_deadline(schema: &mut Schema) {
    duration_within(schema, limits::PROGRESS_DEADLINE);
}

/// `rollout.strategy`: one of [`limits::ROLLOUT_STRATEGIES`].
pub(crate) fn rollout_strategy(schema: &mut Schema) {
    schema.insert("enum".to_owned(), json!(limits::ROLLOUT_STRATEGIES));
    yaml_string_only(schema);
}

/// `rollout.approval`: one of [`limits::APPROVAL_STAGES`].
pub(crate) fn approval_stage(schema: &mut Schema) {
    schema.insert("enum".to_owned(), json!(limits::APPROVAL_STAGES));
    yaml_string_only(schema);
}

/// `rollout.onApprovalTimeout`: one of [`limits::TIMEOUT_ACTIONS`].
pub(crate) fn on_approval_timeout(schema: &mut Schema) {
    schema.insert("enum".to_owned(), json!(limits::TIMEOUT_ACTIONS));
    yaml_string_only(schema);
}

/// `rollout.canaryPercent`: a percentage in tenths within its bounds.
pub(crate) fn canary_percent(schema: &mut Schema) {
    tenths_percent_within(schema, limits::CANARY_TENTHS);
}

/// `rollout.stepPercent`: a percentage in tenths within its bounds.
pub(crate) fn step_percent(schema: &mut Schema) {
    tenths_percent_within(schema, limits::LINEAR_STEP_TENTHS);
}

/// A percentage with at most one decimal, as a number or its text. JSON
/// Schema applies `pattern` to strings only and the range to numbers
/// only; that a number has at most one decimal is `ferry validate`'s alone
/// (`multipleOf: 0.1` is inexact in binary floating point).
fn tenths_percent_within(schema: &mut Schema, tenths: limits::Range) {
    schema.insert("type".to_owned(), json!(["string", "number"]));
    schema.insert("pattern".to_owned(), limits::TENTHS_PERCENT.into());
    schema.insert("minimum".to_owned(), json!(tenths.min as f64 / 10.0));
    schema.insert("maximum".to_owned(), json!(tenths.max as f64 / 10.0));
}

/// `rollout.bake` and `rollout.stepBake`: a duration within its bounds.
pub(crate) fn bake_minutes(schema: &mut Schema) {
    duration_within(schema, limits::BAKE);
}

/// `rollout.approvalTimeout`: a duration within its bounds.
pub(crate) fn approval_timeout(schema: &mut Schema) {
    duration_within(schema, limits::APPROVAL_TIMEOUT);
}

/// `rollout.alarms: default`.
pub(crate) fn default_alarms(schema: &mut Schema) {
    schema.insert("enum".to_owned(), json!(["default"]));
    yaml_string_only(schema);
}

/// `rollout.alarms: [names]`: CloudWatch alarm names, 1-255 characters,
/// each at most once.
pub(crate) fn alarm_names(schema: &mut Schema) {
    schema.insert(
        "items".to_owned(),
        json!({"type": "string", "title": "a CloudWatch alarm name",
               "minLength": 1, "maxLength": limits::MAX_ALARM_NAME_LEN, YAML_STRING: true}),
    );
    schema.insert("uniqueItems".to_owned(), Value::Bool(true));
}

/// A duration (see [`crate::duration`]): whole seconds, as a number or its
/// text, or a string of units. JSON Schema applies `pattern` to strings
/// only and the range to numbers only: a string's bounds are `ferry
/// validate`'s alone.
fn duration_within(schema: &mut Schema, range: limits::Range) {
    schema.insert("type".to_owned(), json!(["string", "integer"]));
    schema.insert("pattern".to_owned(), limits::DURATION.into());
    schema.insert("minimum".to_owned(), range.min.into());
    schema.insert("maximum".to_owned(), range.max.into());
}

/// `env` (the app's or a sidecar's): names of environment variables,
/// values taken as written.
pub(crate) fn environment(schema: &mut Schema) {
    schema.insert(
        "propertyNames".to_owned(),
        json!({"pattern": limits::ENV_NAME}),
    );
    values_as_written(schema);
}

/// `secrets` (the app's or a sidecar's): names of environment variables,
/// each the ARN of an SSM parameter or Secrets Manager secret.
pub(crate) fn secret_references(schema: &mut Schema) {
    schema.insert(
        "propertyNames".to_owned(),
        json!({"pattern": limits::ENV_NAME}),
    );
    schema.insert(
        "additionalProperties".to_owned(),
        json!({"type": "string", "pattern": limits::secret_reference()}),
    );
}

/// `platform` (the app's or a process's): one of [`limits::PLATFORMS`],
/// as a YAML string.
pub(crate) fn platform(schema: &mut Schema) {
    schema.insert("enum".to_owned(), json!(limits::PLATFORMS));
    yaml_string_only(schema);
}
