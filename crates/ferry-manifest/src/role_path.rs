//! Which IAM roles an app may name: only those under the installation's
//! app role path.
//!
//! The controller passes an app's `role` and `executionRole` to ECS, and
//! `iam:PassRole` lets it pass only roles under one IAM path (with
//! `iam:PassedToService` = `ecs-tasks.amazonaws.com`): a role elsewhere
//! would fail at RegisterTaskDefinition, long after apply, or, were the
//! policy wider, let an app borrow any role of the account. So apply
//! refuses it first, located at its key
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>).

use crate::diagnostic::{quote, Diagnostic, FieldPath};
use crate::load::LoadedApp;

/// Every role of `loaded` (`spec.role`, `spec.executionRole`) whose path is
/// not under `role_path` (such as `/ferry-apps/`), located at its value.
/// A role's path is the part of its ARN between `role` and the name
/// (`arn:aws:iam::123456789012:role/ferry-apps/shop` has the path
/// `/ferry-apps/`); a path under `role_path` starts with it.
pub fn check_app_roles(loaded: &LoadedApp, role_path: &str) -> Vec<Diagnostic> {
    let app = &loaded.app;
    let problems: Vec<(FieldPath, String)> = [
        ("role", app.role.as_deref()),
        ("executionRole", app.execution_role.as_deref()),
    ]
    .into_iter()
    .filter_map(|(field, arn)| Some((field, arn?)))
    .filter(|(_, arn)| !is_under(arn, role_path))
    .map(|(field, arn)| {
        let message = format!(
            "{field} {} is not under the app role path `{role_path}`: the controller may pass \
             only roles under that path to ECS (its iam:PassRole is scoped to it); create the \
             role with the path `{role_path}` (e.g. `arn:aws:iam::<account>:role{role_path}{}`), \
             or ask the installation's operators which path it uses",
            quote(arn),
            app.name
        );
        (FieldPath::of("spec").key(field), message)
    })
    .collect();
    if problems.is_empty() {
        return Vec::new();
    }
    loaded.diagnostics_at(problems)
}

/// Whether the role `arn` (a valid role ARN) is under `role_path`.
fn is_under(arn: &str, role_path: &str) -> bool {
    arn.split_once(":role/")
        .is_some_and(|(_, rest)| format!("/{rest}").starts_with(role_path))
}

#[cfg(test)]
#[path = "role_path_tests.rs"]
mod tests;
