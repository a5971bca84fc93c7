//! Positions of the tree's nodes, as diagnostics give them.

use marked_yaml::Node;

use crate::diagnostic::Pos;

/// The position to report for a node: where it starts. A block mapping's
/// own start marker is not that (the parser sets it after the first key's
/// first character), so a mapping starts at whichever comes first, its
/// marker (`{` of a flow mapping) or its first key.
pub(crate) fn node_pos(node: &Node) -> Pos {
    let start = node.span().start();
    if let Node::Mapping(mapping) = node {
        if let Some((key, _)) = mapping.iter().next() {
            let key_start = key.span().start();
            let marker = match (start, key_start) {
                (Some(own), Some(key)) if own.character() < key.character() => Some(own),
                (_, Some(key)) => Some(key),
                (own, None) => own,
            };
            return marker_pos(marker);
        }
    }
    marker_pos(start)
}

pub(crate) fn marker_pos(marker: Option<&marked_yaml::Marker>) -> Pos {
    marker.map_or(Pos::START, |m| Pos::new(m.line(), m.column()))
}
