//! The command line: every command, flag and environment variable of
//! `ferry`, as clap parses them. What each command does is in `main.rs`'s
//! `run_command` and the modules it calls.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::Output;

/// Ferry runs twelve-factor apps on Amazon ECS from YAML manifests.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
pub(crate) struct Cli {
    /// On failure, print every cause and the AWS SDK's full account; log
    /// each AWS call to stderr (as `RUST_LOG=debug` does).
    #[arg(short = 'v', long = "verbose", global = true)]
    pub(crate) verbose: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where Ferry's state is kept: an option of every command that reads or
/// writes it, and of no other (`validate` is offline).
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// DynamoDB table holding specs, releases and status.
    #[arg(long, env = "FERRY_TABLE", default_value = "ferry")]
    pub(crate) table: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create the DynamoDB table (idempotent).
    Init {
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Check the installation with your permissions: the caller, the
    /// table, the leader, the settings it published, and the cluster,
    /// listeners and zones they name. Only reads; exits 1 when a check
    /// fails.
    Doctor {
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Print the manifest's JSON Schema (draft 2020-12), for editors:
    /// `# yaml-language-server: $schema=...` in a manifest.
    Schema,
    /// Print a completion script for a shell: `ferry completion bash >
    /// ~/.local/share/bash-completion/completions/ferry` (see the README for
    /// zsh, fish and PowerShell).
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Check manifests without touching AWS.
    Validate {
        /// Manifest files or directories.
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
    },
    /// Validate manifests and store them as new generations and releases:
    /// all of them or, if any file is invalid, none.
    Apply {
        /// Manifest files or directories.
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// Show what would change (as `ferry diff` does) and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete the stored apps that were applied from the same
        /// paths and are no longer in them.
        #[arg(long)]
        prune: bool,
        /// Prune without asking (required when not on a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Message recorded on the releases.
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
        /// Wait until every applied app is Ready.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Show how manifests differ from the stored apps, and the AWS
    /// changes the controller would make for them. Writes nothing.
    Diff {
        /// Manifest files or directories.
        #[arg(short = 'f', long = "filename", required = true)]
        paths: Vec<PathBuf>,
        /// Exit 1 when there are differences, 0 when there are none, and 2
        /// on errors (like `git diff --exit-code`).
        #[arg(long)]
        exit_code: bool,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Make a new release of an app from an earlier release's spec. The
    /// controller never rolls back by itself (not on a crash loop, nor on
    /// a missed progress deadline): this is the command for it.
    Rollback {
        app: String,
        /// The release to go back to (`v3` or `3`); by default the newest
        /// release that succeeded before the current generation.
        version: Option<String>,
        /// Message recorded on the new release [default: rollback to vN].
        #[arg(short = 'm', long = "message")]
        message: Option<String>,
        /// Roll back more than 9 versions without asking (required when
        /// not on a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Wait until the rolled-back app is Ready, as `apply --wait` does:
        /// a failure ends the wait at once, with its cause.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Start a new deployment of an app's current spec (ECS's
    /// force-new-deployment): every task is replaced and reads its secrets
    /// again. Recorded as a release with the same spec.
    Restart {
        app: String,
        /// Restart only this process (repeatable) [default: all].
        #[arg(short = 'p', long = "process")]
        processes: Vec<String>,
        /// Message recorded on the release [default: restart].
        #[arg(short = 'm', long = "message")]
        message: Option<String>,
        /// Wait until the new deployment has replaced every task.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Record a new release of an app's current spec with other process
    /// counts (`ferry scale APP web=3 worker=1`), as `emp scale` did; the
    /// controller carries it out like any generation. Refused for an
    /// autoscaled process (change its `autoscaling` instead) and a
    /// scheduled one. `ferry diff` then shows where the manifests differ.
    Scale {
        app: String,
        /// `PROCESS=COUNT`, each count from 0 to 1000.
        #[arg(required = true, value_name = "PROCESS=COUNT")]
        counts: Vec<String>,
        /// Message recorded on the release [default: scale web=3 ...].
        #[arg(short = 'm', long = "message")]
        message: Option<String>,
        /// Wait until the new counts are running.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Run a command (default `sh`) in a running task of a process through
    /// ECS Exec: `ferry exec APP [-p PROCESS] [-- CMD...]`. Needs `exec:
    /// true` in the app's spec and AWS's session-manager-plugin on PATH,
    /// which it hands the session to; interactive when stdin is a
    /// terminal. Exits with the plugin's exit status.
    Exec {
        app: String,
        /// The process [default: web, or the only process].
        #[arg(long, short = 'p')]
        process: Option<String>,
        /// The task, by id or ARN [default: a running task of the
        /// process's service, one ready for ECS Exec if any].
        #[arg(long)]
        task: Option<String>,
        /// The command and its arguments [default: sh].
        #[arg(last = true)]
        command: Vec<String>,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// List apps with their conditions.
    Get {
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Show one app's status: conditions, processes, events, last error.
    Status {
        app: String,
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        /// Follow the current generation's rollout until it is Ready (exit
        /// 0) or failed (exit 1), printing progress as it changes; with `-o
        /// json`, the status as one JSON object per line, on each change
        /// (`-o yaml`: one `---` document each). A failure ends it with its
        /// cause and each process's last failed task.
        #[arg(long, short = 'w')]
        watch: bool,
        /// How long --watch follows.
        #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// List an app's releases, newest first.
    Releases {
        app: String,
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Delete an app: the controller removes its resources, then its spec.
    /// Releases are kept.
    Delete {
        app: String,
        /// Wait until the controller has removed everything.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Run a one-off task with a process's task definition, network and
    /// environment, and another command: `ferry run APP -- CMD...`. By
    /// default it attaches, like `emp run`: it prints the task's output as
    /// the task writes it (from the app's log group), exits with the
    /// container's exit code, and stops the task on Ctrl-C (exit 130) or
    /// when --timeout passes (exit 1).
    Run {
        app: String,
        /// The process whose task definition to use [default: web, or the
        /// only process].
        #[arg(long, short = 'p')]
        process: Option<String>,
        /// Attach (the default; kept for scripts that pass it).
        #[arg(long, conflicts_with = "detach")]
        wait: bool,
        /// Print the task's ARN and return at once; the task runs on
        /// (`ferry stop APP TASK` stops it).
        #[arg(long, short = 'd')]
        detach: bool,
        /// How long an attached run waits before it stops the task.
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration, conflicts_with = "detach")]
        timeout: Duration,
        /// The command; empty runs the process's own command.
        #[arg(last = true)]
        command: Vec<String>,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Stop a one-off task of an app (ECS StopTask): one `ferry run`
    /// started, named by its id (a unique prefix will do) or ARN. Never a
    /// service's task, nor a task Ferry did not start for this app.
    Stop {
        app: String,
        task: String,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Show the log lines of an app's tasks, ordered by time, each
    /// prefixed with its process and short task id.
    Logs {
        app: String,
        /// Only this process's tasks.
        #[arg(long, short = 'p')]
        process: Option<String>,
        /// Only the task with this id (or id prefix).
        #[arg(long)]
        task: Option<String>,
        /// How far back to start (`10m`, `2h`).
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        since: Duration,
        /// Keep printing new lines until Ctrl-C.
        #[arg(long, short = 'f')]
        follow: bool,
        /// `json`: one object per line; `yaml`: one `---` document per line.
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Follow and steer a process's blue/green, canary or linear
    /// deployment, which ECS runs (`rollout:` in the manifest): `status`,
    /// `continue` past an approval, `abort` to roll back now.
    Rollout {
        #[command(subcommand)]
        action: RolloutAction,
    },
    /// List an app's running tasks: its services' and its one-off ones.
    Ps {
        app: String,
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
    },
}

/// What `ferry rollout` does. Each needs `-p` only when the app has
/// several processes with a strategy other than `rolling`.
#[derive(Debug, Subcommand)]
pub(crate) enum RolloutAction {
    /// Show the current deployment's stage (what remains of a bake, the
    /// approval awaited and when it expires, why it was rolled back) and
    /// the last service deployments, newest first.
    Status {
        app: String,
        /// The process [default: the app's only one with a strategy other
        /// than `rolling`].
        #[arg(short = 'p', long = "process")]
        process: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Approve the deployment waiting at its approval (ECS
    /// ContinueServiceDeployment with CONTINUE): it goes on to production
    /// traffic. Refused when no approval is awaited.
    Continue {
        app: String,
        /// The process [default: the app's only one with a strategy other
        /// than `rolling`].
        #[arg(short = 'p', long = "process")]
        process: Option<String>,
        #[command(flatten)]
        store_args: StoreArgs,
    },
    /// Roll the deployment in progress back to the revision it replaces
    /// (ECS StopServiceDeployment with ROLLBACK). Refused when none is in
    /// progress; for a finished one, `ferry rollback` makes a new release.
    Abort {
        app: String,
        /// The process [default: the app's only one with a strategy other
        /// than `rolling`].
        #[arg(short = 'p', long = "process")]
        process: Option<String>,
        #[command(flatten)]
        store_args: StoreArgs,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn completion_takes_the_four_shells_and_nothing_else() {
        let parses = |shell: &str| Cli::try_parse_from(["ferry", "completion", shell]).is_ok();
        for shell in ["bash", "zsh", "fish", "powershell"] {
            assert!(parses(shell), "{shell}");
        }
        assert!(!parses("tcsh"));
    }

    #[test]
    fn run_attaches_unless_detached() {
        let parses = |args: &[&str]| Cli::try_parse_from(args).is_ok();
        assert!(parses(&["ferry", "run", "web", "--", "ls"]));
        assert!(parses(&["ferry", "run", "web", "--wait", "--", "ls"]));
        assert!(parses(&["ferry", "run", "web", "-d", "--", "ls"]));
        assert!(!parses(&[
            "ferry", "run", "web", "--detach", "--wait", "--", "ls"
        ]));
        assert!(!parses(&[
            "ferry",
            "run",
            "web",
            "--detach",
            "--timeout",
            "5m",
            "--",
            "ls"
        ]));
    }

    #[test]
    fn exec_takes_a_process_a_task_and_a_command() {
        let Ok(Cli {
            command:
                Command::Exec {
                    app,
                    process,
                    task,
                    command,
                    ..
                },
            ..
        }) = Cli::try_parse_from([
            "ferry", "exec", "shop", "-p", "worker", "--task", "0123", "--", "ls", "-la", "a b",
        ])
        else {
            panic!("exec parses");
        };
        assert_eq!(app, "shop");
        assert_eq!(process.as_deref(), Some("worker"));
        assert_eq!(task.as_deref(), Some("0123"));
        assert_eq!(command, ["ls", "-la", "a b"]);
        let Ok(Cli {
            command: Command::Exec { command, .. },
            ..
        }) = Cli::try_parse_from(["ferry", "exec", "shop"])
        else {
            panic!("exec parses without a command");
        };
        assert!(command.is_empty());
    }

    #[test]
    fn scale_takes_one_or_more_counts() {
        let parses = |args: &[&str]| Cli::try_parse_from(args).is_ok();
        assert!(!parses(&["ferry", "scale", "shop"]), "no count");
        assert!(parses(&["ferry", "scale", "shop", "web=3"]));
        let Ok(Cli {
            command:
                Command::Scale {
                    counts,
                    message,
                    wait,
                    ..
                },
            ..
        }) = Cli::try_parse_from([
            "ferry", "scale", "shop", "web=3", "worker=1", "-m", "more", "--wait",
        ])
        else {
            panic!("scale parses");
        };
        assert_eq!(counts, ["web=3", "worker=1"]);
        assert_eq!(message.as_deref(), Some("more"));
        assert!(wait);
    }

    #[test]
    fn rollout_takes_an_app_and_an_optional_process() {
        let Ok(Cli {
            command:
                Command::Rollout {
                    action: RolloutAction::Continue { app, process, .. },
                },
            ..
        }) = Cli::try_parse_from(["ferry", "rollout", "continue", "shop", "-p", "web"])
        else {
            panic!("rollout continue parses");
        };
        assert_eq!(app, "shop");
        assert_eq!(process.as_deref(), Some("web"));
        let Ok(Cli {
            command:
                Command::Rollout {
                    action: RolloutAction::Abort { process, .. },
                },
            ..
        }) = Cli::try_parse_from(["ferry", "rollout", "abort", "shop"])
        else {
            panic!("rollout abort parses without -p");
        };
        assert_eq!(process, None);
        let parses = |args: &[&str]| Cli::try_parse_from(args).is_ok();
        assert!(parses(&[
            "ferry", "rollout", "status", "shop", "-o", "yaml"
        ]));
        assert!(!parses(&["ferry", "rollout", "status"]), "no app");
        assert!(
            !parses(&["ferry", "rollout", "pause", "shop"]),
            "no such action"
        );
        assert!(!parses(&[
            "ferry", "rollout", "continue", "shop", "-o", "json"
        ]));
    }

    #[test]
    fn only_commands_that_use_the_store_take_a_table() {
        let parses = |args: &[&str]| Cli::try_parse_from(args).is_ok();
        assert!(!parses(&[
            "ferry", "validate", "-f", "x.yaml", "--table", "t"
        ]));
        assert!(parses(&["ferry", "validate", "-f", "x.yaml"]));
        let validate = Cli::command()
            .find_subcommand_mut("validate")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        assert!(validate.contains("--filename"), "{validate}");
        assert!(!validate.contains("--table"), "{validate}");
        for args in [
            &["ferry", "init", "--table", "t"][..],
            &["ferry", "apply", "-f", "x.yaml", "--table", "t"],
            &["ferry", "diff", "-f", "x.yaml", "--table", "t"],
            &["ferry", "rollback", "web", "--table", "t"],
            &[
                "ferry",
                "rollback",
                "web",
                "v2",
                "--wait",
                "--timeout",
                "2m",
                "--table",
                "t",
            ],
            &["ferry", "get", "--table", "t"],
            &["ferry", "status", "web", "--table", "t"],
            &["ferry", "releases", "web", "--table", "t"],
            &["ferry", "delete", "web", "--table", "t"],
            &["ferry", "run", "web", "--table", "t", "--", "ls"],
            &["ferry", "ps", "web", "--table", "t"],
            &["ferry", "rollout", "status", "web", "--table", "t"],
            &["ferry", "rollout", "continue", "web", "--table", "t"],
            &[
                "ferry", "rollout", "abort", "web", "-p", "web", "--table", "t",
            ],
            &["ferry", "stop", "web", "0123", "--table", "t"],
            &["ferry", "scale", "web", "web=3", "--table", "t"],
            &["ferry", "exec", "web", "--table", "t", "--", "ls"],
            &[
                "ferry", "logs", "web", "-f", "--since", "10m", "--table", "t",
            ],
        ] {
            assert!(parses(args), "{args:?}");
        }
    }
}
