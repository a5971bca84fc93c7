//! `ferry`: validate and apply app manifests, and read what the controller
//! reports.

mod apply;
mod git;
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
    /// DynamoDB table holding specs, releases and status.
    #[arg(long, env = "FERRY_TABLE", default_value = "ferry", global = true)]
    table: String,

    #[command(subcommand)]
    command: Command,
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
    Init,
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
        /// Show what would change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Message recorded on the releases.
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
        /// Wait until every applied app is Ready.
        #[arg(long)]
        wait: bool,
        /// How long --wait waits.
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
    /// List apps with their conditions.
    Get {
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
    },
    /// Show one app's status: conditions, processes, events, last error.
    Status {
        app: String,
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
    },
    /// List an app's releases, newest first.
    Releases {
        app: String,
        #[arg(short = 'o', long = "output", value_enum, default_value_t)]
        output: Output,
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
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli).await {
        eprintln!("error: {}", one_line(&err));
        std::process::exit(1);
    }
}

/// The error and its causes on one line.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

async fn store(table: &str) -> anyhow::Result<ferry_store::Store> {
    let sdk = aws_config::load_from_env().await;
    let caller = ferry_aws::Caller::new(
        Arc::new(ferry_aws::Pacing::default()),
        ferry_aws::AwsMetrics::unregistered(),
        Duration::from_secs(30),
    );
    Ok(ferry_store::Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        caller,
        table,
    ))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Init => {
            let store = store(&cli.table).await?;
            let created = store.create_table().await.context("creating the table")?;
            if created {
                println!("table {} created", cli.table);
            } else {
                println!("table {} already exists", cli.table);
            }
            Ok(())
        }
        Command::Validate { paths } => {
            let apps = apply::load(&paths)?;
            for app in &apps {
                println!("{}: app {} is valid", app.file.display(), app.app.name);
            }
            Ok(())
        }
        Command::Apply {
            paths,
            dry_run,
            message,
            wait,
            timeout,
        } => {
            let apps = apply::load(&paths)?;
            let store = store(&cli.table).await?;
            let applied = apply::apply(&store, &paths, &apps, dry_run, message).await?;
            if wait && !dry_run {
                show::wait_ready(&store, &applied, timeout).await?;
            }
            Ok(())
        }
        Command::Get { output } => show::get(&store(&cli.table).await?, output).await,
        Command::Status { app, output } => {
            show::status(&store(&cli.table).await?, &app, output).await
        }
        Command::Releases { app, output } => {
            show::releases(&store(&cli.table).await?, &app, output).await
        }
        Command::Delete { app, wait, timeout } => {
            let store = store(&cli.table).await?;
            apply::delete(&store, &app).await?;
            if wait {
                show::wait_gone(&store, &app, timeout).await?;
            }
            Ok(())
        }
    }
}
