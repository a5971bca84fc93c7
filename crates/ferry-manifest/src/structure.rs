//! The structural pass: checks the shape of a manifest (known keys, required
//! keys, mappings, lists, strings, integers) on the position tree, and
//! builds the typed manifest from the parts that have the right shape.
//!
//! serde stops at the first problem; this pass reports all of them, each at
//! its key or value. It keeps no list of fields of its own: it walks the
//! JSON Schema derived from the manifest types
//! ([`crate::schema::described`]), which says what serde reads (the
//! fields, which are required, the untagged enums, each integer's Rust
//! type). A value of the wrong shape is reported and then left out (an
//! optional field) or replaced by a placeholder (a required field, a map
//! entry, a list item, so that indices and keys keep their meaning), and
//! its path is recorded in [`Broken`], so that validation checks every
//! other value and skips only what depends on a broken one.

mod broken;
mod pass;
mod shape;

use marked_yaml::Node;
use serde_json::Value;

pub(crate) use broken::Broken;
pub(crate) use pass::closest;

use crate::diagnostic::{FieldPath, Report};
use crate::yaml::node_pos;

/// What the structural pass makes of a document.
#[derive(Debug)]
pub(crate) struct Structure {
    /// The manifest as JSON, in the shape of [`crate::types::Manifest`]:
    /// every well-shaped value as written, placeholders for broken
    /// required values, map entries and list items.
    pub(crate) value: Value,
    pub(crate) broken: Broken,
}

/// Checks the whole document against the manifest's shape, reporting every
/// problem into `report`, and builds what has the right shape.
pub(crate) fn check_structure(root: &Node, report: &mut Report) -> Structure {
    let mut pass = pass::Pass {
        report,
        broken: Broken::default(),
    };
    let shape = shape::shape(crate::schema::described());
    let value = pass
        .check(root, shape, &FieldPath::root(), node_pos(root))
        .unwrap_or_else(|| {
            pass.broken.insert(FieldPath::root());
            shape::placeholder(shape)
        });
    Structure {
        value,
        broken: pass.broken,
    }
}

#[cfg(test)]
#[path = "structure_tests.rs"]
mod tests;
