//! The structural pass: checks the shape of a manifest (known keys, required
//! keys, mappings, lists, strings, integers) on the position tree, and
//! builds the typed manifest from the parts that have the right shape.
//!
//! serde stops at the first problem; this pass reports all of them, each at
//! its key or value. It mirrors the serde attributes of [`crate::types`]
//! (`deny_unknown_fields`, which fields are optional, the untagged enums).
//! A value of the wrong shape is reported and then left out (an optional
//! field) or replaced by a placeholder (a required field, a map entry, a
//! list item, so that indices and keys keep their meaning), and its path is
//! recorded in [`Broken`], so that validation checks every other value and
//! skips only what depends on a broken one.

use std::collections::BTreeSet;

use marked_yaml::Node;
use serde_json::{Map, Value};

use crate::diagnostic::{quote, FieldPath, Pos, Report};
use crate::hints;
use crate::limits::{self, Range};
use crate::types::{API_VERSION, KIND};
use crate::yaml::{marker_pos, node_pos, scalar_kind, ScalarKind};

/// The paths of values the structural pass reported and did not keep as
/// written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Broken(BTreeSet<FieldPath>);

impl Broken {
    /// Whether the value at `path`, or any part of it, is broken.
    pub(crate) fn within(&self, path: &FieldPath) -> bool {
        // Paths inside `path` sort right after it.
        self.0
            .range(path.clone()..)
            .next()
            .is_some_and(|broken| broken.starts_with(path))
    }

    /// Whether the value at `path` itself is broken (not merely a part
    /// of it), or one of its parents is.
    pub(crate) fn at(&self, path: &FieldPath) -> bool {
        let mut prefix = FieldPath::root();
        if self.0.contains(&prefix) {
            return true;
        }
        for segment in path.segments() {
            prefix.push(segment.clone());
            if self.0.contains(&prefix) {
                return true;
            }
        }
        false
    }

    pub(crate) fn insert(&mut self, path: FieldPath) {
        self.0.insert(path);
    }
}

/// What the structural pass makes of a document.
#[derive(Debug)]
pub(crate) struct Structure {
    /// The manifest as JSON, in the shape of [`crate::types::Manifest`]:
    /// every well-shaped value as written, placeholders for broken
    /// required values, map entries and list items.
    pub(crate) value: Value,
    pub(crate) broken: Broken,
}

/// The unit of an integer field, for hints when a value is written in
/// another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    None,
    CpuUnits,
    MiB,
}

