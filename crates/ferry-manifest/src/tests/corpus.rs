//! The shared corpus of invalid manifests (`corpus/invalid.yaml`): each is
//! refused, and its first error is at the line, column and field path the
//! corpus gives. `schema/test_schema.py` reads the same cases to hold the
//! JSON Schema to the same verdicts.

use std::io;
use std::path::Path;

use serde::Deserialize;

use crate::parse_manifest;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// The field path of the first error.
    path: String,
    /// `LINE:COL` of the first error.
    first: String,
    manifest: String,
}

fn corpus() -> Vec<Case> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/invalid.yaml");
    let text = std::fs::read_to_string(file).expect("corpus/invalid.yaml");
    serde_yaml::from_str(&text).expect("corpus/invalid.yaml is a list of cases")
}

fn no_procfile(_: &Path) -> io::Result<String> {
    Err(io::Error::new(io::ErrorKind::NotFound, "no Procfile"))
}

#[test]
fn every_corpus_case_is_refused_first_where_the_corpus_says() {
    let cases = corpus();
    assert!(cases.len() >= 90, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        match parse_manifest(Path::new("app.yaml"), &case.manifest, &no_procfile) {
            Ok(_) => wrong.push(format!("{}: accepted", case.name)),
            Err(diagnostics) => {
                let first = &diagnostics.0[0];
                let found = (
                    format!("{}:{}", first.line, first.column),
                    first.path.clone(),
                );
                if found != (case.first.clone(), case.path.clone()) {
                    wrong.push(format!(
                        "{}: first error {first}, expected at {} about {}",
                        case.name, case.first, case.path
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
