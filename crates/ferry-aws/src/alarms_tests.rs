use super::*;

#[test]
fn only_the_installations_tags_are_owned() {
    let tags = names::ownership_tags("ferry", "acme", Some("web"));
    assert!(owned(&tags, "ferry"));
    assert!(!owned(&tags, "other"));
    let mut foreign = tags.clone();
    foreign.remove(names::TAG_APP);
    assert!(!owned(&foreign, "ferry"));
    assert!(!owned(&BTreeMap::new(), "ferry"));
}
