//! End-to-end tests of the public API: parsing, validation, resolution and
//! loading, plus the sample manifests shipped in the repository.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use crate::*;

// Issue 10: one run reports every problem; hints fit what was written;
// limits; Procfile confinement; shell-syntax warnings; hostile input.
mod autoscaling;
mod corpus;
mod every_problem;
mod hints;
mod hostile;
mod limits;
mod procfile_confinement;
mod progress_deadline;
mod rollout;
mod schedules;
mod shell_warnings;
mod tasks;

const FILE: &str = "apps/acme.yaml";
const PROCFILE_PATH: &str = "apps/Procfile";

/// A manifest that uses every feature. Tests edit single lines of it, so
/// line numbers matter: keep them in sync with the comments.
const VALID: &str = "\
apiVersion: ferry/v1
kind: App
metadata:
  name: acme-inc
spec:
  image: remind101/acme-inc:latest
  procfile: Procfile
  env:
    RAILS_ENV: production
  secrets:
    DATABASE_URL: arn:aws:ssm:us-east-1:123456789012:parameter/acme/db
  domains:
    - acme.example.com
    - {name: admin.example.com, process: admin}
  processes:
    web:
      command: acme-inc server --port 8080
      scale: 2
      cpu: 512
      port: 8080
      healthCheck: {path: /health}
    admin:
      port: 9090
    worker:
      memory: 3072
";
// Lines:   4 name, 6 image, 7 procfile, 9 env, 11 secret, 13/14 domains,
//         16 web, 17 command, 18 scale, 19 cpu, 20 port, 21 healthCheck,
//         22 admin, 23 admin port, 24 worker, 25 worker memory.

const PROCFILE: &str = "\
web: bundle exec puma
worker: acme-inc worker --queue \"high priority\"
clock: acme-inc clock
admin: acme-inc admin
";

fn read_procfile(path: &Path) -> io::Result<String> {
    if path == Path::new(PROCFILE_PATH) {
        Ok(PROCFILE.to_owned())
    } else {
        Err(io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

fn parse(text: &str) -> Result<LoadedApp, Diagnostics> {
    parse_manifest(Path::new(FILE), text, &read_procfile)
}

fn parse_ok(text: &str) -> LoadedApp {
    match parse(text) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("expected a valid manifest, got:\n{diagnostics}"),
    }
}

/// `VALID` with lines replaced (1-based); an empty replacement removes the
/// line.
fn edit(edits: &[(usize, &str)]) -> String {
    let mut lines: Vec<Option<String>> = VALID.lines().map(|l| Some(l.to_owned())).collect();
    for (line, content) in edits {
        lines[line - 1] = (!content.is_empty()).then(|| (*content).to_owned());
    }
    let mut text: String = lines.into_iter().flatten().collect::<Vec<_>>().join("\n");
    text.push('\n');
    text
}

fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(diagnostics) => diagnostics.0,
    }
}

