//! The EventBridge Scheduler adapter: the schedules of scheduled processes,
//! in this installation's schedule group, as a shared cache, and the
//! executor of schedule actions.
//!
//! **Observation.** One ListSchedules per 100 schedules of the group per
//! resync ([`Scheduler::refresh`]); GetSchedule only for a schedule whose
//! `LastModificationDate` differs from the one cached (new, or changed
//! since it was last read: by Ferry's own writes, which leave the date
//! unknown, or by someone else). ListSchedules does not return the
//! expression or the target, so a changed schedule has to be read once;
//! an unchanged one never is again. Reconciles read the cache
//! ([`Scheduler::observe`]) and make no Scheduler call. The cache is a
//! [`Cache`]: newest-sent answer wins, so a listing sent before a write
//! and answered after it does not undo what the write's answer recorded.
//!
//! The modules: `execute` runs schedule actions, `requests` builds what
//! it sends and reads what GetSchedule answers.
//!
//! **Runs.** With [`Scheduler::with_dead_letters`], the same refresh reads
//! the schedules' dead-letter queue ([`crate::dead_letters`]); with
//! [`Scheduler::with_runs`], the tasks the schedules started
//! ([`crate::runs`]), both read by [`Scheduler::read_runs`] after each
//! refresh. Either failing is logged and leaves the schedules themselves
//! observed: status then shows what was read last.
//! [`Scheduler::observe_runs`] reads both caches.
//!
//! **Ownership.** Schedules carry no tags (only groups do). The group is
//! Ferry's: created by it, tagged `ferry:managed-by`, and refused if it
//! exists without that tag. Within it, the planner judges a schedule by
//! the tags its target puts on tasks.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicBool;

use aws_sdk_scheduler::Client;
use aws_smithy_types::DateTime;
use ferry_core::names;
use ferry_core::schedule::ObservedSchedule;
use ferry_core::schedule_runs::ObservedRuns;
use ferry_core::DesiredSchedule;
use tracing::warn;

use crate::cache::Cache;
use crate::dead_letters::DeadLetters;
use crate::paginate::{next_token, paginate, Page};
use crate::runs::ScheduledRuns;
use crate::Result;
use ferry_call::{Bucket, Caller};

mod execute;
mod requests;

/// The service name calls are counted by (a name of its own: the
/// permission test reads each crate's service constants by name).
const SCHEDULER: &str = "scheduler";
/// The largest page ListSchedules returns.
const LIST_PAGE: i32 = 100;

/// EventBridge Scheduler for one installation (`owner`): its schedule
/// group's schedules as a cache, the snapshot of one app's from it, and
/// the executor of schedule actions.
pub struct Scheduler {
    client: Client,
    caller: Caller,
    owner: String,
    group: String,
    /// By name.
    schedules: Cache<String, CachedSchedule>,
    /// Whether the group is known to exist and be ours.
    group_ready: AtomicBool,
    dead_letters: Option<DeadLetters>,
    runs: Option<ScheduledRuns>,
}

/// A schedule as cached.
#[derive(Debug, Clone)]
struct CachedSchedule {
    /// The modification date it was read at: `None` after Ferry's own
    /// write, so that the next listing reads it again.
    modified: Option<DateTime>,
    schedule: ObservedSchedule,
}

impl Scheduler {
    /// The adapter for `owner`'s group ([`names::schedule_group`]).
    pub fn new(client: Client, caller: Caller, owner: impl Into<String>) -> Self {
        let owner = owner.into();
        Self {
            client,
            caller,
            group: names::schedule_group(&owner),
            owner,
            schedules: Cache::new(),
            group_ready: AtomicBool::new(false),
            dead_letters: None,
            runs: None,
        }
    }

    /// Reads the schedules' dead-letter queue at each refresh.
    pub fn with_dead_letters(mut self, dead_letters: DeadLetters) -> Self {
        self.dead_letters = Some(dead_letters);
        self
    }

    /// Reads the tasks the schedules started at each refresh.
    pub fn with_runs(mut self, runs: ScheduledRuns) -> Self {
        self.runs = Some(runs);
        self
    }

    /// What became of the runs of `schedules` (an app's, from
    /// [`Scheduler::observe`]), from the caches: no AWS call.
    pub fn observe_runs(
        &self,
        schedules: &BTreeMap<String, ObservedSchedule>,
    ) -> BTreeMap<String, ObservedRuns> {
        schedules
            .values()
            .map(|s| {
                let (failures, dead_letter_messages) = self
                    .dead_letters
                    .as_ref()
                    .map(|d| d.for_schedule(&s.name))
                    .unwrap_or_default();
                let runs = match (&self.runs, s.task_definition_arn.as_deref()) {
                    (Some(runs), Some(arn)) => {
                        crate::runs::family_of(arn).map_or_else(Vec::new, |f| runs.runs(f))
                    }
                    _ => Vec::new(),
                };
                let observed = ObservedRuns {
                    failures,
                    dead_letter_messages,
                    runs,
                };
                (s.name.clone(), observed)
            })
            .collect()
    }

    /// Deletes dead letters whose failures status now records (message
    /// ids from [`ObservedRuns::dead_letter_messages`]). Returns the calls.
    pub async fn delete_dead_letters(&self, messages: &[String]) -> Result<usize> {
        match &self.dead_letters {
            Some(dead_letters) => dead_letters.delete_received(messages).await,
            None => Ok(0),
        }
    }

