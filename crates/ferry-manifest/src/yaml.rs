//! The YAML layer: turns a manifest's text into a tree that knows where
//! every key and value is, and maps field paths back to positions.
//!
//! Three passes read the same text. An event scan (yaml-rust2, the parser
//! under `marked_yaml`) finds keys written twice, with both positions, and
//! refuses anchors, aliases and tags. `serde_yaml` (libyaml) is the gate:
//! it finds syntax errors and counts documents. `marked_yaml` finally
//! builds a tree with positions, from which the structural pass builds the
//! typed `Manifest` and every later diagnostic points at the exact key or
//! value.
//!
//! Hostile input stays bounded. Characters YAML does not allow (NUL) are
//! refused first, where they are. The event scan then runs before the
//! others: it is linear, refuses nesting deeper than [`MAX_NESTING_DEPTH`]
//! (libyaml takes quadratic time over deep flow nesting, and the tree is
//! walked and dropped recursively), and refuses aliases, so none is ever
//! expanded ("billion laughs").

use std::collections::HashMap;
use std::sync::LazyLock;

use marked_yaml::{LoaderOptions, Node};
use regex::Regex;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::diagnostic::{quote, FieldPath, Pos, Segment};

/// Why a text is not a usable single-document YAML mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

impl SyntaxError {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            pos,
            message: message.into(),
        }
    }
}

/// What a manifest must look like, for messages about a file that is not
/// one at all.
const EXPECTED_MANIFEST: &str =
    "expected a YAML mapping with `apiVersion: ferry/v1`, `kind: App`, `metadata` and `spec`";

/// A parsed manifest text: one YAML mapping with positions.
#[derive(Debug)]
pub(crate) struct Document {
    root: Node,
    duplicates: Vec<DuplicateKey>,
}

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
        let duplicates = match scan_events(text) {
            Ok(duplicates) => duplicates,
            Err(Scan::Refused(errors)) => return Err(errors),
            Err(Scan::Syntax(error)) => {
                // libyaml's message is the better one where it has one.
                check_single_document(text).map_err(|e| vec![e])?;
                return Err(vec![error]);
            }
        };
        check_single_document(text).map_err(|e| vec![e])?;
        let options = LoaderOptions::default()
            // Duplicates were found by the scan, with both positions; the
            // loader keeps going so the rest of the file is checked too.
            .error_on_duplicate_keys(false)
            // Keep quoted scalars distinguishable from plain ones, so that
            // `"256"` is a string and `256` an integer, as in serde_yaml.
            .prevent_coercion(true);
        let root = marked_yaml::parse_yaml_with_options(0, text, options)
            .map_err(|e| vec![load_error_to_syntax_error(e)])?;
        Ok(Self { root, duplicates })
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

/// Runs the libyaml gate: the text must be valid YAML, hold one document,
/// and that document must not be empty.
fn check_single_document(text: &str) -> Result<(), SyntaxError> {
    let mut documents = 0usize;
    let mut first_is_null = false;
    for document in serde_yaml::Deserializer::from_str(text) {
        documents += 1;
        if documents > 1 {
            let pos = second_document_pos(text).unwrap_or(Pos::START);
            return Err(SyntaxError::new(
                pos,
                "a second YAML document starts here; a manifest file holds exactly one \
                 document (one app), so put each app in its own file",
            ));
        }
        // `Option` tells an empty document (null) from a real one without
        // building a value; duplicate keys are left to the event scan,
        // which can say where the first one is.
        let value = Option::<IgnoredAny>::deserialize(document)
            .map_err(|e| serde_syntax_error(&e, text))?;
        first_is_null = value.is_none();
    }
    if documents == 0 || first_is_null {
        return Err(SyntaxError::new(
            Pos::START,
            format!(
                "the file holds no manifest (it is empty or only comments); {EXPECTED_MANIFEST}"
            ),
        ));
    }
    Ok(())
}

/// Deepest nesting of mappings and lists a manifest may have. The deepest
/// real one is five levels (`spec.processes.web.healthCheck.path`); the
/// limit is far above that and far below what would make any parser slow
/// or overflow a stack.
pub(crate) const MAX_NESTING_DEPTH: usize = 32;