/// Asserts that `text` has exactly one problem, at `line:column`, about
/// `path`, whose message contains each of `contains`.
#[track_caller]
fn assert_one_error(text: &str, line: usize, column: usize, path: &str, contains: &[&str]) {
    let errors = errors(text);
    assert_eq!(
        errors.len(),
        1,
        "expected one error, got:\n{}",
        Diagnostics(errors.clone())
    );
    let error = &errors[0];
    assert_eq!(
        (error.line, error.column, error.path.as_str()),
        (line, column, path),
        "{error}"
    );
    for needle in contains {
        assert!(
            error.message.contains(needle),
            "{error}\nshould contain {needle:?}"
        );
    }
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

mod resolution {
    use super::*;

    #[test]
    fn a_process_that_sets_nothing_resolves_to_the_default_process() {
        let loaded = parse_ok(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: bare\nspec:\n  image: acme/bare:1\n  processes:\n    web: {}\n",
        );
        assert_eq!(loaded.app.processes["web"], Process::default());
    }

    #[test]
    fn a_full_manifest_resolves_with_the_procfile_merged_and_defaults_filled() {
        let loaded = parse_ok(VALID);
        assert_eq!(loaded.file, PathBuf::from(FILE));
        assert_eq!(loaded.text, VALID);
        assert_eq!(loaded.manifest.metadata.name, "acme-inc");
        let process = |command: Vec<String>, scale, cpu, memory, port: Option<u16>| Process {
            command,
            scale,
            cpu,
            memory,
            port,
            ..Default::default()
        };
        let mut web = process(
            argv(&["acme-inc", "server", "--port", "8080"]),
            2,
            512,
            1024,
            Some(8080),
        );
        web.health_check = Some(HealthCheck {
            path: Some("/health".to_owned()),
            ..HealthCheck::default()
        });
        let expected = App {
            name: "acme-inc".to_owned(),
            image: "remind101/acme-inc:latest".to_owned(),
            env: BTreeMap::from([("RAILS_ENV".to_owned(), "production".to_owned())]),
            secrets: BTreeMap::from([(
                "DATABASE_URL".to_owned(),
                "arn:aws:ssm:us-east-1:123456789012:parameter/acme/db".to_owned(),
            )]),
            domains: vec![
                Domain {
                    name: "acme.example.com".to_owned(),
                    process: "web".to_owned(),
                },
                Domain {
                    name: "admin.example.com".to_owned(),
                    process: "admin".to_owned(),
                },
            ],
            processes: BTreeMap::from([
                // Manifest command wins over the Procfile's.
                ("web".to_owned(), web),
                // Procfile command, manifest port.
                (
                    "admin".to_owned(),
                    process(argv(&["acme-inc", "admin"]), 1, 256, 512, Some(9090)),
                ),
                // Procfile command with a quoted word; memory picks the CPU.
                (
                    "worker".to_owned(),
                    process(
                        argv(&["acme-inc", "worker", "--queue", "high priority"]),
                        1,
                        512,
                        3072,
                        None,
                    ),
                ),
                // Only in the Procfile: all defaults.
                (
                    "clock".to_owned(),
                    process(
                        argv(&["acme-inc", "clock"]),
                        DEFAULT_SCALE,
                        DEFAULT_CPU,
                        DEFAULT_MEMORY,
                        None,
                    ),
                ),
            ]),
            ..Default::default()
        };
        assert_eq!(loaded.app, expected);
    }

    #[test]
    fn manifest_only_processes_without_command_use_the_image_default() {
        let loaded = parse_ok(&edit(&[(7, ""), (12, ""), (13, ""), (14, "")]));
        assert_eq!(loaded.app.processes["admin"].command, Vec::<String>::new());
        assert_eq!(loaded.app.processes["worker"].command, Vec::<String>::new());
        assert!(!loaded.app.processes.contains_key("clock"));
    }

    #[test]
    fn command_strings_are_split_without_expansion_and_lists_are_verbatim() {
        let cases: [(&str, Vec<String>); 5] = [
            (
                r#"command: sh -c 'echo "$HOME" && exit 1' \$x"#,
                argv(&["sh", "-c", r#"echo "$HOME" && exit 1"#, "$x"]),
            ),
            (
                "command: bin/server --port $PORT --name 'a b'",
                argv(&["bin/server", "--port", "$PORT", "--name", "a b"]),
            ),
            (
                "command: ['bin/server', '--name', 'a b', '$PORT', '']",
                argv(&["bin/server", "--name", "a b", "$PORT", ""]),
            ),
            ("command: [\"a  b\"]", argv(&["a  b"])),
            // An empty list overrides the Procfile with the image's CMD.
            ("command: []", Vec::new()),
        ];
        for (line, expected) in cases {
            let loaded = parse_ok(&edit(&[(17, &format!("      {line}"))]));
            assert_eq!(loaded.app.processes["web"].command, expected, "{line}");
        }
    }

    #[test]
    fn cpu_and_memory_defaults_pick_the_smallest_valid_size() {
        let cases = [
            (("", ""), (256, 512)),
            (("cpu: 256", ""), (256, 512)),
            (("cpu: 1024", ""), (1024, 2048)),
            (("cpu: 16384", ""), (16384, 32768)),
            (("", "memory: 2048"), (256, 2048)),
            (("", "memory: 4096"), (512, 4096)),
            (("", "memory: 30720"), (4096, 30720)),
            (("", "memory: 122880"), (16384, 122880)),
            (("cpu: 4096", "memory: 16384"), (4096, 16384)),
        ];
        for ((cpu, memory), expected) in cases {
            let text = edit(&[
                (19, &format!("      {cpu}")),
                (21, &format!("      {memory}")),
            ]);
            let web = &parse_ok(&text).app.processes["web"];
            assert_eq!((web.cpu, web.memory), expected, "{cpu:?} {memory:?}");
        }
    }

    #[test]
    fn null_optional_fields_mean_unset() {
        let loaded = parse_ok(&edit(&[
            (7, "  procfile: ~"),
            (8, "  env:"),
            (9, ""),
            (10, "  secrets:"),
            (11, ""),
            (12, "  domains:"),
            (13, ""),
            (14, ""),
            (17, "      command:"),
            (18, "      scale: ~"),
            (21, "      healthCheck:"),
        ]));
        assert!(loaded.app.env.is_empty() && loaded.app.secrets.is_empty());
        // serde_yaml takes an empty value as an empty map, but not `null`.
        assert_one_error(
            &edit(&[(10, "  secrets: null"), (11, "")]),
            10,
            12,
            "spec.secrets",
            &["expected a mapping of names to values, found nothing (null)"],
        );
        assert!(loaded.app.domains.is_empty());
        let web = &loaded.app.processes["web"];
        assert_eq!(
            (web.scale, web.command.len(), web.health_check.clone()),
            (1, 0, None)
        );
    }

    #[test]
    fn scalars_in_env_are_taken_as_written() {
        let loaded = parse_ok(&edit(&[(
            9,
            "    {PORT: 8080, DEBUG: true, VERSION: 1.10, EMPTY: ''}",
        )]));
        let env: Vec<(&str, &str)> = loaded
            .app
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            env,
            vec![
                ("DEBUG", "true"),
                ("EMPTY", ""),
                ("PORT", "8080"),
                ("VERSION", "1.10")
            ]
        );
    }

    #[test]
    fn the_procfile_is_read_relative_to_the_manifest() {
        let asked = std::cell::RefCell::new(Vec::new());
        let reader = |path: &Path| {
            asked.borrow_mut().push(path.to_owned());
            Ok("web: a\n".to_owned())
        };
        let text = edit(&[
            (7, "  procfile: procs/Procfile.web"),
            (12, ""),
            (13, ""),
            (14, ""),
            (22, ""),
            (23, ""),
        ]);
        parse_manifest(Path::new("repo/apps/acme.yaml"), &text, &reader).expect("valid");
        parse_manifest(Path::new("acme.yaml"), &text, &reader).expect("valid");
        assert_eq!(
            asked.into_inner(),
            vec![
                PathBuf::from("repo/apps/procs/Procfile.web"),
                PathBuf::from("procs/Procfile.web")
            ]
        );
    }
}

mod rules {
    use super::*;

    #[test]
    fn api_version_and_kind() {
        assert_one_error(
            &edit(&[(1, "apiVersion: v1")]),
            1,
            13,
            "apiVersion",
            &["`ferry/v1`"],
        );
        assert_one_error(&edit(&[(2, "kind: Deployment")]), 2, 7, "kind", &["`App`"]);
    }

    #[test]
    fn app_name() {
        assert_one_error(
            &edit(&[(4, "  name: Acme_Inc")]),
            4,
            9,
            "metadata.name",
            &["uppercase", "1 to 40", "AWS"],
        );
        let long = format!("  name: {}", "a".repeat(41));
        assert_one_error(
            &edit(&[(4, &long)]),
            4,
            9,
            "metadata.name",
            &["41 characters"],
        );
        assert_one_error(
            &edit(&[(4, "  name: acme_inc")]),
            4,
            9,
            "metadata.name",
            &["'_'"],
        );
    }

    #[test]
    fn process_names_in_the_manifest_and_the_procfile() {
        assert_one_error(
            &edit(&[(24, "    Worker_1:")]),
            24,
            5,
            "spec.processes.Worker_1",
            &["invalid process name", "1 to 24"],
        );
        let long = format!("    {}:", "w".repeat(25));
        let errors = errors(&edit(&[(24, &long)]));
        assert_eq!(errors.len(), 1, "{}", Diagnostics(errors.clone()));
        assert!(errors[0].message.contains("25 characters"));

        let text = edit(&[(7, "  procfile: Procfile.bad")]);
        let reader = |path: &Path| {
            assert_eq!(path, Path::new("apps/Procfile.bad"));
            Ok("web: a\nweb_2: b\n".to_owned())
        };
        let errors = parse_manifest(Path::new(FILE), &text, &reader).expect_err("bad procfile");
        let rendered: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(rendered.len(), 1, "{rendered:#?}");
        assert!(
            rendered[0].starts_with("apps/Procfile.bad:2:1: invalid process name `web_2`"),
            "{}",
            rendered[0]
        );
    }

    #[test]
    fn at_least_one_process() {
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n";
        assert_one_error(text, 4, 1, "spec.processes", &["no processes", "Procfile"]);
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  processes: {}\n";
        assert_one_error(text, 6, 3, "spec.processes", &["no processes"]);
        // An empty Procfile does not count either.
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  procfile: P\n";
        let reader = |_: &Path| Ok("# nothing yet\n".to_owned());
        let errors = parse_manifest(Path::new("a.yaml"), text, &reader).expect_err("no processes");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn scale() {
        for (value, column) in [("-1", 14), ("1001", 14), ("99999999999", 14)] {
            assert_one_error(
                &edit(&[(18, &format!("      scale: {value}"))]),
                18,
                column,
                "spec.processes.web.scale",
                &["0 to 1000"],
            );
        }
        for ok in ["0", "1000"] {
            parse_ok(&edit(&[(18, &format!("      scale: {ok}"))]));
        }
    }

    #[test]
    fn cpu_and_memory() {
        assert_one_error(
            &edit(&[(19, "      cpu: 300")]),
            19,
            12,
            "spec.processes.web.cpu",
            &["256, 512, 1024, 2048, 4096, 8192 or 16384"],
        );
        assert_one_error(
            &edit(&[(19, "      cpu: 1024"), (21, "      memory: 1024")]),
            21,
            15,
            "spec.processes.web.memory",
            &["2048 to 8192 in steps of 1024"],
        );
        assert_one_error(
            &edit(&[(19, "      cpu: 256"), (21, "      memory: 1536")]),
            21,
            15,
            "spec.processes.web.memory",
            &["512, 1024 or 2048"],
        );
        assert_one_error(
            &edit(&[(25, "      memory: 1000")]),
            25,
            15,
            "spec.processes.worker.memory",
            &["no size with this memory", "(cpu 256)", "(cpu 16384)"],
        );
    }

    #[test]
    fn port() {
        for value in ["0", "65536", "-80"] {
            assert_one_error(
                &edit(&[(23, &format!("      port: {value}"))]),
                23,
                13,
                "spec.processes.admin.port",
                &["1 to 65535"],
            );
        }
        parse_ok(&edit(&[(23, "      port: 65535")]));
    }

    #[test]
    fn image() {
        assert_one_error(
            &edit(&[(6, "  image: Remind101/Acme-Inc:latest")]),
            6,
            10,
            "spec.image",
            &["lowercase", "remind101/acme-inc:latest"],
        );
        assert_one_error(
            &edit(&[(6, "  image: ''")]),
            6,
            10,
            "spec.image",
            &["empty"],
        );
        assert_one_error(
            &edit(&[(6, "  image: 'acme:'")]),
            6,
            10,
            "spec.image",
            &["e.g."],
        );
    }

    #[test]
    fn env_and_secret_names() {
        assert_one_error(
            &edit(&[(9, "    1RAILS-ENV: production")]),
            9,
            5,
            "spec.env.1RAILS-ENV",
            &["invalid env name", "DATABASE_URL"],
        );
        assert_one_error(
            &edit(&[(
                11,
                "    DATABASE.URL: arn:aws:ssm:us-east-1:123456789012:parameter/acme/db",
            )]),
            11,
            5,
            "spec.secrets.DATABASE.URL",
            &["invalid secret name"],
        );
        assert_one_error(
            &edit(&[(9, "    DATABASE_URL: postgres://localhost/acme")]),
            11,
            5,
            "spec.secrets.DATABASE_URL",
            &["both `env` and `secrets`"],
        );
    }

    #[test]
    fn secret_values_must_be_arns_and_are_not_echoed() {
        let text = edit(&[(11, "    DATABASE_URL: postgres://user:hunter2@db/acme")]);
        assert_one_error(
            &text,
            11,
            19,
            "spec.secrets.DATABASE_URL",
            &[
                "SSM parameter",
                "Secrets Manager",
                "valueFrom",
                "plain values belong in `env`",
            ],
        );
        assert!(!errors(&text)[0].to_string().contains("hunter2"));
        parse_ok(&edit(&[(
            11,
            "    DATABASE_URL: arn:aws:secretsmanager:us-west-2:123456789012:secret:acme/db-AbCdEf",
        )]));
    }

    #[test]
    fn procfile_must_exist_and_be_valid() {
        assert_one_error(
            &edit(&[(7, "  procfile: Procfile.missing")]),
            7,
            13,
            "spec.procfile",
            &[
                "not found",
                "apps/Procfile.missing",
                "relative to the manifest",
            ],
        );
        assert_one_error(
            &edit(&[(7, "  procfile: ''")]),
            7,
            13,
            "spec.procfile",
            &["empty"],
        );
        let reader = |_: &Path| Err(io::Error::new(io::ErrorKind::PermissionDenied, "denied"));
        let errors = parse_manifest(Path::new(FILE), VALID, &reader).expect_err("unreadable");
        assert_eq!(errors.len(), 1);
        assert!(
            errors.0[0].message.contains("cannot read procfile"),
            "{errors}"
        );
    }

    #[test]
    fn a_broken_procfile_does_not_cause_guesses_about_its_processes() {
        // The Procfile cannot be read, so it may hold processes: "the app
        // has no processes" would be a guess.
        let text = "apiVersion: ferry/v1\nkind: App\nmetadata: {name: a}\nspec:\n  image: x\n  procfile: Nope\n";
        let found = errors(text);
        assert_eq!(found.len(), 1, "{}", Diagnostics(found.clone()));
        assert_eq!(found[0].path, "spec.procfile");
        // Ports come only from the manifest: a domain routed to a process
        // the manifest gives no port is an error either way.
        let text = edit(&[(7, "  procfile: Procfile.missing"), (22, ""), (23, "")]);
        let paths: Vec<String> = errors(&text).into_iter().map(|d| d.path).collect();
        assert_eq!(paths, vec!["spec.procfile", "spec.domains[1].process"]);
    }

    #[test]
    fn domains() {
        assert_one_error(
            &edit(&[(13, "    - Acme.Example.com")]),
            13,
            7,
            "spec.domains[0]",
            &["write `acme.example.com`"],
        );
        assert_one_error(
            &edit(&[(14, "    - {name: localhost, process: admin}")]),
            14,
            14,
            "spec.domains[1].name",
            &["only one label"],
        );
        assert_one_error(
            &edit(&[(14, "    - {name: acme.example.com, process: admin}")]),
            14,
            14,
            "spec.domains[1].name",
            &["duplicate domain `acme.example.com` (first listed at 13:7)"],
        );
        assert_one_error(
            &edit(&[(14, "    - {name: admin.example.com, process: api}")]),
            14,
            42,
            "spec.domains[1].process",
            &[
                "process `api`, which does not exist",
                "`admin`, `clock`, `web`, `worker`",
            ],
        );
        assert_one_error(
            &edit(&[(14, "    - {name: admin.example.com, process: worker}")]),
            14,
            42,
            "spec.domains[1].process",
            &["no `port`", "spec.processes.worker.port"],
        );
        // A bare name routes to `web`; without `web` the message says how to
        // route elsewhere.
        let errors = errors(&edit(&[
            (16, "    api:"),
            (17, ""),
            (18, ""),
            (19, ""),
            (20, "      port: 8080"),
            (21, ""),
        ]));
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("routes to process `web`, which has no `port`")),
            "{messages:#?}"
        );
    }

    #[test]
    fn health_checks() {
        let check = |fields: &str| edit(&[(21, &format!("      healthCheck: {{{fields}}}"))]);
        // Column of the first value inside `      healthCheck: {`.
        let at = |key: &str| 21 + key.len() + 2;
        assert_one_error(
            &check("path: health"),
            21,
            at("path"),
            "spec.processes.web.healthCheck.path",
            &["start with '/'"],
        );
        assert_one_error(
            &check("interval: 4"),
            21,
            at("interval"),
            "spec.processes.web.healthCheck.interval",
            &["5 to 300"],
        );
        assert_one_error(
            &check("interval: 301"),
            21,
            at("interval"),
            "spec.processes.web.healthCheck.interval",
            &["5 to 300"],
        );
        assert_one_error(
            &check("timeout: 1"),
            21,
            at("timeout"),
            "spec.processes.web.healthCheck.timeout",
            &["2 to 120"],
        );
        assert_one_error(
            &check("interval: 10, timeout: 10"),
            21,
            at("interval: 10, timeout"),
            "spec.processes.web.healthCheck.timeout",
            &["less than the interval"],
        );
        // Compared with the ALB default timeout (5s) when only interval is set.
        assert_one_error(
            &check("interval: 5"),
            21,
            at("interval"),
            "spec.processes.web.healthCheck.interval",
            &["the timeout (5s, the default) must be less than the interval (5s)"],
        );
        assert_one_error(
            &check("healthyThreshold: 1"),
            21,
            at("healthyThreshold"),
            "spec.processes.web.healthCheck.healthyThreshold",
            &["2 to 10"],
        );
        assert_one_error(
            &check("unhealthyThreshold: 11"),
            21,
            at("unhealthyThreshold"),
            "spec.processes.web.healthCheck.unhealthyThreshold",
            &["2 to 10"],
        );
        assert_one_error(
            &check("matcher: ok"),
            21,
            at("matcher"),
            "spec.processes.web.healthCheck.matcher",
            &["`200-299`"],
        );
        parse_ok(&check(
            "path: /up, interval: 30, timeout: 29, healthyThreshold: 10, unhealthyThreshold: 2, matcher: '200,301-399'",
        ));
        parse_ok(&check("matcher: 200"));
        // Only processes with a port are health-checked.
        assert_one_error(
            &edit(&[(25, "      healthCheck: {path: /}")]),
            25,
            7,
            "spec.processes.worker.healthCheck",
            &["needs a `port`", "spec.processes.worker.port"],
        );
    }

    #[test]
    fn drain_timeout_and_grace_period() {
        // Both go on `web` (which has a port) after its healthCheck line.
        let with = |field: &str| {
            edit(&[(
                21,
                &format!("      healthCheck: {{path: /health}}\n      {field}"),
            )])
        };
        let loaded = parse_ok(&with("drainTimeout: 0\n      healthCheckGracePeriod: 0"));
        let web = &loaded.app.processes["web"];
        assert_eq!(
            (web.drain_timeout, web.health_check_grace_period),
            (Some(0), Some(0))
        );
        let loaded = parse_ok(&with(
            "drainTimeout: 3600\n      healthCheckGracePeriod: 1800",
        ));
        let web = &loaded.app.processes["web"];
        assert_eq!(
            (web.drain_timeout, web.health_check_grace_period),
            (Some(3600), Some(1800))
        );
        // Unset (or null) leaves the default to the renderer.
        let loaded = parse_ok(&with("drainTimeout: ~"));
        let web = &loaded.app.processes["web"];
        assert_eq!(
            (web.drain_timeout, web.health_check_grace_period),
            (None, None)
        );

        for value in ["3601", "-1", "99999999999"] {
            assert_one_error(
                &with(&format!("drainTimeout: {value}")),
                22,
                21,
                "spec.processes.web.drainTimeout",
                &[
                    &format!("invalid drainTimeout {value}: it must be from 0 to 3600 seconds"),
                    "load balancer",
                ],
            );
        }
        for value in ["1801", "-5"] {
            assert_one_error(
                &with(&format!("healthCheckGracePeriod: {value}")),
                22,
                31,
                "spec.processes.web.healthCheckGracePeriod",
                &[
                    &format!(
                        "invalid healthCheckGracePeriod {value}: it must be from 0 to 1800 seconds"
                    ),
                    "never becomes healthy",
                ],
            );
        }
    }

    #[test]
    fn stored_processes_without_the_traffic_timings_still_read() {
        // A spec stored before `drainTimeout` and `healthCheckGracePeriod`
        // existed.
        let old = r#"{"command":[],"scale":1,"cpu":256,"memory":512,"port":80}"#;
        let process: Process = serde_json::from_str(old).expect("old spec reads");
        assert_eq!(
            (process.drain_timeout, process.health_check_grace_period),
            (None, None)
        );
        assert_eq!(
            serde_json::to_string(&process).expect("serialize"),
            old,
            "unset timings are not written"
        );
        let set = Process {
            drain_timeout: Some(10),
            health_check_grace_period: Some(90),
            ..process
        };
        let json = serde_json::to_string(&set).expect("serialize");
        assert!(
            json.ends_with(r#""drainTimeout":10,"healthCheckGracePeriod":90}"#),
            "{json}"
        );
        assert_eq!(
            serde_json::from_str::<Process>(&json).expect("round trip"),
            set
        );
    }

    #[test]
    fn deployment_settings() {
        let with = |field: &str| edit(&[(21, &format!("      {field}\n"))]);
        let loaded = parse_ok(&with(
            "minHealthyPercent: 50\n      maxPercent: 150\n      stopTimeout: 60\n      rollback: false",
        ));
        let web = &loaded.app.processes["web"];
        assert_eq!(
            (
                web.min_healthy_percent,
                web.max_percent,
                web.stop_timeout,
                web.rollback
            ),
            (Some(50), Some(150), Some(60), Some(false))
        );
        let cases = [
            (
                "minHealthyPercent: 101",
                "minHealthyPercent",
                "it must be from 0 to 100",
            ),
            ("maxPercent: 99", "maxPercent", "it must be from 100 to 200"),
            (
                "maxPercent: 201",
                "maxPercent",
                "it must be from 100 to 200",
            ),
            ("stopTimeout: 1", "stopTimeout", "it must be from 2 to 120"),
            (
                "stopTimeout: 121",
                "stopTimeout",
                "Fargate allows at most 120",
            ),
            (
                "maxPercent: 100",
                "maxPercent",
                "no deployment could progress",
            ),
        ];
        for (line, field, message) in cases {
            let errors = errors(&with(line));
            assert_eq!(errors.len(), 1, "{line}: {errors:?}");
            assert_eq!(
                errors[0].path,
                format!("spec.processes.web.{field}"),
                "{line}"
            );
            assert!(
                errors[0].message.contains(message),
                "{line}: {}",
                errors[0].message
            );
        }
        let errors = errors(&with("rollback: \"yes\""));
        assert!(
            errors[0].message.contains("expected true or false"),
            "{errors:?}"
        );
    }

    #[test]
    fn drain_timeout_and_grace_period_need_a_port() {
        // `worker` (line 24) has no port; the error points at the key.
        assert_one_error(
            &edit(&[(25, "      memory: 3072\n      drainTimeout: 10")]),
            26,
            7,
            "spec.processes.worker.drainTimeout",
            &[
                "a drain timeout needs a `port`",
                "set `spec.processes.worker.port` or remove `drainTimeout`",
            ],
        );
        assert_one_error(
            &edit(&[(25, "      memory: 3072\n      healthCheckGracePeriod: 10")]),
            26,
            7,
            "spec.processes.worker.healthCheckGracePeriod",
            &[
                "a health check grace period needs a `port`",
                "set `spec.processes.worker.port` or remove `healthCheckGracePeriod`",
            ],
        );
        // A bad value without a port: both problems, in file order.
        let errors = errors(&edit(&[(
            25,
            "      memory: 3072\n      drainTimeout: 4000\n      healthCheckGracePeriod: 2000",
        )]));
        let found = crate::diagnostic::locations(&errors);
        assert_eq!(
            found,
            vec![
                (26, 7, "spec.processes.worker.drainTimeout"),
                (26, 21, "spec.processes.worker.drainTimeout"),
                (27, 7, "spec.processes.worker.healthCheckGracePeriod"),
                (27, 31, "spec.processes.worker.healthCheckGracePeriod"),
            ],
            "{}",
            Diagnostics(errors.clone())
        );
    }

    #[test]
    fn commands() {
        assert_one_error(
            &edit(&[(17, "      command: acme-inc 'server")]),
            17,
            16,
            "spec.processes.web.command",
            &["cannot split", "list"],
        );
        assert_one_error(
            &edit(&[(17, "      command: '  '")]),
            17,
            16,
            "spec.processes.web.command",
            &["empty", "command: []"],
        );
    }
}

mod structure {
    use super::*;

    #[test]
    fn every_unknown_field_in_a_file_is_reported() {
        let text = edit(&[
            (3, "metdata:"),
            (8, "  environment:"),
            (18, "      replicas: 2"),
            (21, "      healthCheck: {path: /health, grace: 10}"),
        ]);
        let errors = errors(&text);
        let found = crate::diagnostic::locations(&errors);
        assert_eq!(
            found,
            vec![
                (1, 1, "metadata"),
                (3, 1, "metdata"),
                (8, 3, "spec.environment"),
                (18, 7, "spec.processes.web.replicas"),
                (21, 36, "spec.processes.web.healthCheck.grace"),
            ]
        );
        assert!(
            errors[3].message.contains(
                "unknown field `replicas`, expected one of `command`, `scale`, `cpu`, `memory`, \
                 `port`, `healthCheck`, `drainTimeout`, `healthCheckGracePeriod`, \
                 `minHealthyPercent`, `maxPercent`, `stopTimeout`, `rollback`, `schedule`, \
                 `timezone`, `autoscaling`, `sidecars`, `platform`, `capacity`, \
                 `ephemeralStorage`, `progressDeadline` or `rollout`"
            ),
            "{}",
            errors[3]
        );
        assert!(errors[1].message.contains("did you mean `metadata`?"));
    }

    #[test]
    fn type_errors_are_all_reported() {
        let errors = errors(&edit(&[
            (4, "  name: [acme]"),
            (18, "      scale: two"),
            (19, "      cpu: '512'"),
        ]));
        let found: Vec<(usize, &str)> = errors.iter().map(|d| (d.line, d.path.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (4, "metadata.name"),
                (18, "spec.processes.web.scale"),
                (19, "spec.processes.web.cpu")
            ]
        );
    }

    #[test]
    fn drain_timeout_and_grace_period_must_be_integers() {
        for (value, message) in [
            ("'30'", "expected an integer, found a string"),
            ("1.5", "expected a whole number"),
            ("true", "expected an integer, found a boolean"),
            ("[30]", "expected a single value, found a list"),
        ] {
            for (field, column) in [("drainTimeout", 21), ("healthCheckGracePeriod", 31)] {
                // A list is reported at its key, a scalar at the value.
                let column = if value.starts_with('[') { 7 } else { column };
                assert_one_error(
                    &edit(&[(
                        21,
                        &format!("      healthCheck: {{path: /health}}\n      {field}: {value}"),
                    )]),
                    22,
                    column,
                    &format!("spec.processes.web.{field}"),
                    &[message],
                );
            }
        }
    }

    #[test]
    fn whole_file_problems() {
        for text in ["", "\n\n# just a comment\n"] {
            let found = errors(text);
            assert_eq!(found.len(), 1);
            assert_eq!(
                found[0].to_string().split(": ").next(),
                Some("apps/acme.yaml:1:1")
            );
            assert!(found[0].message.contains("no manifest"));
        }
        let two = format!("{VALID}---\n{VALID}");
        let found = errors(&two);
        assert_eq!((found.len(), found[0].line), (1, 26));
        assert!(found[0].message.contains("exactly one"));

        let found = errors("apiVersion: ferry/v1\nkind: App\n  metadata: x\n");
        assert_eq!((found.len(), found[0].line), (1, 3), "{}", found[0]);
        assert!(found[0].message.starts_with("invalid YAML"));

        let found = errors("- apiVersion: ferry/v1\n");
        assert!(found[0].message.contains("not a mapping"));
    }

    #[test]
    fn windows_line_endings_and_a_byte_order_mark_are_fine() {
        let crlf = VALID.replace('\n', "\r\n");
        parse_ok(&crlf);
        parse_ok(&format!("\u{feff}{VALID}"));
        let bad = edit(&[(19, "      cpu: 300")]).replace('\n', "\r\n");
        let found = errors(&format!("\u{feff}{bad}"));
        assert_eq!((found[0].line, found[0].column), (19, 12));
    }

    #[test]
    fn duplicate_keys_are_reported() {
        let errors = errors(&edit(&[(21, "      scale: 3")]));
        assert_eq!(errors.len(), 1, "{}", Diagnostics(errors.clone()));
        assert_eq!(
            (errors[0].line, errors[0].column, errors[0].path.as_str()),
            (21, 7, "spec.processes.web.scale")
        );
        assert!(errors[0]
            .message
            .contains("duplicate key `scale` (first set at 18:7)"));
    }
}

#[test]
fn all_problems_of_a_file_are_reported_in_file_order() {
    let text = edit(&[
        (4, "  name: Acme"),
        (6, "  image: 'has space'"),
        (11, "    DATABASE_URL: secret-value"),
        (13, "    - acme..com"),
        (19, "      cpu: 100"),
        (23, "      port: 0"),
    ]);
    let errors = errors(&text);
    let found: Vec<(usize, &str)> = errors.iter().map(|d| (d.line, d.path.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (4, "metadata.name"),
            (6, "spec.image"),
            (11, "spec.secrets.DATABASE_URL"),
            (13, "spec.domains[0]"),
            (19, "spec.processes.web.cpu"),
            (23, "spec.processes.admin.port"),
        ]
    );
    let rendered = Diagnostics(errors).to_string();
    assert_eq!(rendered.lines().count(), 6);
    assert!(rendered.starts_with("apps/acme.yaml:4:9: metadata.name: invalid app name `Acme`"));
}

mod loading {
    use std::fs;

    use super::*;

    fn manifest(name: &str, extra: &str) -> String {
        format!(
            "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: {name}\nspec:\n  image: acme\n{extra}  processes:\n    web: {{port: 8080}}\n"
        )
    }

    fn write(dir: &Path, relative: &str, text: &str) -> PathBuf {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("create dir");
        }
        fs::write(&path, text).expect("write file");
        path
    }

    fn names(apps: &[LoadedApp]) -> Vec<&str> {
        apps.iter().map(|a| a.app.name.as_str()).collect()
    }

    #[test]
    fn directories_are_walked_recursively_in_sorted_order_skipping_hidden_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "b.yaml", &manifest("bravo", ""));
        write(root, "a/z.yml", &manifest("alpha-z", ""));
        write(
            root,
            "a/c.yaml",
            &manifest("alpha-c", "  procfile: Procfile\n"),
        );
        write(root, "a/Procfile", "web: serve\nworker: work\n");
        write(root, "notes.txt", "not a manifest");
        write(root, ".hidden.yaml", "not: valid");
        write(root, ".git/config.yaml", "not: valid");
        let apps = load_paths(&[root]).expect("valid");
        assert_eq!(names(&apps), vec!["alpha-c", "alpha-z", "bravo"]);
        assert_eq!(apps[0].file, root.join("a/c.yaml"));
        assert_eq!(apps[0].app.processes["worker"].command, argv(&["work"]));
    }

    #[test]
    fn files_and_directories_mix_and_a_file_is_loaded_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let named = write(root, "apps/one.yaml", &manifest("one", ""));
        write(root, "apps/two.yaml", &manifest("two", ""));
        let odd = write(root, "other/three.manifest", &manifest("three", ""));
        let apps = load_paths(&[named.clone(), root.join("apps"), odd]).expect("valid");
        assert_eq!(names(&apps), vec!["one", "two", "three"]);
    }

    #[test]
    fn the_same_app_in_two_files_is_reported_at_both() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let first = write(root, "a.yaml", &manifest("acme", ""));
        let second = write(
            root,
            "sub/b.yaml",
            &format!("# moved\n{}", manifest("acme", "")),
        );
        write(root, "c.yaml", &manifest("other", ""));
        let errors = load_paths(&[root]).expect_err("duplicate");
        assert_eq!(errors.len(), 2, "{errors}");
        assert_eq!(
            (&errors.0[0].file, errors.0[0].line, errors.0[0].column),
            (&first, 4, 9)
        );
        assert_eq!(
            (&errors.0[1].file, errors.0[1].line, errors.0[1].column),
            (&second, 5, 9)
        );
        assert_eq!(errors.0[0].path, "metadata.name");
        assert!(errors.0[0]
            .message
            .contains(&format!("also defined at {}:5:9", second.display())));
        assert!(errors.0[1]
            .message
            .contains(&format!("also defined at {}:4:9", first.display())));
    }

    #[test]
    fn a_domain_claimed_by_two_apps_is_reported_at_both() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let domains = "  domains: [shop.example.com]\n";
        write(root, "a.yaml", &manifest("a", domains));
        write(root, "b.yaml", &manifest("b", domains));
        let errors = load_paths(&[root]).expect_err("duplicate domain");
        assert_eq!(errors.len(), 2, "{errors}");
        assert!(
            errors.0[0].message.contains("also claimed by app `b`"),
            "{errors}"
        );
        assert_eq!(
            (errors.0[0].line, errors.0[0].path.as_str()),
            (7, "spec.domains[0]")
        );
    }

    #[test]
    fn all_or_nothing_with_every_problem_of_every_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "1-good.yaml", &manifest("good", ""));
        let bad = write(
            root,
            "2-bad.yaml",
            &manifest("Bad", "  replicas: 3\n").replace("web: {port: 8080}", "web: {prot: 1}"),
        );
        let worse = write(root, "3-worse.yaml", "apiVersion: ferry/v1\nkind: App\nmetadata: {name: worse}\nspec:\n  image: acme\n  procfile: Procfile\n");
        write(root, "Procfile", "web: ok\nbroken line\n");
        let missing = root.join("missing.yaml");
        let empty_dir = root.join("empty");
        fs::create_dir(&empty_dir).expect("mkdir");
        write(root, "empty/.hidden.yaml", "ignored");

        let errors = load_paths(&[root.to_path_buf(), missing.clone(), empty_dir.clone()])
            .expect_err("invalid");
        let found: Vec<(PathBuf, usize, String)> = errors
            .iter()
            .map(|d| (d.file.clone(), d.line, d.path.clone()))
            .collect();
        assert_eq!(
            found,
            vec![
                // Unknown fields do not stop the name check.
                (bad.clone(), 4, "metadata.name".to_owned()),
                (bad.clone(), 7, "spec.replicas".to_owned()),
                (bad, 9, "spec.processes.web.prot".to_owned()),
                (root.join("Procfile"), 2, String::new()),
                (missing, 1, String::new()),
                (empty_dir, 1, String::new()),
            ],
            "{errors}"
        );
        assert!(errors.0[3].message.contains("malformed Procfile line"));
        assert!(errors.0[4].message.contains("no such file"));
        assert!(errors.0[5].message.contains("no manifests"));
        let _ = worse;
    }

    #[test]
    fn unreadable_text_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bin.yaml");
        fs::write(&path, b"apiVersion: ferry/v1\nkind: \xff\n").expect("write");
        let errors = load_paths(&[&path]).expect_err("not utf-8");
        assert_eq!((errors.0[0].line, errors.0[0].column), (2, 7));
        assert!(errors.0[0].message.contains("UTF-8"));
    }
}