/// What a value must look like.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A mapping with the given fields only.
    Struct(&'static [Field]),
    /// A mapping from names to values of one shape.
    Map(&'static Shape),
    /// A list of values of one shape.
    List(&'static Shape),
    /// Any scalar but null, taken as written: `8080` is the string "8080".
    Str,
    /// A YAML string: not null, a boolean or a number. Where the types use
    /// an untagged enum, serde does not turn `123` into a string.
    Text,
    /// An integer in the given range (that of the field's Rust type).
    Int { min: i128, max: i128, unit: Unit },
    /// `true` or `false`.
    Bool,
    /// A command: a string, or a list of strings.
    Command,
    /// A domain: a name, or a mapping with `name` and `process`.
    Domain,
}

/// A regular expression of [`crate::limits`]: written out, or made from
/// the limits it encodes.
#[derive(Debug, Clone, Copy)]
enum Pattern {
    Fixed(&'static str),
    Made(fn() -> String),
}

impl Pattern {
    fn text(self) -> String {
        match self {
            Self::Fixed(pattern) => pattern.to_owned(),
            Self::Made(make) => make(),
        }
    }
}

/// What a field's value must be beyond its shape: the ranges, patterns
/// and choices validation enforces (from [`crate::limits`], which
/// validation reads too), carried into the JSON Schema. The structural
/// pass does not read them: validation reports them with its own
/// messages.
#[derive(Debug, Clone, Copy)]
enum Valid {
    /// Anything of the shape.
    Any,
    /// An integer in the range.
    Range(Range),
    /// One of these integers.
    OneOf(fn() -> Vec<i64>),
    /// A string matching the pattern, of at most `max_len` characters.
    /// The schema takes only a YAML string here, although Ferry takes a
    /// number or boolean as written: no number's text is a valid name,
    /// image or path that anyone would write unquoted (the stricter
    /// reading).
    Text {
        pattern: Pattern,
        max_len: Option<usize>,
    },
    /// Exactly this string.
    Const(&'static str),
    /// One of these strings.
    Names(&'static [&'static str]),
    /// A string matching the pattern, or an integer in the range: YAML
    /// reads `matcher: 200` as a number, and Ferry takes it as written.
    TextOrInt { pattern: Pattern, range: Range },
}

const fn text(pattern: Pattern) -> Valid {
    Valid::Text {
        pattern,
        max_len: None,
    }
}

#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    shape: Shape,
    /// Required fields must be present and not null; optional ones may be
    /// absent or null (serde reads null as `None` or an empty collection).
    required: bool,
    /// For a required field: how to write it, for the "missing" message.
    example: &'static str,
    /// What the field means and what is valid, for editors (the JSON
    /// Schema's `description`, see [`crate::json_schema`]).
    about: &'static str,
    /// What the value (of a map or list: each value) must be, for the
    /// JSON Schema.
    valid: Valid,
    /// For a map: the pattern of its keys, for the JSON Schema.
    keys: Option<Pattern>,
}

impl Field {
    const fn required(name: &'static str, shape: Shape, example: &'static str) -> Self {
        Self {
            name,
            shape,
            required: true,
            example,
            about: "",
            valid: Valid::Any,
            keys: None,
        }
    }

    const fn optional(name: &'static str, shape: Shape) -> Self {
        Self {
            name,
            shape,
            required: false,
            example: "",
            about: "",
            valid: Valid::Any,
            keys: None,
        }
    }

    const fn about(self, about: &'static str) -> Self {
        Self { about, ..self }
    }

    const fn valid(self, valid: Valid) -> Self {
        Self { valid, ..self }
    }

    const fn range(self, range: Range) -> Self {
        self.valid(Valid::Range(range))
    }

    const fn keys(self, keys: Pattern) -> Self {
        Self {
            keys: Some(keys),
            ..self
        }
    }
}

const fn u32_in(unit: Unit) -> Shape {
    Shape::Int {
        min: 0,
        max: u32::MAX as i128,
        unit,
    }
}

const U32: Shape = u32_in(Unit::None);
const I64: Shape = Shape::Int {
    min: i64::MIN as i128,
    max: i64::MAX as i128,
    unit: Unit::None,
};

const MANIFEST: &[Field] = &[
    Field::required("apiVersion", Shape::Str, "apiVersion: ferry/v1")
        .about("Always ferry/v1.")
        .valid(Valid::Const(API_VERSION)),
    Field::required("kind", Shape::Str, "kind: App")
        .about("Always App.")
        .valid(Valid::Const(KIND)),
    Field::required(
        "metadata",
        Shape::Struct(METADATA),
        "metadata: {name: my-app}",
    )
    .about("The app's name."),
    Field::required(
        "spec",
        Shape::Struct(SPEC),
        "spec: {image: remind101/acme-inc:latest}",
    )
    .about("What the app runs: image, processes, environment, domains."),
];

const METADATA: &[Field] = &[Field::required("name", Shape::Str, "name: my-app")
    .about("App name: a lowercase DNS label starting with a letter, 1-40 characters.")
    .valid(text(Pattern::Made(limits::app_name)))];

const SPEC: &[Field] = &[
    Field::required("image", Shape::Str, "image: remind101/acme-inc:latest")
        .about("Docker/OCI image reference: [registry[:port]/]path[:tag][@digest].")
        .valid(text(Pattern::Made(limits::image))),
    Field::optional("procfile", Shape::Str).about(
        "A Procfile (name: command lines), relative to this file; its processes merge with \
         `processes`, the manifest winning per field.",
    )
    .valid(text(Pattern::Fixed(limits::NOT_BLANK))),
    Field::optional("env", Shape::Map(&Shape::Str))
        .about("Environment variables; names match [A-Za-z_][A-Za-z0-9_]*.")
        .keys(Pattern::Fixed(limits::ENV_NAME)),
    Field::optional("secrets", Shape::Map(&Shape::Str)).about(
        "Name -> ARN of an SSM parameter or Secrets Manager secret, passed to ECS as valueFrom; \
         never stored as values.",
    )
    .keys(Pattern::Fixed(limits::ENV_NAME))
    .valid(text(Pattern::Made(limits::secret_reference))),
    Field::optional("domains", Shape::List(&Shape::Domain)).about(
        "Public names served by the internet-facing load balancer: a name (routed to `web`) or \
         {name, process}. One app per domain.",
    ),
    Field::optional("processes", Shape::Map(&Shape::Struct(PROCESS)))
        .about("Processes by name (a DNS label, 1-24 characters): one ECS service each.")
        .keys(Pattern::Made(limits::process_name)),
];

/// A domain name, written alone or as a routed domain's `name`.
const DOMAIN: Valid = Valid::Text {
    pattern: Pattern::Made(limits::domain),
    max_len: Some(limits::MAX_DOMAIN_LEN),
};

const ROUTED_DOMAIN: &[Field] = &[
    Field::required("name", Shape::Text, "name: app.example.com")
        .about("The public name.")
        .valid(DOMAIN),
    Field::required("process", Shape::Text, "process: web")
        .about("The process (with a `port`) it routes to.")
        .valid(text(Pattern::Made(limits::process_name))),
];

const PROCESS: &[Field] = &[
    Field::optional("command", Shape::Command).about(
        "Overrides the Procfile entry: a string (split like a shell, no expansion) or a list; \
         absent or [] runs the image's default command.",
    )
    .valid(text(Pattern::Fixed(limits::NOT_BLANK))),
    Field::optional("scale", I64)
        .about("Desired task count: 0-1000, default 1.")
        .range(limits::SCALE),
    Field::optional("cpu", u32_in(Unit::CpuUnits))
        .about("Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384; default 256.")
        .valid(Valid::OneOf(crate::fargate::cpu_values)),
    Field::optional("memory", u32_in(Unit::MiB)).about(
        "Fargate memory in MiB, valid for the CPU; default the smallest valid for the CPU.",
    )
    .valid(Valid::OneOf(crate::fargate::memory_values)),
    Field::optional("port", I64)
        .about("Container port, 1-65535: the process is served by the load balancers.")
        .range(limits::PORT),
    Field::optional("healthCheck", Shape::Struct(HEALTH_CHECK))
        .about("The load balancer's health check; only with `port`."),
    Field::optional("drainTimeout", I64).about(
        "Seconds a leaving task may finish in-flight requests (deregistration delay): 0-3600, \
         default 30; only with `port`.",
    )
    .range(limits::DRAIN_TIMEOUT),
    Field::optional("healthCheckGracePeriod", I64).about(
        "Seconds ECS ignores failing load-balancer health checks after a task starts: 0-1800, \
         default 60; only with `port`.",
    )
    .range(limits::HEALTH_CHECK_GRACE_PERIOD),
    Field::optional("minHealthyPercent", I64)
        .about("Deployment minimum healthy percent: 0-100, default 100.")
        .range(limits::MIN_HEALTHY_PERCENT),
    Field::optional("maxPercent", I64)
        .about("Deployment maximum percent: 100-200, default 200; not both 100.")
        .range(limits::MAX_PERCENT),
    Field::optional("stopTimeout", I64)
        .about("Seconds between SIGTERM and SIGKILL when a task stops: 2-120; ECS's default 30.")
        .range(limits::STOP_TIMEOUT),
    Field::optional("rollback", Shape::Bool).about(
        "Roll back a deployment the circuit breaker stops (the breaker is always on); default true.",
    ),
    Field::optional("schedule", Shape::Text).about(
        "Run the process on a schedule instead of as a service: EventBridge Scheduler syntax, \
         cron(minutes hours day-of-month month day-of-week year), rate(N unit) or at(yyyy-mm-ddThh:mm:ss); \
         no scale, port or service settings with it.",
    )
    .valid(text(Pattern::Fixed(limits::SCHEDULE))),
    Field::optional("timezone", Shape::Text)
        .about("IANA time zone the schedule's cron or at expression is read in; default UTC; only with `schedule`.")
        .valid(Valid::Names(crate::timezones::IANA)),
    Field::optional("autoscaling", Shape::Struct(AUTOSCALING)).about(
        "Target-tracking autoscaling: Application Auto Scaling owns the desired count between \
         `min` and `max`, and `scale` is only the count a new service starts with.",
    ),
];

const AUTOSCALING: &[Field] = &[
    Field::required("min", I64, "min: 1")
        .about("Fewest tasks: 0-1000, at most `max`.")
        .range(limits::AUTOSCALING_TASKS),
    Field::required("max", I64, "max: 10")
        .about("Most tasks: 0-1000, at least `min`.")
        .range(limits::AUTOSCALING_TASKS),
    Field::optional("cpu", I64)
        .about("Target average CPU utilization of the service, percent: 1-100.")
        .range(limits::UTILIZATION_PERCENT),
    Field::optional("memory", I64)
        .about("Target average memory utilization of the service, percent: 1-100.")
        .range(limits::UTILIZATION_PERCENT),
    Field::optional("requestsPerTarget", I64).about(
        "Target load-balancer requests per task per minute (ALBRequestCountPerTarget); only with \
         `port`. At least one of `cpu`, `memory` and `requestsPerTarget` is required.",
    )
    .range(limits::REQUESTS_PER_TARGET),
];

const HEALTH_CHECK: &[Field] = &[
    Field::optional("path", Shape::Str)
        .about("Path checked, default /.")
        .valid(Valid::Text {
            pattern: Pattern::Fixed(limits::HEALTH_CHECK_PATH),
            max_len: Some(limits::MAX_HEALTH_CHECK_PATH_LEN),
        }),
    Field::optional("interval", U32)
        .about("Seconds between checks, default 10.")
        .range(limits::HEALTH_CHECK_INTERVAL),
    Field::optional("timeout", U32)
        .about("Seconds a check may take, default 5.")
        .range(limits::HEALTH_CHECK_TIMEOUT),
    Field::optional("healthyThreshold", U32)
        .about("Consecutive passes before a task is healthy, default 2.")
        .range(limits::HEALTH_CHECK_THRESHOLD),
    Field::optional("unhealthyThreshold", U32)
        .about("Consecutive failures before a task is unhealthy, default 3.")
        .range(limits::HEALTH_CHECK_THRESHOLD),
    Field::optional("matcher", Shape::Str)
        .about("HTTP codes that pass, default 200-399.")
        .valid(Valid::TextOrInt {
            pattern: Pattern::Fixed(limits::HEALTH_CHECK_MATCHER),
            range: limits::MATCHER_CODE,
        }),
];

/// Checks the whole document against the manifest's shape, reporting every
/// problem into `report`, and builds what has the right shape.
pub(crate) fn check_structure(root: &Node, report: &mut Report) -> Structure {
    let mut pass = Pass {
        report,
        broken: Broken::default(),
    };
    let shape = Shape::Struct(MANIFEST);
    let value = pass
        .check(root, &shape, &FieldPath::root(), node_pos(root))
        .unwrap_or_else(|| {
            pass.broken.insert(FieldPath::root());
            placeholder(&shape)
        });
    Structure {
        value,
        broken: pass.broken,
    }
}

/// A value of `shape` that stands in for a broken one: validation skips it
/// (its path is broken), but the typed manifest still has every required
/// field, and lists keep their indices.
fn placeholder(shape: &Shape) -> Value {
    match *shape {
        Shape::Struct(fields) => Value::Object(
            fields
                .iter()
                .filter(|field| field.required)
                .map(|field| (field.name.to_owned(), placeholder(&field.shape)))
                .collect(),
        ),
        Shape::Map(_) => Value::Object(Map::new()),
        Shape::List(_) => Value::Array(Vec::new()),
        Shape::Str | Shape::Text | Shape::Command | Shape::Domain => Value::String(String::new()),
        Shape::Int { .. } => Value::from(0),
        Shape::Bool => Value::Bool(false),
    }
}

struct Pass<'a> {
    report: &'a mut Report,
    broken: Broken,
}

impl Pass<'_> {
    /// Checks `node` against `shape`: the value as JSON if it fits, `None`
    /// (after reporting why) if it does not. `key_pos` is where the key
    /// this value is written under is; problems with a mapping or list as a
    /// whole are reported there.
    fn check(
        &mut self,
        node: &Node,
        shape: &Shape,
        path: &FieldPath,
        key_pos: Pos,
    ) -> Option<Value> {
        match *shape {
            Shape::Struct(fields) => self.check_struct(node, fields, path, key_pos),
            Shape::Map(value_shape) => {
                let Node::Mapping(mapping) = node else {
                    return self.mismatch(node, "a mapping of names to values", path, key_pos);
                };
                let mut object = Map::new();
                for (key, value) in mapping.iter() {
                    let key_pos = marker_pos(key.span().start());
                    let entry_path = path.key(key.as_str());
                    let entry = self.check(value, value_shape, &entry_path, key_pos);
                    object.insert(key.as_str().to_owned(), self.or_placeholder(entry, value_shape, entry_path));
                }
                Some(Value::Object(object))
            }
            Shape::List(item_shape) => {
                let Node::Sequence(items) = node else {
                    return self.mismatch(node, "a list", path, key_pos);
                };
                let mut list = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let item_path = path.index(index);
                    let checked = self.check(item, item_shape, &item_path, node_pos(item));
                    list.push(self.or_placeholder(checked, item_shape, item_path));
                }
                Some(Value::Array(list))
            }
            Shape::Str => self.check_scalar(node, path, key_pos, |kind, _| match kind {
                ScalarKind::Null => Err("expected a value, found nothing (null); write '' for an empty string".to_owned()),
                _ => Ok(()),
            }).map(|(text, _)| Value::String(text.to_owned())),
            Shape::Text => self.check_text(node, "a string", path, key_pos).map(Value::String),
            Shape::Int { min, max, unit } => {
                let scalar = self.check_scalar(node, path, key_pos, |kind, text| match kind {
                    ScalarKind::Int(value) if (min..=max).contains(&value) => Ok(()),
                    ScalarKind::Int(value) if value < 0 && min == 0 => {
                        Err("expected a non-negative integer, found a negative one".to_owned())
                    }
                    ScalarKind::Int(_) => Err("the integer is too large for this field".to_owned()),
                    ScalarKind::Str => Err(string_for_integer(text, unit)),
                    ScalarKind::Float => Err(match unit {
                        Unit::None => "expected a whole number, found a decimal number".to_owned(),
                        Unit::CpuUnits => format!("expected a whole number, found a decimal number; {}", hints::cpu(text)),
                        Unit::MiB => format!("expected a whole number, found a decimal number; {}", hints::memory(text)),
                    }),
                    ScalarKind::Bool => Err("expected an integer, found a boolean".to_owned()),
                    ScalarKind::Null => Err("expected an integer, found nothing (null)".to_owned()),
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
                    ScalarKind::Str => Err("expected true or false, found a string (write it without quotes)".to_owned()),
                    ScalarKind::Int(_) | ScalarKind::Float => Err("expected true or false, found a number".to_owned()),
                    ScalarKind::Null => Err("expected true or false, found nothing (null)".to_owned()),
                })?;
                Some(Value::Bool(scalar.0.starts_with(['t', 'T'])))
            }
            Shape::Command => match node {
                Node::Sequence(items) => {
                    // One bad argument breaks the whole command: it is not
                    // run with an argument missing.
                    let mut argv = Some(Vec::with_capacity(items.len()));
                    for (index, item) in items.iter().enumerate() {
                        let word = self.check_text(item, "a string (one argument)", &path.index(index), node_pos(item));
                        argv = argv.zip(word).map(|(mut argv, word)| {
                            argv.push(Value::String(word));
                            argv
                        });
                    }
                    argv.map(Value::Array)
                }
                _ => self.check_text(
                    node,
                    "a command: a string such as `bin/server --port 8080`, or a list of arguments",
                    path,
                    key_pos,
                ).map(Value::String),
            },
            Shape::Domain => match node {
                Node::Mapping(_) => self.check_struct(node, ROUTED_DOMAIN, path, key_pos),
                _ => self.check_text(
                    node,
                    "a domain: a name such as `app.example.com`, or `{name: app.example.com, process: web}`",
                    path,
                    key_pos,
                ).map(Value::String),
            },
        }
    }

    /// A checked value, or for a broken one a placeholder, with its path
    /// recorded as broken.
    fn or_placeholder(&mut self, checked: Option<Value>, shape: &Shape, path: FieldPath) -> Value {
        checked.unwrap_or_else(|| {
            self.broken.insert(path);
            placeholder(shape)
        })
    }

    fn check_struct(
        &mut self,
        node: &Node,
        fields: &'static [Field],
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
            match fields.iter().find(|field| field.name == name) {
                Some(field) => {
                    if !field.required && reads_as_unset(value, &field.shape) {
                        continue;
                    }
                    let field_path = path.key(name);
                    match self.check(value, &field.shape, &field_path, field_key_pos) {
                        Some(checked) => {
                            object.insert(name.to_owned(), checked);
                        }
                        None => {
                            self.broken.insert(field_path);
                            if field.required {
                                object.insert(name.to_owned(), placeholder(&field.shape));
                            }
                        }
                    }
                }
                None => {
                    let expected = if fields.len() == 1 {
                        format!("`{}`", fields[0].name)
                    } else {
                        format!("one of {}", field_list(fields, "or"))
                    };
                    let suggestion = closest(name, fields)
                        .map(|known| format!(" (did you mean `{known}`?)"))
                        .unwrap_or_default();
                    self.report.error(
                        field_key_pos,
                        &path.key(name),
                        format!(
                            "unknown field {}, expected {expected}{suggestion}",
                            quote(name)
                        ),
                    );
                }
            }
        }
        for field in fields.iter().filter(|field| field.required) {
            if mapping.get_node(field.name).is_none() {
                let here = if path.segments().is_empty() {
                    "the manifest".to_owned()
                } else {
                    format!("`{path}`")
                };
                self.report.error(
                    key_pos,
                    &path.key(field.name),
                    format!(
                        "missing required field `{}` in {here}; add e.g. `{}`",
                        field.name, field.example
                    ),
                );
                self.broken.insert(path.key(field.name));
                object.insert(field.name.to_owned(), placeholder(&field.shape));
            }
        }
        Some(Value::Object(object))
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
fn reads_as_unset(value: &Node, shape: &Shape) -> bool {
    let Node::Scalar(scalar) = value else {
        return false;
    };
    match shape {
        Shape::Map(_) | Shape::List(_) => scalar.may_coerce() && scalar.as_str().is_empty(),
        _ => scalar_kind(scalar) == ScalarKind::Null,
    }
}

