//! Which secrets an app may name: its own, under `<prefix><app>/`, and the
//! installation's shared ones, under `<prefix><shared>`.
//!
//! Every app of an installation runs with the same task execution role,
//! and IAM cannot tell the apps apart when ECS reads a secret at task
//! start: the role's policy can only confine all of them to `<prefix>`.
//! So the line between apps is drawn here, at apply, where each secret is
//! located at its key; the policy is the line around the installation.
//! An app with its own `executionRole` is outside this rule: ECS reads its
//! secrets with that role, and the role's policy is the line.

use serde::{Deserialize, Serialize};

use crate::diagnostic::{quote, Diagnostic, FieldPath};
use crate::load::LoadedApp;

/// The default `<prefix>`: `environment.yaml`'s `SecretsPrefix`.
pub const DEFAULT_SECRETS_PREFIX: &str = "ferry/";
/// The default `<shared>`: `SharedSecretsPrefix`.
pub const DEFAULT_SHARED_SECRETS_PREFIX: &str = "shared/";

/// Where an installation's apps may take secrets from. Names are those of
/// SSM parameters (without the leading `/` of a path) and Secrets Manager
/// secrets, compared case-sensitively as both services do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretScope {
    /// `<prefix>`: empty, or ending in `/`.
    pub prefix: String,
    /// `<shared>`, under the prefix: ending in `/`.
    pub shared: String,
}

impl Default for SecretScope {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_SECRETS_PREFIX.to_owned(),
            shared: DEFAULT_SHARED_SECRETS_PREFIX.to_owned(),
        }
    }
}

impl SecretScope {
    /// Checks the shape the rule depends on: without the trailing `/`,
    /// `ferry/acme` would also admit `ferry/acme-admin/...`.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.prefix.is_empty() || self.prefix.ends_with('/')) {
            return Err(format!(
                "the secrets prefix {} must be empty or end with `/`",
                quote(&self.prefix)
            ));
        }
        if !self.shared.ends_with('/') || self.shared.len() < 2 || self.shared.starts_with('/') {
            return Err(format!(
                "the shared secrets prefix {} must be a path such as `shared/`: not starting \
                 with `/`, ending with `/`",
                quote(&self.shared)
            ));
        }
        Ok(())
    }

    /// Whether `app` may name the secret `arn` (an ARN the manifest rules
    /// accepted). An ARN whose name cannot be read is not allowed.
    pub fn allows(&self, app: &str, arn: &str) -> bool {
        secret_name(arn).is_some_and(|name| {
            name.strip_prefix(self.prefix.as_str()).is_some_and(|rest| {
                rest.starts_with(&format!("{app}/")) || rest.starts_with(self.shared.as_str())
            })
        })
    }

    fn rule(&self, app: &str) -> String {
        format!(
            "an app's secrets are named under `{p}{app}/` (its own) or `{p}{s}` (shared by every \
             app): an SSM parameter such as `arn:aws:ssm:<region>:<account>:parameter/{p}{app}/\
             db` or a Secrets Manager secret such as `arn:aws:secretsmanager:<region>:<account>:\
             secret:{p}{app}/db`; the apps share one execution role, so this keeps each app to \
             its own secrets. Or give the app its own `executionRole`, whose policy then \
             decides which secrets it can read",
            p = self.prefix,
            s = self.shared,
        )
    }
}

/// The name of the SSM parameter or Secrets Manager secret an ARN names:
/// what follows `parameter/`, or `secret:` up to the next `:` (a JSON key,
/// version stage or id may follow).
fn secret_name(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (service, resource) = (parts.nth(2)?, parts.nth(2)?);
    match service {
        "ssm" => resource.strip_prefix("parameter/"),
        "secretsmanager" => {
            let rest = resource.strip_prefix("secret:")?;
            Some(rest.split(':').next().unwrap_or(rest))
        }
        _ => None,
    }
}