/// The sample manifest repository and the examples must stay valid.
mod samples {
    use super::*;

    fn repo(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(relative)
    }

    fn load(relative: &str) -> Vec<LoadedApp> {
        match load_paths(&[repo(relative)]) {
            Ok(apps) => apps,
            Err(errors) => panic!("{relative} has invalid manifests:\n{errors}"),
        }
    }

    #[test]
    fn the_sample_manifest_repository_is_the_empire_demo() {
        let apps = load("manifests");
        let by_name: BTreeMap<&str, &App> =
            apps.iter().map(|a| (a.app.name.as_str(), &a.app)).collect();
        assert_eq!(
            by_name.keys().copied().collect::<Vec<_>>(),
            vec!["api", "router", "web", "worker"]
        );

        let router = by_name["router"];
        assert_eq!(
            router.domains,
            vec![Domain {
                name: "router.example.com".to_owned(),
                process: "web".to_owned()
            }]
        );
        assert_eq!(
            (router.processes["web"].port, router.processes["web"].scale),
            (Some(8080), 2)
        );
        assert!(router.processes["web"].health_check.is_some());

        let web = by_name["web"];
        assert!(web.domains.is_empty());
        assert_eq!(
            web.processes["web"].command,
            argv(&["acme-inc", "server", "--port", "8080"])
        );
        assert_eq!(
            (web.processes["web"].port, web.processes["web"].scale),
            (Some(8080), 2)
        );

        let api = by_name["api"];
        assert!(api.domains.is_empty());
        assert_eq!(
            (api.processes["web"].cpu, api.processes["web"].memory),
            (512, 1024)
        );
        assert_eq!(api.secrets.len(), 1);
        assert!(!api.env.is_empty());

        let worker = by_name["worker"];
        assert_eq!(worker.processes["worker"].scale, 3);
        assert_eq!(worker.processes["scheduler"].scale, 1);
        assert!(worker.processes.values().all(|p| p.port.is_none()));
    }

