//! How the structural pass reads a node of the derived schema
//! ([`crate::schema::described`]): what shape a value must have, as serde
//! reads the manifest types.
//!
//! Only the shape is read here (mappings, lists, scalars, the Rust type's
//! integer range). The ranges, patterns and choices of valid values are in
//! the schema too, but validation reports those, with its own messages.

use serde_json::{Map, Value};

use crate::vocabulary;

/// The unit of an integer field, for hints when a value is written in
/// another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    None,
    CpuUnits,
    MiB,
}

/// What a value must look like.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape {
    /// A mapping with the given fields only.
    Struct(Struct),
    /// A mapping from names to values of the schema.
    Map(&'static Value),
    /// A list of values of the schema.
    List(&'static Value),
    /// Any scalar but null, taken as written: `8080` is the string "8080".
    AsWritten,
    /// A YAML string: not null, a boolean or a number (serde takes no
    /// other scalar for it); `expected` says what it is.
    YamlString { expected: &'static str },
    /// An integer in the range of the field's Rust type.
    Int { min: i128, max: i128, unit: Unit },
    /// `true` or `false`.
    Bool,
    /// A value of one of the alternatives (an untagged enum): a mapping, a
    /// list or a scalar, one alternative each; `expected` says what.
    Either {
        alternatives: &'static [Value],
        expected: &'static str,
    },
    /// A schema the pass cannot read: a bug, which a unit test rules out.
    /// Taken as [`Shape::AsWritten`].
    Unknown,
}

/// The schema of a struct: its fields in declaration order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Struct(&'static Map<String, Value>);

/// A field of a [`Struct`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub(super) name: &'static str,
    /// The schema of the field's value (of an optional field: without
    /// the null that stands for "not set").
    pub(super) value: &'static Value,
    /// Required fields must be present and not null; optional ones may
    /// be absent or null (serde reads null as `None` or an empty
    /// collection).
    pub(super) required: bool,
    /// How to write the field, for the "missing" message.
    pub(super) example: Option<&'static Value>,
}

impl Struct {
    /// The names of the fields, in declaration order.
    pub(super) fn names(self) -> impl Iterator<Item = &'static str> {
        let names = match self.0.get(vocabulary::FIELDS) {
            Some(Value::Array(names)) => names.as_slice(),
            _ => &[],
        };
        names.iter().filter_map(Value::as_str)
    }

    /// The fields, in declaration order.
    pub(super) fn fields(self) -> impl Iterator<Item = Field> {
        self.names().filter_map(move |name| self.field(name))
    }

    /// The field called `name`, if the struct has one.
    pub(super) fn field(self, name: &str) -> Option<Field> {
        let (name, schema) = self.0.get("properties")?.as_object()?.get_key_value(name)?;
        let required = self
            .0
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|required| required.iter().any(|r| r == name.as_str()));
        Some(Field {
            name,
            value: without_null(schema),
            required,
            example: schema.get("examples").and_then(|e| e.get(0)),
        })
    }
}

/// The shape `schema` describes.
pub(super) fn shape(schema: &'static Value) -> Shape {
    if let Some(Value::Array(alternatives)) = schema.get("anyOf") {
        let expected = schema
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("a value");
        return Shape::Either {
            alternatives,
            expected,
        };
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(kind)) => vec![kind.as_str()],
        Some(Value::Array(kinds)) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match types.as_slice() {
        ["object"] => match (schema.get("properties"), schema.get("additionalProperties")) {
            (Some(_), _) => schema
                .as_object()
                .map_or(Shape::Unknown, |map| Shape::Struct(Struct(map))),
            (None, Some(values @ Value::Object(_))) => Shape::Map(values),
            _ => Shape::Unknown,
        },
        ["array"] => schema.get("items").map_or(Shape::Unknown, Shape::List),
        ["string"] if schema.get(vocabulary::YAML_STRING) == Some(&Value::Bool(true)) => {
            Shape::YamlString {
                expected: schema
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("a string"),
            }
        }
        ["integer"] => {
            let (min, max) = integer_range(schema.get("format").and_then(Value::as_str));
            let unit = match schema.get(vocabulary::UNIT).and_then(Value::as_str) {
                Some(vocabulary::CPU_UNITS) => Unit::CpuUnits,
                Some(vocabulary::MIB) => Unit::MiB,
                _ => Unit::None,
            };
            Shape::Int { min, max, unit }
        }
        ["boolean"] => Shape::Bool,
        kinds if kinds.contains(&"string") => Shape::AsWritten,
        _ => Shape::Unknown,
    }
}

/// The range of the Rust integer type `schemars` names by `format`.
fn integer_range(format: Option<&str>) -> (i128, i128) {
    match format {
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint64" | "uint") => (0, u64::MAX.into()),
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

/// The schema of an optional field's value: the alternative that is not
/// null (see `schema::optional_fields_take_null`), or `schema` itself.
pub(super) fn without_null(schema: &'static Value) -> &'static Value {
    let null = |alternative: &Value| alternative.get("type") == Some(&Value::from("null"));
    match schema
        .get("anyOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        Some([value, other]) if null(other) => value,
        _ => schema,
    }
}

/// The alternative of an [`Shape::Either`] for a value of the JSON
/// `kind` ("object", "array" or "string").
pub(super) fn alternative(alternatives: &'static [Value], kind: &str) -> Option<&'static Value> {
    alternatives
        .iter()
        .find(|alternative| alternative.get("type").and_then(Value::as_str) == Some(kind))
}

/// A value of `shape` that stands in for a broken one: validation skips it
/// (its path is broken), but the typed manifest still has every required
/// field, and lists keep their indices.
pub(super) fn placeholder(shape: Shape) -> Value {
    match shape {
        Shape::Struct(fields) => Value::Object(
            fields
                .fields()
                .filter(|field| field.required)
                .map(|field| (field.name.to_owned(), placeholder(self::shape(field.value))))
                .collect(),
        ),
        Shape::Map(_) => Value::Object(Map::new()),
        Shape::List(_) => Value::Array(Vec::new()),
        Shape::AsWritten | Shape::YamlString { .. } | Shape::Either { .. } | Shape::Unknown => {
            Value::String(String::new())
        }
        Shape::Int { .. } => Value::from(0),
        Shape::Bool => Value::Bool(false),
    }
}
