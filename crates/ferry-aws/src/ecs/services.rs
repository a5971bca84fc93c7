//! The cluster's live services: the generic [`Cache`] (newest-sent
//! wins, complete listings are the truth), plus the grace a service Ferry
//! just created is given against reads that miss it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use ferry_core::ObservedService;

use super::CONSISTENCY_GRACE;
use crate::cache::{Cache, Seq, View};

/// Live services by name; INACTIVE ones are absent.
#[derive(Default)]
pub(super) struct Services {
    cache: Cache<String, ObservedService>,
    /// Services Ferry created, by when: within [`CONSISTENCY_GRACE`] a
    /// read that does not find one is not believed.
    created: Mutex<HashMap<String, Instant>>,
}

impl Services {
    /// The sequence number of a read or write about to be sent.
    pub(super) fn begin(&self) -> Seq {
        self.cache.begin()
    }

    /// Records what a request sent at `seq` saw of a live service.
    pub(super) fn put(&self, seq: Seq, service: ObservedService) {
        self.cache.put(seq, service.name.clone(), service);
    }

    /// Records that a request sent at `seq` found no live `name`, unless
    /// Ferry created it within [`CONSISTENCY_GRACE`].
    pub(super) fn remove(&self, seq: Seq, name: &str) {
        if !self.in_grace(name) {
            self.cache.remove(seq, &name.to_owned());
        }
    }

    /// Records a complete listing of the cluster sent at `seq`: services it
    /// lacks leave the cache, except those in their grace.
    pub(super) fn apply_listing(&self, seq: Seq, found: Vec<ObservedService>) {
        self.cache.apply_listing_sparing(
            seq,
            found.into_iter().map(|s| (s.name.clone(), s)),
            |name| self.in_grace(name),
        );
        self.created()
            .retain(|_, at| at.elapsed() < CONSISTENCY_GRACE);
    }

    /// Records that Ferry created `name` just now.
    pub(super) fn created_now(&self, name: &str) {
        self.created().insert(name.to_owned(), Instant::now());
    }

    /// ECS answered that `name` is INACTIVE: gone for sure, not a read
    /// that missed it, so no grace applies any more.
    pub(super) fn inactive(&self, name: &str) {
        self.created().remove(name);
    }

    pub(super) fn get(&self, name: &str) -> Option<ObservedService> {
        self.cache.get(&name.to_owned())
    }

    /// Reads the services under the cache's lock: keep `read` short.
    pub(super) fn read<R>(&self, read: impl FnOnce(View<'_, String, ObservedService>) -> R) -> R {
        self.cache.read(read)
    }

    /// Pretends Ferry created `name` at `at`.
    #[cfg(test)]
    pub(super) fn created_at(&self, name: &str, at: Instant) {
        self.created().insert(name.to_owned(), at);
    }

    fn in_grace(&self, name: &str) -> bool {
        self.created()
            .get(name)
            .is_some_and(|at| at.elapsed() < CONSISTENCY_GRACE)
    }

    fn created(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // Every change leaves the map whole, so a poisoned lock is usable.
        self.created.lock().unwrap_or_else(|p| p.into_inner())
    }
}