    #[test]
    fn every_example_validates() {
        let apps = load("examples");
        assert!(
            apps.len() >= 3,
            "expected at least 3 examples, found {}",
            apps.len()
        );
    }
}

mod never_panics {
    use super::*;

    /// Longest diagnostic a run may print: values are quoted only in part,
    /// so even the longest fixed messages (the Fargate sizes) stay below.
    const MAX_MESSAGE_LEN: usize = 1500;

    /// Checks the promises every outcome keeps.
    fn check(text: &str) {
        match parse(text) {
            Ok(loaded) => {
                for process in loaded.app.processes.values() {
                    let memory = valid_memory_for_cpu(process.cpu).unwrap_or_default();
                    assert!(memory.contains(&process.memory), "{process:?}");
                    assert!(i64::from(process.scale) <= MAX_SCALE);
                }
                for domain in &loaded.app.domains {
                    let target = &loaded.app.processes[&domain.process];
                    assert!(target.port.is_some(), "{domain:?}");
                }
                for warning in &loaded.warnings {
                    assert!(warning.line >= 1 && warning.column >= 1, "{warning}");
                }
            }
            Err(diagnostics) => {
                assert!(!diagnostics.is_empty());
                // YAML breaks lines at `\r` too (YAML 1.2, 5.4), which
                // `str::lines` does not.
                let lines = text
                    .strip_prefix('\u{feff}')
                    .unwrap_or(text)
                    .replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .lines()
                    .count();
                let procfile_lines = PROCFILE.lines().count();
                for diagnostic in &diagnostics {
                    let limit = if diagnostic.file == Path::new(PROCFILE_PATH) {
                        procfile_lines
                    } else {
                        lines
                    };
                    assert!(
                        diagnostic.line >= 1 && diagnostic.line <= limit + 1,
                        "line {} of {limit}: {diagnostic}",
                        diagnostic.line
                    );
                    assert!(diagnostic.column >= 1, "{diagnostic}");
                    assert!(!diagnostic.message.is_empty(), "{diagnostic:?}");
                    let rendered = diagnostic.to_string();
                    assert!(
                        rendered.len() <= MAX_MESSAGE_LEN + 200,
                        "{} bytes: {rendered}",
                        rendered.len()
                    );
                }
            }
        }
    }

