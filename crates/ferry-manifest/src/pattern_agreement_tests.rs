//! The patterns of [`crate::limits`] (for the JSON Schema) and the
//! explaining rules of [`crate::rules`] (for `ferry validate`) give one
//! verdict, on examples and on generated strings.

use proptest::prelude::*;
use regex::Regex;

use crate::limits::*;
use crate::rules;

fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"))
}

/// The pattern and the explaining rule give one verdict on `value`.
fn agree(pattern: &Regex, max_len: Option<usize>, rule_ok: bool, value: &str) {
    let schema_ok =
        pattern.is_match(value) && max_len.is_none_or(|max| value.chars().count() <= max);
    assert_eq!(
        schema_ok, rule_ok,
        "{value:?}: schema {schema_ok}, rule {rule_ok}"
    );
}

const NAME_SAMPLES: &[&str] = &[
    "", "a", "a-", "-a", "1a", "a1", "a-b", "a--b", "A", "a_b", "a.b", "web", "é",
];

#[test]
fn dns_label_patterns_agree_with_the_name_rules() {
    let app = compiled(&app_name());
    let process = compiled(&process_name());
    let long = |n: usize| "a".repeat(n);
    let samples: Vec<String> = NAME_SAMPLES
        .iter()
        .map(|s| (*s).to_owned())
        .chain([23, 24, 25, 39, 40, 41].map(long))
        .collect();
    for value in &samples {
        agree(&app, None, rules::app_name(value).is_ok(), value);
        agree(&process, None, rules::process_name(value).is_ok(), value);
    }
}

#[test]
fn the_sidecar_name_pattern_agrees_with_its_rule_but_for_app() {
    let pattern = compiled(&sidecar_name());
    let samples: Vec<String> = NAME_SAMPLES
        .iter()
        .map(|s| (*s).to_owned())
        .chain([62, 63, 64].map(|n| "a".repeat(n)))
        .collect();
    for value in &samples {
        agree(&pattern, None, rules::sidecar_name(value).is_ok(), value);
    }
    // `app` names the process's container in `dependsOn`: a rule across
    // fields, which the schema leaves to `ferry validate`.
    assert!(pattern.is_match("app") && rules::sidecar_name("app").is_err());
}

#[test]
fn the_role_arn_pattern_is_the_rule() {
    let pattern = compiled(ROLE_ARN);
    for value in [
        "arn:aws:iam::123456789012:role/shop",
        "arn:aws:iam::123456789012:role/ferry-apps/shop",
        "arn:aws-us-gov:iam::123456789012:role/a/b/c/shop@x",
        "arn:aws:iam::123456789012:role/",
        "arn:aws:iam::123456789012:role/ferry-apps/",
        "arn:aws:iam::123456789012:role/sh op",
        "arn:aws:iam::1234567890123:role/shop",
        "arn:aws:iam:us-east-1:123456789012:role/shop",
        "arn:aws:sts::123456789012:assumed-role/shop/x",
        &format!("arn:aws:iam::123456789012:role/{}", "a".repeat(64)),
        &format!("arn:aws:iam::123456789012:role/{}", "a".repeat(65)),
    ] {
        agree(
            &pattern,
            None,
            rules::role_arn("role", value).is_ok(),
            value,
        );
    }
    assert!(!pattern.is_match("arn:aws:iam::123456789012:role/ferry-apps/"));
    assert!(!pattern.is_match(&format!(
        "arn:aws:iam::123456789012:role/{}",
        "a".repeat(65)
    )));
}

