//! One generic store for what Ferry has seen of AWS, in the manner of
//! kube-runtime's reflector store: written by the responses of batched,
//! paginated reads and of Ferry's own writes, read synchronously and
//! cheaply by every reconcile.
//!
//! **Newest wins.** Every request takes a [`Seq`] from the cache when it is
//! *sent* ([`Cache::begin`]); what its answer says of a key is recorded only
//! if no later-sent request has spoken of that key already. Answers arrive
//! in any order (a listing of many pages is sent before a write and answered
//! after it), so a slower, older answer can neither undo a write's recorded
//! effect nor bring back what a later request found gone.
//!
//! **A complete listing is the truth** as of when it was sent: it speaks of
//! every key, those it lacks included ([`Cache::apply_listing`]). So it
//! removes what it lacks unless a later-sent request put it there, and from
//! then on nothing sent before it is recorded, for any key. That is what
//! lets the cache forget older removals (tombstones) without the risk of a
//! stale answer resurrecting them.
//!
//! **Readiness.** The cache is ready after a complete listing and until
//! [`Cache::invalidate`], which a write whose answer is lost or refused
//! calls: what the write did is then unknown, and a caller that needs the
//! truth reads the whole listing again rather than act on a guess.
//!
//! Caveat: sequence numbers order requests of one process only; two
//! replicas' caches know nothing of each other's writes until a listing.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// When a request was sent, relative to the others of one [`Cache`]:
/// later-sent requests have greater numbers. Compare only numbers taken
/// from the same cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seq(u64);

/// A held entry, or the record that a request found the key absent.
#[derive(Debug, Clone)]
enum Slot<V> {
    Present(Seq, V),
    /// A tombstone: the key is absent as of this request.
    Absent(Seq),
}

impl<V> Slot<V> {
    fn seq(&self) -> Seq {
        match self {
            Slot::Present(seq, _) | Slot::Absent(seq) => *seq,
        }
    }
}

#[derive(Debug)]
struct State<K, V> {
    /// The last number handed out by [`Cache::begin`].
    last: u64,
    /// When the latest complete listing was sent: every key was spoken of
    /// then, so nothing sent earlier is recorded any more.
    listed: Option<Seq>,
    ready: bool,
    slots: BTreeMap<K, Slot<V>>,
}

impl<K: Ord, V> State<K, V> {
    /// Whether an answer from a request sent at `seq` may speak of `key`:
    /// no later-sent request has yet, neither about this key nor (as a
    /// complete listing) about every key.
    fn admits(&self, seq: Seq, key: &K) -> bool {
        self.listed.is_none_or(|listed| seq >= listed)
            && self.slots.get(key).is_none_or(|slot| slot.seq() <= seq)
    }
}

/// A map from `K` to `V` as AWS last answered, each entry replaced only by
/// what a later-sent request saw (see the module's doc).
///
/// `Send + Sync`, and every method is synchronous and short: a lock is
/// held only while the map is read or changed, never across an await. A
/// poisoned lock is used anyway: every change leaves the map whole.
#[derive(Debug)]
pub struct Cache<K, V> {
    state: RwLock<State<K, V>>,
}

impl<K: Ord, V> Default for Cache<K, V> {
    fn default() -> Self {
        Self {
            state: RwLock::new(State {
                last: 0,
                listed: None,
                ready: false,
                slots: BTreeMap::new(),
            }),
        }
    }
}

impl<K: Ord + Clone, V: Clone> Cache<K, V> {
    /// An empty cache, not ready.
    pub fn new() -> Self {
        Self::default()
    }

    fn read_state(&self) -> RwLockReadGuard<'_, State<K, V>> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_state(&self) -> RwLockWriteGuard<'_, State<K, V>> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The sequence number of a request about to be sent. Take it before
    /// sending, never after the answer: the order that matters is the
    /// order in which AWS could have seen the requests.
    pub fn begin(&self) -> Seq {
        let mut state = self.write_state();
        state.last += 1;
        Seq(state.last)
    }

    /// Records that a request sent at `seq` saw `value` at `key`, unless a
    /// later-sent request has spoken of `key` (or listed everything).
    /// Returns whether it was recorded.
    pub fn put(&self, seq: Seq, key: K, value: V) -> bool {
        self.modify(seq, key, |_| Some(value))
    }

    /// Records that a request sent at `seq` found `key` absent, unless a
    /// later-sent request has spoken of it. The absence is kept (as a
    /// tombstone) until a complete listing sent later makes it moot.
    /// Returns whether it was recorded.
    pub fn remove(&self, seq: Seq, key: &K) -> bool {
        self.modify(seq, key.clone(), |_| None)
    }

    /// Changes the held entry at `key` as a write sent at `seq` changed it,
    /// if there is one and no later-sent request has spoken of `key`.
    /// Returns whether it was changed.
    pub fn update(&self, seq: Seq, key: &K, change: impl FnOnce(&mut V)) -> bool {
        let mut state = self.write_state();
        if !state.admits(seq, key) {
            return false;
        }
        match state.slots.get_mut(key) {
            Some(Slot::Present(held, value)) => {
                change(value);
                *held = seq;
                true
            }
            _ => false,
        }
    }

