//! `ferry`: validate and apply app manifests, and read what the controller
//! reports.

mod apply;
mod cli;
mod completion;
mod confirm;
mod diff;
mod doctor;
mod exec;
mod exec_plugin;
mod git;
mod human;
mod layout;
mod logs;
mod manifest;
mod next_generation;
mod output;
mod report;
mod restart;
mod rollback;
mod rollout;
mod rollout_ecs;
mod rollout_view;
mod run;
mod scale;
mod show;
mod status_view;
mod strategy_diff;
mod unservable;
mod wait;
mod why;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use cli::{Cli, Command};
pub use output::Output;

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
            let layout = layout::Layout::stderr();
            let error = format!("error: {}", report::one_line(&err));
            eprintln!("{}", layout.paint(&error, layout::Tone::Bad));
            for line in report::details(&err, &layout) {
                eprintln!("{line}");
            }
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
    if let Command::Exec {
        app,
        process,
        task,
        command,
        store_args,
    } = &cli.command
    {
        let store = store(&store_args.table).await?;
        let request = exec::Request {
            app,
            process: process.as_deref(),
            task: task.as_deref(),
            command,
        };
        return exec::exec(&store, &request).await;
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
        Command::Completion { shell } => {
            completion::write(shell, &mut std::io::stdout().lock())?;
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
                wait::wait_ready(&store, &applied, timeout)
                    .await
                    .context("the apply is stored, but waiting for it failed")?;
            } else {
                show::warn_unless_leading(&store).await?;
            }
            Ok(())
        }
        // Handled by `run`, which needs their exit status.
        Command::Diff { .. }
        | Command::Run { .. }
        | Command::Exec { .. }
        | Command::Doctor { .. } => Ok(()),
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
            wait,
            timeout,
            store_args,
        } => {
            let store = store(&store_args.table).await?;
            let rolled_back =
                rollback::rollback(&store, &app, version.as_deref(), message, yes).await?;
            wait::follow_stored(&store, rolled_back, wait.then_some(timeout), "rollback").await
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
            wait::follow_stored(&store, restarted, wait.then_some(timeout), "restart").await
        }
        Command::Scale {
            app,
            counts,
            message,
            wait,
            timeout,
            store_args,
        } => {
            // Bad arguments are refused before any AWS call.
            let counts = scale::parse_counts(&counts)?;
            let store = store(&store_args.table).await?;
            let Some(scaled) = scale::scale(&store, &app, &counts, message).await? else {
                return Ok(());
            };
            wait::follow_stored(&store, scaled, wait.then_some(timeout), "scale").await
        }
        Command::Rollout { action } => rollout::run(action).await,
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
                return wait::watch(&store, &app, output, timeout).await;
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
                wait::wait_gone(&store, &app, timeout).await?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_name_is_one_the_sdk_accepts() {
        // sdk_config() would silently send no app name otherwise, and the
        // IAM replay would take the CLI's requests for an administrator's.
        assert!(aws_config::AppName::new(APP_NAME).is_ok());
    }
}
