//! Validity rules for single values. Each returns the full message on
//! failure: what is wrong and what would be valid.
//!
//! Messages never repeat a value that may be a secret (see
//! [`secret_reference`]), and repeat other values only through
//! [`quote`], which bounds them.

use std::sync::LazyLock;

use regex::Regex;

use crate::diagnostic::quote;
use crate::limits::{self, MAX_APP_NAME_LEN, MAX_PROCESS_NAME_LEN};

fn regex(pattern: &str) -> Regex {
    // Only ever called with the literal patterns below, which the unit
    // tests compile; a typo is a bug caught by every test run.
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in regex {pattern:?}: {e}"))
}

/// What is wrong with `value` as a DNS label of at most `max` characters:
/// lowercase letters, digits and '-', starting with a letter and ending
/// with a letter or digit.
fn dns_label_problem(value: &str, max: usize) -> Option<String> {
    let problem = first_dns_label_problem(value, max)?;
    // Suggest a fix when the obvious one yields a valid name.
    let candidate: String = value
        .to_ascii_lowercase()
        .chars()
        .map(|c| if matches!(c, '_' | '.' | ' ') { '-' } else { c })
        .collect();
    if candidate != value && first_dns_label_problem(&candidate, max).is_none() {
        Some(format!("{problem} (e.g. write {})", quote(&candidate)))
    } else {
        Some(problem)
    }
}

fn first_dns_label_problem(value: &str, max: usize) -> Option<String> {
    let len = value.chars().count();
    if value.is_empty() {
        return Some("it is empty".to_owned());
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(if c.is_ascii_uppercase() {
            format!("it contains the uppercase letter '{c}'")
        } else if c == '_' {
            "it contains '_', which Ferry uses to join app and process names".to_owned()
        } else {
            format!("it contains {c:?}")
        });
    }
    if len > max {
        return Some(format!("it is {len} characters long"));
    }
    if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("it does not start with a letter".to_owned());
    }
    if value.ends_with('-') {
        return Some("it ends with '-'".to_owned());
    }
    None
}

fn label_rule(max: usize) -> String {
    format!(
        "1 to {max} lowercase letters, digits or '-', starting with a letter and ending with a \
         letter or digit"
    )
}

/// `metadata.name`.
pub(crate) fn app_name(name: &str) -> Result<(), String> {
    match dns_label_problem(name, MAX_APP_NAME_LEN) {
        None => Ok(()),
        Some(problem) => Err(format!(
            "invalid app name {}: {problem}; an app name must be {}, because Ferry derives \
             AWS resource names (ECS services, target groups, DNS records) from it",
            quote(name),
            label_rule(MAX_APP_NAME_LEN)
        )),
    }
}

/// A process name, from the manifest or a Procfile.
pub(crate) fn process_name(name: &str) -> Result<(), String> {
    match dns_label_problem(name, MAX_PROCESS_NAME_LEN) {
        None => Ok(()),
        Some(problem) => Err(format!(
            "invalid process name {}: {problem}; a process name must be {}, because Ferry \
             names each process's ECS service `<app>_<process>`",
            quote(name),
            label_rule(MAX_PROCESS_NAME_LEN)
        )),
    }
}

/// A sidecar's name: a key of `spec.sidecars`.
pub(crate) fn sidecar_name(name: &str) -> Result<(), String> {
    if name == crate::types::APP_CONTAINER {
        return Err(format!(
            "a sidecar cannot be named `{}`: `dependsOn` uses that name for the process's own \
             container; choose another name",
            crate::types::APP_CONTAINER
        ));
    }
    match dns_label_problem(name, limits::MAX_SIDECAR_NAME_LEN) {
        None => Ok(()),
        Some(problem) => Err(format!(
            "invalid sidecar name {}: {problem}; a sidecar name must be {}, because it names \
             the sidecar's container in each task",
            quote(name),
            label_rule(limits::MAX_SIDECAR_NAME_LEN)
        )),
    }
}

static ROLE_ARN: LazyLock<Regex> = LazyLock::new(|| regex(limits::ROLE_ARN));

/// `spec.role` and `spec.executionRole`: an IAM role's ARN
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html>).
pub(crate) fn role_arn(field: &str, arn: &str) -> Result<(), String> {
    if ROLE_ARN.is_match(arn) {
        return Ok(());
    }
    let hint = if arn.contains(":user/") || arn.contains(":policy/") || arn.contains(":group/") {
        " (it names an IAM user, group or policy, not a role)"
    } else if arn.contains(":role/")
        && arn
            .split(':')
            .nth(3)
            .is_some_and(|region| !region.is_empty())
    {
        " (IAM ARNs have no region: `arn:aws:iam::<account>:...`)"
    } else if !arn.starts_with("arn:") {
        " (give the role's ARN, not its name)"
    } else {
        ""
    };
    Err(format!(
        "invalid {field} {}{hint}; expected an IAM role ARN \
         `arn:aws:iam::<12-digit account>:role/<path><name>`, e.g. \
         `arn:aws:iam::123456789012:role/ferry-apps/shop`: the path `/` or `/a/b/`, the name 1 to 64 \
         letters, digits or `+=,.@_-`",
        quote(arn)
    ))
}