/// "`a`, `b` and `c`"
fn field_list(fields: &[Field], conjunction: &str) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => {
            format!("{} {conjunction} {last}", rest.join(", "))
        }
        _ => names.join(""),
    }
}

/// The known field an unknown one was probably meant to be: same letters
/// in another case, or at most two edits away.
fn closest(name: &str, fields: &[Field]) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    fields
        .iter()
        .map(|field| {
            (
                edit_distance(&lower, &field.name.to_ascii_lowercase()),
                field.name,
            )
        })
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The manifest's JSON Schema (draft 2020-12), for editors: made from the
/// same tables the structural pass checks, so the two cannot drift apart.
/// It describes the shape (keys, types, integer ranges of the Rust types)
/// and says in each field's description what is valid; the rules that
/// span fields (a `healthCheck` only with a `port`, valid Fargate pairs)
/// are `ferry validate`'s alone.
pub fn json_schema() -> Value {
    let mut schema = shape_schema(&Shape::Struct(MANIFEST), Valid::Any, None);
    if let Value::Object(map) = &mut schema {
        let mut head = Map::new();
        head.insert(
            "$schema".into(),
            "https://json-schema.org/draft/2020-12/schema".into(),
        );
        head.insert("title".into(), "Ferry app manifest (ferry/v1)".into());
        head.extend(std::mem::take(map));
        *map = head;
    }
    schema
}

