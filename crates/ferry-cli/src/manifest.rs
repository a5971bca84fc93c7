//! A stored spec written back as a `ferry/v1` manifest: the text recorded
//! for a rollback to a release that predates recorded manifest text, and
//! what `ferry diff` compares with when the stored app has none.

use anyhow::Context;
use ferry_manifest::App;
use serde_yaml::{Mapping, Value};

/// `app` as a manifest that loads back to the same app: every default
/// written out, commands as lists, no Procfile (the spec has the commands
/// merged in already).
///
/// A resolved [`App`] serializes with the manifest's own field names (that
/// is kept so by the round-trip test below), so it is written as it
/// serializes, without the parts a manifest says elsewhere or not at all.
pub fn render(app: &App) -> anyhow::Result<String> {
    let mut spec = match serde_yaml::to_value(app)? {
        Value::Mapping(spec) => spec,
        _ => anyhow::bail!("app {} does not serialize as a mapping", app.name),
    };
    // The name goes in `metadata`.
    spec.shift_remove("name");
    for optional in ["env", "secrets", "domains"] {
        if spec.get(optional).is_some_and(is_empty) {
            spec.shift_remove(optional);
        }
    }
    let has_sidecars = !app.sidecars.is_empty();
    if let Some(Value::Mapping(processes)) = spec.get_mut("processes") {
        for (_, process) in processes.iter_mut() {
            if let Value::Mapping(process) = process {
                write_task_fields(process, has_sidecars);
                // An empty command is the image's default: say nothing.
                if process.get("command").is_some_and(is_empty) {
                    process.shift_remove("command");
                }
                // A resolved schedule is `{expression, timezone}`; a manifest
                // writes `schedule` and `timezone` side by side, and no
                // `scale` (a scheduled process refuses it; its scale is unused).
                if let Some(Value::Mapping(schedule)) = process.shift_remove("schedule") {
                    for (from, to) in [("expression", "schedule"), ("timezone", "timezone")] {
                        if let Some(value) = schedule.get(from) {
                            process.insert(to.into(), value.clone());
                        }
                    }
                    process.shift_remove("scale");
                }
            }
        }
    }
    let mut metadata = Mapping::new();
    metadata.insert("name".into(), app.name.clone().into());
    let mut manifest = Mapping::new();
    manifest.insert("apiVersion".into(), ferry_manifest::API_VERSION.into());
    manifest.insert("kind".into(), ferry_manifest::KIND.into());
    manifest.insert("metadata".into(), Value::Mapping(metadata));
    manifest.insert("spec".into(), Value::Mapping(spec));
    let yaml = serde_yaml::to_string(&manifest)
        .with_context(|| format!("writing app {} as a manifest", app.name))?;
    Ok(format!(
        "# Written by ferry from the stored spec of app {}.\n{yaml}",
        app.name
    ))
}

/// Issue 21's resolved process fields as a manifest writes them: a
/// process without sidecars says `sidecars: []` (absent means all of
/// them), `capacity` by its name or as `{spot, onDemand}`, and the
/// container health check as `healthCheck.command` (a line for
/// `CMD-SHELL`, a list for `CMD`).
fn write_task_fields(process: &mut Mapping, has_sidecars: bool) {
    if has_sidecars && !process.contains_key("sidecars") {
        process.insert("sidecars".into(), Value::Sequence(Vec::new()));
    }
    if let Some(Value::Mapping(capacity)) = process.shift_remove("capacity") {
        let number = |key: &str| capacity.get(key).and_then(Value::as_u64).unwrap_or(0);
        let written: Value = match (
            number("onDemandBase"),
            number("onDemandWeight"),
            number("spotWeight"),
        ) {
            (0, 0, 1) => "spot".into(),
            (0, 1, 0) => "on-demand".into(),
            (base, _, spot) => {
                let mut weights = Mapping::new();
                weights.insert("spot".into(), spot.into());
                weights.insert("onDemand".into(), base.into());
                Value::Mapping(weights)
            }
        };
        process.insert("capacity".into(), written);
    }
    if let Some(Value::Mapping(mut check)) = process.shift_remove("containerHealthCheck") {
        let command = match check.shift_remove("command") {
            Some(Value::Sequence(words)) => match words.split_first() {
                Some((kind, rest)) if kind.as_str() == Some("CMD-SHELL") && rest.len() == 1 => {
                    rest[0].clone()
                }
                Some((_, rest)) => Value::Sequence(rest.to_vec()),
                None => Value::Sequence(Vec::new()),
            },
            other => other.unwrap_or(Value::Null),
        };
        check.insert("command".into(), command);
        process.insert("healthCheck".into(), Value::Mapping(check));
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Mapping(m) => m.is_empty(),
        Value::Sequence(s) => s.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn reparse(text: &str) -> App {
        ferry_manifest::parse_manifest(Path::new("rendered.yaml"), text, &|_| {
            Err(std::io::Error::other("no procfile"))
        })
        .unwrap_or_else(|d| panic!("rendered manifest is invalid: {d:?}\n{text}"))
        .app
    }

    #[test]
    fn rendered_manifests_load_back_to_the_same_app() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut apps = Vec::new();
        for dir in ["manifests", "examples"] {
            let dir = root.join(dir);
            if dir.exists() {
                apps.extend(ferry_manifest::load_paths(&[dir]).expect("valid manifests"));
            }
        }
        assert!(apps.len() >= 4, "too few manifests to test with");
        for loaded in apps {
            let text = render(&loaded.app).expect("render");
            assert_eq!(reparse(&text), loaded.app, "{text}");
        }
    }

    #[test]
    fn every_field_survives() {
        let text = "apiVersion: ferry/v1
kind: App
metadata:
  name: acme
spec:
  image: acme/acme:1
  env: {A: '1', B: 'two words'}
  secrets: {DB: 'arn:aws:ssm:us-east-1:123456789012:parameter/acme/db'}
  domains: [acme.example.com, {name: api.example.com, process: api}]
  processes:
    web:
      command: acme server --port 8080
      scale: 3
      cpu: 512
      memory: 1024
      port: 8080
      healthCheck: {path: /health, interval: 15, matcher: '200'}
      drainTimeout: 5
      healthCheckGracePeriod: 90
      minHealthyPercent: 50
      maxPercent: 150
      stopTimeout: 60
      rollback: false
    api:
      command: ['acme', 'api', '--name=a b']
      port: 9000
      autoscaling: {min: 2, max: 8, cpu: 60, memory: 70, requestsPerTarget: 500}
    worker:
      scale: 0
    nightly:
      command: acme report
      schedule: 'cron(0 3 * * ? *)'
      timezone: Europe/Berlin
      stopTimeout: 30
    sweep:
      schedule: rate(15 minutes)
";
        let app = reparse(text);
        let rendered = render(&app).expect("render");
        assert_eq!(reparse(&rendered), app, "{rendered}");
    }
}
