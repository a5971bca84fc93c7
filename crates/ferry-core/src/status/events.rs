//! Service events as a person reads them: the same message said again and
//! again (`has started 2 tasks`, each time naming other tasks) is one line
//! with a count.

use crate::model::observed::ServiceEvent;

/// One line of collapsed events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollapsedEvent {
    /// The newest event's message, as ECS wrote it.
    pub message: String,
    /// RFC 3339: when the newest of them was written.
    pub created_at: String,
    /// How many events said it.
    pub count: usize,
}

/// The message without the tasks it names (`(task 0a1b...)`), the part
/// that differs between repeats of one message.
fn key(message: &str) -> String {
    let mut key = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("(task ") {
        key.push_str(&rest[..start]);
        match rest[start..].find(')') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    key.push_str(rest);
    key.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Collapses `events` (newest first) into one line per message, newest
/// first, each with how many events said it. Messages that differ only
/// in the tasks they name are the same message.
pub fn collapse(events: &[ServiceEvent]) -> Vec<CollapsedEvent> {
    let mut lines: Vec<(String, CollapsedEvent)> = Vec::new();
    for event in events {
        let key = key(&event.message);
        match lines.iter_mut().find(|(k, _)| *k == key) {
            Some((_, line)) => line.count += 1,
            None => lines.push((
                key,
                CollapsedEvent {
                    message: event.message.clone(),
                    created_at: event.created_at.clone(),
                    count: 1,
                },
            )),
        }
    }
    lines.into_iter().map(|(_, line)| line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str, at: &str) -> ServiceEvent {
        ServiceEvent {
            id: at.into(),
            created_at: at.into(),
            message: message.into(),
        }
    }

    #[test]
    fn repeats_naming_other_tasks_are_one_line_with_a_count() {
        let events = [
            event(
                "(service acme_web) has started 2 tasks: (task a1) (task b2).",
                "5",
            ),
            event("(service acme_web) has reached a steady state.", "4"),
            event(
                "(service acme_web) has started 2 tasks: (task c3) (task d4).",
                "3",
            ),
            event("(service acme_web) has started 1 tasks: (task e5).", "2"),
            event(
                "(service acme_web) has started 2 tasks: (task f6) (task g7).",
                "1",
            ),
        ];
        let lines = collapse(&events);
        let shown: Vec<(&str, usize)> = lines
            .iter()
            .map(|l| (l.message.as_str(), l.count))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "(service acme_web) has started 2 tasks: (task a1) (task b2).",
                    3
                ),
                ("(service acme_web) has reached a steady state.", 1),
                ("(service acme_web) has started 1 tasks: (task e5).", 1),
            ]
        );
        assert_eq!(lines[0].created_at, "5", "the newest of the repeats");
    }
}
