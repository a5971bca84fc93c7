//! The table's layout: which partition and sort key each kind of item
//! has. Partition key `pk`, sort key `sk`, both strings:
//!
//! | item            | pk              | sk                    | holds |
//! |-----------------|-----------------|-----------------------|-------|
//! | app spec        | `app`           | app name              | spec, generation, deleting, manifest, `createdAt`, `updatedAt` |
//! | release         | `release#<app>` | `v` + 10-digit version | `release`: immutable JSON snapshot (spec, manifest text, message, user, git); `outcome`, `outcomeReason`: set by the controller once the rollout is decided |
//! | status          | `status`        | app name              | written by the controller |
//! | domain claim    | `domain`        | domain name           | `app`: the one app that may route it |
//! | revision counter| `meta`          | `revision`            | bumped by every desired-state write |
//! | controller settings | `meta`      | `settings`            | `settings`: the leader's [`ferry_core::Settings`] as JSON, for `ferry diff` |
//! | leader lease    | `lease`         | `controller`          | holder, fencing token |
//!
//! A release's snapshot is never rewritten: its outcome lives in separate
//! attributes of the same item, written only by the leader (fenced), and
//! read back into [`crate::Release::outcome`] and
//! [`crate::Release::outcome_reason`].

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::values::s;

pub(crate) const PK_APP: &str = "app";
pub(crate) const PK_STATUS: &str = "status";
pub(crate) const PK_META: &str = "meta";
pub(crate) const PK_DOMAIN: &str = "domain";
pub(crate) const PK_LEASE: &str = "lease";
pub(crate) const SK_REVISION: &str = "revision";
pub(crate) const SK_SETTINGS: &str = "settings";
pub(crate) const SK_CONTROLLER: &str = "controller";

/// The primary key of an item.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// The partition of an app name's releases.
pub(crate) fn release_pk(app: &str) -> String {
    format!("release#{app}")
}

pub(crate) fn release_sk(version: u64) -> String {
    // Zero-padded so the sort key orders numerically.
    format!("v{version:010}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_keys_sort_numerically() {
        assert!(release_sk(9) < release_sk(10));
        assert!(release_sk(99) < release_sk(100));
    }
}
