//! `ferry`: validate and apply app manifests, and read what the controller
//! reports.

mod apply;
mod confirm;
mod diff;
mod doctor;
mod git;
mod human;
mod logs;
mod manifest;
mod report;
mod restart;
mod rollback;
mod run;
mod show;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

/// Ferry runs twelve-factor apps on Amazon ECS from YAML manifests.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None)]
struct Cli {
    /// On failure, print every cause and the AWS SDK's full account; log
    /// each AWS call to stderr (as `RUST_LOG=debug` does).
    #[arg(short = 'v', long = "verbose", global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

/// Where Ferry's state is kept: an option of every command that reads or
/// writes it, and of no other (`validate` is offline).
#[derive(Debug, clap::Args)]
struct StoreArgs {
    /// DynamoDB table holding specs, releases and status.
    #[arg(long, env = "FERRY_TABLE", default_value = "ferry")]
    table: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    /// Human-readable tables.
    #[default]
    Table,
    /// JSON, as documented in the README.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Make a new release of an app from an earlier release's spec.
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
        /// json`, the status as one JSON object per line, on each change.
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
        /// `json`: one object per line.
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
        #[command(flatten)]
        store_args: StoreArgs,
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

/// Exit status of `ferry diff --exit-code` when it fails.
const DIFF_ERROR_EXIT: i32 = 2;

/// A closed stdout (`ferry status web | head -1`) ends the process quietly,
/// as it ends every Unix tool, instead of a panic at the next print: Rust
/// ignores SIGPIPE by default, so a write to a closed pipe fails, and
/// `println!` panics on that failure.
fn exit_quietly_when_stdout_closes() {
    #[cfg(unix)]
    // SAFETY: `signal` only sets the process-wide disposition of SIGPIPE,
    // which nothing else in the process installs or relies on; it is
    // called first thing in main, before any output.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[tokio::main]
async fn main() {
    exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    let verbose = cli.verbose || std::env::var_os("RUST_LOG").is_some();
    if verbose {
        log_to_stderr(cli.verbose);
    }
    let error_exit = match &cli.command {
        Command::Diff {
            exit_code: true, ..
        } => DIFF_ERROR_EXIT,
        _ => 1,
    };
    match run(cli).await {
        Ok(0) => {}
        Ok(code) => std::process::exit(code),
        Err(err) => {
            if verbose {
                eprint!("{}", report::verbose(&err));
            }
            eprintln!("error: {}", report::one_line(&err));
            std::process::exit(error_exit);
        }
    }
}

/// Logs to stderr at `RUST_LOG`'s levels, or at debug for `-v`.
fn log_to_stderr(verbose_flag: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => tracing_subscriber::EnvFilter::new(directives),
        _ if verbose_flag => tracing_subscriber::EnvFilter::new(
            "warn,ferry=debug,ferry_call=debug,ferry_aws=debug,ferry_store=debug",
        ),
        _ => tracing_subscriber::EnvFilter::new("warn"),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// The SDK app name of every CLI request (`app/ferry-cli` in its
/// User-Agent): AWS-side logs (CloudTrail's userAgent) and the local AWS's
/// request log tell the CLI's requests from the controller's (whose app
/// name is its replica id) and from other tools'. The IAM replay
/// (deploy/cloudformation/tests/test_replay.py) evaluates the requests
/// carrying it against the deployer's policy.
pub const APP_NAME: &str = "ferry-cli";

/// The AWS SDK's configuration from the standard chain (environment,
/// profiles, SSO, instance and task roles), refused up front when it names
/// no region, since every call would fail with the SDK's endpoint error.
pub async fn sdk_config() -> anyhow::Result<aws_config::SdkConfig> {
    let mut loader = aws_config::from_env();
    if let Ok(name) = aws_config::AppName::new(APP_NAME) {
        loader = loader.app_name(name);
    }
    let sdk = loader.load().await;
    if sdk.region().is_none() {
        anyhow::bail!(
            "no AWS region configured: set AWS_REGION or a profile's region (for the local \
             AWS: `source .ferry/local.env`)"
        );
    }
    Ok(sdk)
}

/// Paces, bounds and counts the CLI's AWS calls, like the controller's.
pub fn caller() -> ferry_aws::Caller {
    ferry_aws::Caller::new(
        Arc::new(ferry_aws::Pacing::default()),
        ferry_aws::AwsMetrics::unregistered(),
        Duration::from_secs(30),
    )
}

async fn store(table: &str) -> anyhow::Result<ferry_store::Store> {
    let sdk = sdk_config().await?;
    Ok(ferry_store::Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        caller(),
        table,
    ))
}

/// Runs a command; `Ok` holds the exit status (non-zero only for
/// `diff --exit-code` with differences).
async fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Command::Diff {
        paths,
        exit_code,
        store_args,
    } = &cli.command
    {
        let apps = apply::load(paths, apply::OnInvalid::NothingApplied)?;
        let store = store(&store_args.table).await?;
        store.check_table().await?;
        let current = apply::current(&store, &apps).await?;
        let differs = diff::report(&store, &apps, &current).await?;
        return Ok(if *exit_code && differs { 1 } else { 0 });
    }
    if let Command::Run {
        app,
        process,
        wait: _,
        detach,
        timeout,
        command,
        store_args,
    } = &cli.command
    {
        let store = store(&store_args.table).await?;
        let mode = if *detach {
            run::Mode::Detach
        } else {
            run::Mode::Attach { timeout: *timeout }
        };
        return run::run(&store, app, process.as_deref(), command.clone(), mode).await;
    }
    if let Command::Doctor { output, store_args } = &cli.command {
        return doctor::run(&store_args.table, *output).await;
    }
    run_command(cli).await?;
    Ok(0)
}

async fn run_command(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init { store_args } => {
            let store = store(&store_args.table).await?;
            let table = store.table();
            match store.create_table().await? {
                ferry_store::TableInit::Created(facts) => {
                    println!(
                        "created table {table}: on-demand, {}",
                        facts.key_description()
                    );
                    println!(
                        "point-in-time recovery and deletion protection are off; for production, \
                         create the table with deploy/cloudformation/ferry.yaml, which turns both on"
                    );
                }
                ferry_store::TableInit::Existed(facts) => println!(
                    "table {table} already exists with Ferry's schema ({}); nothing changed",
                    facts.key_description()
                ),
            }
            println!("next: run a controller with FERRY_TABLE={table}; `ferry doctor` checks it");
            Ok(())
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&ferry_manifest::json_schema())?
            );
            Ok(())
        }
        Command::Validate { paths } => {
            let apps = apply::load(&paths, apply::OnInvalid::Report)?;
            for app in &apps {
                println!("{}: app {} is valid", app.file.display(), app.app.name);
            }
            Ok(())
        }
        Command::Apply {
            paths,
            dry_run,
            prune,
            yes,
            message,
            wait,
            timeout,
            store_args,
        } => {
            let apps = apply::load(&paths, apply::OnInvalid::NothingApplied)?;
            let store = store(&store_args.table).await?;
            let options = apply::Options {
                dry_run,
                prune,
                yes,
                message,
            };
            let applied = apply::apply(&store, &paths, &apps, &options).await?;
            if dry_run {
                return Ok(());
            }
            if wait {
                show::wait_ready(&store, &applied, timeout)
                    .await
                    .context("the apply is stored, but waiting for it failed")?;
            } else {
                show::warn_unless_leading(&store).await?;
            }
            Ok(())
        }
        // Handled by `run`, which needs their exit status.
        Command::Diff { .. } | Command::Run { .. } | Command::Doctor { .. } => Ok(()),
        Command::Ps {
            app,
            output,
            store_args,
        } => run::ps(&store(&store_args.table).await?, &app, output).await,
        Command::Stop {
            app,
            task,
            store_args,
        } => run::stop(&store(&store_args.table).await?, &app, &task).await,
        Command::Logs {
            app,
            process,
            task,
            since,
            follow,
            output,
            store_args,
        } => {
            let options = logs::Options {
                process,
                task,
                since,
                follow,
                output,
            };
            logs::logs(&store(&store_args.table).await?, &app, &options).await
        }
        Command::Rollback {
            app,
            version,
            message,
            yes,
            store_args,
        } => {
            let store = store(&store_args.table).await?;
            rollback::rollback(&store, &app, version.as_deref(), message, yes).await
        }
        Command::Restart {
            app,
            processes,
            message,
            wait,
            timeout,
            store_args,
        } => {
            let store = store(&store_args.table).await?;
            let restarted = restart::restart(&store, &app, &processes, message).await?;
            if wait {
                show::wait_ready(&store, &[restarted], timeout)
                    .await
                    .context("the restart is stored, but waiting for it failed")?;
            } else {
                show::warn_unless_leading(&store).await?;
            }
            Ok(())
        }
        Command::Get { output, store_args } => {
            show::get(&store(&store_args.table).await?, output).await
        }
        Command::Status {
            app,
            output,
            watch,
            timeout,
            store_args,
        } => {
            let store = store(&store_args.table).await?;
            if watch {
                return show::watch(&store, &app, output, timeout).await;
            }
            show::status(&store, &app, output).await
        }
        Command::Releases {
            app,
            output,
            store_args,
        } => show::releases(&store(&store_args.table).await?, &app, output).await,
        Command::Delete {
            app,
            wait,
            timeout,
            store_args,
        } => {
            let store = store(&store_args.table).await?;
            apply::delete(&store, &app).await?;
            if wait {
                show::wait_gone(&store, &app, timeout).await?;
            }
            Ok(())
        }
    }
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
    fn the_app_name_is_one_the_sdk_accepts() {
        // sdk_config() would silently send no app name otherwise, and the
        // IAM replay would take the CLI's requests for an administrator's.
        assert!(aws_config::AppName::new(APP_NAME).is_ok());
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
            &["ferry", "get", "--table", "t"],
            &["ferry", "status", "web", "--table", "t"],
            &["ferry", "releases", "web", "--table", "t"],
            &["ferry", "delete", "web", "--table", "t"],
            &["ferry", "run", "web", "--table", "t", "--", "ls"],
            &["ferry", "ps", "web", "--table", "t"],
            &["ferry", "stop", "web", "0123", "--table", "t"],
            &[
                "ferry", "logs", "web", "-f", "--since", "10m", "--table", "t",
            ],
        ] {
            assert!(parses(args), "{args:?}");
        }
    }
}
