//! The checks of the whole text before a tree is built: characters YAML
//! does not allow, and the libyaml gate (`serde_yaml`): valid YAML, exactly
//! one document, not empty.

use std::sync::LazyLock;

use regex::Regex;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::problems::{SyntaxError, EXPECTED_MANIFEST};
use crate::diagnostic::Pos;

/// Refuses characters YAML does not allow in a text (NUL and other
/// control characters but tab and line breaks, U+FFFE, U+FFFF), at the
/// first one: libyaml reports them without a usable position.
pub(super) fn check_characters(text: &str) -> Result<(), SyntaxError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
    };
    let Some((offset, c)) = text.char_indices().find(|(_, c)| !allowed(*c)) else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let what = if c == '\0' {
        "a NUL byte".to_owned()
    } else {
        format!("the control character U+{:04X}", u32::from(c))
    };
    Err(SyntaxError::new(
        Pos::new(line, column),
        format!("invalid YAML: the text contains {what}, which YAML does not allow; manifests are plain text"),
    ))
}

/// Runs the libyaml gate: the text must be valid YAML, hold one document,
/// and that document must not be empty.
pub(super) fn check_single_document(text: &str) -> Result<(), SyntaxError> {
    let mut documents = 0usize;
    let mut first_is_null = false;
    for document in serde_yaml::Deserializer::from_str(text) {
        documents += 1;
        if documents > 1 {
            let pos = second_document_pos(text).unwrap_or(Pos::START);
            return Err(SyntaxError::new(
                pos,
                "a second YAML document starts here; a manifest file holds exactly one \
                 document (one app), so put each app in its own file",
            ));
        }
        // `Option` tells an empty document (null) from a real one without
        // building a value; duplicate keys are left to the event scan,
        // which can say where the first one is.
        let value = Option::<IgnoredAny>::deserialize(document)
            .map_err(|e| serde_syntax_error(&e, text))?;
        first_is_null = value.is_none();
    }
    if documents == 0 || first_is_null {
        return Err(SyntaxError::new(
            Pos::START,
            format!(
                "the file holds no manifest (it is empty or only comments); {EXPECTED_MANIFEST}"
            ),
        ));
    }
    Ok(())
}

/// Finds where the second document of a multi-document text starts. Only
/// used for the position of the error, so a line scan suffices: document
/// markers (`---`, `...`) only count at the start of a line.
pub(super) fn second_document_pos(text: &str) -> Option<Pos> {
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut started = 0;
    let mut open = false;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if is_marker(line, "---") {
            started += 1;
            open = true;
        } else if is_marker(line, "...") {
            open = false;
            continue;
        } else {
            let trimmed = line.trim();
            let is_filler = trimmed.is_empty() || trimmed.starts_with('#');
            let is_directive = !open && line.starts_with('%');
            if open || is_filler || is_directive {
                continue;
            }
            started += 1;
            open = true;
        }
        if started == 2 {
            return Some(Pos::new(line_no, 1));
        }
    }
    None
}

/// Converts a serde_yaml error found while checking syntax into a
/// positioned message.
pub(super) fn serde_syntax_error(error: &serde_yaml::Error, text: &str) -> SyntaxError {
    let pos = serde_error_pos(error);
    let mut message = format!("invalid YAML: {}", serde_error_message(error));
    if line_has_tab_indent(text, pos.line) {
        message.push_str("; YAML does not allow tabs for indentation, use spaces");
    }
    SyntaxError::new(pos, message)
}

/// Where serde_yaml says an error is; the start of the file if it does not.
pub(super) fn serde_error_pos(error: &serde_yaml::Error) -> Pos {
    error
        .location()
        .map_or(Pos::START, |l| Pos::new(l.line(), l.column()))
}

/// serde_yaml's message without the " at line L column C" it appends (the
/// position is reported separately).
pub(super) fn serde_error_message(error: &serde_yaml::Error) -> String {
    strip_location(&error.to_string())
}

pub(super) fn strip_location(message: &str) -> String {
    // serde_yaml writes "{problem} at line L column C" and may continue with
    // ", while parsing ... at line L column C". The first position is the
    // one reported separately; the context's position stays, it says more.
    static POSITION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r" at (line \d+ column \d+|position \d+)").expect("valid regex")
    });
    POSITION.replace(message, "").into_owned()
}

pub(super) fn line_has_tab_indent(text: &str, line: usize) -> bool {
    text.lines()
        .nth(line.saturating_sub(1))
        .is_some_and(|l| l.trim_start_matches(' ').starts_with('\t'))
}
