//! How large the ECS task definition Ferry registers for a process can be,
//! estimated from the resolved [`App`] alone.
//!
//! The renderer (ferry-core) builds one task definition per process: one
//! container with the app's image, the process's command, every `env`
//! entry as a name and value, every secret as a name and `valueFrom` ARN,
//! one container per sidecar the process runs (with its own image,
//! command, env, secrets and dependencies), plus fields that come from the controller's settings (execution role,
//! log configuration, tags). ECS refuses a task definition whose JSON is
//! larger than [`MAX_TASK_DEFINITION_BYTES`]; checking an upper bound here
//! turns that late AWS error into a manifest error with a line number.

use std::collections::BTreeMap;

use crate::types::App;

/// ECS's limit on the size of a task definition's JSON: "Task definition
/// size: 64 KiB", a quota that cannot be raised
/// (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html>).
pub const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;

/// Bytes allowed for everything in a task definition that does not come
/// from the manifest: the JSON field names and punctuation of the fixed
/// fields, the CPU and memory numbers, the port mapping, network mode and
/// compatibilities, the execution role ARN (at most about 610 bytes: an IAM
/// path is at most 512 characters and a role name 64), the log group (at
/// most 512) and region, and the ownership tag values (at most 256 each).
/// Those add up to about 2.5 KiB; 4 KiB leaves room.
pub const TASK_DEFINITION_ALLOWANCE: usize = 4 * 1024;

/// An upper bound of the JSON size of one process's task definition, and
/// the parts of it that come from the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDefinitionSize {
    /// `spec.env`: every name and value.
    pub env: usize,
    /// `spec.secrets`: every name and ARN.
    pub secrets: usize,
    /// The process's command.
    pub command: usize,
    /// `spec.image`.
    pub image: usize,
    /// The app and process names, repeated in the family, container name,
    /// log stream prefix and tags.
    pub names: usize,
    /// The sidecars that run beside the process: each one's name, image,
    /// command, env, secrets and dependencies, plus
    /// [`SIDECAR_ALLOWANCE`] for its fixed fields.
    pub sidecars: usize,
}

/// Bytes allowed for the fixed fields of each sidecar's container
/// definition: field names and punctuation, `essential`, `cpu`, `memory`,
/// and its log configuration (a log group of at most 512 bytes, the region
/// and a stream prefix).
pub const SIDECAR_ALLOWANCE: usize = 1024;

impl TaskDefinitionSize {
    /// The whole estimate, [`TASK_DEFINITION_ALLOWANCE`] included.
    pub fn total(&self) -> usize {
        TASK_DEFINITION_ALLOWANCE
            + self.env
            + self.secrets
            + self.command
            + self.image
            + self.names
            + self.sidecars
    }
}

/// Estimates the task definition of `process` in `app`; `None` if the app
/// has no such process.
///
/// The estimate is an upper bound of what ECS measures, never below it:
/// every string is counted as if the JSON encoder escaped as much as any
/// encoder may (`"`, `\` and `/` as two bytes, control characters as six,
/// every non-ASCII character as a `\u` escape per UTF-16 unit), and every
/// entry with its punctuation. So an app that passes fits ECS's limit; one
/// close to the limit may be refused here although ECS would take it.
pub fn task_definition_size(app: &App, process: &str) -> Option<TaskDefinitionSize> {
    let resolved = app.processes.get(process)?;
    // {"name":…,"value":…},
    const ENV_ENTRY: usize = 20;
    // {"name":…,"valueFrom":…},
    const SECRET_ENTRY: usize = 24;
    let env = |env: &BTreeMap<String, String>| -> usize {
        env.iter()
            .map(|(name, value)| ENV_ENTRY + json_string_bytes(name) + json_string_bytes(value))
            .sum()
    };
    let secrets = |secrets: &BTreeMap<String, String>| -> usize {
        secrets
            .iter()
            .map(|(name, arn)| SECRET_ENTRY + json_string_bytes(name) + json_string_bytes(arn))
            .sum()
    };
    let command = |command: &[String]| -> usize {
        command.iter().map(|word| json_string_bytes(word) + 1).sum()
    };
    // {"containerName":…,"condition":"COMPLETE"},
    const DEPENDENCY_ENTRY: usize = 44;
    let sidecars = resolved
        .sidecars
        .iter()
        .filter_map(|name| Some((name, app.sidecars.get(name)?)))
        .map(|(name, sidecar)| {
            SIDECAR_ALLOWANCE
                + 2 * json_string_bytes(name)
                + json_string_bytes(&sidecar.image)
                + command(&sidecar.command)
                + env(&sidecar.env)
                + secrets(&sidecar.secrets)
                + sidecar
                    .depends_on
                    .keys()
                    .map(|on| {
                        DEPENDENCY_ENTRY + json_string_bytes(on).max(json_string_bytes(process))
                    })
                    .sum::<usize>()
        })
        .sum();
    let (env, secrets, command) = (
        env(&app.env),
        secrets(&app.secrets),
        command(&resolved.command),
    );
    Some(TaskDefinitionSize {
        env,
        secrets,
        command,
        image: json_string_bytes(&app.image),
        names: 3 * (json_string_bytes(&app.name) + json_string_bytes(process)),
        sidecars,
    })
}

