use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn listing<'a>(entries: &[(&'a str, u32)]) -> Vec<(&'a str, u32)> {
    entries.to_vec()
}

#[test]
fn a_newer_write_wins_over_an_older_read() {
    let cache: Cache<&str, u32> = Cache::new();
    let read = cache.begin();
    let write = cache.begin();
    assert!(cache.put(write, "web", 2));
    // The listing was sent before the write and is answered after it.
    cache.apply_listing(read, listing(&[("web", 1)]));
    assert_eq!(cache.get(&"web"), Some(2));
    // Nor does a single older read undo it.
    assert!(!cache.put(read, "web", 1));
    assert_eq!(cache.get(&"web"), Some(2));
}

#[test]
fn a_removal_is_not_resurrected_by_a_stale_listing() {
    let cache: Cache<&str, u32> = Cache::new();
    let first = cache.begin();
    cache.apply_listing(first, listing(&[("web", 1)]));
    let stale = cache.begin();
    let delete = cache.begin();
    assert!(cache.remove(delete, &"web"));
    cache.apply_listing(stale, listing(&[("web", 1)]));
    assert_eq!(cache.get(&"web"), None);
    // Nor by a stale single read.
    assert!(!cache.put(stale, "web", 1));
    assert_eq!(cache.get(&"web"), None);
    // A read sent after the delete is believed.
    let later = cache.begin();
    assert!(cache.put(later, "web", 3));
    assert_eq!(cache.get(&"web"), Some(3));
}

#[test]
fn a_complete_listing_removes_what_it_lacks_only_if_older() {
    let cache: Cache<&str, u32> = Cache::new();
    let old = cache.begin();
    assert!(cache.put(old, "old", 1));
    let list = cache.begin();
    let created = cache.begin();
    assert!(cache.put(created, "new", 2));
    cache.apply_listing(list, listing(&[("listed", 3)]));
    assert_eq!(
        cache.to_map(),
        BTreeMap::from([("listed", 3), ("new", 2)]),
        "what was held before the listing was sent and is not listed is gone; \
         what a later write put stays"
    );
}

#[test]
fn after_a_listing_nothing_sent_before_it_is_recorded() {
    let cache: Cache<&str, u32> = Cache::new();
    let early = cache.begin();
    let list = cache.begin();
    cache.apply_listing(list, listing(&[]));
    // The listing spoke of every key, "api" included (as absent).
    assert!(!cache.put(early, "api", 1));
    assert!(!cache.remove(early, &"api"));
    assert_eq!(cache.get(&"api"), None);
    // An older listing answered last changes nothing.
    cache.apply_listing(early, listing(&[("api", 1)]));
    assert_eq!(cache.get(&"api"), None);
}

#[test]
fn a_listing_forgets_older_tombstones_and_keeps_newer_ones() {
    let cache: Cache<&str, u32> = Cache::new();
    let gone = cache.begin();
    assert!(cache.remove(gone, &"web"));
    assert!(cache.remove(gone, &"old"));
    let list = cache.begin();
    let deleted = cache.begin();
    assert!(cache.remove(deleted, &"api"));
    cache.apply_listing(list, listing(&[("web", 1), ("api", 1)]));
    assert_eq!(cache.get(&"web"), Some(1), "listed after its removal");
    assert_eq!(
        cache.get(&"api"),
        None,
        "removed after the listing was sent"
    );
    let absent_slots = cache
        .state
        .read()
        .map(|s| {
            s.slots
                .values()
                .filter(|slot| matches!(slot, Slot::Absent(_)))
                .count()
        })
        .unwrap_or(usize::MAX);
    assert_eq!(absent_slots, 1, "only the newer tombstone is kept");
}

#[test]
fn spared_entries_outlive_a_listing_that_lacks_them() {
    let cache: Cache<&str, u32> = Cache::new();
    let created = cache.begin();
    assert!(cache.put(created, "fresh", 1));
    assert!(cache.put(created, "stale", 1));
    let list = cache.begin();
    cache.apply_listing_sparing(list, listing(&[]), |key| *key == "fresh");
    assert_eq!(cache.to_map(), BTreeMap::from([("fresh", 1)]));
}

#[test]
fn update_changes_only_a_held_entry_and_only_if_newer() {
    let cache: Cache<&str, u32> = Cache::new();
    let older = cache.begin();
    let put = cache.begin();
    assert!(cache.put(put, "web", 1));
    assert!(!cache.update(older, &"web", |v| *v = 7));
    let write = cache.begin();
    assert!(cache.update(write, &"web", |v| *v += 1));
    assert!(!cache.update(write, &"api", |v| *v = 7));
    assert_eq!(cache.to_map(), BTreeMap::from([("web", 2)]));
    // The update counts as what the write saw: an older read loses.
    assert!(!cache.put(put, "web", 1));
}