/// The schema of a value of `shape`; `valid` constrains it (for a map or
/// a list: each value) and `keys` a map's keys.
fn shape_schema(shape: &Shape, valid: Valid, keys: Option<Pattern>) -> Value {
    use serde_json::json;
    match *shape {
        Shape::Struct(fields) => {
            let properties: Map<String, Value> = fields
                .iter()
                .map(|field| (field.name.to_owned(), field_schema(field)))
                .collect();
            let required: Vec<&str> = fields
                .iter()
                .filter(|field| field.required)
                .map(|field| field.name)
                .collect();
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            })
        }
        Shape::Map(values) => {
            let mut map = json!({"type": "object", "additionalProperties": shape_schema(values, valid, None)});
            if let Some(keys) = keys {
                map["propertyNames"] = json!({"pattern": keys.text()});
            }
            map
        }
        Shape::List(items) => json!({"type": "array", "items": shape_schema(items, valid, None)}),
        // Any scalar but null, taken as written.
        Shape::Str => match valid {
            Valid::Any => json!({"type": ["string", "number", "boolean"]}),
            Valid::TextOrInt { pattern, range } => json!({"anyOf": [
                {"type": "string", "pattern": pattern.text()},
                {"type": "integer", "minimum": range.min, "maximum": range.max},
            ]}),
            valid => constrained(json!({"type": "string"}), valid),
        },
        Shape::Text => constrained(json!({"type": "string"}), valid),
        Shape::Int { min, max, .. } => {
            let mut int = json!({"type": "integer"});
            // Only ranges narrower than i64's say anything to a reader.
            if min > i128::from(i64::MIN) {
                int["minimum"] = Value::from(i64::try_from(min).unwrap_or(i64::MIN));
            }
            if max < i128::from(i64::MAX) {
                int["maximum"] = Value::from(i64::try_from(max).unwrap_or(i64::MAX));
            }
            // The valid range lies within the type's.
            constrained(int, valid)
        }
        Shape::Bool => json!({"type": "boolean"}),
        Shape::Command => json!({"anyOf": [
            constrained(json!({"type": "string"}), valid),
            {"type": "array", "items": {"type": "string"}},
        ]}),
        Shape::Domain => json!({"anyOf": [
            constrained(json!({"type": "string"}), DOMAIN),
            shape_schema(&Shape::Struct(ROUTED_DOMAIN), Valid::Any, None),
        ]}),
    }
}

