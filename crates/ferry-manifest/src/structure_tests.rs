//! The structural pass, on small documents.

use std::path::Path;

use serde_json::Value;

use super::shape::Shape;
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
                 `procfile`, `env`, `secrets`, `domains`, `processes`, `role`, `executionRole`, \
                 `exec`, `platform` or `sidecars`",
                "app.yaml:9:7: spec.processes.web.replicas: unknown field `replicas`, expected one \
                 of `command`, `scale`, `cpu`, `memory`, `port`, `healthCheck`, `drainTimeout`, \
                 `healthCheckGracePeriod`, `minHealthyPercent`, `maxPercent`, `stopTimeout`, `rollback`, \
                 `schedule`, `timezone`, `autoscaling`, `sidecars`, `platform`, `capacity`, \
                 `ephemeralStorage`, `progressDeadline` or `rollout`",
                "app.yaml:10:30: spec.processes.web.healthCheck.intervl: unknown field `intervl`, \
                 expected one of `path`, `command`, `interval`, `timeout`, `retries`, \
                 `startPeriod`, `healthyThreshold`, `unhealthyThreshold` or `matcher` (did you \
                 mean `interval`?)",
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
    let found = crate::diagnostic::locations(&errors);
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
    let errors =
        structure_errors("apiVersion: ferry/v1\nkind: App\nmetadata: {}\nspec:\n  procfile: P\n");
    let found: Vec<(usize, &str)> = errors.iter().map(|d| (d.line, d.path.as_str())).collect();
    assert_eq!(found, vec![(3, "metadata.name"), (4, "spec.image")]);
}

#[test]
fn null_required_values_are_errors() {
    let errors =
        structure_errors("apiVersion: ferry/v1\nkind:\nmetadata: {name: a}\nspec: {image: x}\n");
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
fn an_unknown_field_is_matched_to_a_known_one_in_any_case_or_within_two_edits() {
    let spec = [
        "image",
        "procfile",
        "env",
        "secrets",
        "domains",
        "processes",
    ];
    assert_eq!(pass::closest("Image", &spec), Some("image"));
    assert_eq!(pass::closest("imgae", &spec), Some("image"));
    assert_eq!(pass::closest("proceses", &spec), Some("processes"));
    assert_eq!(pass::closest("replicas", &spec), None);
    assert_eq!(pass::closest("enviro", &spec), None);
}

#[test]
fn every_node_of_the_schema_has_a_shape_the_pass_reads() {
    fn walk(schema: &'static Value, path: &str, unknown: &mut Vec<String>) {
        match shape::shape(schema) {
            Shape::Unknown => unknown.push(path.to_owned()),
            Shape::Struct(fields) => {
                let mut ordered: Vec<&str> = fields.names().collect();
                ordered.sort_unstable();
                let properties: Vec<&str> = schema["properties"]
                    .as_object()
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                assert_eq!(
                    ordered, properties,
                    "{path}: the field order is not the fields"
                );
                for field in fields.fields() {
                    walk(field.value, &format!("{path}.{}", field.name), unknown);
                }
            }
            Shape::Map(inner) | Shape::List(inner) => walk(inner, &format!("{path}[]"), unknown),
            Shape::Either { alternatives, .. } => {
                for (index, alternative) in alternatives.iter().enumerate() {
                    walk(alternative, &format!("{path}|{index}"), unknown);
                }
            }
            _ => {}
        }
    }
    let mut unknown = Vec::new();
    walk(crate::schema::described(), "", &mut unknown);
    assert!(unknown.is_empty(), "the pass cannot read {unknown:?}");
}
