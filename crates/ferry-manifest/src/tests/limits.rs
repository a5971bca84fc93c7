//! Limits are checked before anything is written, with located errors: the
//! manifest's size, the task definition's size, and bounded quotes.

use std::fs;

use super::*;

#[test]
fn a_manifest_text_over_the_limit_is_refused_at_the_start() {
    let text = format!("{VALID}# {}\n", "x".repeat(MAX_MANIFEST_BYTES));
    let errors = errors(&text);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pos(), Pos::START);
    assert!(
        errors[0]
            .message
            .contains(&format!("over the limit of {MAX_MANIFEST_BYTES} bytes")),
        "{}",
        errors[0]
    );
}

#[test]
fn a_large_file_is_refused_by_its_size_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.yaml");
    // A sparse file: its size says 23 MB. The message gives that size,
    // which only the metadata knows: a bounded read would stop at the
    // limit.
    let file = fs::File::create(&path).expect("create");
    file.set_len(23_000_000).expect("set_len");
    let errors = load_paths(&[&path]).expect_err("too large");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors.0[0].to_string().split(": ").next(),
        Some(&*format!("{}:1:1", path.display()))
    );
    assert!(
        errors.0[0].message.contains("23000000 bytes"),
        "{}",
        errors.0[0]
    );
    assert!(errors.0[0].message.contains("1048576"), "{}", errors.0[0]);
}

#[test]
fn the_task_definition_size_limit_is_checked_at_env() {
    let env: String = (0..84)
        .map(|i| format!("    VAR_{i}: {}\n", "v".repeat(1000)))
        .collect();
    let text = edit(&[(9, env.trim_end())]);
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{}", Diagnostics(errors.clone()));
    let error = &errors[0];
    assert_eq!(
        (error.line, error.column, error.path.as_str()),
        (8, 3, "spec.env")
    );
    for needle in [
        "processes `admin`, `clock`, `web`, `worker`",
        "65536 bytes (64 KiB)",
        "`env` accounts for",
    ] {
        assert!(
            error.message.contains(needle),
            "{error}\nshould contain {needle:?}"
        );
    }
    // Just under: fine.
    let env: String = (0..50)
        .map(|i| format!("    VAR_{i}: {}\n", "v".repeat(1000)))
        .collect();
    parse_ok(&edit(&[(9, env.trim_end())]));
}

#[test]
fn the_estimate_is_public_and_an_upper_bound() {
    let loaded = parse_ok(VALID);
    let size = task_definition_size(&loaded.app, "web").expect("web");
    let json = serde_json::to_string(&loaded.app).expect("serializes");
    // The whole app's JSON holds the web process's parts and more; the
    // estimate is above what the parts take.
    assert!(size.total() > size.env + size.secrets + size.command + size.image);
    assert!(size.total() < json.len() + TASK_DEFINITION_ALLOWANCE);
    assert!(size.total() <= MAX_TASK_DEFINITION_BYTES);
}

#[test]
fn errors_quote_a_huge_image_and_key_only_in_part() {
    let image = format!("Acme/{}", "x".repeat(200_000));
    let key = format!("bad-{}", "K".repeat(200_000));
    // YAML allows an implicit key of at most 1024 characters; a longer
    // one must be written as an explicit key.
    let text = edit(&[
        (6, &format!("  image: {image}")),
        (9, &format!("    ? {key}\n    : production")),
    ]);
    let errors = errors(&text);
    // The image, the task definition's size (at `env`), the key.
    assert_eq!(errors.len(), 3, "{}", Diagnostics(errors.clone()));
    for error in &errors {
        let rendered = error.to_string();
        assert!(
            rendered.len() < 1500,
            "{} bytes: {}",
            rendered.len(),
            &rendered[..300]
        );
        assert!(rendered.len() < 1500, "{rendered}");
    }
    assert!(errors[0].message.contains("200005 bytes"), "{}", errors[0]);
    assert!(errors[2].path.len() < 100, "{}", errors[2].path);
}
