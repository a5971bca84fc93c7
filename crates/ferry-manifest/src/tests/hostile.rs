//! Hostile input: each case gets a located error quickly, without a panic,
//! a stack overflow or a memory blow-up.

use std::time::{Duration, Instant};

use super::*;

/// Parses `text`, which must fail within seconds, with every diagnostic
/// inside the text and of bounded length; returns the diagnostics.
#[track_caller]
fn refused_quickly(text: &str) -> Vec<Diagnostic> {
    let started = Instant::now();
    let errors = errors(text);
    let elapsed = started.elapsed();
    // Generous: tests run unoptimized, and the machine is shared.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    let lines = text.lines().count();
    for error in &errors {
        assert!(error.line >= 1 && error.line <= lines + 1, "{error}");
        assert!(
            error.to_string().len() < 2000,
            "{} bytes",
            error.to_string().len()
        );
    }
    errors
}

#[test]
fn billion_laughs() {
    let mut text = String::from("apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  env:\n    A0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..20 {
        let prev = i - 1;
        let refs = vec![format!("*a{prev}"); 10].join(", ");
        text.push_str(&format!("    A{i}: &a{i} [{refs}]\n"));
    }
    let errors = refused_quickly(&text);
    assert!(errors[0].line >= 7, "{}", errors[0]);
}

#[test]
fn very_deep_nesting() {
    for opener in ["[", "{a: ", "- "] {
        let text = format!("{VALID}  x: {}\n", opener.repeat(100_000));
        refused_quickly(&text);
    }
    // Deep but closed, inside a real field.
    let text = edit(&[(
        9,
        &format!(
            "    RAILS_ENV: {}{}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
    )]);
    refused_quickly(&text);
}

#[test]
fn a_huge_single_value() {
    let errors = refused_quickly(&edit(&[(6, &format!("  image: {}", "A".repeat(900_000)))]));
    // Not an image reference, and too large for a task definition.
    let found: Vec<(usize, &str)> = errors.iter().map(|d| (d.line, d.path.as_str())).collect();
    assert_eq!(found, vec![(6, "spec.image"), (6, "spec.image")]);
}

#[test]
fn nul_and_control_bytes() {
    let errors = refused_quickly(&edit(&[(6, "  image: acme\u{0}inc")]));
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].column), (6, 14), "{}", errors[0]);
    assert!(errors[0].message.contains("NUL"), "{}", errors[0]);
    let errors = refused_quickly(&edit(&[(9, "    RAILS_ENV: a\u{7}b")]));
    assert_eq!((errors[0].line, errors[0].column), (9, 17), "{}", errors[0]);
}

#[test]
fn a_byte_order_mark_keeps_positions() {
    let errors = refused_quickly(&format!("\u{feff}{}", edit(&[(6, "  image: [x")])));
    assert!(errors[0].line >= 6, "{}", errors[0]);
    let errors = refused_quickly(&format!("\u{feff}{}", edit(&[(4, "  name: Acme")])));
    assert_eq!((errors[0].line, errors[0].column), (4, 9));
    // A BOM in the middle is content, and not valid there.
    refused_quickly(&format!("{VALID}\u{feff}x: 1\n"));
}

#[test]
fn values_with_terminal_escapes_are_escaped_in_messages() {
    let errors = refused_quickly(&edit(&[(4, "  name: \"a\\e[2Jb\"")]));
    let rendered = errors[0].to_string();
    assert!(!rendered.contains('\u{1b}'), "{rendered:?}");
    assert!(rendered.contains("\\u{1b}"), "{rendered:?}");
}

#[test]
fn many_problems_are_bounded() {
    let env: String = (0..2000).map(|i| format!("    {i}bad: x\n")).collect();
    let errors = refused_quickly(&edit(&[(9, env.trim_end())]));
    assert_eq!(errors.len(), crate::load::MAX_DIAGNOSTICS_PER_FILE + 1);
    let last = errors.last().map(ToString::to_string).unwrap_or_default();
    // 2000 names, and the task definition those 2000 entries make too
    // large.
    assert!(last.contains("1501 more problem(s)"), "{last}");
}