#[test]
fn domain_pattern_agrees_with_the_domain_rule() {
    let pattern = compiled(&domain());
    let label63 = "a".repeat(63);
    let samples = [
        "a.b".to_owned(),
        "acme.example.com".to_owned(),
        "1.2".to_owned(),
        "a-.b".to_owned(),
        "a..b".to_owned(),
        "a.b.".to_owned(),
        "A.b".to_owned(),
        "localhost".to_owned(),
        "*.example.com".to_owned(),
        format!("{label63}.com"),
        format!("{label63}a.com"),
        vec!["abcdefghi"; 25].join("."),
        vec!["abcdefghi"; 26].join("."),
    ];
    for value in &samples {
        let ok = rules::domain_name(value).is_ok();
        agree(&pattern, Some(MAX_DOMAIN_LEN), ok, value);
    }
}

#[test]
fn health_check_patterns_agree_with_their_rules() {
    let path = compiled(HEALTH_CHECK_PATH);
    for value in [
        "/",
        "/health",
        "health",
        "/a b",
        "",
        &format!("/{}", "a".repeat(1024)),
    ] {
        let ok = rules::health_check_path(value).is_ok();
        agree(&path, Some(MAX_HEALTH_CHECK_PATH_LEN), ok, value);
    }
    let matcher = compiled(HEALTH_CHECK_MATCHER);
    // "299-200" is the one the pattern cannot refuse (low above high).
    for value in [
        "200",
        "499",
        "200-299",
        "200,202",
        "200,300-399",
        "",
        "ok",
        "100",
        "500",
        "200,",
        "2000",
        "200-",
        "+200",
        "199",
        "500-501",
    ] {
        agree(
            &matcher,
            None,
            rules::health_check_matcher(value).is_ok(),
            value,
        );
    }
}

#[test]
fn every_pattern_compiles() {
    for pattern in [
        app_name(),
        process_name(),
        ENV_NAME.to_owned(),
        secret_reference(),
        domain(),
        image_reference(false),
        image_reference(true),
        HEALTH_CHECK_PATH.to_owned(),
        HEALTH_CHECK_MATCHER.to_owned(),
        NOT_BLANK.to_owned(),
        SCHEDULE.to_owned(),
        DURATION.to_owned(),
    ] {
        compiled(&pattern);
    }
}

#[test]
fn the_duration_pattern_agrees_with_the_parser() {
    let pattern = compiled(DURATION);
    for value in [
        "", "600", "90s", "10m", "1h", "1h30m", "1h5s", "2h0m5s", "1m30s", "m", "1h1h", "1m1h",
        "10 m", "1.5h", "-5", "10d", "1h30",
    ] {
        let parsed = crate::duration::parse_seconds(value).is_some();
        agree(&pattern, None, parsed, value);
    }
}

proptest! {
    /// Digits and units in any order: the parser and the schema agree
    /// (numbers short enough that the parser never overflows).
    #[test]
    fn durations_agree_on_generated_strings(value in "([0-9]{1,4}[hms]?){0,4}[hms ]?") {
        let parsed = crate::duration::parse_seconds(&value).is_some();
        agree(&compiled(DURATION), None, parsed, &value);
    }

    #[test]
    fn names_agree_on_generated_strings(value in "[a-zA-Z0-9_.-]{0,42}") {
        agree(&compiled(&app_name()), None, rules::app_name(&value).is_ok(), &value);
        agree(&compiled(&process_name()), None, rules::process_name(&value).is_ok(), &value);
    }

    #[test]
    fn domains_agree_on_generated_strings(value in "[a-zA-Z0-9.*_-]{0,70}") {
        let ok = rules::domain_name(&value).is_ok();
        agree(&compiled(&domain()), Some(MAX_DOMAIN_LEN), ok, &value);
    }

    #[test]
    fn matchers_agree_on_generated_strings(value in "[0-9,-]{0,12}") {
        let ok = rules::health_check_matcher(&value).is_ok();
        // A range whose low end is above its high end is the rule's alone.
        let reversed = value.split(',').any(|part| matches!(
            part.split_once('-'),
            Some((low, high)) if low.len() == 3 && high.len() == 3 && low > high
        ));
        prop_assume!(!reversed);
        agree(&compiled(HEALTH_CHECK_MATCHER), None, ok, &value);
    }
}
