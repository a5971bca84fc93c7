//! What the YAML layer reports: syntax errors and keys written twice,
//! and the messages for what manifests refuse.

use crate::diagnostic::{quote, FieldPath, Pos};

/// Why a text is not a usable single-document YAML mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

impl SyntaxError {
    pub(super) fn new(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            pos,
            message: message.into(),
        }
    }
}

/// What a manifest must look like, for messages about a file that is not
/// one at all.
pub(super) const EXPECTED_MANIFEST: &str =
    "expected a YAML mapping with `apiVersion: ferry/v1`, `kind: App`, `metadata` and `spec`";

/// A key written twice in one mapping. The tree keeps one entry for it:
/// the first key's position, the last value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    /// The path of the key, e.g. `spec.processes.web.scale`.
    pub(crate) path: FieldPath,
    /// Where the key is written again.
    pub(crate) pos: Pos,
    /// Where the key is first written.
    pub(crate) first: Pos,
}

/// Why an anchor or alias is refused.
pub(super) const ANCHOR_MESSAGE: &str =
    "YAML anchors and aliases (`&name`, `*name`) are not supported in \
    manifests; write the value out in full";

/// Why a tag is refused.
pub(super) const TAG_MESSAGE: &str =
    "YAML tags (`!tag`) are not supported in manifests; write plain values";

/// Why a key that is a list or mapping is refused.
pub(super) const COMPLEX_KEY_MESSAGE: &str =
    "mapping keys must be plain names, not lists or mappings";

/// What a [`DuplicateKey`] is reported as.
pub(crate) fn duplicate_key_message(key: &str, first: Pos) -> String {
    format!(
        "duplicate key {} (first set at {first}); each key may appear once in a mapping",
        quote(key)
    )
}
