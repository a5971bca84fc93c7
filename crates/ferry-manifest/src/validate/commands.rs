//! Commands: the Procfile (read from inside the manifests' directories,
//! merged with `processes`), each process's command, and warnings about
//! commands that expect a shell.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::{Reported, Validator};
use crate::diagnostic::{quote, Diagnostic, FieldPath, Pos};
use crate::limits::MAX_PROCFILE_BYTES;
use crate::procfile::{self, ProcfileEntry, ProcfileRefused};
use crate::types::{App, Command, ManifestProcess};

impl Validator<'_> {
    /// Warns about commands that use shell syntax (`$PORT`, `${VAR}`)
    /// although they do not run in a shell: ECS passes them to the program
    /// as written, and Heroku-style Procfiles expect a shell to expand them.
    pub(super) fn warn_about_shell_syntax(
        &mut self,
        app: &App,
        declared: &BTreeMap<String, ManifestProcess>,
        procfile: Option<(&Path, &[ProcfileEntry])>,
    ) {
        static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\$(\{[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*)").expect("valid regex")
        });
        for (name, process) in &app.processes {
            if runs_in_shell(&process.command) {
                continue;
            }
            let Some(variable) = process
                .command
                .iter()
                .find_map(|word| VARIABLE.find(word))
                .map(|m| m.as_str().to_owned())
            else {
                continue;
            };
            let variable = if variable.starts_with("${") {
                format!("{variable}}}")
            } else {
                variable
            };
            let written = declared.get(name).and_then(|p| p.command.as_ref());
            let (file, pos, path, line) = match (written, procfile) {
                (Some(command), _) => {
                    let path = FieldPath::of("spec.processes").key(name).key("command");
                    let line = match command {
                        Command::Line(line) => line.clone(),
                        Command::Argv(argv) => shell_words::join(argv),
                    };
                    (
                        self.file.to_owned(),
                        self.document.locate(&path),
                        path.to_string(),
                        line,
                    )
                }
                (None, Some((procfile, entries))) => {
                    let Some(entry) = entries.iter().find(|entry| &entry.name == name) else {
                        continue;
                    };
                    (
                        procfile.to_owned(),
                        Pos::new(entry.line, entry.command_column),
                        String::new(),
                        entry.command.clone(),
                    )
                }
                (None, None) => continue,
            };
            let suggestion = quote(&format!("sh -c 'exec {}'", line.replace('\'', "'\\''")));
            self.report.warning(Diagnostic::new(
                file,
                pos,
                path,
                format!(
                    "process {} passes {} to the program as written: Ferry runs commands without \
                     a shell, so variables are not expanded; to expand them, run the command \
                     through a shell, e.g. {suggestion}",
                    quote(name),
                    quote(&variable),
                ),
            ));
        }
    }

    /// Reads and parses the Procfile, if the manifest names one. `None`
    /// when there is none or it could not be used (the problem is
    /// reported).
    pub(super) fn load_procfile(
        &mut self,
        procfile: Option<&str>,
        read_procfile: &dyn Fn(&Path) -> io::Result<String>,
    ) -> Option<Vec<ProcfileEntry>> {
        let relative = procfile?;
        if relative.trim().is_empty() {
            self.error(
                "spec.procfile",
                "the procfile path is empty; give a path relative to this manifest, e.g. \
                 `Procfile`, or remove `procfile`",
            );
            return None;
        }
        let path = procfile_path(self.file, relative);
        let shown = quote(&path.display().to_string());
        let text = match read_procfile(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.error(
                    "spec.procfile",
                    format!(
                        "procfile {} not found (looked for {shown}); the path is relative \
                         to the manifest's directory",
                        quote(relative),
                    ),
                );
                return None;
            }
            Err(e) => {
                // A refusal says why itself; other errors are the system's.
                let message = match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<ProcfileRefused>())
                {
                    Some(refused) => format!("procfile {}: {refused}", quote(relative)),
                    None => format!("cannot read procfile {shown}: {e}"),
                };
                self.error("spec.procfile", message);
                return None;
            }
        };
        if text.len() > MAX_PROCFILE_BYTES {
            self.error(
                "spec.procfile",
                format!(
                    "procfile {} is {} bytes, over the limit of {MAX_PROCFILE_BYTES} bytes; a \
                     Procfile is a few `name: command` lines",
                    quote(relative),
                    text.len()
                ),
            );
            return None;
        }
        let (entries, diagnostics) = procfile::parse_entries(&path, &text);
        if diagnostics.is_empty() {
            Some(entries)
        } else {
            self.report.extend(diagnostics);
            None
        }
    }

    /// A string is split into words like a POSIX shell would, but without
    /// expansion: `$PORT` reaches the program as written. A list is used
    /// verbatim; an empty list means the image's default command.
    pub(super) fn resolve_command(
        &mut self,
        path: &FieldPath,
        command: &Command,
    ) -> Result<Vec<String>, Reported> {
        match command {
            Command::Argv(argv) => Ok(argv.clone()),
            Command::Line(line) => match shell_words::split(line) {
                Ok(argv) if argv.is_empty() => {
                    self.error_at(
                        path,
                        "the command is empty; remove `command` to use the Procfile's command or \
                         the image's default, or write `command: []` to force the image's default",
                    );
                    Err(Reported)
                }
                Ok(argv) => Ok(argv),
                Err(e) => {
                    self.error_at(
                        path,
                        format!(
                            "cannot split the command into arguments ({e}); a command string is \
                             split into words like a POSIX shell does, with quotes and \
                             backslashes but no expansion; close the quote, or give the \
                             arguments as a list"
                        ),
                    );
                    Err(Reported)
                }
            },
        }
    }
}

/// Whether `argv` runs its command through a shell that expands
/// variables: `sh -c '…'`, `/bin/bash -lc '…'`, `env X=1 sh -c '…'`.
pub(super) fn runs_in_shell(argv: &[String]) -> bool {
    const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh", "mksh", "fish"];
    let program = |word: &str| word.rsplit('/').next().unwrap_or(word).to_owned();
    let mut words = argv.iter().map(String::as_str).peekable();
    if words.peek().is_some_and(|first| program(first) == "env") {
        words.next();
        while words
            .peek()
            .is_some_and(|word| word.contains('=') || word.starts_with('-'))
        {
            words.next();
        }
    }
    let Some(shell) = words.next() else {
        return false;
    };
    SHELLS.contains(&program(shell).as_str())
        && words.any(|word| word.starts_with('-') && !word.starts_with("--") && word.contains('c'))
}

pub(super) fn split_procfile_command(entry: &ProcfileEntry) -> Vec<String> {
    // Procfile commands were split successfully when it was parsed.
    shell_words::split(&entry.command).unwrap_or_default()
}

/// The Procfile's path: relative to the manifest's directory.
pub(crate) fn procfile_path(manifest: &Path, relative: &str) -> PathBuf {
    manifest
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(relative)
}