/// `schema` with the keywords that say `valid`.
fn constrained(mut schema: Value, valid: Valid) -> Value {
    match valid {
        Valid::Any => {}
        Valid::Range(range) => {
            schema["minimum"] = Value::from(range.min);
            schema["maximum"] = Value::from(range.max);
        }
        Valid::OneOf(values) => {
            if let Value::Object(map) = &mut schema {
                map.remove("minimum");
                map.remove("maximum");
            }
            schema["enum"] = Value::from(values());
        }
        Valid::Text { pattern, max_len } => {
            schema["pattern"] = Value::from(pattern.text());
            if let Some(max_len) = max_len {
                schema["maxLength"] = Value::from(max_len);
            }
        }
        Valid::Const(value) => schema["const"] = Value::from(value),
        Valid::Names(names) => schema["enum"] = Value::from(names.to_vec()),
        Valid::TextOrInt { pattern, .. } => schema["pattern"] = Value::from(pattern.text()),
    }
    schema
}

fn field_schema(field: &Field) -> Value {
    let shape = shape_schema(&field.shape, field.valid, field.keys);
    // serde reads an optional field's null as absent.
    let mut schema = if field.required {
        shape
    } else {
        serde_json::json!({"anyOf": [shape, {"type": "null"}]})
    };
    if !field.about.is_empty() {
        schema["description"] = Value::from(field.about);
    }
    schema
}