    /// Reads the dead-letter queue and the schedules' tasks, for the
    /// schedules the last [`Scheduler::refresh`] listed; a failure is logged
    /// and the caches keep what they had. Returns the calls made. Apart
    /// from `refresh` so that `ferry diff`, which lists schedules, never
    /// touches the queue.
    pub async fn read_runs(&self) -> usize {
        let (names, families): (BTreeSet<String>, BTreeSet<String>) =
            self.schedules.read(|schedules| {
                let names = schedules.keys().cloned().collect();
                let families = schedules
                    .values()
                    .map(|cached| &cached.schedule)
                    .filter(|s| s.tags.get(names::TAG_MANAGED_BY) == Some(&self.owner))
                    .filter_map(|s| s.task_definition_arn.as_deref())
                    .filter_map(crate::runs::family_of)
                    .map(str::to_owned)
                    .collect();
                (names, families)
            });
        let mut calls = 0;
        if let Some(dead_letters) = &self.dead_letters {
            match dead_letters.receive(&names).await {
                Ok(n) => calls += n,
                Err(err) => warn!(error = %err, "reading the schedules' dead-letter queue failed"),
            }
        }
        if let Some(runs) = &self.runs {
            match runs.read(&families).await {
                Ok(n) => calls += n,
                Err(err) => warn!(error = %err, "reading the scheduled runs failed"),
            }
        }
        calls
    }

    /// The task definitions the cached schedules run: in use, so never
    /// retired by task-definition hygiene.
    pub fn task_definition_arns(&self) -> Vec<String> {
        self.schedules.read(|schedules| {
            schedules
                .values()
                .filter_map(|cached| cached.schedule.task_definition_arn.clone())
                .collect()
        })
    }

    pub fn group(&self) -> &str {
        &self.group
    }

    /// Whether the cache comes from a complete listing, with no failed
    /// write since. [`Scheduler::observe`] answers either way, as it
    /// always has: a write that failed is read again at the next listing.
    pub fn is_ready(&self) -> bool {
        self.schedules.is_ready()
    }

    /// Lists the group and reads the schedules that changed. Returns the
    /// number of Scheduler calls made.
    pub async fn refresh(&self) -> Result<usize> {
        let seq = self.schedules.begin();
        let (summaries, mut calls) = paginate(|token: Option<String>| async move {
            let result = self
                .caller
                .call(
                    SCHEDULER,
                    "ListSchedules",
                    Bucket::SchedulerSchedules,
                    &self.group,
                    || {
                        self.client
                            .list_schedules()
                            .group_name(&self.group)
                            .max_results(LIST_PAGE)
                            .set_next_token(token.clone())
                            .send()
                    },
                )
                .await;
            let out = match result {
                Ok(out) => out,
                // No group yet: no schedules.
                Err(err) if err.code() == Some("ResourceNotFoundException") => {
                    return Ok(Page::empty())
                }
                Err(err) => return Err(err),
            };
            let summaries = out
                .schedules()
                .iter()
                .filter_map(|summary| {
                    let name = summary.name()?.to_owned();
                    Some((name, summary.last_modification_date().cloned()))
                })
                .collect();
            Ok(Page::new(summaries, next_token(out.next_token())))
        })
        .await?;
        let stale: Vec<String> = self.schedules.read(|schedules| {
            summaries
                .iter()
                .filter(|(name, modified)| {
                    schedules.get(name).is_none_or(|cached| {
                        cached.modified.is_none() || cached.modified != *modified
                    })
                })
                .map(|(name, _)| name.clone())
                .collect()
        });
        let mut read = HashMap::new();
        for name in stale {
            calls += 1;
            if let Some(found) = self.get(&name).await? {
                read.insert(name, found);
            }
        }
        // Every listed name with what was read of it now, or else what the
        // cache held (unchanged since, or gone between the listing and the
        // read: kept until the next listing lacks it, as before).
        let listed: Vec<(String, CachedSchedule)> = self.schedules.read(|schedules| {
            summaries
                .into_iter()
                .filter_map(|(name, _)| {
                    let cached = read
                        .remove(&name)
                        .or_else(|| schedules.get(&name).cloned())?;
                    Some((name, cached))
                })
                .collect()
        });
        self.schedules.apply_listing(seq, listed);
        Ok(calls)
    }

    async fn get(&self, name: &str) -> Result<Option<CachedSchedule>> {
        let result = self
            .caller
            .call(
                SCHEDULER,
                "GetSchedule",
                Bucket::SchedulerSchedules,
                name,
                || {
                    self.client
                        .get_schedule()
                        .name(name)
                        .group_name(&self.group)
                        .send()
                },
            )
            .await;
        let out = match result {
            Ok(out) => out,
            Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(Some(CachedSchedule {
            modified: out.last_modification_date().cloned(),
            schedule: requests::observed(name, &self.group, &out),
        }))
    }

    /// The cached schedules of one app: those it should have and those
    /// named for it (`{app}_...`: app names have no `_`). No call.
    pub fn observe(
        &self,
        app: &str,
        desired: &[DesiredSchedule],
    ) -> BTreeMap<String, ObservedSchedule> {
        let prefix = format!("{app}_");
        self.schedules.read(|schedules| {
            schedules
                .iter()
                .filter(|(name, _)| {
                    name.starts_with(&prefix) || desired.iter().any(|d| &d.schedule.name == *name)
                })
                .map(|(name, cached)| (name.clone(), cached.schedule.clone()))
                .collect()
        })
    }
}
