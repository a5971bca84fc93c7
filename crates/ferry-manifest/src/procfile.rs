//! Procfiles: `name: command` lines, as Heroku and foreman read them.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{quote, Diagnostic, Diagnostics, Pos};
use crate::rules;

/// Why [`crate::load_paths`] would not read a Procfile, carried inside the
/// `io::Error` its reading callback returns: the message is Ferry's own,
/// and validation shows it as it is.
#[derive(Debug)]
pub(crate) struct ProcfileRefused(pub(crate) String);

impl std::fmt::Display for ProcfileRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProcfileRefused {}

/// One process line of a Procfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcfileEntry {
    pub(crate) name: String,
    pub(crate) command: String,
    pub(crate) line: usize,
    /// Column where the command starts, for errors about it.
    pub(crate) command_column: usize,
}

/// Parses a Procfile: one `name: command` per line; blank lines and lines
/// starting with `#` are ignored, and surrounding whitespace is not part of
/// the name or the command.
///
/// Returns `(name, command, line)` for each process, in file order. Lines
/// without a name or a command, names that are not valid Ferry process
/// names, commands that cannot be split into arguments (an unclosed quote)
/// and names defined twice are all errors, each located at `file`'s own
/// line and column.
///
/// # Errors
///
/// Every problem in the file, in line order.
pub fn parse_procfile(
    file: &Path,
    text: &str,
) -> Result<Vec<(String, String, usize)>, Diagnostics> {
    let (entries, diagnostics) = parse_entries(file, text);
    if diagnostics.is_empty() {
        Ok(entries
            .into_iter()
            .map(|entry| (entry.name, entry.command, entry.line))
            .collect())
    } else {
        Err(Diagnostics(diagnostics))
    }
}

/// Like [`parse_procfile`], but returns the valid entries alongside the
/// problems, and the command's column.
pub(crate) fn parse_entries(file: &Path, text: &str) -> (Vec<ProcfileEntry>, Vec<Diagnostic>) {
    let mut entries = Vec::new();
    let mut diagnostics = Vec::new();
    let mut first_line_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut error = |line: usize, column: usize, message: String| {
        diagnostics.push(Diagnostic::new(file, Pos::new(line, column), "", message));
    };
    // A UTF-8 byte order mark is not part of the first process name.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw_line.trim_start();
        let indent = raw_line.chars().count() - content.chars().count();
        let content = content.trim_end();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let name_column = indent + 1;
        let Some((name, rest)) = content.split_once(':') else {
            error(
                line,
                name_column,
                "malformed Procfile line: expected `name: command`, e.g. `web: bin/server`"
                    .to_owned(),
            );
            continue;
        };
        if name.is_empty() {
            error(
                line,
                name_column,
                "malformed Procfile line: the process name before ':' is missing; expected \
                 `name: command`, e.g. `web: bin/server`"
                    .to_owned(),
            );
            continue;
        }
        let command = rest.trim_start();
        let command_column = name_column
            + name.chars().count()
            + 1
            + (rest.chars().count() - command.chars().count());
        if let Err(message) = rules::process_name(name) {
            error(line, name_column, message);
            continue;
        }
        if command.is_empty() {
            error(
                line,
                command_column,
                format!(
                    "process {} has no command; expected `<name>: command`",
                    quote(name)
                ),
            );
            continue;
        }
        if let Err(e) = shell_words::split(command) {
            error(
                line,
                command_column,
                format!(
                    "cannot split the command of {} into arguments ({e}); commands are split \
                     into words like a POSIX shell does, with quotes and backslashes but without \
                     any expansion",
                    quote(name)
                ),
            );
            continue;
        }
        if let Some(first) = first_line_of.get(name) {
            error(
                line,
                name_column,
                format!(
                    "duplicate process {} (first defined on line {first}); each process \
                     name may appear once",
                    quote(name)
                ),
            );
            continue;
        }
        first_line_of.insert(name.to_owned(), line);
        entries.push(ProcfileEntry {
            name: name.to_owned(),
            command: command.to_owned(),
            line,
            command_column,
        });
    }
    (entries, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_standard_lines_and_skips_comments() {
        let text = "# processes\nweb: bundle exec puma -C config/puma.rb\n\n  worker:bin/worker --queue default  \r\n#clock: bin/clock\n";
        let entries = parse_procfile(Path::new("Procfile"), text).expect("valid");
        assert_eq!(
            entries,
            vec![
                (
                    "web".to_owned(),
                    "bundle exec puma -C config/puma.rb".to_owned(),
                    2
                ),
                (
                    "worker".to_owned(),
                    "bin/worker --queue default".to_owned(),
                    4
                ),
            ]
        );
        let (entries, _) = parse_entries(Path::new("Procfile"), text);
        assert_eq!(entries[0].command_column, 6);
        assert_eq!(entries[1].command_column, 10);
    }

    #[test]
    fn empty_procfile_has_no_processes() {
        assert_eq!(parse_procfile(Path::new("P"), ""), Ok(vec![]));
        assert_eq!(parse_procfile(Path::new("P"), "# only\n\n"), Ok(vec![]));
    }

    #[test]
    fn every_bad_line_is_reported_where_it_is() {
        let text = "web: bin/web\nno colon here\n: bin/x\nWeb_1: bin/y\nempty:\nquote: echo 'oops\nweb: bin/again\n";
        let errors = parse_procfile(Path::new("app/Procfile"), text).expect_err("invalid");
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(rendered.len(), 6, "{rendered:#?}");
        assert!(rendered[0].starts_with("app/Procfile:2:1: malformed Procfile line"));
        assert!(rendered[1].starts_with("app/Procfile:3:1: malformed Procfile line"));
        assert!(rendered[2].starts_with("app/Procfile:4:1: invalid process name `Web_1`"));
        assert!(rendered[3].starts_with("app/Procfile:5:7: process `empty` has no command"));
        assert!(rendered[4].starts_with("app/Procfile:6:8: cannot split the command of `quote`"));
        assert!(rendered[5]
            .starts_with("app/Procfile:7:1: duplicate process `web` (first defined on line 1)"));
    }
}
