//! The CloudWatch Logs adapter: the log lines of an app's tasks.
//!
//! Ferry's task definitions use the `awslogs` driver with the app's name
//! as `awslogs-stream-prefix` (`ferry_core::render`), and a container is
//! named after its process, so each task writes to the stream
//! `APP/PROCESS/TASK_ID` ("prefix-name/container-name/ecs-task-id",
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html>).
//!
//! One FilterLogEvents sweep, paginated by `nextToken`, reads every
//! stream under a prefix (`APP/` or `APP/PROCESS/`) at once, interleaved
//! by time: the cost of reading an app's logs grows with its lines, never
//! with its tasks. FilterLogEvents is paced at its quota
//! ([`Bucket::LogsReads`]).

use std::collections::HashSet;

use aws_sdk_cloudwatchlogs::Client;
use ferry_call::{Bucket, Caller};

use crate::Result;

/// The service name calls are counted under (a crate-wide name: `SERVICE` is ECS's).
const LOGS: &str = "logs";

/// The stream an app's process's task writes to.
pub fn stream_name(app: &str, process: &str, task_id: &str) -> String {
    format!("{app}/{process}/{task_id}")
}

/// Which streams a sweep reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Streams {
    /// Every stream whose name starts with this.
    Prefix(String),
    /// Exactly these (at most 100, the API's limit).
    Named(Vec<String>),
}

/// What to read: streams, and a time range in Unix milliseconds
/// (inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub streams: Streams,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
}

/// One log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub stream: String,
    /// When the line was written, Unix milliseconds.
    pub timestamp_ms: i64,
    pub message: String,
    /// CloudWatch Logs' id of the event, unique in its log group.
    pub event_id: String,
}

/// CloudWatch Logs, for one log group.
pub struct Logs {
    client: Client,
    caller: Caller,
    group: String,
}

impl Logs {
    pub fn new(client: Client, caller: Caller, group: impl Into<String>) -> Self {
        Self {
            client,
            caller,
            group: group.into(),
        }
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Reads every event `query` matches, in the API's order (by time),
    /// handing each to `each` as its page arrives: one FilterLogEvents
    /// call per page, following `nextToken` until there is none. (A page
    /// may be partly full, or empty, while more remain: the API says so.)
    /// Returns the number of calls made.
    pub async fn sweep(&self, query: &Query, mut each: impl FnMut(LogEvent)) -> Result<usize> {
        let mut token: Option<String> = None;
        let mut calls = 0;
        loop {
            let mut request = self
                .client
                .filter_log_events()
                .log_group_name(&self.group)
                .set_start_time(query.start_ms)
                .set_end_time(query.end_ms)
                .set_next_token(token.clone());
            request = match &query.streams {
                Streams::Prefix(prefix) => request.log_stream_name_prefix(prefix),
                Streams::Named(names) => request.set_log_stream_names(Some(names.clone())),
            };
            let out = self
                .caller
                .call(
                    LOGS,
                    "FilterLogEvents",
                    Bucket::LogsReads,
                    &self.group,
                    || request.clone().send(),
                )
                .await?;
            calls += 1;
            for event in out.events() {
                each(LogEvent {
                    stream: event.log_stream_name().unwrap_or_default().to_owned(),
                    timestamp_ms: event.timestamp().unwrap_or_default(),
                    message: event.message().unwrap_or_default().to_owned(),
                    event_id: event.event_id().unwrap_or_default().to_owned(),
                });
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && Some(next) != token.as_deref() => {
                    token = Some(next.to_owned());
                }
                _ => return Ok(calls),
            }
        }
    }
}

/// Where a follower of the logs stands: the newest timestamp it has seen
/// and the events it has seen at that timestamp.
///
/// Each poll reads from that timestamp on (inclusive, since more events
/// can share a millisecond), and the events already seen at it are
/// skipped, so nothing is shown twice and nothing written after the last
/// poll's newest event is missed. An event that CloudWatch Logs makes
/// readable only after a newer one has been shown (its ingestion lags
/// behind) is not shown.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    newest_ms: Option<i64>,
    seen: HashSet<String>,
}

impl Cursor {
    /// A cursor that starts at `start_ms`.
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            newest_ms: Some(start_ms),
            seen: HashSet::new(),
        }
    }

    /// Where the next poll starts.
    pub fn start_ms(&self) -> Option<i64> {
        self.newest_ms
    }

    /// Whether `event` is new; records it.
    pub fn admit(&mut self, event: &LogEvent) -> bool {
        match self.newest_ms {
            Some(newest) if event.timestamp_ms < newest => false,
            Some(newest) if event.timestamp_ms == newest => {
                self.seen.insert(event.event_id.clone())
            }
            _ => {
                self.newest_ms = Some(event.timestamp_ms);
                self.seen.clear();
                self.seen.insert(event.event_id.clone());
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ms: i64, id: &str) -> LogEvent {
        LogEvent {
            stream: "shop/web/0a1b".into(),
            timestamp_ms: ms,
            message: id.into(),
            event_id: id.into(),
        }
    }

    #[test]
    fn a_cursor_shows_each_event_once_across_polls() {
        let mut cursor = Cursor::starting_at(100);
        let first: Vec<bool> = [event(100, "a"), event(105, "b"), event(105, "c")]
            .iter()
            .map(|e| cursor.admit(e))
            .collect();
        assert_eq!(first, [true, true, true]);
        assert_eq!(cursor.start_ms(), Some(105));
        // The next poll starts at 105 and sees b and c again, then d.
        let second: Vec<bool> = [event(105, "b"), event(105, "c"), event(105, "d")]
            .iter()
            .map(|e| cursor.admit(e))
            .collect();
        assert_eq!(second, [false, false, true]);
        assert!(cursor.admit(&event(106, "e")));
        assert!(!cursor.admit(&event(105, "late")), "older than shown");
    }

    #[test]
    fn a_stream_is_prefix_container_task() {
        assert_eq!(stream_name("shop", "web", "0a1b"), "shop/web/0a1b");
    }
}