/// An environment variable name, in `env` or `secrets`.
pub(crate) fn env_name(name: &str, section: &str) -> Result<(), String> {
    static NAME: LazyLock<Regex> = LazyLock::new(|| regex(limits::ENV_NAME));
    if NAME.is_match(name) {
        Ok(())
    } else {
        Err(format!(
            "invalid {section} name {}: environment variable names are letters, digits and \
             '_', not starting with a digit (e.g. `DATABASE_URL`)",
            quote(name)
        ))
    }
}

/// The distribution/reference grammar, with the repository captured as
/// `name` ([`limits::image_reference`]).
static IMAGE_REFERENCE: LazyLock<Regex> = LazyLock::new(|| regex(&limits::image_reference(true)));

/// Longest repository name (registry included) the grammar allows.
const MAX_IMAGE_NAME_LEN: usize = 255;

/// `spec.image`.
pub(crate) fn image_reference(image: &str) -> Result<(), String> {
    const EXPECTED: &str = "expected `[registry[:port]/]repository[:tag][@digest]` with a \
        lowercase repository, e.g. `remind101/acme-inc:latest` or \
        `123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-inc@sha256:<64 hex digits>`";
    if image.is_empty() {
        return Err(format!("the image is empty; {EXPECTED}"));
    }
    let Some(captures) = IMAGE_REFERENCE.captures(image) else {
        let hint = if image.chars().any(char::is_whitespace) {
            " (it contains whitespace)"
        } else if IMAGE_REFERENCE.is_match(&lowercase_repository(image)) {
            " (repository names must be lowercase)"
        } else {
            ""
        };
        return Err(format!(
            "invalid image reference {}{hint}; {EXPECTED}",
            quote(image)
        ));
    };
    let name_len = captures.name("name").map_or(0, |m| m.as_str().len());
    if name_len > MAX_IMAGE_NAME_LEN {
        return Err(format!(
            "invalid image reference {}: the repository name is {name_len} characters \
             long, at most {MAX_IMAGE_NAME_LEN} are allowed",
            quote(image)
        ));
    }
    Ok(())
}

/// The image with its repository path (not registry, tag or digest)
/// lowercased, to tell whether case is the only problem.
fn lowercase_repository(image: &str) -> String {
    let (rest, digest) = image
        .split_once('@')
        .map_or((image, None), |(r, d)| (r, Some(d)));
    let (registry, path) = match rest.split_once('/') {
        Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), path)
        }
        _ => (None, rest),
    };
    let (path, tag) = match path.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') => (path, Some(tag)),
        _ => (path, None),
    };
    let mut lowered = String::new();
    if let Some(registry) = registry {
        lowered.push_str(registry);
        lowered.push('/');
    }
    lowered.push_str(&path.to_ascii_lowercase());
    if let Some(tag) = tag {
        lowered.push(':');
        lowered.push_str(tag);
    }
    if let Some(digest) = digest {
        lowered.push('@');
        lowered.push_str(digest);
    }
    lowered
}

static SECRET_REFERENCE: LazyLock<Regex> = LazyLock::new(|| regex(&limits::secret_reference()));

/// A value in `secrets`: the ARN of an SSM parameter or a Secrets Manager
/// secret. A value that is not an ARN may be the secret itself, pasted in
/// by mistake, so it is never repeated in the message (it would end up in
/// CI logs).
pub(crate) fn secret_reference(name: &str, value: &str) -> Result<(), String> {
    if SECRET_REFERENCE.is_match(value) {
        return Ok(());
    }
    let what = if value.starts_with("arn:") {
        format!(
            "{} is not an SSM parameter or Secrets Manager secret ARN",
            quote(value)
        )
    } else {
        "the value is not an ARN (it is not shown here, in case it is a secret)".to_owned()
    };
    Err(format!(
        "invalid secret {}: {what}; a secret must be the ARN of an SSM parameter \
         (`arn:aws:ssm:us-east-1:123456789012:parameter/acme/db`) or a Secrets Manager secret \
         (`arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/db`). ECS reads it at task \
         start (`valueFrom`), so Ferry never stores secret values; plain values belong in `env`",
        quote(name)
    ))
}

