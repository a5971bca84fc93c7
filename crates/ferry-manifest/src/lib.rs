//! Ferry's app manifests: types, YAML parsing with exact error locations,
//! Procfile merging and validation. Pure: the only I/O is reading the files
//! a caller names.
//!
//! [`load_paths`] and [`parse_manifest`] turn manifest files into resolved
//! [`App`]s, or into [`Diagnostics`]: every problem, each with its file,
//! line, column and field path, saying what is wrong and what would be
//! valid. Input is bounded: files over [`MAX_MANIFEST_BYTES`] are refused
//! unread, values are quoted in messages only up to a few dozen
//! characters, and Procfiles are read only from inside the manifests'
//! directories or git repository.

mod diagnostic;
pub mod duration;
mod fargate;
mod hints;
mod limits;
mod load;
mod procfile;
mod role_path;
mod rules;
mod schedule;
mod schema;
mod secret_scope;
mod size;
mod structure;
mod timezones;
pub mod types;
mod validate;
mod vocabulary;
mod yaml;

#[cfg(test)]
mod tests;

pub use diagnostic::{Diagnostic, Diagnostics, Pos};
pub use fargate::valid_memory_for_cpu;
pub use limits::{
    DEFAULT_APPROVAL_TIMEOUT_MINUTES, DEFAULT_BAKE_MINUTES, DEFAULT_CANARY_BAKE_MINUTES,
    DEFAULT_CANARY_TENTHS, DEFAULT_LINEAR_BAKE_MINUTES, DEFAULT_LINEAR_STEP_TENTHS,
    DEFAULT_PROGRESS_DEADLINE, MAX_APP_NAME_LEN, MAX_DRAIN_TIMEOUT, MAX_HEALTH_CHECK_GRACE_PERIOD,
    MAX_MANIFEST_BYTES, MAX_PROCESS_NAME_LEN, MAX_PROCFILE_BYTES, MAX_PROGRESS_DEADLINE,
    MAX_REQUESTS_PER_TARGET, MAX_SCALE, MIN_PROGRESS_DEADLINE,
};
pub use load::{load_paths, parse_manifest, LoadedApp};
pub use procfile::parse_procfile;
pub use role_path::check_app_roles;
pub use schedule::{check_expression, is_timezone, DEFAULT_TIMEZONE, VALID_FORMS};
pub use schema::json_schema;
pub use secret_scope::{
    check_secret_scope, SecretScope, DEFAULT_SECRETS_PREFIX, DEFAULT_SHARED_SECRETS_PREFIX,
};
pub use size::{
    task_definition_size, TaskDefinitionSize, MAX_TASK_DEFINITION_BYTES, TASK_DEFINITION_ALLOWANCE,
};
pub use types::*;
pub use validate::{
    DEFAULT_DOMAIN_PROCESS, DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_HEALTH_CHECK_TIMEOUT,
};
