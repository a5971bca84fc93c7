//! The position tree, built from the event scan's own events: the nodes
//! and spans `marked_yaml`'s loader would build (with `prevent_coercion`:
//! only a plain scalar may read as a number, a boolean or null), without
//! reading the text a second time.
//!
//! Only the first document's root is kept; a second document is refused
//! by the libyaml gate. A key written twice keeps its first position and
//! takes the last value, as the loader's map does. Anchors, aliases, tags
//! and keys that are not scalars are refused by the scan, so the tree
//! never needs them.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{Marker, Node, Span};

/// A mapping or list whose end has not been read yet.
enum Open {
    Mapping {
        start: Marker,
        /// Boxed: a mapping node is large, a list small.
        node: Box<MarkedMappingNode>,
        /// The key whose value comes next.
        key: Option<MarkedScalarNode>,
    },
    Sequence {
        start: Marker,
        items: Vec<Node>,
    },
}

/// Builds the tree from events, one call per event.
#[derive(Default)]
pub(super) struct TreeBuilder {
    open: Vec<Open>,
    root: Option<Node>,
}

/// `marked_yaml`'s marker for a yaml-rust2 mark: columns count from 1.
pub(super) fn marker(mark: yaml_rust2::scanner::Marker) -> Marker {
    Marker::new(0, mark.index(), mark.line(), mark.col() + 1)
}

impl TreeBuilder {
    pub(super) fn scalar(&mut self, value: String, plain: bool, mark: Marker) {
        let mut node = MarkedScalarNode::new(Span::new_start(mark), value);
        node.set_coerce(plain);
        self.attach(Node::from(node));
    }

    pub(super) fn start_mapping(&mut self, mark: Marker) {
        self.open.push(Open::Mapping {
            start: mark,
            node: Box::new(MarkedMappingNode::new_empty(Span::new_start(mark))),
            key: None,
        });
    }

    pub(super) fn start_sequence(&mut self, mark: Marker) {
        self.open.push(Open::Sequence {
            start: mark,
            items: Vec::new(),
        });
    }

    /// The innermost mapping or list ends at `mark`.
    pub(super) fn end(&mut self, mark: Marker) {
        let node = match self.open.pop() {
            Some(Open::Mapping {
                start, mut node, ..
            }) => {
                *node.span_mut() = Span::new_with_marks(start, mark);
                Node::from(*node)
            }
            Some(Open::Sequence { start, items }) => Node::from(MarkedSequenceNode::new(
                Span::new_with_marks(start, mark),
                items,
            )),
            None => return,
        };
        self.attach(node);
    }

    /// The first document's root, once it has ended.
    pub(super) fn into_root(self) -> Option<Node> {
        self.root
    }

    fn attach(&mut self, node: Node) {
        match self.open.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Open::Mapping { node: map, key, .. }) => match key.take() {
                Some(key) => {
                    map.insert(key, node);
                }
                // A key that is not a scalar is refused by the scan.
                None => {
                    if let Node::Scalar(scalar) = node {
                        *key = Some(scalar);
                    }
                }
            },
            Some(Open::Sequence { items, .. }) => items.push(node),
        }
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