/// A domain in `spec.domains`: a lowercase DNS name of at least two labels.
pub(crate) fn domain_name(domain: &str) -> Result<(), String> {
    const RULE: &str = "a domain must be a lowercase DNS name such as `app.example.com`: at \
        least two labels of 1 to 63 letters, digits or '-' (not at either end), separated by \
        '.', at most 253 characters";
    let problem = if domain.is_empty() {
        Some("it is empty".to_owned())
    } else if domain.ends_with('.') {
        Some(format!(
            "write it without the trailing dot: {}",
            quote(domain.trim_end_matches('.'))
        ))
    } else if domain.chars().any(|c| c.is_ascii_uppercase()) {
        Some(format!(
            "it has uppercase letters (write {})",
            quote(&domain.to_ascii_lowercase())
        ))
    } else if domain.len() > limits::MAX_DOMAIN_LEN {
        Some(format!("it is {} characters long", domain.len()))
    } else if !domain.contains('.') {
        Some("it has only one label".to_owned())
    } else {
        domain.split('.').find_map(|label| {
            if label.is_empty() {
                Some("it has an empty label".to_owned())
            } else if label.len() > limits::MAX_DOMAIN_LABEL_LEN {
                Some(format!(
                    "the label {} is longer than {} characters",
                    quote(label),
                    limits::MAX_DOMAIN_LABEL_LEN
                ))
            } else if let Some(c) = label
                .chars()
                .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
            {
                Some(format!("it contains {c:?}"))
            } else if label.starts_with('-') || label.ends_with('-') {
                Some(format!(
                    "the label {} starts or ends with '-'",
                    quote(label)
                ))
            } else {
                None
            }
        })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(format!(
            "invalid domain {}: {problem}; {RULE}",
            quote(domain)
        )),
    }
}

/// `healthCheck.path`.
pub(crate) fn health_check_path(path: &str) -> Result<(), String> {
    const MAX_LEN: usize = limits::MAX_HEALTH_CHECK_PATH_LEN;
    if !path.starts_with('/') {
        Err(format!(
            "invalid health check path {}: it must start with '/', e.g. `/health`",
            quote(path)
        ))
    } else if path.chars().any(char::is_whitespace) {
        Err(format!(
            "invalid health check path {}: it contains whitespace; write an URL path such \
             as `/health`",
            quote(path)
        ))
    } else if path.len() > MAX_LEN {
        Err(format!(
            "the health check path is {} characters long; at most {MAX_LEN} are allowed",
            path.len()
        ))
    } else {
        Ok(())
    }
}

/// `healthCheck.matcher`: HTTP codes as the ALB takes them.
pub(crate) fn health_check_matcher(matcher: &str) -> Result<(), String> {
    // ALB HTTP health checks accept codes from 200 to 499.
    let code = |text: &str| {
        (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<i64>().ok())
            .flatten()
            .filter(|code| limits::MATCHER_CODE.contains(*code))
    };
    let valid = !matcher.is_empty()
        && matcher.split(',').all(|part| match part.split_once('-') {
            Some((low, high)) => matches!((code(low), code(high)), (Some(l), Some(h)) if l <= h),
            None => code(part).is_some(),
        });
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid matcher {}: expected HTTP status codes from 200 to 499, as one code \
             (`200`), a range (`200-299`) or a comma-separated list (`200,202`)",
            quote(matcher)
        ))
    }
}

