//! The schedules' dead-letter queue (`--schedule-dlq-arn`): the
//! invocations EventBridge Scheduler gave up on, as a cache that a
//! resync fills and reconciles read.
//!
//! **Reading.** GetQueueUrl once, when the controller starts
//! ([`DeadLetters::connect`]); then, per resync, GetQueueAttributes for
//! the approximate number of messages waiting and, only when some are,
//! ReceiveMessage with every message attribute, 10 messages per call and
//! at most [`MAX_RECEIVES`] calls ([`DeadLetters::receive`]). So an empty
//! queue costs one read a resync and no write: the steady state changes
//! nothing in AWS. Short polls: a resync must not wait
//! 20 s for a long poll, and SQS returns the rest of the messages to later
//! polls ("repeated requests will eventually return all of your messages",
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html>).
//!
//! **Deleting.** A message is deleted only once the failure it reports is
//! in the status the leader wrote ([`DeadLetters::delete_received`], called after
//! the write). Until then it stays in flight for [`VISIBILITY_TIMEOUT`],
//! then SQS delivers it again: a failure is never lost to a crash between
//! receiving and recording, and status shows each one once (ferry-core
//! keys them by execution id). ReceiveMessage and DeleteMessage change the
//! queue, so the write gate lets only the leader make them.
//!
//! Messages that are not Scheduler dead letters of this installation's
//! group are left in the queue, untouched; dead letters of schedules that
//! no longer exist are deleted (nobody will be shown them).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use ferry_core::schedule_runs::{self, DeadLetter, FailedInvocation};
use tracing::warn;

use crate::{Error, Result};
use ferry_call::{Bucket, Caller};

/// The service name calls are counted by (read by the permission test).
const SQS: &str = "sqs";
/// ReceiveMessage returns at most 10 messages per call.
const RECEIVE_BATCH: i32 = 10;
/// ReceiveMessage calls per resync at most: 100 dead letters per resync
/// is far more than schedules fail, and a flooded queue is worked off over
/// a few resyncs rather than in one burst.
pub const MAX_RECEIVES: usize = 10;
/// Seconds a received message stays invisible: longer than a resync and
/// the reconciles it queues, so the leader records and deletes it before
/// SQS delivers it again.
pub const VISIBILITY_TIMEOUT: i32 = 120;

pub struct DeadLetters {
    client: Client,
    caller: Caller,
    queue_arn: String,
    group: String,
    url: Mutex<Option<String>>,
    /// Received and not yet deleted, by SQS message id: the receipt handle
    /// of the latest delivery and the dead letter.
    received: Mutex<BTreeMap<String, (String, DeadLetter)>>,
    /// Ids of messages left in the queue (not this installation's dead
    /// letters), so each is logged once; at most [`MAX_IGNORED`].
    ignored: Mutex<BTreeSet<String>>,
}

/// How many ignored message ids are remembered (for logging only).
const MAX_IGNORED: usize = 1000;

/// `arn:PARTITION:sqs:REGION:ACCOUNT:NAME` to (account, name).
fn queue_of(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, account, name] if !account.is_empty() && !name.is_empty() => {
            Some((account, name))
        }
        _ => None,
    }
}

