//! `ferry logs`: the log lines of an app's tasks, from the CloudWatch Logs
//! group the controller configures for apps.
//!
//! Each task writes to the stream `APP/PROCESS/TASK_ID` (see
//! `ferry_aws::logs`). One paginated FilterLogEvents sweep over the prefix
//! `APP/` (or `APP/PROCESS/`) reads every task's lines, ordered by time; a
//! follower repeats the sweep every [`FOLLOW_EVERY`] from the newest line
//! it has shown.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use ferry_aws::logs::{Cursor, LogEvent, Query, Streams};
use ferry_aws::Logs;
use ferry_store::Store;

/// How often `-f` and an attached `ferry run` look for new lines: well
/// under FilterLogEvents' quota of 5 per second, which every reader in the
/// account shares.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// The characters of a task id `ferry logs` shows, as `git` and `docker`
/// shorten theirs.
const SHORT_ID: usize = 8;

/// What `ferry logs` reads and how it shows it.
#[derive(Debug, Clone)]
pub struct Options {
    pub process: Option<String>,
    pub task: Option<String>,
    pub since: Duration,
    pub follow: bool,
    pub output: crate::Output,
}

/// The CloudWatch Logs client for the group the controller published, in
/// the region the task definitions name for it.
pub async fn client(settings: &ferry_core::Settings) -> anyhow::Result<Logs> {
    let group = settings.log_group.clone().context(
        "the controller runs without a log group (FERRY_LOG_GROUP), so tasks write no logs",
    )?;
    let sdk = ferry_aws::paced_sdk_config(&crate::sdk_config().await?);
    let config = aws_sdk_cloudwatchlogs::config::Builder::from(&sdk)
        .region(aws_sdk_cloudwatchlogs::config::Region::new(
            settings.region.clone(),
        ))
        .build();
    Ok(Logs::new(
        aws_sdk_cloudwatchlogs::Client::from_conf(config),
        crate::caller(),
        group,
    ))
}

/// A stream's process and task id (`APP/PROCESS/TASK_ID`).
fn parts(stream: &str) -> Option<(&str, &str)> {
    let mut parts = stream.splitn(3, '/');
    let (_, process, task) = (parts.next()?, parts.next()?, parts.next()?);
    Some((process, task))
}

fn short(task: &str) -> &str {
    task.get(..SHORT_ID).unwrap_or(task)
}