/// Why the event scan stopped.
enum Scan {
    /// The text is not YAML; where the scanner gave up.
    Syntax(SyntaxError),
    /// The text is YAML, but uses what manifests refuse; every instance
    /// (up to [`MAX_REFUSED`]), or where it nests too deep.
    Refused(Vec<SyntaxError>),
}

/// Refuses characters YAML does not allow in a text (NUL and other
/// control characters but tab and line breaks, U+FFFE, U+FFFF), at the
/// first one: libyaml reports them without a usable position.
fn check_characters(text: &str) -> Result<(), SyntaxError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || !(c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
    };
    let Some((offset, c)) = text.char_indices().find(|(_, c)| !allowed(*c)) else {
        return Ok(());
    };
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let what = if c == '\0' {
        "a NUL byte".to_owned()
    } else {
        format!("the control character U+{:04X}", u32::from(c))
    };
    Err(SyntaxError::new(
        Pos::new(line, column),
        format!("invalid YAML: the text contains {what}, which YAML does not allow; manifests are plain text"),
    ))
}

/// Why an anchor or alias is refused.
const ANCHOR_MESSAGE: &str = "YAML anchors and aliases (`&name`, `*name`) are not supported in \
    manifests; write the value out in full";
/// Why a tag is refused.
const TAG_MESSAGE: &str = "YAML tags (`!tag`) are not supported in manifests; write plain values";
/// Why a key that is a list or mapping is refused.
const COMPLEX_KEY_MESSAGE: &str = "mapping keys must be plain names, not lists or mappings";
/// Most refused constructs reported per file: a file of a million aliases
/// gets a bounded answer.
const MAX_REFUSED: usize = 50;