#[test]
fn ready_after_a_complete_listing_until_invalidated() {
    let cache: Cache<&str, u32> = Cache::new();
    assert!(!cache.is_ready());
    let write = cache.begin();
    cache.put(write, "web", 1);
    assert!(!cache.is_ready(), "writes alone are no listing");
    let list = cache.begin();
    cache.apply_listing(list, listing(&[("web", 1)]));
    assert!(cache.is_ready());
    cache.invalidate();
    assert!(!cache.is_ready());
    assert_eq!(cache.get(&"web"), Some(1), "entries stay readable");
    let again = cache.begin();
    cache.apply_listing(again, listing(&[("web", 1)]));
    assert!(cache.is_ready());
}

#[test]
fn a_view_shows_entries_in_key_order_without_tombstones() {
    let cache: Cache<&str, u32> = Cache::new();
    let seq = cache.begin();
    cache.put(seq, "b", 2);
    cache.put(seq, "a", 1);
    cache.remove(seq, &"c");
    let seen: Vec<(&str, u32)> = cache.read(|view| view.iter().map(|(k, v)| (*k, *v)).collect());
    assert_eq!(seen, vec![("a", 1), ("b", 2)]);
    assert_eq!(cache.read(|view| view.get(&"c").copied()), None);
}

/// A request that speaks of some keys.
#[derive(Debug, Clone)]
enum Request {
    Put(u8, u32),
    Remove(u8),
    /// A complete listing: speaks of every key.
    List(BTreeMap<u8, u32>),
}

impl Request {
    /// What the request says of `key`: `None` if nothing, `Some(None)` if
    /// that it is absent.
    fn says(&self, key: u8) -> Option<Option<u32>> {
        match self {
            Request::Put(k, v) => (*k == key).then_some(Some(*v)),
            Request::Remove(k) => (*k == key).then_some(None),
            Request::List(entries) => Some(entries.get(&key).copied()),
        }
    }
}

const KEYS: u8 = 3;

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (0..KEYS, any::<u32>()).prop_map(|(k, v)| Request::Put(k, v)),
        (0..KEYS).prop_map(Request::Remove),
        proptest::collection::btree_map(0..KEYS, any::<u32>(), 0..=KEYS as usize)
            .prop_map(Request::List),
    ]
}

/// Requests, and an interleaving of their sends and answers: each index
/// appears twice, first for the send, then for the answer.
fn scenario() -> impl Strategy<Value = (Vec<Request>, Vec<usize>)> {
    proptest::collection::vec(request(), 1..8).prop_flat_map(|requests| {
        let events: Vec<usize> = (0..requests.len()).flat_map(|i| [i, i]).collect();
        (Just(requests), Just(events).prop_shuffle())
    })
}

proptest! {
    /// For any interleaving of sends and answers, the entry held is the one
    /// from the latest-sent answered request that spoke of that key.
    #[test]
    fn the_latest_sent_request_that_spoke_of_a_key_decides_it(
        (requests, events) in scenario()
    ) {
        let cache: Cache<u8, u32> = Cache::new();
        let mut sent: Vec<Option<Seq>> = vec![None; requests.len()];
        let mut send_order: Vec<usize> = Vec::new();
        let mut answered: Vec<usize> = Vec::new();
        for i in events {
            match sent[i] {
                None => {
                    sent[i] = Some(cache.begin());
                    send_order.push(i);
                }
                Some(seq) => {
                    match &requests[i] {
                        Request::Put(k, v) => {
                            cache.put(seq, *k, *v);
                        }
                        Request::Remove(k) => {
                            cache.remove(seq, k);
                        }
                        Request::List(entries) => cache.apply_listing(seq, entries.clone()),
                    }
                    answered.push(i);
                }
            }
        }
        for key in 0..KEYS {
            let expected = send_order
                .iter()
                .rev()
                .filter(|i| answered.contains(i))
                .find_map(|i| requests[*i].says(key))
                .flatten();
            prop_assert_eq!(cache.get(&key), expected, "key {}", key);
        }
        let listed = requests.iter().any(|r| matches!(r, Request::List(_)));
        prop_assert_eq!(cache.is_ready(), listed);
    }
}
