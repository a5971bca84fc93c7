//! Checks of the app as a whole: `env` and `secrets` (names, references,
//! a name in both), and the size of each task definition ECS would get.

use std::collections::BTreeMap;

use super::{name_list, Oversized, Validator};
use crate::diagnostic::{quote, FieldPath};
use crate::rules;
use crate::size;
use crate::types::{App, Manifest, ManifestSpec};

impl Validator<'_> {
    pub(super) fn check_env_and_secrets(&mut self, manifest: &Manifest) {
        let spec = &manifest.spec;
        self.check_container_env(&FieldPath::of("spec"), &spec.env, &spec.secrets);
    }

    /// `role` and `executionRole`: IAM role ARNs, each located at its
    /// value. Whether they are under the installation's role path is
    /// [`crate::check_app_roles`]'s, at apply.
    pub(super) fn check_roles(&mut self, spec: &ManifestSpec) {
        for (field, arn) in [
            ("role", &spec.role),
            ("executionRole", &spec.execution_role),
        ] {
            let path = FieldPath::of("spec").key(field);
            let Some(arn) = arn.as_ref().filter(|_| !self.broken.at(&path)) else {
                continue;
            };
            if let Err(message) = rules::role_arn(field, arn) {
                self.error_at(&path, message);
            }
        }
    }

    /// The `env` and `secrets` of one container (the app's, under `spec`,
    /// or a sidecar's, under its own path): names, references, and no
    /// name in both.
    pub(super) fn check_container_env(
        &mut self,
        at: &FieldPath,
        env_vars: &BTreeMap<String, String>,
        secret_refs: &BTreeMap<String, String>,
    ) {
        let env = at.key("env");
        for name in env_vars.keys() {
            if let Err(message) = rules::env_name(name, "env") {
                self.key_error_at(&env.key(name), message);
            }
        }
        let secrets = at.key("secrets");
        for (name, value) in secret_refs {
            let path = secrets.key(name);
            if let Err(message) = rules::env_name(name, "secret") {
                self.key_error_at(&path, message);
            }
            if env_vars.contains_key(name) {
                self.key_error_at(
                    &path,
                    format!(
                        "{} is set in both `env` and `secrets`; a variable can have only \
                         one source, so remove it from one of them",
                        quote(name)
                    ),
                );
            }
            if self.broken.at(&path) {
                continue;
            }
            if let Err(message) = rules::secret_reference(name, value) {
                self.error_at(&path, message);
            }
        }
    }

    /// Reports every process whose task definition could be larger than
    /// ECS takes, at the part of the manifest that makes it largest.
    pub(super) fn check_task_definition_size(&mut self, app: &App) {
        // Path of the largest part -> the processes it makes too large,
        // with their estimates, and the part's size.
        let mut over: BTreeMap<FieldPath, Oversized<'_>> = BTreeMap::new();
        for name in app.processes.keys() {
            let Some(size) = size::task_definition_size(app, name) else {
                continue;
            };
            if size.total() <= size::MAX_TASK_DEFINITION_BYTES {
                continue;
            }
            let command = FieldPath::of("spec.processes").key(name).key("command");
            let parts = [
                (size.env, FieldPath::of("spec.env"), "`env`"),
                (size.secrets, FieldPath::of("spec.secrets"), "`secrets`"),
                (size.command, command, "the command"),
                (size.image, FieldPath::of("spec.image"), "the image"),
                (
                    size.sidecars,
                    FieldPath::of("spec.sidecars"),
                    "its sidecars",
                ),
            ];
            let Some((bytes, path, part)) = parts.into_iter().max_by_key(|(bytes, ..)| *bytes)
            else {
                continue;
            };
            over.entry(path)
                .or_insert_with(|| Oversized {
                    processes: Vec::new(),
                    bytes,
                    part,
                })
                .processes
                .push((name.as_str(), size.total()));
        }
        for (
            path,
            Oversized {
                processes,
                bytes,
                part,
            },
        ) in over
        {
            let largest = processes
                .iter()
                .map(|(_, total)| *total)
                .max()
                .unwrap_or_default();
            let names = name_list(processes.iter().map(|(name, _)| *name));
            let whose = if processes.len() == 1 {
                format!("the task definition of process {names}")
            } else {
                format!("the task definitions of processes {names}")
            };
            self.error_at(
                &path,
                format!(
                    "{whose} would be up to {largest} bytes (an upper-bound estimate), over ECS's \
                     limit of {} bytes (64 KiB) per task definition; {part} accounts for {bytes} \
                     bytes of it. Keep large values out of the task definition: store them in SSM \
                     Parameter Store or Secrets Manager and reference them from `secrets`, or \
                     have the app read them at start",
                    size::MAX_TASK_DEFINITION_BYTES
                ),
            );
        }
    }
}
