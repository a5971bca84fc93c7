//! The YAML layer: turns a manifest's text into a tree that knows where
//! every key and value is, and maps field paths back to positions.
//!
//! Two passes read the text, with two parsers. The event scan
//! (yaml-rust2, [`scan`]) reads it once: it finds every key written twice,
//! with both positions, refuses anchors, aliases, tags and complex keys,
//! and builds the tree with positions ([`tree`]; `marked_yaml`'s node
//! types, the nodes and spans its loader would build), from which the
//! structural pass builds the typed `Manifest` and every later diagnostic
//! points at the exact key or value. `serde_yaml` (libyaml) is the gate:
//! it finds syntax errors and counts documents.
//!
//! Why the second parser stays: yaml-rust2 alone takes texts that are not
//! YAML, which libyaml (the reference implementation) refuses: a tab in
//! the indentation (`"\ta: 1"`, `"a:\n \tb: 1"`) parses without an error.
//! With the gate, every text `ferry validate` refused is still refused (a
//! unit test holds the tab cases). `marked_yaml`'s own loader is no longer
//! run: it stops at the first key written twice (or silently keeps one),
//! and it recurses; a unit test holds the scan's tree to the loader's.
//!
//! Hostile input stays bounded. Characters YAML does not allow (NUL) are
//! refused first, where they are. The event scan then runs before the
//! others: it is linear, refuses nesting deeper than [`scan::MAX_NESTING_DEPTH`]
//! (libyaml takes quadratic time over deep flow nesting, and the tree is
//! walked and dropped recursively), and refuses aliases, so none is ever
//! expanded ("billion laughs").

use marked_yaml::Node;

use crate::diagnostic::{FieldPath, Pos, Segment};

mod gate;
mod position;
mod problems;
mod scalar;
mod scan;
mod tree;

use gate::{check_characters, check_single_document};
pub(crate) use position::{marker_pos, node_pos};
use problems::EXPECTED_MANIFEST;
pub(crate) use problems::{duplicate_key_message, DuplicateKey, SyntaxError};
pub(crate) use scalar::{parse_int, scalar_kind, ScalarKind};
use scan::{scan_events, Scan};

/// A parsed manifest text: one YAML mapping with positions.
#[derive(Debug)]
pub(crate) struct Document {
    root: Node,
    duplicates: Vec<DuplicateKey>,
}

impl Document {
    /// Parses `text`, which must hold exactly one YAML document whose top
    /// level is a mapping. Anchors, aliases, tags and keys that are not
    /// scalars are refused, each where it is: manifests are plain data, and
    /// the position tree cannot represent them (refusing aliases also means
    /// no alias is ever expanded). A key written twice in a mapping is not a
    /// syntax error: the document still parses, and
    /// [`Document::duplicates`] lists each repetition.
    ///
    /// # Errors
    ///
    /// Why the text is not such a document. A text that is not YAML at all
    /// has one error, where the parser gave up; refused constructs are all
    /// listed.
    pub(crate) fn parse(text: &str) -> Result<Self, Vec<SyntaxError>> {
        check_characters(text).map_err(|e| vec![e])?;
        // The scan runs first: it is linear and bounds the nesting depth,
        // which libyaml would take quadratic time over (minutes for 100,000
        // `[`), and it refuses aliases before libyaml could expand them.
        let scanned = match scan_events(text) {
            Ok(scanned) => scanned,
            Err(Scan::Refused(errors)) => return Err(errors),
            Err(Scan::Syntax(error)) => {
                // libyaml's message is the better one where it has one.
                check_single_document(text).map_err(|e| vec![e])?;
                return Err(vec![error]);
            }
        };
        check_single_document(text).map_err(|e| vec![e])?;
        // The gate refused a text without a document, so a root is there.
        match scanned.root {
            Some(root @ Node::Mapping(_)) => Ok(Self {
                root,
                duplicates: scanned.duplicates,
            }),
            other => Err(vec![SyntaxError::new(
                other.as_ref().map_or(Pos::START, node_pos),
                format!("the document is not a mapping; {EXPECTED_MANIFEST}"),
            )]),
        }
    }

    /// Every key written again in its mapping, in file order.
    pub(crate) fn duplicates(&self) -> &[DuplicateKey] {
        &self.duplicates
    }

    pub(crate) fn root(&self) -> &Node {
        &self.root
    }

    /// Where the value at `path` is: a scalar's own position, or for a
    /// mapping or list the key it is written under. Falls back to the
    /// nearest parent that exists, and to the start of the file.
    pub(crate) fn locate(&self, path: &FieldPath) -> Pos {
        let found = self.walk(path);
        match found.node {
            Node::Scalar(scalar) if found.complete => marker_pos(scalar.span().start()),
            _ => found.key_pos,
        }
    }

    /// Where the key of the entry at `path` is (for a list item, the item).
    /// Falls back like [`Document::locate`].
    pub(crate) fn locate_key(&self, path: &FieldPath) -> Pos {
        self.walk(path).key_pos
    }

    fn walk(&self, path: &FieldPath) -> Found<'_> {
        let mut node = &self.root;
        let mut key_pos = node_pos(node);
        for segment in path.segments() {
            let next = match (segment, node) {
                (Segment::Key(key), Node::Mapping(mapping)) => mapping
                    .iter()
                    .find(|(k, _)| k.as_str() == key)
                    .map(|(k, v)| (marker_pos(k.span().start()), v)),
                (Segment::Index(index), Node::Sequence(sequence)) => {
                    sequence.get(*index).map(|item| (node_pos(item), item))
                }
                _ => None,
            };
            match next {
                Some((pos, child)) => {
                    key_pos = pos;
                    node = child;
                }
                None => {
                    return Found {
                        node,
                        key_pos,
                        complete: false,
                    }
                }
            }
        }
        Found {
            node,
            key_pos,
            complete: true,
        }
    }
}

struct Found<'a> {
    /// The node at the path, or the deepest existing parent.
    node: &'a Node,
    key_pos: Pos,
    /// Whether the whole path exists.
    complete: bool,
}

#[cfg(test)]
#[path = "yaml_tests.rs"]
mod tests;
