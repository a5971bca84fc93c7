//! Commands run without a shell; shell syntax in one that does not start a
//! shell is a warning, not an error.

use super::*;

#[test]
fn a_variable_in_a_command_without_a_shell_is_a_warning() {
    let loaded = parse_ok(&edit(&[(
        17,
        "      command: acme-inc server --port $PORT",
    )]));
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert_eq!(
        (warning.line, warning.column, warning.path.as_str()),
        (17, 16, "spec.processes.web.command")
    );
    for needle in [
        "`$PORT`",
        "without a shell",
        "sh -c 'exec acme-inc server --port $PORT'",
    ] {
        assert!(
            warning.message.contains(needle),
            "{warning}\nshould contain {needle:?}"
        );
    }
}

#[test]
fn procfile_commands_are_warned_about_at_their_line() {
    let procfile = "web: bundle exec puma -p ${PORT:-5000}\nworker: sh -c 'work --port $PORT'\n";
    let loaded = parse_manifest(Path::new(FILE), &edit(&[(17, "")]), &|path| {
        if path == Path::new(PROCFILE_PATH) {
            Ok(format!("{procfile}admin: acme-inc admin\n"))
        } else {
            Err(io::Error::new(io::ErrorKind::NotFound, "no"))
        }
    })
    .expect("valid");
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("apps/Procfile:1:6: process `web` passes `${PORT}`"),
        "{}",
        warnings[0]
    );
}

#[test]
fn commands_that_start_a_shell_or_use_no_variables_are_fine() {
    for command in [
        "      command: [sh, -c, 'exec server --port $PORT']",
        "      command: /bin/bash -lc 'server --port $PORT'",
        "      command: env A=1 sh -ec 'server $PORT'",
        "      command: server --price 5$",
        "      command: server --port 8080",
    ] {
        let loaded = parse_ok(&edit(&[(17, command)]));
        assert!(
            loaded.warnings.is_empty(),
            "{command}: {:?}",
            loaded.warnings
        );
    }
}