/// Unix milliseconds as RFC 3339 in UTC, to the millisecond.
fn time_of(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// A log line without the line break the container ended it with.
fn text(message: &str) -> &str {
    message.trim_end_matches(['\n', '\r'])
}

/// One event as `ferry logs` prints it: `TIME PROCESS[TASK]: MESSAGE`, or
/// one JSON object (one line) or YAML document.
fn render(event: &LogEvent, output: crate::Output) -> String {
    let (process, task) = parts(&event.stream).unwrap_or(("-", event.stream.as_str()));
    if let Some(format) = output.structured() {
        let value = serde_json::json!({
            "time": time_of(event.timestamp_ms),
            "timestamp": event.timestamp_ms,
            "process": process,
            "task": task,
            "stream": event.stream,
            "message": text(&event.message),
            "eventId": event.event_id,
        });
        // A JSON value always serializes; the fallback is never taken.
        return format.record(&value).unwrap_or_else(|_| value.to_string());
    }
    format!(
        "{} {process}[{}]: {}",
        time_of(event.timestamp_ms),
        short(task),
        text(&event.message)
    )
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Reads every line `query` matches from the cursor on, printing the new
/// ones (those `keep` accepts) with `print`; one paginated sweep.
pub async fn poll(
    logs: &Logs,
    streams: &Streams,
    cursor: &mut Cursor,
    keep: &dyn Fn(&LogEvent) -> bool,
    print: &mut dyn FnMut(&LogEvent),
) -> anyhow::Result<()> {
    let query = Query {
        streams: streams.clone(),
        start_ms: cursor.start_ms(),
        end_ms: None,
    };
    logs.sweep(&query, |event| {
        if keep(&event) && cursor.admit(&event) {
            print(&event);
        }
    })
    .await
    .with_context(|| format!("reading the log group {}", logs.group()))?;
    Ok(())
}

/// `ferry logs APP`: the app's lines since `since`, and with `follow`
/// new ones until Ctrl-C.
pub async fn logs(store: &Store, app: &str, options: &Options) -> anyhow::Result<()> {
    let record = store.require_app(app).await?;
    if let Some(process) = &options.process {
        if !record.spec.processes.contains_key(process) {
            let names: Vec<&str> = record.spec.processes.keys().map(String::as_str).collect();
            bail!(
                "app {app} has no process {process}; its processes are {}",
                names.join(", ")
            );
        }
    }
    let settings = store.controller_settings().await?.context(
        "the controller has not published its settings yet: start ferry-controller first",
    )?;
    let logs = client(&settings).await?;
    let streams = Streams::Prefix(match &options.process {
        Some(process) => format!("{app}/{process}/{}", options.task.as_deref().unwrap_or("")),
        None => format!("{app}/"),
    });
    // Without a process the task id cannot be part of the prefix; the same
    // sweep is narrowed here instead.
    let task = options.task.clone();
    let keep = move |event: &LogEvent| match (&task, parts(&event.stream)) {
        (None, _) => true,
        (Some(wanted), Some((_, id))) => id.starts_with(wanted.as_str()),
        (Some(_), None) => false,
    };
    let since = i64::try_from(options.since.as_millis()).unwrap_or(i64::MAX);
    let mut cursor = Cursor::starting_at(now_ms().saturating_sub(since));
    let output = options.output;
    let mut print = |event: &LogEvent| println!("{}", render(event, output));
    poll(&logs, &streams, &mut cursor, &keep, &mut print).await?;
    if !options.follow {
        return Ok(());
    }
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            polled = async {
                tokio::time::sleep(FOLLOW_EVERY).await;
                poll(&logs, &streams, &mut cursor, &keep, &mut print).await
            } => polled?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stream: &str, message: &str) -> LogEvent {
        LogEvent {
            stream: stream.into(),
            timestamp_ms: 1_700_000_000_123,
            message: message.into(),
            event_id: "1".into(),
        }
    }

    #[test]
    fn a_line_is_prefixed_with_its_time_process_and_short_task_id() {
        let line = render(
            &event("shop/web/0123456789abcdef0123456789abcdef", "hello\n"),
            crate::Output::Table,
        );
        assert_eq!(line, "2023-11-14T22:13:20.123Z web[01234567]: hello");
    }

    #[test]
    fn json_lines_carry_the_whole_task_id_and_stream() {
        let line = render(&event("shop/worker/abc", "hi"), crate::Output::Json);
        let value: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["process"], "worker");
        assert_eq!(value["task"], "abc");
        assert_eq!(value["stream"], "shop/worker/abc");
        assert_eq!(value["message"], "hi");
        assert_eq!(value["timestamp"], 1_700_000_000_123_i64);
        assert_eq!(value["time"], "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn yaml_records_hold_what_json_lines_hold() {
        let shown = event("shop/worker/abc", "hi");
        let json: serde_json::Value =
            serde_json::from_str(&render(&shown, crate::Output::Json)).expect("json");
        let yaml = render(&shown, crate::Output::Yaml);
        assert!(yaml.starts_with("---\n"), "{yaml}");
        let yaml: serde_json::Value = serde_yaml::from_str(&yaml).expect("yaml");
        assert_eq!(json, yaml);
    }

    #[test]
    fn a_stream_outside_ferrys_naming_is_shown_whole() {
        let line = render(&event("odd", "x"), crate::Output::Table);
        assert!(line.ends_with(" -[odd]: x"), "{line}");
    }
}