/// Every field of every table, with its path, for the test that each is
/// described.
#[cfg(test)]
fn all_fields() -> Vec<(String, &'static Field)> {
    fn walk(prefix: &str, fields: &'static [Field], out: &mut Vec<(String, &'static Field)>) {
        for field in fields {
            let path = format!("{prefix}{}", field.name);
            out.push((path.clone(), field));
            let mut shape = &field.shape;
            while let Shape::Map(inner) | Shape::List(inner) = shape {
                shape = inner;
            }
            match shape {
                Shape::Struct(inner) => walk(&format!("{path}."), inner, out),
                Shape::Domain => walk(&format!("{path}."), ROUTED_DOMAIN, out),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk("", MANIFEST, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::diagnostic::Diagnostic;
    use crate::yaml::Document;

    fn structure_errors(text: &str) -> Vec<Diagnostic> {
        let document = Document::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        let mut report = Report::new(Path::new("app.yaml"));
        let _ = check_structure(document.root(), &mut report);
        report.into_sorted()
    }

    const VALID: &str = "\
apiVersion: ferry/v1
kind: App
metadata:
  name: acme
spec:
  image: remind101/acme-inc:latest
  procfile: Procfile
  env: {PORT: 8080, DEBUG: true, EMPTY: ''}
  secrets: {DB: 'arn:aws:ssm:us-east-1:123456789012:parameter/db'}
  domains: [acme.example.com, {name: api.example.com, process: api}]
  processes:
    web:
      command: acme server
      scale: 2
      cpu: 256
      memory: 512
      port: 8080
      healthCheck: {path: /health, interval: 10, matcher: 200}
      drainTimeout: 30
      healthCheckGracePeriod: 120
    api: {command: [acme, api]}
    worker:
      command:
      healthCheck:
";

    #[test]
    fn a_valid_manifest_has_no_structural_errors() {
        assert_eq!(structure_errors(VALID), vec![]);
    }

    #[test]
    fn every_unknown_field_is_reported_with_the_valid_names() {
        let text = "\
apiVersion: ferry/v1
kind: App
metdata: {name: acme}
spec:
  image: x
  replicas: 3
  processes:
    web:
      replicas: 2
      healthCheck: {path: /, intervl: 5}
";
        let errors = structure_errors(text);
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            vec![
                "app.yaml:1:1: metadata: missing required field `metadata` in the manifest; \
                 add e.g. `metadata: {name: my-app}`",
                "app.yaml:3:1: metdata: unknown field `metdata`, expected one of `apiVersion`, \
                 `kind`, `metadata` or `spec` (did you mean `metadata`?)",
                "app.yaml:6:3: spec.replicas: unknown field `replicas`, expected one of `image`, \
                 `procfile`, `env`, `secrets`, `domains` or `processes`",
                "app.yaml:9:7: spec.processes.web.replicas: unknown field `replicas`, expected one \
                 of `command`, `scale`, `cpu`, `memory`, `port`, `healthCheck`, `drainTimeout`, \
                 `healthCheckGracePeriod`, `minHealthyPercent`, `maxPercent`, `stopTimeout`, `rollback`, \
                 `schedule`, `timezone` or `autoscaling`",
                "app.yaml:10:30: spec.processes.web.healthCheck.intervl: unknown field `intervl`, \
                 expected one of `path`, `interval`, `timeout`, `healthyThreshold`, \
                 `unhealthyThreshold` or `matcher` (did you mean `interval`?)",
            ]
        );
    }

    #[test]
    fn wrong_types_are_reported_at_the_value() {
        let text = "\
apiVersion: ferry/v1
kind: App
metadata: {name: acme}
spec:
  image: [x]
  env: [A]
  domains: {a: b}
  processes:
    web:
      command: 42
      scale: '2'
      cpu: 1.5
      memory: -1
      port: true
    worker: ~
";
        let errors = structure_errors(text);
        let found: Vec<(usize, usize, &str)> = errors
            .iter()
            .map(|d| (d.line, d.column, d.path.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (5, 3, "spec.image"),
                (6, 3, "spec.env"),
                (7, 3, "spec.domains"),
                (10, 16, "spec.processes.web.command"),
                (11, 14, "spec.processes.web.scale"),
                (12, 12, "spec.processes.web.cpu"),
                (13, 15, "spec.processes.web.memory"),
                (14, 13, "spec.processes.web.port"),
                (15, 13, "spec.processes.worker"),
            ]
        );
        assert!(
            errors[3].message.contains("found a number (quote it"),
            "{}",
            errors[3]
        );
        assert!(
            errors[4].message.contains("without quotes"),
            "{}",
            errors[4]
        );
    }

    #[test]
    fn missing_required_fields_are_reported_at_the_parent() {
        let errors = structure_errors(
            "apiVersion: ferry/v1\nkind: App\nmetadata: {}\nspec:\n  procfile: P\n",
        );
        let found: Vec<(usize, &str)> = errors.iter().map(|d| (d.line, d.path.as_str())).collect();
        assert_eq!(found, vec![(3, "metadata.name"), (4, "spec.image")]);
    }

    #[test]
    fn null_required_values_are_errors() {
        let errors = structure_errors(
            "apiVersion: ferry/v1\nkind:\nmetadata: {name: a}\nspec: {image: x}\n",
        );
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "kind");
    }

    #[test]
    fn domain_and_command_entries_must_be_strings() {
        let errors = structure_errors(
            "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  domains: [1, {name: a.b, process: web, port: 1}, [x]]\n  processes: {web: {command: [a, 1]}}\n",
        );
        let paths: Vec<&str> = errors.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "spec.domains[0]",
                "spec.domains[1].port",
                "spec.domains[2]",
                "spec.processes.web.command[1]"
            ]
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("scale", "scale"), 0);
        assert_eq!(edit_distance("scal", "scale"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(closest("Image", SPEC), Some("image"));
        assert_eq!(closest("replicas", PROCESS), None);
    }

    #[test]
    fn every_field_is_described_for_editors() {
        let undescribed: Vec<String> = super::all_fields()
            .into_iter()
            .filter(|(_, field)| field.about.is_empty())
            .map(|(path, _)| path)
            .collect();
        assert!(undescribed.is_empty(), "no `about` for {undescribed:?}");
    }

    #[test]
    fn the_json_schema_follows_the_tables() {
        let schema = super::json_schema();
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
        let scale = &process["properties"]["scale"]["anyOf"][0];
        assert_eq!(
            (&scale["minimum"], &scale["maximum"]),
            (&0.into(), &1000.into())
        );
        let names = &schema["properties"]["spec"]["properties"]["processes"]["anyOf"][0]
            ["propertyNames"]["pattern"];
        assert_eq!(names, &Value::from(limits::process_name()));
        assert_eq!(
            schema["required"],
            serde_json::json!(["apiVersion", "kind", "metadata", "spec"])
        );
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
            copy == super::json_schema(),
            "schema/ferry-manifest.schema.json is stale: run \
             `cargo run -p ferry-cli -- schema > schema/ferry-manifest.schema.json`"
        );
    }
}