/// Where the event scan is inside the document.
enum Frame {
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

/// Walks the document's events once, without building anything: finds
/// every key written twice in a mapping, and every anchor, alias, tag and
/// non-scalar key. Iterative, so it needs no stack for deep documents
/// (the libyaml gate has bounded the depth before it runs anyway).
fn scan_events(text: &str) -> Result<Vec<DuplicateKey>, Scan> {
    use yaml_rust2::parser::{Event, Parser};

    let mut parser = Parser::new_from_str(text);
    let mut frames: Vec<Frame> = Vec::new();
    let mut duplicates = Vec::new();
    let mut refused: Vec<SyntaxError> = Vec::new();
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
            Event::Scalar(value, ..) => {
                begin_node(&mut frames, Some(value), pos, &mut duplicates);
                end_node(&mut frames);
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
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
    if refused.is_empty() {
        Ok(duplicates)
    } else {
        Err(Scan::Refused(refused))
    }
}

fn too_deep(pos: Pos) -> SyntaxError {
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
fn begin_node(
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
fn end_node(frames: &mut [Frame]) {
    match frames.last_mut() {
        Some(Frame::Sequence { index }) => *index += 1,
        Some(Frame::Mapping { in_value, .. }) => *in_value = !*in_value,
        None => {}
    }
}

/// The field path of the node being read inside `frames`.
fn scan_path(frames: &[Frame]) -> FieldPath {
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

/// Finds where the second document of a multi-document text starts. Only
/// used for the position of the error, so a line scan suffices: document
/// markers (`---`, `...`) only count at the start of a line.
fn second_document_pos(text: &str) -> Option<Pos> {
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut started = 0;
    let mut open = false;
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        if is_marker(line, "---") {
            started += 1;
            open = true;
        } else if is_marker(line, "...") {
            open = false;
            continue;
        } else {
            let trimmed = line.trim();
            let is_filler = trimmed.is_empty() || trimmed.starts_with('#');
            let is_directive = !open && line.starts_with('%');
            if open || is_filler || is_directive {
                continue;
            }
            started += 1;
            open = true;
        }
        if started == 2 {
            return Some(Pos::new(line_no, 1));
        }
    }
    None
}

/// Converts a serde_yaml error found while checking syntax into a
/// positioned message.
fn serde_syntax_error(error: &serde_yaml::Error, text: &str) -> SyntaxError {
    let pos = serde_error_pos(error);
    let mut message = format!("invalid YAML: {}", serde_error_message(error));
    if line_has_tab_indent(text, pos.line) {
        message.push_str("; YAML does not allow tabs for indentation, use spaces");
    }
    SyntaxError::new(pos, message)
}

/// Where serde_yaml says an error is; the start of the file if it does not.
pub(crate) fn serde_error_pos(error: &serde_yaml::Error) -> Pos {
    error
        .location()
        .map_or(Pos::START, |l| Pos::new(l.line(), l.column()))
}

/// serde_yaml's message without the " at line L column C" it appends (the
/// position is reported separately).
pub(crate) fn serde_error_message(error: &serde_yaml::Error) -> String {
    strip_location(&error.to_string())
}

fn strip_location(message: &str) -> String {
    // serde_yaml writes "{problem} at line L column C" and may continue with
    // ", while parsing ... at line L column C". The first position is the
    // one reported separately; the context's position stays, it says more.
    static POSITION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r" at (line \d+ column \d+|position \d+)").expect("valid regex")
    });
    POSITION.replace(message, "").into_owned()
}

fn line_has_tab_indent(text: &str, line: usize) -> bool {
    text.lines()
        .nth(line.saturating_sub(1))
        .is_some_and(|l| l.trim_start_matches(' ').starts_with('\t'))
}

fn load_error_to_syntax_error(error: marked_yaml::LoadError) -> SyntaxError {
    use marked_yaml::LoadError;
    match error {
        LoadError::TopLevelMustBeMapping(marker) | LoadError::TopLevelMustBeSequence(marker) => {
            SyntaxError::new(
                marker_pos(Some(&marker)),
                format!("the document is not a mapping; {EXPECTED_MANIFEST}"),
            )
        }
        LoadError::UnexpectedAnchor(marker) => {
            SyntaxError::new(marker_pos(Some(&marker)), ANCHOR_MESSAGE)
        }
        LoadError::UnexpectedTag(marker) => {
            SyntaxError::new(marker_pos(Some(&marker)), TAG_MESSAGE)
        }
        LoadError::MappingKeyMustBeScalar(marker) => {
            SyntaxError::new(marker_pos(Some(&marker)), COMPLEX_KEY_MESSAGE)
        }
        LoadError::DuplicateKey(inner) => SyntaxError::new(
            marker_pos(inner.key.span().start()),
            duplicate_key_message(
                inner.key.as_str(),
                marker_pos(inner.prev_key.span().start()),
            ),
        ),
        LoadError::ScanError(marker, scan_error) => SyntaxError::new(
            marker_pos(Some(&marker)),
            format!("invalid YAML: {}", scan_error.info()),
        ),
    }
}

/// What a [`DuplicateKey`] is reported as.
pub(crate) fn duplicate_key_message(key: &str, first: Pos) -> String {
    format!(
        "duplicate key {} (first set at {first}); each key may appear once in a mapping",
        quote(key)
    )
}

/// How serde_yaml reads a scalar, mirrored so the structural pass can say
/// "expected an integer" exactly where the typed parse would fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScalarKind {
    Null,
    Bool,
    Int(i128),
    Float,
    Str,
}

/// Resolves a scalar the way serde_yaml 0.9 does (YAML 1.2 core schema):
/// quoted and block scalars are strings; plain ones may be null, booleans
/// or numbers.
pub(crate) fn scalar_kind(scalar: &marked_yaml::types::MarkedScalarNode) -> ScalarKind {
    if !scalar.may_coerce() {
        return ScalarKind::Str;
    }
    let value = scalar.as_str();
    if matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return ScalarKind::Null;
    }
    if matches!(
        value,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) {
        return ScalarKind::Bool;
    }
    if let Some(int) = parse_int(value) {
        return ScalarKind::Int(int);
    }
    if is_float(value) {
        return ScalarKind::Float;
    }
    ScalarKind::Str
}