    /// One edit of a text, at a position given as a fraction of its length.
    #[derive(Debug, Clone)]
    enum Mutation {
        Delete {
            at: f64,
            len: usize,
        },
        Insert {
            at: f64,
            text: String,
        },
        Replace {
            at: f64,
            with: char,
        },
        DuplicateLine {
            at: f64,
        },
        SwapLines {
            at: f64,
        },
        DeleteLine {
            at: f64,
        },
        /// Replaces the value of a `key: value` line with another type.
        ChangeType {
            at: f64,
            value: &'static str,
        },
        /// Puts `depth` opening brackets after a line's colon.
        Nest {
            at: f64,
            depth: usize,
            open: char,
        },
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        let yamlish = "[a-zA-Z0-9 :\\-\\[\\]{}'\"#&*!|>,?%@`~.\n\t]{1,12}";
        let unicode = prop_oneof![
            Just("\u{0}".to_owned()),
            Just("\u{feff}".to_owned()),
            Just("é😀\u{202e}".to_owned()),
            "\\PC{1,8}",
        ];
        let values = prop_oneof![
            Just("~"),
            Just("true"),
            Just("1.5"),
            Just("-1"),
            Just("'512'"),
            Just("512Mi"),
            Just("[a, 1]"),
            Just("{a: 1}"),
            Just("\"$PORT\""),
            Just("99999999999999999999999"),
        ];
        prop_oneof![
            (0.0..1.0, 1usize..20).prop_map(|(at, len)| Mutation::Delete { at, len }),
            (0.0..1.0, yamlish).prop_map(|(at, text)| Mutation::Insert { at, text }),
            (0.0..1.0, unicode).prop_map(|(at, text)| Mutation::Insert { at, text }),
            (0.0..1.0, any::<char>()).prop_map(|(at, with)| Mutation::Replace { at, with }),
            (0.0..1.0).prop_map(|at| Mutation::DuplicateLine { at }),
            (0.0..1.0).prop_map(|at| Mutation::SwapLines { at }),
            (0.0..1.0).prop_map(|at| Mutation::DeleteLine { at }),
            (0.0..1.0, values).prop_map(|(at, value)| Mutation::ChangeType { at, value }),
            (0.0..1.0, 1usize..400, prop_oneof![Just('['), Just('{')])
                .prop_map(|(at, depth, open)| Mutation::Nest { at, depth, open }),
        ]
    }