#[cfg(test)]
#[path = "pattern_agreement_tests.rs"]
mod pattern_agreement_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_follow_the_dns_label_rule() {
        for good in ["a", "acme-inc", "web2", "a-b-c", &"a".repeat(40)] {
            assert_eq!(app_name(good), Ok(()), "{good}");
        }
        let cases = [
            ("", "empty"),
            ("Acme", "uppercase letter 'A' (e.g. write `acme`)"),
            ("Acme_Inc", "uppercase letter 'A' (e.g. write `acme-inc`)"),
            ("acme_inc", "contains '_'"),
            ("acme.inc", "contains '.'"),
            ("2acme", "does not start with a letter"),
            ("-acme", "does not start with a letter"),
            ("acme-", "ends with '-'"),
            (&"a".repeat(41), "41 characters long"),
        ];
        for (bad, why) in cases {
            let message = app_name(bad).expect_err(bad);
            assert!(message.contains(why), "{bad}: {message}");
            assert!(message.contains("1 to 40"), "{message}");
            assert!(message.contains("AWS"), "{message}");
        }
    }

    #[test]
    fn process_names_are_shorter_labels() {
        assert_eq!(process_name(&"w".repeat(24)), Ok(()));
        let message = process_name(&"w".repeat(25)).expect_err("too long");
        assert!(message.contains("1 to 24"), "{message}");
        assert!(process_name("web_1").is_err());
    }

    #[test]
    fn env_names() {
        for good in ["A", "_A", "DATABASE_URL", "lower_ok1"] {
            assert_eq!(env_name(good, "env"), Ok(()), "{good}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B"] {
            assert!(env_name(bad, "env").is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references_follow_the_distribution_grammar() {
        let good = [
            "remind101/acme-inc:latest",
            "remind101/acme-inc",
            "nginx",
            "library/nginx:1.27.0-alpine",
            "localhost:5000/acme",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme-inc:v1.2",
            "ghcr.io/org/sub/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "ghcr.io/org/app:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Registry.Example.com/app",
            "registry/app",
            "[::1]:5000/app",
            "a__b/c--d/e.f",
        ];
        for image in good {
            assert_eq!(image_reference(image), Ok(()), "{image}");
        }
        let bad = [
            ("", "empty"),
            ("Remind101/acme", "must be lowercase"),
            ("remind101/acme inc", "whitespace"),
            ("acme:", "invalid image reference"),
            ("acme:-tag", "invalid image reference"),
            ("acme@sha256:abc", "invalid image reference"),
            ("/acme", "invalid image reference"),
            ("acme//x", "invalid image reference"),
            ("acme_/x", "invalid image reference"),
        ];
        for (image, why) in bad {
            let message = image_reference(image).expect_err(image);
            assert!(message.contains(why), "{image}: {message}");
            assert!(message.contains("remind101/acme-inc:latest"), "{message}");
        }
        let long_tag = format!("acme:{}", "t".repeat(129));
        assert!(image_reference(&long_tag).is_err());
        let long_name = format!("{}:1", "a".repeat(256));
        assert!(image_reference(&long_name)
            .expect_err("long")
            .contains("255"));
    }

    #[test]
    fn secrets_must_be_ssm_or_secrets_manager_arns() {
        let good = [
            "arn:aws:ssm:us-east-1:123456789012:parameter/acme/db",
            "arn:aws:ssm:us-east-1:123456789012:parameter/DB_URL",
            "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/x",
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:acme/db-AbCdEf",
            "arn:aws:secretsmanager:eu-west-2:123456789012:secret:db:password::",
        ];
        for value in good {
            assert_eq!(secret_reference("DB", value), Ok(()), "{value}");
        }
        let bad = [
            "hunter2",
            "arn:aws:ssm:us-east-1:12345:parameter/x",
            "arn:aws:ssm:us-east-1:123456789012:parameter/",
            "arn:aws:s3:::bucket/key",
            "arn:aws:secretsmanager:us-east-1:123456789012:parameter/x",
            "/acme/db",
        ];
        for value in bad {
            let message = secret_reference("DB", value).expect_err(value);
            assert!(message.contains("valueFrom"), "{message}");
            assert!(message.contains("`env`"), "{message}");
        }
        let message = secret_reference("DB", "hunter2").expect_err("plain value");
        assert!(!message.contains("hunter2"), "leaks the value: {message}");
    }

    #[test]
    fn domains_are_lowercase_dns_names() {
        for good in [
            "router.example.com",
            "a.b",
            "x-1.example.co.uk",
            &format!("{}.com", "a".repeat(63)),
        ] {
            assert_eq!(domain_name(good), Ok(()), "{good}");
        }
        let bad = [
            ("", "empty"),
            ("localhost", "only one label"),
            ("Router.example.com", "write `router.example.com`"),
            ("router.example.com.", "trailing dot"),
            ("a..b", "empty label"),
            ("-a.b", "starts or ends with '-'"),
            ("a_b.com", "contains '_'"),
            ("*.example.com", "contains '*'"),
        ];
        for (domain, why) in bad {
            let message = domain_name(domain).expect_err(domain);
            assert!(message.contains(why), "{domain}: {message}");
        }
        assert!(domain_name(&format!("{}.com", "a".repeat(64))).is_err());
        let too_long = vec!["abcdefghi"; 26].join(".");
        assert!(domain_name(&too_long)
            .expect_err("long")
            .contains("characters long"));
    }

    #[test]
    fn health_check_paths_and_matchers() {
        assert_eq!(health_check_path("/health"), Ok(()));
        assert_eq!(health_check_path("/"), Ok(()));
        assert!(health_check_path("health").is_err());
        assert!(health_check_path("/a b").is_err());
        for good in ["200", "200-299", "200,202", "200,300-399", "499"] {
            assert_eq!(health_check_matcher(good), Ok(()), "{good}");
        }
        for bad in [
            "", "ok", "100", "500", "299-200", "200,", "2000", "200-", "+200",
        ] {
            assert!(health_check_matcher(bad).is_err(), "{bad}");
        }
    }
}