/// Integers as serde_yaml reads them: an optional sign, then decimal
/// (without leading zeros), `0x`, `0o` or `0b` digits.
pub(crate) fn parse_int(value: &str) -> Option<i128> {
    let (negative, unsigned) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let (digits, radix) = if let Some(rest) = unsigned.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = unsigned.strip_prefix("0o") {
        (rest, 8)
    } else if let Some(rest) = unsigned.strip_prefix("0b") {
        (rest, 2)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        // YAML 1.2: `010` is a string, not an octal or decimal number.
        return None;
    } else {
        (unsigned, 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Floats as serde_yaml reads them: Rust's float syntax (finite values
/// only) plus YAML's `.inf` and `.nan` spellings.
fn is_float(value: &str) -> bool {
    if matches!(
        value,
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    ) {
        return true;
    }
    let unsigned = match value.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return false,
        Some(rest) => rest,
        None => value,
    };
    let digits = unsigned.strip_prefix('-').unwrap_or(unsigned);
    // YAML 1.2: digits with a leading zero are a string.
    let leading_zero_digits =
        digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
    !leading_zero_digits && unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn first_error(text: &str, what: &str) -> SyntaxError {
        match Document::parse(text) {
            Ok(_) => panic!("{what}: {text:?} should not parse"),
            Err(errors) => errors.into_iter().next().expect("at least one error"),
        }
    }

    fn parse(text: &str) -> Document {
        match Document::parse(text) {
            Ok(document) => document,
            Err(e) => panic!("{text:?} should parse: {e:?}"),
        }
    }

    #[test]
    fn locates_values_keys_and_list_items() {
        let doc = parse("a:\n  b: 1\n  c:\n    - x\n    - {n: 1}\n  d: {f: 1}\n");
        assert_eq!(doc.locate(&FieldPath::of("a.b")), Pos::new(2, 6));
        assert_eq!(doc.locate_key(&FieldPath::of("a.b")), Pos::new(2, 3));
        assert_eq!(doc.locate(&FieldPath::of("a.c").index(0)), Pos::new(4, 7));
        assert_eq!(doc.locate(&FieldPath::of("a.c").index(1)), Pos::new(5, 7));
        // A mapping is located by its key.
        assert_eq!(doc.locate(&FieldPath::of("a.d")), Pos::new(6, 3));
        assert_eq!(doc.locate(&FieldPath::of("a")), Pos::new(1, 1));
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_parent() {
        let doc = parse("spec:\n  processes:\n    web: {}\n");
        assert_eq!(
            doc.locate(&FieldPath::of("spec.processes.web.cpu")),
            Pos::new(3, 5)
        );
        assert_eq!(doc.locate(&FieldPath::of("nothing.here")), Pos::new(1, 1));
        assert_eq!(
            doc.locate(&FieldPath::of("spec.processes").index(3)),
            Pos::new(2, 3)
        );
    }

    #[test]
    fn empty_and_comment_only_texts_are_rejected() {
        for text in ["", "   \n", "# nothing\n", "---\n", "~\n"] {
            let error = first_error(text, text);
            assert_eq!(error.pos, Pos::START, "{text:?}");
            assert!(
                error.message.contains("no manifest"),
                "{text:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn a_second_document_is_located() {
        let error = first_error("a: 1\n---\nb: 2\n", "two documents");
        assert_eq!(error.pos, Pos::new(2, 1));
        let error = first_error("---\na: 1\n# x\n---\nb: 2\n", "two documents");
        assert_eq!(error.pos, Pos::new(4, 1));
        let error = first_error("a: 1\n...\nb: 2\n", "two documents");
        assert_eq!(error.pos, Pos::new(3, 1));
    }

    #[test]
    fn syntax_errors_are_located_without_repeating_the_position() {
        let error = first_error("a: 1\n  b: [\n", "bad yaml");
        assert_eq!(error.pos.line, 2);
        assert!(!error.message.contains("at line"), "{}", error.message);
        assert!(
            error.message.starts_with("invalid YAML: "),
            "{}",
            error.message
        );
    }

    #[test]
    fn tabs_get_a_hint() {
        let error = first_error("a:\n\tb: 1\n", "tab");
        assert!(error.message.contains("tabs"), "{}", error.message);
    }

    #[test]
    fn anchors_tags_duplicates_and_non_mappings_are_refused() {
        let cases = [
            ("a: &x 1\nb: *x\n", "anchors"),
            ("a: !foo 1\n", "tags"),
            ("- a\n- b\n", "not a mapping"),
            ("just text\n", "not a mapping"),
        ];
        for (text, expected) in cases {
            let error = first_error(text, text);
            assert!(
                error.message.contains(expected),
                "{text:?}: {}",
                error.message
            );
        }
    }

    #[test]
    fn every_refused_construct_is_listed() {
        let errors = Document::parse("a: &x 1\nb: *x\nc: !t 2\n? [k]\n: v\n").expect_err("refused");
        let found: Vec<(Pos, bool)> = errors
            .iter()
            .map(|e| (e.pos, e.message.contains("anchors")))
            .collect();
        assert_eq!(
            found,
            vec![
                // An anchored or tagged value is reported at the value.
                (Pos::new(1, 7), true),
                (Pos::new(2, 4), true),
                (Pos::new(3, 7), false),
                (Pos::new(4, 3), false),
            ]
        );
    }

    #[test]
    fn duplicate_keys_are_listed_with_both_positions_and_the_rest_parses() {
        let doc = parse("a: 1\nb:\n  - {x: 1, y: 2, x: 3}\n  - c: {d: 1}\n    c: 2\na: 4\ne: 5\n");
        let found: Vec<(String, Pos, Pos)> = doc
            .duplicates()
            .iter()
            .map(|d| (d.path.to_string(), d.pos, d.first))
            .collect();
        assert_eq!(
            found,
            vec![
                ("b[0].x".to_owned(), Pos::new(3, 18), Pos::new(3, 6)),
                ("b[1].c".to_owned(), Pos::new(5, 5), Pos::new(4, 5)),
                ("a".to_owned(), Pos::new(6, 1), Pos::new(1, 1)),
            ]
        );
        assert_eq!(doc.locate(&FieldPath::of("e")), Pos::new(7, 4));
    }

    #[test]
    fn billion_laughs_is_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let started = std::time::Instant::now();
        let error = first_error(&text, "billion laughs");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert_eq!(error.pos.line, 1, "{error:?}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        for depth in [10_000, 100_000] {
            let text = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
            let error = first_error(&text, "deep");
            assert_eq!(error.pos.line, 1, "{error:?}");
            // Unclosed, too: the end of the text is where it breaks.
            let error = first_error(&format!("a: {}\n", "{a: ".repeat(depth)), "deep");
            assert!(error.pos.line <= 2, "{error:?}");
        }
    }

    #[test]
    fn scalars_resolve_like_serde_yaml() {
        let doc = parse(
            "n1: ~\nn2:\nb: true\ni: 256\nh: 0x10\nneg: -3\nz: 010\nf: 1.5\ne: 1e3\nq: '256'\ns: abc\nv: 1.10.2\n",
        );
        let Node::Mapping(mapping) = doc.root() else {
            panic!("not a mapping");
        };
        let kind = |key: &str| {
            let scalar = mapping.get_scalar(key).unwrap_or_else(|| panic!("{key}"));
            scalar_kind(scalar)
        };
        assert_eq!(kind("n1"), ScalarKind::Null);
        assert_eq!(kind("n2"), ScalarKind::Null);
        assert_eq!(kind("b"), ScalarKind::Bool);
        assert_eq!(kind("i"), ScalarKind::Int(256));
        assert_eq!(kind("h"), ScalarKind::Int(16));
        assert_eq!(kind("neg"), ScalarKind::Int(-3));
        assert_eq!(kind("z"), ScalarKind::Str);
        assert_eq!(kind("f"), ScalarKind::Float);
        assert_eq!(kind("e"), ScalarKind::Float);
        assert_eq!(kind("q"), ScalarKind::Str);
        assert_eq!(kind("s"), ScalarKind::Str);
        assert_eq!(kind("v"), ScalarKind::Str);
    }

    #[test]
    fn strip_location_keeps_the_rest_of_the_message() {
        assert_eq!(
            strip_location(
                "did not find expected key at line 2 column 3, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping at line 1 column 1"
        );
        assert_eq!(strip_location("plain"), "plain");
    }
}
