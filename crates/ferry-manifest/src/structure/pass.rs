//! The walk of the position tree against the derived schema: every
//! problem reported at its key or value, every well-shaped value kept.

use marked_yaml::Node;
use serde_json::{Map, Value};

use super::broken::Broken;
use super::shape::{self, alternative, placeholder, Shape, Struct, Unit};
use crate::diagnostic::{quote, FieldPath, Pos, Report};
use crate::hints;
use crate::yaml::{marker_pos, node_pos, scalar_kind, ScalarKind};

/// The walk's state: where problems go, and which paths are broken.
pub(super) struct Pass<'a> {
    pub(super) report: &'a mut Report,
    pub(super) broken: Broken,
}

impl Pass<'_> {
    /// Checks `node` against `shape`: the value as JSON if it fits, `None`
    /// (after reporting why) if it does not. `key_pos` is where the key
    /// this value is written under is; problems with a mapping or list as a
    /// whole are reported there.
    pub(super) fn check(
        &mut self,
        node: &Node,
        shape: Shape,
        path: &FieldPath,
        key_pos: Pos,
    ) -> Option<Value> {
        match shape {
            Shape::Struct(fields) => self.check_struct(node, fields, path, key_pos),
            Shape::Map(values) => {
                let Node::Mapping(mapping) = node else {
                    return self.mismatch(node, "a mapping of names to values", path, key_pos);
                };
                let value_shape = shape::shape(values);
                let mut object = Map::new();
                for (key, value) in mapping.iter() {
                    let key_pos = marker_pos(key.span().start());
                    let entry_path = path.key(key.as_str());
                    let entry = self.check(value, value_shape, &entry_path, key_pos);
                    let entry = self.or_placeholder(entry, value_shape, entry_path);
                    object.insert(key.as_str().to_owned(), entry);
                }
                Some(Value::Object(object))
            }
            Shape::List(items) => {
                let Node::Sequence(nodes) = node else {
                    return self.mismatch(node, "a list", path, key_pos);
                };
                let item_shape = shape::shape(items);
                let mut list = Vec::with_capacity(nodes.len());
                for (index, item) in nodes.iter().enumerate() {
                    let item_path = path.index(index);
                    let checked = self.check(item, item_shape, &item_path, node_pos(item));
                    list.push(self.or_placeholder(checked, item_shape, item_path));
                }
                Some(Value::Array(list))
            }
            Shape::AsWritten | Shape::Unknown => self
                .check_scalar(node, path, key_pos, |kind, _| match kind {
                    ScalarKind::Null => Err("expected a value, found nothing (null); write '' \
                                             for an empty string"
                        .to_owned()),
                    _ => Ok(()),
                })
                .map(|(text, _)| Value::String(text.to_owned())),
            Shape::YamlString { expected } => self
                .check_text(node, expected, path, key_pos)
                .map(Value::String),
            Shape::Int { min, max, unit } => {
                let scalar = self.check_scalar(node, path, key_pos, |kind, text| {
                    integer_problem(kind, text, (min, max), unit)
                })?;
                match scalar {
                    // In range, so it fits an i64.
                    (_, ScalarKind::Int(value)) => i64::try_from(value).ok().map(Value::from),
                    _ => None,
                }
            }
            Shape::Bool => {
                let scalar = self.check_scalar(node, path, key_pos, |kind, _| match kind {
                    ScalarKind::Bool => Ok(()),
                    ScalarKind::Str => Err("expected true or false, found a string (write it \
                                            without quotes)"
                        .to_owned()),
                    ScalarKind::Int(_) | ScalarKind::Float => {
                        Err("expected true or false, found a number".to_owned())
                    }
                    ScalarKind::Null => {
                        Err("expected true or false, found nothing (null)".to_owned())
                    }
                })?;
                Some(Value::Bool(scalar.0.starts_with(['t', 'T'])))
            }
            Shape::Either {
                alternatives,
                expected,
            } => self.check_either(node, alternatives, expected, path, key_pos),
        }
    }

    /// A value of an untagged enum: the alternative for the node's kind.
    /// A list is taken whole or not at all: a command is not run with an
    /// argument missing.
    fn check_either(
        &mut self,
        node: &Node,
        alternatives: &'static [Value],
        expected: &str,
        path: &FieldPath,
        key_pos: Pos,
    ) -> Option<Value> {
        let kind = match node {
            Node::Mapping(_) => "object",
            Node::Sequence(_) => "array",
            Node::Scalar(_) => "string",
        };
        let Some(chosen) = alternative(alternatives, kind) else {
            return self.mismatch(node, expected, path, key_pos);
        };
        match (node, shape::shape(chosen)) {
            (Node::Sequence(nodes), Shape::List(items)) => {
                let item_shape = shape::shape(items);
                let mut list = Some(Vec::with_capacity(nodes.len()));
                for (index, item) in nodes.iter().enumerate() {
                    let checked = self.check(item, item_shape, &path.index(index), node_pos(item));
                    list = list.zip(checked).map(|(mut list, checked)| {
                        list.push(checked);
                        list
                    });
                }
                list.map(Value::Array)
            }
            (Node::Scalar(_), Shape::YamlString { .. }) => self
                .check_text(node, expected, path, key_pos)
                .map(Value::String),
            (_, chosen) => self.check(node, chosen, path, key_pos),
        }
    }

    /// A checked value, or for a broken one a placeholder, with its path
    /// recorded as broken.
    fn or_placeholder(&mut self, checked: Option<Value>, shape: Shape, path: FieldPath) -> Value {
        checked.unwrap_or_else(|| {
            self.broken.insert(path);
            placeholder(shape)
        })
    }

    fn check_struct(
        &mut self,
        node: &Node,
        fields: Struct,
        path: &FieldPath,
        key_pos: Pos,
    ) -> Option<Value> {
        let Node::Mapping(mapping) = node else {
            let expected = format!("a mapping with {}", field_list(fields, "and"));
            return self.mismatch(node, &expected, path, key_pos);
        };
        let mut object = Map::new();
        for (key, value) in mapping.iter() {
            let name = key.as_str();
            let field_key_pos = marker_pos(key.span().start());
            let Some(field) = fields.field(name) else {
                self.unknown_field(name, fields, path, field_key_pos);
                continue;
            };
            let field_shape = shape::shape(field.value);
            if !field.required && reads_as_unset(value, field_shape) {
                continue;
            }
            let field_path = path.key(name);
            match self.check(value, field_shape, &field_path, field_key_pos) {
                Some(checked) => {
                    object.insert(name.to_owned(), checked);
                }
                None => {
                    self.broken.insert(field_path);
                    if field.required {
                        object.insert(name.to_owned(), placeholder(field_shape));
                    }
                }
            }
        }
        for field in fields.fields().filter(|field| field.required) {
            if mapping.get_node(field.name).is_none() {
                let here = if path.segments().is_empty() {
                    "the manifest".to_owned()
                } else {
                    format!("`{path}`")
                };
                let example = field
                    .example
                    .map(|example| format!("; add e.g. `{}: {}`", field.name, flow(example)))
                    .unwrap_or_default();
                self.report.error(
                    key_pos,
                    &path.key(field.name),
                    format!("missing required field `{}` in {here}{example}", field.name),
                );
                self.broken.insert(path.key(field.name));
                object.insert(
                    field.name.to_owned(),
                    placeholder(shape::shape(field.value)),
                );
            }
        }
        Some(Value::Object(object))
    }

    fn unknown_field(&mut self, name: &str, fields: Struct, path: &FieldPath, pos: Pos) {
        let known: Vec<&str> = fields.names().collect();
        let expected = match known.as_slice() {
            [only] => format!("`{only}`"),
            _ => format!("one of {}", field_list(fields, "or")),
        };
        let suggestion = closest(name, &known)
            .map(|known| format!(" (did you mean `{known}`?)"))
            .unwrap_or_default();
        self.report.error(
            pos,
            &path.key(name),
            format!(
                "unknown field {}, expected {expected}{suggestion}",
                quote(name)
            ),
        );
    }

    /// Checks a scalar with `accept`, which sees how it resolves and its
    /// text; returns both if accepted.
    fn check_scalar<'n>(
        &mut self,
        node: &'n Node,
        path: &FieldPath,
        key_pos: Pos,
        accept: impl Fn(ScalarKind, &str) -> Result<(), String>,
    ) -> Option<(&'n str, ScalarKind)> {
        let Node::Scalar(scalar) = node else {
            let found = if matches!(node, Node::Mapping(_)) {
                "a mapping"
            } else {
                "a list"
            };
            self.report.error(
                key_pos,
                path,
                format!("expected a single value, found {found}"),
            );
            return None;
        };
        let kind = scalar_kind(scalar);
        match accept(kind, scalar.as_str()) {
            Ok(()) => Some((scalar.as_str(), kind)),
            Err(message) => {
                self.report
                    .error(marker_pos(scalar.span().start()), path, message);
                None
            }
        }
    }

    fn check_text(
        &mut self,
        node: &Node,
        expected: &str,
        path: &FieldPath,
        key_pos: Pos,
    ) -> Option<String> {
        let Node::Scalar(scalar) = node else {
            return self.mismatch(node, expected, path, key_pos);
        };
        let found = match scalar_kind(scalar) {
            ScalarKind::Str => return Some(scalar.as_str().to_owned()),
            ScalarKind::Null => "nothing (null)",
            ScalarKind::Bool => "a boolean (quote it to make it a string)",
            ScalarKind::Int(_) | ScalarKind::Float => "a number (quote it to make it a string)",
        };
        self.report.error(
            marker_pos(scalar.span().start()),
            path,
            format!("expected {expected}, found {found}"),
        );
        None
    }

    /// Reports a value of the wrong kind; always `None`.
    fn mismatch<T>(
        &mut self,
        node: &Node,
        expected: &str,
        path: &FieldPath,
        key_pos: Pos,
    ) -> Option<T> {
        let (found, pos) = match node {
            Node::Mapping(_) => ("a mapping", key_pos),
            Node::Sequence(_) => ("a list", key_pos),
            Node::Scalar(scalar) => {
                let found = match scalar_kind(scalar) {
                    ScalarKind::Null => "nothing (null)",
                    _ => "a single value",
                };
                (found, marker_pos(scalar.span().start()))
            }
        };
        self.report
            .error(pos, path, format!("expected {expected}, found {found}"));
        None
    }
}

