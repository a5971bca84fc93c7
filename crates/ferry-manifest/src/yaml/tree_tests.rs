//! The tree the scan builds is the tree `marked_yaml`'s loader builds from
//! the same text: the same nodes, values, spans and coercion flags.

use std::fmt::Write;

use marked_yaml::{LoaderOptions, Node};

use crate::yaml::Document;

/// Every node of `node` with its span and, for a scalar, its value and
/// whether it may coerce, in document order.
fn describe(node: &Node, out: &mut String) {
    let span = node.span();
    let at = |m: Option<&marked_yaml::Marker>| m.map(|m| (m.character(), m.line(), m.column()));
    let _ = write!(out, "[{:?}-{:?}]", at(span.start()), at(span.end()));
    match node {
        Node::Scalar(scalar) => {
            let _ = write!(out, "{:?}/{} ", scalar.as_str(), scalar.may_coerce());
        }
        Node::Sequence(items) => {
            out.push_str("seq( ");
            items.iter().for_each(|item| describe(item, out));
            out.push_str(") ");
        }
        Node::Mapping(mapping) => {
            out.push_str("map( ");
            for (key, value) in mapping.iter() {
                describe(&Node::from(key.clone()), out);
                out.push_str(": ");
                describe(value, out);
            }
            out.push_str(") ");
        }
    }
}

fn loaded(text: &str) -> Option<Node> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(false)
        .prevent_coercion(true);
    marked_yaml::parse_yaml_with_options(0, text, options).ok()
}

/// Every text: the repository's example manifests, the corpus of invalid
/// manifests (each as written), and a few shapes of YAML.
fn texts() -> Vec<String> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mut texts: Vec<String> = [
        "examples/minimal.yaml",
        "examples/multi-process.yaml",
        "examples/autoscaling.yaml",
        "examples/scheduled.yaml",
        "examples/secrets.yaml",
    ]
    .iter()
    .map(|path| std::fs::read_to_string(format!("{root}/{path}")).expect(path))
    .collect();
    let corpus = std::fs::read_to_string(format!(
        "{}/corpus/invalid.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("corpus");
    let cases: Vec<serde_yaml::Value> = serde_yaml::from_str(&corpus).expect("corpus cases");
    texts.extend(
        cases
            .iter()
            .filter_map(|case| case["manifest"].as_str().map(str::to_owned)),
    );
    texts.extend(
        [
            "a: 1\n",
            "a: {b: [1, '2', \"3\"], c: {}}\n",
            "a:\n  - x\n  -\n    y: z\n  - [p, q]\nb: |\n  text\n",
            "a: 1\nb: 2\na: 3\n",
            "a: ~\nb:\nc: null\nd: ''\n",
            "{a: 1, b: [x, {c: d}]}\n",
            "- not\n- a mapping\n",
            "k: >-\n  folded\n  text\nm: 'quoted ''q'''\n",
        ]
        .map(str::to_owned),
    );
    texts
}

#[test]
fn the_scans_tree_is_the_loaders_tree() {
    let mut compared = 0;
    for text in texts() {
        let (Ok(document), Some(expected)) = (Document::parse(&text), loaded(&text)) else {
            continue;
        };
        let (mut ours, mut theirs) = (String::new(), String::new());
        describe(document.root(), &mut ours);
        describe(&expected, &mut theirs);
        assert_eq!(ours, theirs, "{text}");
        compared += 1;
    }
    assert!(compared >= 50, "only {compared} texts compared");
}