impl DeadLetters {
    /// The queue `queue_arn`, for the dead letters of schedules in `group`.
    pub fn new(
        client: Client,
        caller: Caller,
        queue_arn: impl Into<String>,
        group: impl Into<String>,
    ) -> Self {
        Self {
            client,
            caller,
            queue_arn: queue_arn.into(),
            group: group.into(),
            url: Mutex::new(None),
            received: Mutex::new(BTreeMap::new()),
            ignored: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn queue_arn(&self) -> &str {
        &self.queue_arn
    }

    fn received(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (String, DeadLetter)>> {
        self.received.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self) -> Option<String> {
        self.url.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Looks the queue's URL up (GetQueueUrl); an error names the queue.
    pub async fn connect(&self) -> Result<()> {
        let (account, name) = queue_of(&self.queue_arn).ok_or_else(|| Error::Build {
            what: "schedule dead-letter queue",
            message: format!("{} is not an SQS queue ARN", self.queue_arn),
        })?;
        let out = self
            .caller
            .call(SQS, "GetQueueUrl", Bucket::Sqs, &self.queue_arn, || {
                self.client
                    .get_queue_url()
                    .queue_name(name)
                    .queue_owner_aws_account_id(account)
                    .send()
            })
            .await?;
        let url = out.queue_url().ok_or(Error::Incomplete {
            service: SQS,
            operation: "GetQueueUrl",
            resource: self.queue_arn.clone(),
            what: "QueueUrl",
        })?;
        *self.url.lock().unwrap_or_else(|p| p.into_inner()) = Some(url.to_owned());
        Ok(())
    }

    /// Receives what is in the queue (at most [`MAX_RECEIVES`] calls), then
    /// deletes the dead letters of schedules not in `schedules` (the
    /// group's, as listed). Returns the SQS calls made.
    pub async fn receive(&self, schedules: &BTreeSet<String>) -> Result<usize> {
        let Some(url) = self.url() else {
            return Ok(0);
        };
        // A read first: an empty queue (the steady state) costs no
        // ReceiveMessage, which changes the queue (it hides what it
        // returns) and so counts as a write. The count is approximate
        // ("eventually consistent"): a message it misses is received at
        // the next resync.
        let waiting = self
            .caller
            .call(
                SQS,
                "GetQueueAttributes",
                Bucket::Sqs,
                &self.queue_arn,
                || {
                    self.client
                        .get_queue_attributes()
                        .queue_url(&url)
                        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                        .send()
                },
            )
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .and_then(|n| n.parse::<u64>().ok())
            // Unreadable: receive, as if there were messages.
            .unwrap_or(1);
        let mut calls = 1;
        let receives = if waiting == 0 { 0 } else { MAX_RECEIVES };
        for _ in 0..receives {
            let out = self
                .caller
                .call(SQS, "ReceiveMessage", Bucket::Sqs, &self.queue_arn, || {
                    self.client
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(RECEIVE_BATCH)
                        .visibility_timeout(VISIBILITY_TIMEOUT)
                        .wait_time_seconds(0)
                        .message_attribute_names("All")
                        .send()
                })
                .await?;
            calls += 1;
            let messages = out.messages();
            let mut received = self.received();
            for message in messages {
                let (Some(id), Some(receipt)) = (message.message_id(), message.receipt_handle())
                else {
                    continue;
                };
                let attributes: BTreeMap<String, String> = message
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .filter_map(|(name, value)| {
                        Some((name.clone(), value.string_value()?.to_owned()))
                    })
                    .collect();
                match schedule_runs::dead_letter(id, &attributes) {
                    Some(letter) if letter.group == self.group => {
                        received.insert(id.to_owned(), (receipt.to_owned(), letter));
                    }
                    _ => {
                        let mut ignored = self.ignored.lock().unwrap_or_else(|p| p.into_inner());
                        if ignored.len() < MAX_IGNORED && ignored.insert(id.to_owned()) {
                            warn!(
                                queue = %self.queue_arn,
                                message = id,
                                "a message that is not a dead letter of this installation's \
                                 schedules is left in the queue (it expires with the queue's retention)"
                            );
                        }
                    }
                }
            }
            if messages.len() < RECEIVE_BATCH as usize {
                break;
            }
        }
        let orphans: Vec<String> = self
            .received()
            .iter()
            .filter(|(_, (_, letter))| !schedules.contains(&letter.schedule))
            .map(|(id, _)| id.clone())
            .collect();
        calls += self.delete_received(&orphans).await?;
        Ok(calls)
    }

    /// The received dead letters of schedule `name`, with their message ids.
    pub fn for_schedule(&self, name: &str) -> (Vec<FailedInvocation>, Vec<String>) {
        self.received()
            .iter()
            .filter(|(_, (_, letter))| letter.schedule == name)
            .map(|(id, (_, letter))| (letter.failure.clone(), id.clone()))
            .unzip()
    }

    /// Deletes messages received before, by message id (those no longer
    /// held are skipped). Returns the calls made. A message another
    /// consumer deleted, or whose receipt expired, is forgotten too: SQS
    /// delivers it again if it is still there.
    pub async fn delete_received(&self, ids: &[String]) -> Result<usize> {
        let Some(url) = self.url() else {
            return Ok(0);
        };
        let mut calls = 0;
        for id in ids {
            let Some(receipt) = self.received().get(id).map(|(r, _)| r.clone()) else {
                continue;
            };
            let result = self
                .caller
                .call(SQS, "DeleteMessage", Bucket::Sqs, id, || {
                    self.client
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(&receipt)
                        .send()
                })
                .await;
            calls += 1;
            match result {
                Ok(_) => {}
                Err(err)
                    if matches!(
                        err.code(),
                        Some("ReceiptHandleIsInvalid" | "InvalidParameterValue")
                    ) => {}
                Err(err) => return Err(err),
            }
            self.received().remove(id);
        }
        Ok(calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_arns_give_account_and_name() {
        assert_eq!(
            queue_of("arn:aws:sqs:us-east-1:123456789012:ferry-schedules"),
            Some(("123456789012", "ferry-schedules"))
        );
        assert_eq!(queue_of("arn:aws:sns:us-east-1:123456789012:t"), None);
        assert_eq!(queue_of("arn:aws:sqs:us-east-1:123456789012"), None);
        assert_eq!(queue_of("https://sqs.us-east-1.amazonaws.com/1/q"), None);
    }
}
