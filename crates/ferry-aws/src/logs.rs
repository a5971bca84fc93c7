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
//!
//! The controller reads one stopped task's last lines with one
//! GetLogEvents call on its stream ([`Logs::stream_tail`]): `startFromHead=false`
//! with a `limit` returns the newest events of one stream in one call,
//! under a quota of its own, five times FilterLogEvents'
//! ([`Bucket::LogsTailReads`],
//! <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html>).

use std::collections::HashSet;

use aws_sdk_cloudwatchlogs::Client;
use ferry_call::{Bucket, Caller};

use crate::paginate::{for_each_page, next_token, Page};
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
    pub async fn sweep(&self, query: &Query, each: impl FnMut(LogEvent)) -> Result<usize> {
        for_each_page(
            |token: Option<String>| async move {
                let mut request = self
                    .client
                    .filter_log_events()
                    .log_group_name(&self.group)
                    .set_start_time(query.start_ms)
                    .set_end_time(query.end_ms)
                    .set_next_token(token);
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
                let events = out
                    .events()
                    .iter()
                    .map(|event| LogEvent {
                        stream: event.log_stream_name().unwrap_or_default().to_owned(),
                        timestamp_ms: event.timestamp().unwrap_or_default(),
                        message: event.message().unwrap_or_default().to_owned(),
                        event_id: event.event_id().unwrap_or_default().to_owned(),
                    })
                    .collect();
                // A token equal to the one sent ends the sweep too (the
                // helper's rule): following it would read the page again.
                Ok(Page::new(events, next_token(out.next_token())))
            },
            each,
        )
        .await
    }
}

impl Logs {
    /// The last `lines` lines `stream` holds, oldest first, each without
    /// its trailing newline: ONE GetLogEvents call, never paginated
    /// ("If the value is false, the latest log events are returned first"
    /// and a page holds at most `limit` events; the page itself is in time
    /// order, API_GetLogEvents). A stream that does not exist is an error
    /// (`ResourceNotFoundException`), for the caller to judge.
    pub async fn stream_tail(&self, stream: &str, lines: usize) -> Result<Vec<String>> {
        let limit = i32::try_from(lines.max(1)).unwrap_or(i32::MAX);
        let out = self
            .caller
            .call(LOGS, "GetLogEvents", Bucket::LogsTailReads, stream, || {
                self.client
                    .get_log_events()
                    .log_group_name(&self.group)
                    .log_stream_name(stream)
                    .start_from_head(false)
                    .limit(limit)
                    .send()
            })
            .await?;
        let mut events: Vec<(i64, String)> = out
            .events()
            .iter()
            .map(|e| {
                let line = e.message().unwrap_or_default();
                (
                    e.timestamp().unwrap_or_default(),
                    line.trim_end_matches(['\n', '\r']).to_owned(),
                )
            })
            .collect();
        // Stable: lines written in the same millisecond keep the API's order.
        events.sort_by_key(|(at, _)| *at);
        Ok(newest_within(
            events.into_iter().map(|(_, line)| line).collect(),
            lines,
            ferry_core::model::stops::LOG_TAIL_BYTES,
        ))
    }
}

/// The newest of `lines` (oldest first) that fit in `max_lines` lines and
/// `max_bytes` bytes, oldest first: the newest line is kept first, and the
/// oldest line kept is cut at a character boundary (keeping its end, the
/// part written last) to fill what is left of `max_bytes`.
pub fn newest_within(lines: Vec<String>, max_lines: usize, max_bytes: usize) -> Vec<String> {
    let mut kept = Vec::new();
    let mut left = max_bytes;
    for line in lines.into_iter().rev().take(max_lines) {
        if left == 0 {
            break;
        }
        if line.len() <= left {
            left -= line.len();
            kept.push(line);
        } else {
            let mut start = line.len() - left;
            while !line.is_char_boundary(start) {
                start += 1;
            }
            kept.push(line[start..].to_owned());
            left = 0;
        }
    }
    kept.reverse();
    kept
}

/// How late after it was written CloudWatch Logs may make a line readable,
/// as Ferry's readers allow for it.
///
/// CloudWatch Logs states no bound: an event carries both its `timestamp`
/// and the `ingestionTime` at which it was stored
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_OutputLogEvent.html>),
/// and events of several streams are ingested independently, so a
/// reader can see a line before an older one. The `awslogs` driver adds
/// its own batching on top. Five seconds covers what is seen in practice
/// and the local AWS's emulated delay (at most 2 s by default); a line
/// later than that is missed by a follower (a later `ferry logs` shows it).
pub const INGESTION_WINDOW: std::time::Duration = std::time::Duration::from_secs(5);