/// The most bytes a JSON encoder can make of `value`, quotes included.
fn json_string_bytes(value: &str) -> usize {
    let escaped: usize = value
        .chars()
        .map(|c| match c {
            '"' | '\\' | '/' => 2,
            c if c.is_ascii_control() => 6,
            c if c.is_ascii() => 1,
            c => 6 * c.len_utf16(),
        })
        .sum();
    2 + escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Process;

    fn app(env: BTreeMap<String, String>) -> App {
        App {
            name: "acme".to_owned(),
            image: "acme:1".to_owned(),
            env,
            secrets: BTreeMap::new(),
            domains: Vec::new(),
            processes: BTreeMap::from([(
                "web".to_owned(),
                Process {
                    command: vec!["serve".to_owned()],
                    scale: 1,
                    cpu: 256,
                    memory: 512,
                    ..Default::default()
                },
            )]),
            ..Default::default()
        }
    }

    #[test]
    fn strings_count_their_worst_case_escaping() {
        assert_eq!(json_string_bytes(""), 2);
        assert_eq!(json_string_bytes("abc"), 5);
        assert_eq!(json_string_bytes("a\"b"), 6);
        assert_eq!(json_string_bytes("\n"), 8);
        assert_eq!(json_string_bytes("é"), 8);
        assert_eq!(json_string_bytes("😀"), 14);
    }

    #[test]
    fn the_estimate_is_at_least_the_serialized_container_definition() {
        let env: BTreeMap<String, String> = (0..100)
            .map(|i| (format!("VAR_{i}"), format!("välue \"{i}\"/\n")))
            .collect();
        let app = app(env);
        let size = task_definition_size(&app, "web").expect("web exists");
        // What the renderer's container definition holds, serialized.
        let environment: Vec<_> = app
            .env
            .iter()
            .map(|(name, value)| serde_json::json!({"name": name, "value": value}))
            .collect();
        let rendered = serde_json::json!({
            "family": "acme_web",
            "containerDefinitions": [{"name": "web", "image": app.image, "command": ["serve"],
                                      "environment": environment}],
        })
        .to_string();
        assert!(
            size.total() >= rendered.len(),
            "{} < {}",
            size.total(),
            rendered.len()
        );
        assert!(
            size.env
                >= environment
                    .iter()
                    .map(|e| e.to_string().len() + 1)
                    .sum::<usize>()
        );
        assert_eq!(task_definition_size(&app, "nope"), None);
    }

    #[test]
    fn the_sidecars_a_process_runs_are_counted() {
        let mut app = app(BTreeMap::new());
        let sidecar = crate::types::Sidecar {
            image: "agent:1".to_owned(),
            env: (0..50)
                .map(|i| (format!("VAR_{i}"), "x".repeat(100)))
                .collect(),
            ..Default::default()
        };
        app.sidecars.insert("agent".to_owned(), sidecar);
        let without = task_definition_size(&app, "web").expect("web");
        assert_eq!(without.sidecars, 0, "web does not run it yet");
        if let Some(web) = app.processes.get_mut("web") {
            web.sidecars = vec!["agent".to_owned()];
        }
        let with = task_definition_size(&app, "web").expect("web");
        assert!(with.sidecars > 50 * 100 + SIDECAR_ALLOWANCE, "{with:?}");
        assert_eq!(with.total() - without.total(), with.sidecars);
    }
}