    fn apply(text: &str, mutation: &Mutation) -> String {
        let index = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
        let mut chars: Vec<char> = text.chars().collect();
        let mut lines: Vec<&str> = text.lines().collect();
        match mutation {
            Mutation::Delete { at, len } => {
                let start = index(*at, chars.len());
                let end = (start + len).min(chars.len());
                chars.drain(start..end);
            }
            Mutation::Insert { at, text } => {
                let start = index(*at, chars.len());
                chars.splice(start..start, text.chars());
            }
            Mutation::Replace { at, with } => {
                let i = index(*at, chars.len());
                if i < chars.len() {
                    chars[i] = *with;
                }
            }
            Mutation::DuplicateLine { at } => {
                let i = index(*at, lines.len().saturating_sub(1));
                if let Some(line) = lines.get(i).copied() {
                    lines.insert(i, line);
                }
                return lines.join("\n");
            }
            Mutation::SwapLines { at } => {
                let i = index(*at, lines.len().saturating_sub(2));
                if i + 1 < lines.len() {
                    lines.swap(i, i + 1);
                }
                return lines.join("\n");
            }
            Mutation::DeleteLine { at } => {
                let i = index(*at, lines.len().saturating_sub(1));
                if i < lines.len() {
                    lines.remove(i);
                }
                return lines.join("\n");
            }
            Mutation::ChangeType { at, value } => {
                let i = index(*at, lines.len().saturating_sub(1));
                let mut owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                if let Some(line) = owned.get_mut(i) {
                    if let Some((key, _)) = line.split_once(": ") {
                        *line = format!("{key}: {value}");
                    }
                }
                return owned.join("\n");
            }
            Mutation::Nest { at, depth, open } => {
                let i = index(*at, lines.len().saturating_sub(1));
                let mut owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                if let Some(line) = owned.get_mut(i) {
                    if let Some((key, _)) = line.split_once(':') {
                        let opener = if *open == '{' { "{a: " } else { "[" };
                        *line = format!("{key}: {}", opener.repeat(*depth));
                    }
                }
                return owned.join("\n");
            }
        }
        chars.into_iter().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn on_arbitrary_strings(text in any::<String>()) {
            check(&text);
        }

        #[test]
        fn on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            check(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn on_arbitrary_bytes_after_a_valid_prefix(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut text = VALID.as_bytes().to_vec();
            text.extend(bytes);
            check(&String::from_utf8_lossy(&text));
        }

        #[test]
        fn on_yaml_like_strings(text in "[a-z0-9 :\\-\\[\\]{}'\"#&*!|>,?%@`~.\n\t]{0,200}") {
            check(&text);
        }

        #[test]
        fn on_mutations_of_a_valid_manifest(mutations in prop::collection::vec(mutation(), 1..6)) {
            let mut text = VALID.to_owned();
            for mutation in &mutations {
                text = apply(&text, mutation);
            }
            check(&text);
        }
    }
}
