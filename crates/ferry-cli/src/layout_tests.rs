use std::ffi::OsStr;

use super::*;

/// The layout of an 80-column terminal with colour.
pub(crate) fn terminal_80() -> Layout {
    Layout::decide(true, Some(80), None)
}

/// The layout of a 40-column terminal without colour.
pub(crate) fn terminal_40() -> Layout {
    Layout::decide(true, Some(40), Some(OsStr::new("1")))
}

/// The layout of a pipe.
pub(crate) fn pipe() -> Layout {
    Layout::decide(false, None, None)
}

/// Every line of `text` fits `width` columns (escape codes aside).
pub(crate) fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        let visible = strip_ansi(line);
        assert!(
            visible.chars().count() <= width,
            "{} columns: {visible:?}\n{text}",
            visible.chars().count()
        );
    }
}

/// `text` without SGR escape sequences.
pub(crate) fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    assert!(Layout::decide(true, Some(80), None).colour);
    assert!(
        Layout::decide(true, Some(80), Some(OsStr::new(""))).colour,
        "an empty NO_COLOR is unset"
    );
    assert!(!Layout::decide(true, Some(80), Some(OsStr::new("1"))).colour);
    assert!(!Layout::decide(false, None, None).colour);
}

#[test]
fn only_a_terminal_has_a_width() {
    assert_eq!(Layout::decide(true, Some(80), None).width, Some(80));
    assert_eq!(Layout::decide(false, Some(80), None).width, None);
}

#[test]
fn without_colour_nothing_is_escaped() {
    let layout = Layout::decide(true, Some(80), Some(OsStr::new("1")));
    assert_eq!(layout.paint("failed", Tone::Bad), "failed");
    let mut table = layout.table(&["TYPE", "STATUS"]);
    table.add_row(vec![
        layout.cell("Ready", Tone::Plain),
        layout.cell("False", Tone::Bad),
    ]);
    let shown = table.to_string();
    assert!(!shown.contains('\x1b'), "{shown:?}");
    let piped = pipe();
    let mut table = piped.table(&["TYPE", "STATUS"]);
    table.add_row(vec![piped.cell("Ready", Tone::Good)]);
    assert!(!table.to_string().contains('\x1b'));
    assert!(!piped.line("failed", Tone::Bad).contains('\x1b'));
}

#[test]
fn colour_marks_the_status_cells_and_failure_lines() {
    let layout = terminal_80();
    assert_eq!(layout.paint("failed", Tone::Bad), "\x1b[31mfailed\x1b[0m");
    let mut table = layout.table(&["TYPE", "STATUS"]);
    table.add_row(vec![
        layout.cell("Ready", Tone::Plain),
        layout.cell("True", Tone::Good),
    ]);
    assert!(table.to_string().contains('\x1b'), "{table}");
}

#[test]
fn tables_fit_a_terminal_and_stay_whole_in_a_pipe() {
    let message = "x ".repeat(150);
    for layout in [terminal_80(), pipe()] {
        let mut table = layout.table(&["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"]);
        table.add_row(vec![
            "Degraded",
            "True",
            "ProgressDeadlineExceeded",
            "5m",
            message.trim_end(),
        ]);
        let shown = table.to_string();
        if layout.width.is_some() {
            assert_fits(&shown, 80);
        } else {
            assert!(shown.contains(message.trim_end()), "{shown}");
        }
    }
}

#[test]
fn free_lines_are_cut_on_a_terminal_only() {
    let long = "y".repeat(300);
    let cut = terminal_80().line(&long, Tone::Plain);
    assert_eq!(cut.chars().count(), 80);
    assert!(cut.ends_with('…'));
    assert_eq!(pipe().line(&long, Tone::Plain), long);
}

#[test]
fn tones_follow_what_the_condition_says() {
    use ferry_core::status::{DEGRADED, PROGRESSING, READY};
    assert_eq!(
        Tone::of_condition(READY, &ConditionStatus::True),
        Tone::Good
    );
    assert_eq!(
        Tone::of_condition(READY, &ConditionStatus::False),
        Tone::Bad
    );
    assert_eq!(
        Tone::of_condition(DEGRADED, &ConditionStatus::True),
        Tone::Bad
    );
    assert_eq!(
        Tone::of_condition(PROGRESSING, &ConditionStatus::True),
        Tone::Pending
    );
    assert_eq!(
        Tone::of_condition(DEGRADED, &ConditionStatus::Unknown),
        Tone::Pending
    );
}

#[test]
fn log_lines_cannot_drive_the_terminal() {
    assert_eq!(printable("a\x1b[2Jb\r"), "a [2Jb ");
}