/// What is wrong with a scalar where an integer of the `range` (the Rust
/// type's) in `unit` belongs.
fn integer_problem(
    kind: ScalarKind,
    text: &str,
    (min, max): (i128, i128),
    unit: Unit,
) -> Result<(), String> {
    match kind {
        ScalarKind::Int(value) if (min..=max).contains(&value) => Ok(()),
        ScalarKind::Int(value) if value < 0 && min == 0 => {
            Err("expected a non-negative integer, found a negative one".to_owned())
        }
        ScalarKind::Int(_) => Err("the integer is too large for this field".to_owned()),
        ScalarKind::Str => Err(string_for_integer(text, unit)),
        ScalarKind::Float => {
            const FOUND: &str = "expected a whole number, found a decimal number";
            Err(match unit {
                Unit::None => FOUND.to_owned(),
                Unit::CpuUnits => format!("{FOUND}; {}", hints::cpu(text)),
                Unit::MiB => format!("{FOUND}; {}", hints::memory(text)),
            })
        }
        ScalarKind::Bool => Err("expected an integer, found a boolean".to_owned()),
        ScalarKind::Null => Err("expected an integer, found nothing (null)".to_owned()),
    }
}

/// The message for a string where an integer belongs: a quoted number is
/// only quoted; a size in another unit gets a hint in Ferry's.
fn string_for_integer(text: &str, unit: Unit) -> String {
    const FOUND: &str = "expected an integer, found a string";
    if crate::yaml::parse_int(text.trim()).is_some() {
        return format!("{FOUND} (write numbers without quotes)");
    }
    match unit {
        Unit::None => FOUND.to_owned(),
        Unit::CpuUnits => format!("{FOUND}; {}", hints::cpu(text)),
        Unit::MiB => format!("{FOUND}; {}", hints::memory(text)),
    }
}