    /// The general form of [`Cache::put`], [`Cache::remove`] and
    /// [`Cache::update`]: `change` gets the held value (if any) and says
    /// what a request sent at `seq` leaves at `key` (`None`: absent). It
    /// is not called if a later-sent request has spoken of `key`. Returns
    /// whether the answer was recorded.
    ///
    /// `change` (like [`Cache::update`]'s and [`Cache::read`]'s closures)
    /// runs under the cache's lock: it must not use the same cache.
    pub fn modify(&self, seq: Seq, key: K, change: impl FnOnce(Option<&V>) -> Option<V>) -> bool {
        let mut state = self.write_state();
        if !state.admits(seq, &key) {
            return false;
        }
        let held = match state.slots.get(&key) {
            Some(Slot::Present(_, value)) => Some(value),
            _ => None,
        };
        let slot = match change(held) {
            Some(value) => Slot::Present(seq, value),
            None => Slot::Absent(seq),
        };
        state.slots.insert(key, slot);
        true
    }

    /// Records a complete listing sent at `seq` (see [`Cache::apply_listing`]),
    /// except that held entries the listing lacks for which `spare` is true
    /// are kept: for a resource AWS may not list yet, such as an ECS
    /// service just created (eventual consistency).
    pub fn apply_listing_sparing(
        &self,
        seq: Seq,
        entries: impl IntoIterator<Item = (K, V)>,
        spare: impl Fn(&K) -> bool,
    ) {
        let mut state = self.write_state();
        if state.listed.is_some_and(|listed| listed > seq) {
            // A later-sent listing was recorded: this one has nothing new.
            return;
        }
        let mut listed: BTreeMap<K, V> = entries.into_iter().collect();
        let slots = std::mem::take(&mut state.slots);
        let mut kept = BTreeMap::new();
        for (key, slot) in slots {
            let listed_value = listed.remove(&key);
            let next = if slot.seq() > seq {
                // Sent after the listing: what it said stands.
                Some(slot)
            } else if let Some(value) = listed_value {
                Some(Slot::Present(seq, value))
            } else {
                match slot {
                    Slot::Present(held, value) if spare(&key) => Some(Slot::Present(held, value)),
                    // Lacking from the listing, or an older tombstone
                    // the listing makes moot: forgotten.
                    _ => None,
                }
            };
            if let Some(slot) = next {
                kept.insert(key, slot);
            }
        }
        for (key, value) in listed {
            kept.insert(key, Slot::Present(seq, value));
        }
        state.slots = kept;
        state.listed = Some(seq);
        state.ready = true;
    }

    /// Records a complete listing sent at `seq`: it puts every entry, and
    /// removes every held entry the listing lacks, unless a later-sent
    /// request spoke of it. Tombstones older than `seq` are forgotten: the
    /// listing answers for every key. Marks the cache ready.
    pub fn apply_listing(&self, seq: Seq, entries: impl IntoIterator<Item = (K, V)>) {
        self.apply_listing_sparing(seq, entries, |_| false);
    }

    /// Marks the cache not ready: what a failed write did is unknown until
    /// the next complete listing. The entries stay readable.
    pub fn invalidate(&self) {
        self.write_state().ready = false;
    }

    /// Whether a complete listing was recorded since the last
    /// [`Cache::invalidate`].
    pub fn is_ready(&self) -> bool {
        self.read_state().ready
    }

    /// The entry held at `key`, cloned.
    pub fn get(&self, key: &K) -> Option<V> {
        self.read(|view| view.get(key).cloned())
    }

    /// Every entry held, cloned.
    pub fn to_map(&self) -> BTreeMap<K, V> {
        self.read(|view| view.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Reads the entries in place, under the lock: keep `read` short and
    /// free of awaits. Clone only what is kept.
    pub fn read<R>(&self, read: impl FnOnce(View<'_, K, V>) -> R) -> R {
        let state = self.read_state();
        read(View {
            slots: &state.slots,
        })
    }
}

/// The entries of a [`Cache`], borrowed for the time of a
/// [`Cache::read`], in the order of their keys. Tombstones are not shown.
pub struct View<'a, K, V> {
    slots: &'a BTreeMap<K, Slot<V>>,
}

impl<'a, K: Ord, V> View<'a, K, V> {
    pub fn get(&self, key: &K) -> Option<&'a V> {
        match self.slots.get(key) {
            Some(Slot::Present(_, value)) => Some(value),
            _ => None,
        }
    }

    /// Every entry held, by key.
    pub fn iter(&self) -> impl Iterator<Item = (&'a K, &'a V)> + 'a {
        self.slots.iter().filter_map(|(key, slot)| match slot {
            Slot::Present(_, value) => Some((key, value)),
            Slot::Absent(_) => None,
        })
    }

    /// Every value held, by key.
    pub fn values(&self) -> impl Iterator<Item = &'a V> + 'a {
        self.iter().map(|(_, value)| value)
    }

    /// Every key held.
    pub fn keys(&self) -> impl Iterator<Item = &'a K> + 'a {
        self.iter().map(|(key, _)| key)
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