/// Every secret of `loaded` that its app may not name under `scope`,
/// located at the secret's value in the manifest: the app's `secrets` and
/// each sidecar's.
///
/// An app with its own `executionRole` may name any secret: ECS reads its
/// secrets with that role, whose own policy decides what it can read, so
/// the installation's line between apps is not needed there.
pub fn check_secret_scope(loaded: &LoadedApp, scope: &SecretScope) -> Vec<Diagnostic> {
    let app = &loaded.app;
    if app.execution_role.is_some() {
        return Vec::new();
    }
    let spec = FieldPath::of("spec");
    let containers = std::iter::once((spec.clone(), &app.secrets)).chain(
        app.sidecars
            .iter()
            .map(|(name, sidecar)| (spec.key("sidecars").key(name), &sidecar.secrets)),
    );
    let problems: Vec<(FieldPath, String)> = containers
        .flat_map(|(at, secrets)| {
            secrets
                .iter()
                .filter(|(_, arn)| !scope.allows(&app.name, arn))
                .map(move |(name, arn)| {
                    let message = format!(
                        "secret {} names {}, outside what app {} may read; {}",
                        quote(name),
                        quote(secret_name(arn).unwrap_or(arn)),
                        app.name,
                        scope.rule(&app.name)
                    );
                    (at.key("secrets").key(name), message)
                })
        })
        .collect();
    if problems.is_empty() {
        return Vec::new();
    }
    loaded.diagnostics_at(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSM: &str = "arn:aws:ssm:us-east-1:123456789012:parameter/";
    const SM: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

    #[test]
    fn an_app_may_name_its_own_and_the_shared_secrets_only() {
        let scope = SecretScope::default();
        for allowed in [
            format!("{SSM}ferry/acme/db"),
            format!("{SSM}ferry/shared/datadog"),
            format!("{SM}ferry/acme/stripe-AbCdEf"),
            format!("{SM}ferry/acme/stripe-AbCdEf:webhook::"),
            format!("{SM}ferry/shared/sentry-AbCdEf:dsn:AWSCURRENT:"),
        ] {
            assert!(scope.allows("acme", &allowed), "{allowed}");
        }
        for refused in [
            format!("{SSM}ferry/billing/db"),
            format!("{SSM}ferry/acme-admin/db"),
            format!("{SSM}ferry/acme"),
            format!("{SSM}acme/db"),
            format!("{SSM}ferry/sharedx/db"),
            format!("{SM}ferry/billing/stripe-AbCdEf"),
            format!("{SM}other/acme/x:ferry/acme/"),
            "arn:aws:s3:::ferry/acme/db".to_owned(),
        ] {
            assert!(!scope.allows("acme", &refused), "{refused}");
        }
        let root = SecretScope {
            prefix: String::new(),
            shared: "common/".into(),
        };
        assert!(root.allows("acme", &format!("{SSM}acme/db")));
        assert!(root.allows("acme", &format!("{SSM}common/x")));
        assert!(!root.allows("acme", &format!("{SSM}ferry/acme/db")));
    }

    #[test]
    fn a_scope_needs_its_slashes() {
        assert!(SecretScope::default().validate().is_ok());
        for (prefix, shared) in [
            ("ferry", "shared/"),
            ("ferry/", "shared"),
            ("", "/x/"),
            ("", "/"),
        ] {
            let scope = SecretScope {
                prefix: prefix.into(),
                shared: shared.into(),
            };
            assert!(scope.validate().is_err(), "{scope:?}");
        }
    }

    #[test]
    fn a_secret_outside_is_located_at_its_key_and_named() {
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: acme\nspec:\n  image: acme\n  secrets:\n    OWN: arn:aws:ssm:us-east-1:123456789012:parameter/ferry/acme/db\n    THEIRS: arn:aws:ssm:us-east-1:123456789012:parameter/ferry/billing/db\n  processes:\n    web: {command: serve}\n";
        let loaded = crate::parse_manifest(std::path::Path::new("acme.yaml"), text, &|_| {
            Err(std::io::Error::other("no Procfile"))
        })
        .expect("valid");
        let found = check_secret_scope(&loaded, &SecretScope::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].line, found[0].path.as_str()),
            (9, "spec.secrets.THEIRS")
        );
        assert!(found[0].message.contains("`ferry/acme/`"), "{}", found[0]);
        assert!(
            found[0].message.contains("names `ferry/billing/db`"),
            "{}",
            found[0]
        );
        assert!(found[0].message.contains("`ferry/shared/`"), "{}", found[0]);
    }

    fn with_sidecar(execution_role: &str) -> LoadedApp {
        let text = format!(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: acme\nspec:\n  image: acme\n{execution_role}  sidecars:\n    agent:\n      image: agent:1\n      secrets:\n        OWN: arn:aws:ssm:us-east-1:123456789012:parameter/ferry/acme/key\n        THEIRS: arn:aws:ssm:us-east-1:123456789012:parameter/ferry/billing/key\n  processes:\n    web: {{command: serve}}\n"
        );
        crate::parse_manifest(std::path::Path::new("acme.yaml"), &text, &|_| {
            Err(std::io::Error::other("no Procfile"))
        })
        .expect("valid")
    }

    #[test]
    fn a_sidecars_secret_outside_is_located_at_its_key() {
        let found = check_secret_scope(&with_sidecar(""), &SecretScope::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].line, found[0].path.as_str()),
            (12, "spec.sidecars.agent.secrets.THEIRS")
        );
        assert!(
            found[0].message.contains("its own `executionRole`"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn an_app_with_its_own_execution_role_may_name_any_secret() {
        let own = "  executionRole: arn:aws:iam::123456789012:role/ferry-apps/acme-exec\n";
        assert!(check_secret_scope(&with_sidecar(own), &SecretScope::default()).is_empty());
    }
}