/// Whether serde reads `value` as "not set" for an optional field of this
/// shape. An `Option` takes any null as `None`. A defaulted collection
/// takes only an empty value (`env:` with nothing after it) as empty;
/// serde_yaml rejects an explicit `~` or `null` there, and so does this
/// pass, with a better message.
fn reads_as_unset(value: &Node, shape: Shape) -> bool {
    let Node::Scalar(scalar) = value else {
        return false;
    };
    match shape {
        Shape::Map(_) | Shape::List(_) => scalar.may_coerce() && scalar.as_str().is_empty(),
        _ => scalar_kind(scalar) == ScalarKind::Null,
    }
}

/// "`a`, `b` and `c`"
fn field_list(fields: Struct, conjunction: &str) -> String {
    let names: Vec<String> = fields.names().map(|name| format!("`{name}`")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {conjunction} {last}", rest.join(", "))
        }
        _ => names.join(""),
    }
}

/// An example value in YAML's flow style, as a manifest would write it:
/// `my-app`, `1`, `{name: my-app}`.
fn flow(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        other => other.to_string(),
    }
}

/// The known field an unknown one was probably meant to be: same letters
/// in another case, or at most two edits away (the closest, the first
/// declared of equally close ones).
pub(crate) fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let lower = name.to_ascii_lowercase();
    known
        .iter()
        .map(|field| {
            (
                strsim::levenshtein(&lower, &field.to_ascii_lowercase()),
                *field,
            )
        })
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}