/// Where a follower of the logs stands: the newest timestamp it has seen
/// and the ids of the events it has shown within [`INGESTION_WINDOW`] of it.
///
/// Each poll reads again from [`INGESTION_WINDOW`] before the newest event
/// shown, and an event is new when its id is, so:
/// - nothing is shown twice (CloudWatch Logs' `eventId` is unique in its
///   log group);
/// - a line that becomes readable after a newer one (its ingestion lagged,
///   or another stream's did not) is still shown, as long as it is at
///   most [`INGESTION_WINDOW`] older than the newest line shown; it is
///   shown when it arrives, so lines of several streams can appear
///   slightly out of time order.
///
/// The set of remembered ids is bounded by the lines of one window.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    /// Nothing older than this is read (the `--since` of `ferry logs`).
    floor_ms: Option<i64>,
    newest_ms: Option<i64>,
    /// The ids shown within the window below `newest_ms`...
    seen: HashSet<String>,
    /// ...by timestamp, to forget them as the window moves on.
    by_time: std::collections::BTreeMap<i64, Vec<String>>,
}

impl Cursor {
    /// A cursor that starts at `start_ms`.
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            floor_ms: Some(start_ms),
            ..Self::default()
        }
    }

    fn window_ms() -> i64 {
        i64::try_from(INGESTION_WINDOW.as_millis()).unwrap_or(i64::MAX)
    }

    /// Where the next poll starts: one ingestion window before the newest
    /// line shown, never before the floor.
    pub fn start_ms(&self) -> Option<i64> {
        let from = self
            .newest_ms
            .map(|newest| newest.saturating_sub(Self::window_ms()));
        match (from, self.floor_ms) {
            (Some(from), Some(floor)) => Some(from.max(floor)),
            (from, floor) => from.or(floor),
        }
    }

    /// Whether `event` is new; records it.
    pub fn admit(&mut self, event: &LogEvent) -> bool {
        if self
            .start_ms()
            .is_some_and(|start| event.timestamp_ms < start)
            || !self.seen.insert(event.event_id.clone())
        {
            return false;
        }
        self.by_time
            .entry(event.timestamp_ms)
            .or_default()
            .push(event.event_id.clone());
        if self
            .newest_ms
            .is_none_or(|newest| event.timestamp_ms > newest)
        {
            self.newest_ms = Some(event.timestamp_ms);
            // Ids below the window can never be read again: forget them.
            if let Some(start) = self.start_ms() {
                let kept = self.by_time.split_off(&start);
                for id in std::mem::replace(&mut self.by_time, kept)
                    .into_values()
                    .flatten()
                {
                    self.seen.remove(&id);
                }
            }
        }
        true
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
        // The next poll starts a window back (not before the floor) and
        // sees a, b and c again, then d.
        assert_eq!(cursor.start_ms(), Some(100));
        let second: Vec<bool> = [
            event(100, "a"),
            event(105, "b"),
            event(105, "c"),
            event(105, "d"),
        ]
        .iter()
        .map(|e| cursor.admit(e))
        .collect();
        assert_eq!(second, [false, false, false, true]);
        assert!(cursor.admit(&event(106, "e")));
        assert!(!cursor.admit(&event(99, "before the floor")));
    }

    #[test]
    fn a_line_ingested_after_a_newer_one_is_still_shown() {
        // A task's last line (its error) at 2_000 becomes readable only
        // after a line of another stream at 3_000 was shown.
        let mut cursor = Cursor::default();
        assert!(cursor.admit(&event(1_000, "first")));
        assert!(cursor.admit(&event(3_000, "other stream")));
        let window = Cursor::window_ms();
        assert_eq!(cursor.start_ms(), Some(3_000 - window));
        assert!(
            cursor.admit(&event(2_000, "late error")),
            "a late line is shown"
        );
        assert!(!cursor.admit(&event(2_000, "late error")), "once");
        // Beyond the window a line is no longer read, and its id is forgotten.
        assert!(cursor.admit(&event(3_000 + window + 1, "much later")));
        assert!(!cursor.admit(&event(2_999, "too late")));
        assert!(cursor.by_time.keys().all(|ms| *ms >= 3_001));
        assert_eq!(cursor.seen.len(), 1);
    }

    #[test]
    fn a_tail_keeps_the_newest_lines_within_its_bounds() {
        let lines = |v: &[&str]| v.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            newest_within(lines(&["a", "b", "c"]), 2, 100),
            ["b", "c"],
            "at most max_lines, the newest"
        );
        assert_eq!(
            newest_within(lines(&["first", "second", "KeyError"]), 5, 12),
            ["cond", "KeyError"],
            "the newest line whole, the one before cut to fit"
        );
        // A cut never splits a character: "é" is two bytes.
        assert_eq!(newest_within(lines(&["xé", "ab"]), 5, 3), ["", "ab"]);
        assert_eq!(newest_within(lines(&["abcdef"]), 5, 4), ["cdef"]);
        assert!(newest_within(lines(&["a"]), 5, 0).is_empty());
    }

    #[test]
    fn a_stream_is_prefix_container_task() {
        assert_eq!(stream_name("shop", "web", "0a1b"), "shop/web/0a1b");
    }
}
