//! Located problems: what every parse and validation error in this crate is.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem, located in a file.
///
/// `Display` renders `{file}:{line}:{column}: {path}: {message}` (without
/// `{path}: ` when `path` is empty), the form editors and CI log viewers
/// turn into links. `line` and `column` are 1-based and count characters,
/// not bytes. Problems with a whole file (it is missing, empty, unreadable)
/// are reported at 1:1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {}{message}", .file.display(), PathPrefix(.path))]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Field path in the manifest, e.g. `spec.processes.web.cpu` or
    /// `spec.domains[1]`; empty when the problem is not about one field.
    pub path: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        file: impl Into<PathBuf>,
        pos: Pos,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line: pos.line,
            column: pos.column,
            path: path.into(),
            message: message.into(),
        }
    }

    /// Where the problem is, as a position.
    pub fn pos(&self) -> Pos {
        Pos::new(self.line, self.column)
    }
}

struct PathPrefix<'a>(&'a str);

impl fmt::Display for PathPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", self.0)
        }
    }
}

/// Every problem found in a run, in file order (the order files were
/// loaded, then line and column within each file). `Display` prints one
/// diagnostic per line.
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("{}", Lines(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Self(vec![diagnostic])
    }
}

impl From<Vec<Diagnostic>> for Diagnostics {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        Self(diagnostics)
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

struct Lines<'a>(&'a [Diagnostic]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, diagnostic) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of a file: where whole-file problems are reported.
    pub const START: Pos = Pos { line: 1, column: 1 };

    pub fn new(line: usize, column: usize) -> Self {
        // Never hand out a 0, whatever a parser reports: positions are 1-based.
        Self {
            line: line.max(1),
            column: column.max(1),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A field path inside a manifest, rendered like `spec.processes.web.cpu`
/// or `spec.domains[0].name`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FieldPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

impl FieldPath {
    pub(crate) fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses a dotted path of plain keys, for paths written in code.
    pub(crate) fn of(dotted: &str) -> Self {
        Self(
            dotted
                .split('.')
                .filter(|key| !key.is_empty())
                .map(|key| Segment::Key(key.to_owned()))
                .collect(),
        )
    }

    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self(segments)
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    pub(crate) fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub(crate) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    /// Whether `self` is `prefix` or inside it.
    pub(crate) fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }
}

impl fmt::Display for FieldPath {
    /// Keys are user input (env names, process names), so each is shortened
    /// like [`quote`] does: a diagnostic's path stays readable whatever the
    /// file holds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{}", Shortened(key))?,
                Segment::Key(key) => write!(f, ".{}", Shortened(key))?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Most characters of a user's value a message repeats; see [`quote`].
pub(crate) const MAX_QUOTED_CHARS: usize = 60;

/// A value from the manifest, as a message shows it: in backticks, with
/// control characters escaped (a value must not drive the terminal that
/// shows it), and cut after [`MAX_QUOTED_CHARS`] characters with its full
/// size in bytes, so that a 200 KB value does not make a 200 KB message.
/// Cuts only at a character boundary.
pub(crate) fn quote(value: &str) -> String {
    format!("`{}`", Shortened(value))
}

/// Renders a user's value shortened and escaped, as [`quote`] describes,
/// without the backticks.
pub(crate) struct Shortened<'a>(pub(crate) &'a str);

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        let mut chars = value.char_indices();
        for (_, c) in chars.by_ref().take(MAX_QUOTED_CHARS) {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        if chars.next().is_some() {
            write!(f, "… ({} bytes)", value.len())?;
        }
        Ok(())
    }
}

/// Collects the diagnostics of one file: its errors, and its warnings
/// (problems that do not stop the file from loading).
pub(crate) struct Report {
    file: PathBuf,
    diagnostics: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Report {
    pub(crate) fn new(file: &Path) -> Self {
        Self {
            file: file.to_owned(),
            diagnostics: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, pos: Pos, path: &FieldPath, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(&self.file, pos, path.to_string(), message));
    }

    pub(crate) fn warning(&mut self, diagnostic: Diagnostic) {
        self.warnings.push(diagnostic);
    }

    pub(crate) fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.diagnostics.extend(diagnostics);
    }

    /// How many errors (not warnings) were reported: a check compares it
    /// before and after to tell whether it found any.
    pub(crate) fn error_count(&self) -> usize {
        self.diagnostics.len()
    }

    /// Whether any error (not a warning) was reported.
    pub(crate) fn has_errors(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    /// The errors in file order: this file's by position first, then
    /// those of files it refers to (its Procfile), each by position.
    pub(crate) fn into_sorted(self) -> Vec<Diagnostic> {
        self.into_sorted_with_warnings().0
    }

    /// The errors and the warnings, each sorted like
    /// [`Report::into_sorted`].
    pub(crate) fn into_sorted_with_warnings(self) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let own = &self.file;
        let sort = |mut diagnostics: Vec<Diagnostic>| {
            // A stable sort keeps the order of equal positions as found.
            diagnostics.sort_by(|a, b| {
                (&a.file != own, &a.file, a.pos()).cmp(&(&b.file != own, &b.file, b.pos()))
            });
            diagnostics
        };
        (sort(self.diagnostics), sort(self.warnings))
    }
}

/// Where each diagnostic is: line, column and field path, for tests that
/// compare many at once.
#[cfg(test)]
pub(crate) fn locations(diagnostics: &[Diagnostic]) -> Vec<(usize, usize, &str)> {
    diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.path.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_path_only_when_present() {
        let with_path = Diagnostic::new("app.yaml", Pos::new(3, 7), "spec.image", "image is empty");
        assert_eq!(
            with_path.to_string(),
            "app.yaml:3:7: spec.image: image is empty"
        );
        let without_path = Diagnostic::new("app.yaml", Pos::START, "", "file is empty");
        assert_eq!(without_path.to_string(), "app.yaml:1:1: file is empty");
    }

    #[test]
    fn diagnostics_print_one_per_line() {
        let all = Diagnostics(vec![
            Diagnostic::new("a.yaml", Pos::new(1, 1), "kind", "bad kind"),
            Diagnostic::new("b.yaml", Pos::new(2, 3), "", "bad file"),
        ]);
        assert_eq!(
            all.to_string(),
            "a.yaml:1:1: kind: bad kind\nb.yaml:2:3: bad file"
        );
    }

    #[test]
    fn field_paths_render_keys_and_indices() {
        let path = FieldPath::of("spec.domains").index(2).key("name");
        assert_eq!(path.to_string(), "spec.domains[2].name");
        assert_eq!(FieldPath::root().to_string(), "");
    }

    #[test]
    fn quoted_values_are_bounded_and_escaped() {
        assert_eq!(quote("acme"), "`acme`");
        assert_eq!(quote("a\u{1b}[31mb\n"), "`a\\u{1b}[31mb\\n`");
        let long = "é".repeat(100_000);
        let quoted = quote(&long);
        assert!(quoted.starts_with(&format!("`{}… ", "é".repeat(MAX_QUOTED_CHARS))));
        assert!(quoted.ends_with("(200000 bytes)`"), "{quoted}");
        assert!(quoted.chars().count() < MAX_QUOTED_CHARS + 30);
        let exactly = "x".repeat(MAX_QUOTED_CHARS);
        assert_eq!(quote(&exactly), format!("`{exactly}`"));
        let key = "K".repeat(200_000);
        let path = FieldPath::of("spec.env").key(&key).to_string();
        assert!(path.len() < 100, "{path}");
    }

    #[test]
    fn positions_are_never_zero() {
        assert_eq!(Pos::new(0, 0), Pos::START);
    }
}
