//! The role path guard: the controller passes an app's roles to ECS
//! (`taskRoleArn`, `executionRoleArn`), and its `iam:PassRole` is scoped
//! to the roles under one IAM path (`--app-role-path`). `ferry apply`
//! refuses a role outside it; this is the same rule again, in the
//! controller, for a spec that reached the store some other way.
//!
//! A task definition naming a role the controller may not pass would be
//! refused by IAM at RegisterTaskDefinition ("not authorized to perform:
//! iam:PassRole", <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html>),
//! so nothing of such an app is registered or changed: each of its
//! processes is blocked, and status says why.

use ferry_manifest::App;

use crate::model::blocker::{Blocker, BlockerReason};

/// Whether `role_arn` (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`) is a
/// role under the IAM path `path` (`/ferry-apps/`), directly or in a path
/// below it, as a PassRole resource `arn:aws:iam::*:role/ferry-apps/*`
/// matches. A path given without its final `/` means the same path.
pub fn is_under_path(role_arn: &str, path: &str) -> bool {
    let Some((_, role)) = role_arn.split_once(":role/") else {
        return false;
    };
    let path = path.trim_matches('/');
    if path.is_empty() {
        return !role.is_empty();
    }
    role.strip_prefix(path)
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|name| !name.is_empty())
}

/// One blocker per process of `app` when its `role` or `executionRole`
/// lies outside `path`; none otherwise.
pub fn role_blockers(app: &App, path: &str) -> Vec<Blocker> {
    let outside: Vec<String> = [("role", &app.role), ("executionRole", &app.execution_role)]
        .into_iter()
        .filter_map(|(field, arn)| {
            let arn = arn.as_deref()?;
            (!is_under_path(arn, path)).then(|| format!("{field} {arn}"))
        })
        .collect();
    if outside.is_empty() {
        return Vec::new();
    }
    let message = format!(
        "{} is not under the IAM path {path} the controller may pass roles from \
         (--app-role-path); IAM would refuse to pass it to ECS, so nothing of app {} is \
         registered or changed until it names a role under {path}",
        outside.join(" and "),
        app.name
    );
    app.processes
        .keys()
        .map(|process| Blocker {
            process: process.clone(),
            reason: BlockerReason::RoleOutsidePath,
            message: message.clone(),
        })
        .collect()
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
