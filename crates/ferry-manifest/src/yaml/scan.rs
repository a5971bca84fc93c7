//! The event scan (yaml-rust2): one linear pass over the events that finds
//! every key written twice (with both positions), refuses anchors,
//! aliases, tags, complex keys and nesting deeper than
//! [`MAX_NESTING_DEPTH`], and builds the position tree ([`super::tree`]).

use std::collections::HashMap;

use marked_yaml::Node;

use super::problems::{
    DuplicateKey, SyntaxError, ANCHOR_MESSAGE, COMPLEX_KEY_MESSAGE, TAG_MESSAGE,
};
use super::tree::{marker, TreeBuilder};
use crate::diagnostic::{FieldPath, Pos, Segment};

/// Deepest nesting of mappings and lists a manifest may have. The deepest
/// real one is five levels (`spec.processes.web.healthCheck.path`); the
/// limit is far above that and far below what would make any parser slow
/// or overflow a stack.
pub(crate) const MAX_NESTING_DEPTH: usize = 32;

/// What the event scan makes of a text that manifests may be written in.
pub(super) struct Scanned {
    /// Every key written again in its mapping, in file order.
    pub(super) duplicates: Vec<DuplicateKey>,
    /// The first document's root with positions; `None` for a text
    /// without a document.
    pub(super) root: Option<Node>,
}

/// Why the event scan stopped.
pub(super) enum Scan {
    /// The text is not YAML; where the scanner gave up.
    Syntax(SyntaxError),
    /// The text is YAML, but uses what manifests refuse; every instance
    /// (up to [`MAX_REFUSED`]), or where it nests too deep.
    Refused(Vec<SyntaxError>),
}

/// Most refused constructs reported per file: a file of a million aliases
/// gets a bounded answer.
pub(super) const MAX_REFUSED: usize = 50;

/// Where the event scan is inside the document.
pub(super) enum Frame {
    Sequence {
        /// Index of the next item.
        index: usize,
    },
    Mapping {
        /// Each key written so far, where it first is.
        seen: HashMap<String, Pos>,
        /// The key whose value comes next or is being read; `None` while
        /// reading a key, or after a key that is not a scalar.
        key: Option<String>,
        /// Whether the next node is a value (else a key).
        in_value: bool,
    },
}

