//! The YAML layer: positions, refusals, the gate and scalar resolution.

use super::gate::*;
use super::scalar::*;

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
#[test]
fn what_the_first_document_refuses_is_reported_before_a_second_document() {
    let errors = match Document::parse("a: &x 1\nb: !t 2\n---\nc: 3\n") {
        Ok(_) => panic!("two documents should not parse"),
        Err(errors) => errors,
    };
    let lines: Vec<usize> = errors.iter().map(|e| e.pos.line).collect();
    assert_eq!(lines, vec![1, 2], "{errors:?}");
}

#[test]
fn a_null_document_holds_no_manifest_but_a_quoted_one_is_a_scalar() {
    for text in ["null\n", "NULL\n", "--- ~\n"] {
        assert!(
            first_error(text, text).message.contains("no manifest"),
            "{text:?}"
        );
    }
    let error = first_error("'null'\n", "quoted");
    assert!(error.message.contains("not a mapping"), "{}", error.message);
}

/// The reason the libyaml gate stays (see the module doc): yaml-rust2
/// alone takes these, libyaml refuses them.
#[test]
fn a_tab_in_the_indentation_is_refused_where_yaml_rust2_alone_takes_it() {
    for text in ["\ta: 1\n", "a:\n \tb: 1\n"] {
        let error = first_error(text, "tab");
        assert!(
            error.message.contains("tabs"),
            "{text:?}: {}",
            error.message
        );
    }
}