/// Walks the text's events once: finds every key written twice in a
/// mapping, and every anchor, alias, tag and non-scalar key, and builds the
/// first document's tree. Iterative, so it needs no stack for deep
/// documents; the depth it lets through is at most [`MAX_NESTING_DEPTH`],
/// so the tree it builds is dropped safely.
pub(super) fn scan_events(text: &str) -> Result<Scanned, Scan> {
    use yaml_rust2::parser::{Event, Parser};
    use yaml_rust2::scanner::TScalarStyle;

    let mut parser = Parser::new_from_str(text);
    let mut frames: Vec<Frame> = Vec::new();
    let mut duplicates = Vec::new();
    let mut refused: Vec<SyntaxError> = Vec::new();
    let mut tree = TreeBuilder::default();
    let refuse = |refused: &mut Vec<SyntaxError>, pos: Pos, message: &str| {
        if refused.len() < MAX_REFUSED {
            refused.push(SyntaxError::new(pos, message));
        }
    };
    loop {
        let (event, mark) = parser.next_token().map_err(|e| {
            let mark = e.marker();
            let pos = Pos::new(mark.line(), mark.col() + 1);
            // The scanner reads ahead of the events, so it can meet its own
            // flow nesting limit (255) before the depth check below does.
            if e.info() == "recursion limit exceeded" {
                Scan::Refused(vec![too_deep(pos)])
            } else {
                Scan::Syntax(SyntaxError::new(pos, format!("invalid YAML: {}", e.info())))
            }
        })?;
        let pos = Pos::new(mark.line(), mark.col() + 1);
        let (anchor, tagged) = match &event {
            Event::Scalar(_, _, anchor, tag)
            | Event::SequenceStart(anchor, tag)
            | Event::MappingStart(anchor, tag) => (*anchor != 0, tag.is_some()),
            Event::Alias(_) => (true, false),
            _ => (false, false),
        };
        if anchor {
            refuse(&mut refused, pos, ANCHOR_MESSAGE);
        }
        if tagged {
            refuse(&mut refused, pos, TAG_MESSAGE);
        }
        match event {
            Event::StreamEnd => break,
            Event::Scalar(value, style, ..) => {
                begin_node(&mut frames, Some(value.clone()), pos, &mut duplicates);
                end_node(&mut frames);
                tree.scalar(value, style == TScalarStyle::Plain, marker(mark));
            }
            Event::Alias(_) => {
                begin_node(&mut frames, None, pos, &mut duplicates);
                end_node(&mut frames);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if begin_node(&mut frames, None, pos, &mut duplicates) {
                    refuse(&mut refused, pos, COMPLEX_KEY_MESSAGE);
                }
                if frames.len() >= MAX_NESTING_DEPTH {
                    return Err(Scan::Refused(vec![too_deep(pos)]));
                }
                if matches!(event, Event::SequenceStart(..)) {
                    tree.start_sequence(marker(mark));
                } else {
                    tree.start_mapping(marker(mark));
                }
                frames.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Sequence { index: 0 }
                } else {
                    Frame::Mapping {
                        seen: HashMap::new(),
                        key: None,
                        in_value: false,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                frames.pop();
                end_node(&mut frames);
                tree.end(marker(mark));
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
    if refused.is_empty() {
        Ok(Scanned {
            duplicates,
            root: tree.into_root(),
        })
    } else {
        Err(Scan::Refused(refused))
    }
}

pub(super) fn too_deep(pos: Pos) -> SyntaxError {
    SyntaxError::new(
        pos,
        format!(
            "the mappings and lists nest more than {MAX_NESTING_DEPTH} levels deep here; a \
             manifest needs at most a handful"
        ),
    )
}

/// A node starts inside the innermost frame. A scalar key is checked
/// against the mapping's keys so far. Returns whether the node is a key
/// that is not a scalar.
pub(super) fn begin_node(
    frames: &mut [Frame],
    scalar: Option<String>,
    pos: Pos,
    duplicates: &mut Vec<DuplicateKey>,
) -> bool {
    let path = if let Some(Frame::Mapping {
        in_value: false, ..
    }) = frames.last()
    {
        scan_path(&frames[..frames.len() - 1])
    } else {
        return false;
    };
    let Some(Frame::Mapping { seen, key, .. }) = frames.last_mut() else {
        return false;
    };
    let Some(name) = scalar else {
        *key = None;
        return true;
    };
    match seen.get(&name) {
        Some(first) => duplicates.push(DuplicateKey {
            path: path.key(&name),
            pos,
            first: *first,
        }),
        None => {
            seen.insert(name.clone(), pos);
        }
    }
    *key = Some(name);
    false
}

/// A node ended inside the innermost frame: a mapping moves between key
/// and value, a list to its next item.
pub(super) fn end_node(frames: &mut [Frame]) {
    match frames.last_mut() {
        Some(Frame::Sequence { index }) => *index += 1,
        Some(Frame::Mapping { in_value, .. }) => *in_value = !*in_value,
        None => {}
    }
}

/// The field path of the node being read inside `frames`.
pub(super) fn scan_path(frames: &[Frame]) -> FieldPath {
    let mut path = FieldPath::root();
    for frame in frames {
        match frame {
            Frame::Sequence { index } => path.push(Segment::Index(*index)),
            Frame::Mapping {
                key: Some(key),
                in_value: true,
                ..
            } => path.push(Segment::Key(key.clone())),
            // Inside a key that is not a scalar: refused anyway.
            Frame::Mapping { .. } => {}
        }
    }
    path
}
