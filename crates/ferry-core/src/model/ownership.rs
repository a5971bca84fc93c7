//! Ownership: the tags Ferry puts on what it creates, and whose a
//! resource is judged by them. The rule every planner applies before it
//! changes or deletes anything.

use std::collections::BTreeMap;

/// Tag naming the app a resource belongs to.
pub const TAG_APP: &str = "ferry:app";
/// Tag naming the process a resource belongs to, where one applies.
pub const TAG_PROCESS: &str = "ferry:process";
/// Tag naming the Ferry installation that manages a resource.
pub const TAG_MANAGED_BY: &str = "ferry:managed-by";

/// The tags Ferry puts on everything it creates for `app` (and `process`).
pub fn ownership_tags(owner: &str, app: &str, process: Option<&str>) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    tags.insert(TAG_MANAGED_BY.to_owned(), owner.to_owned());
    tags.insert(TAG_APP.to_owned(), app.to_owned());
    if let Some(process) = process {
        tags.insert(TAG_PROCESS.to_owned(), process.to_owned());
    }
    tags
}

/// Who a resource belongs to, judged only by its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Managed by this installation, for this app.
    Ours,
    /// Managed by this installation, but for another app.
    OtherApp(String),
    /// Not managed by this installation: never to be changed or deleted.
    Foreign,
}

/// Classifies a resource by its tags, from the point of view of `app`.
pub fn ownership(tags: &BTreeMap<String, String>, owner: &str, app: &str) -> Ownership {
    if tags.get(TAG_MANAGED_BY).map(String::as_str) != Some(owner) {
        return Ownership::Foreign;
    }
    match tags.get(TAG_APP) {
        Some(tagged) if tagged == app => Ownership::Ours,
        Some(tagged) => Ownership::OtherApp(tagged.clone()),
        None => Ownership::Foreign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_requires_both_tags() {
        let ours = ownership_tags("ferry", "acme", Some("web"));
        assert_eq!(ownership(&ours, "ferry", "acme"), Ownership::Ours);
        assert_eq!(
            ownership(&ours, "ferry", "other"),
            Ownership::OtherApp("acme".into())
        );
        assert_eq!(
            ownership(&ours, "ferry-staging", "acme"),
            Ownership::Foreign
        );
        let mut no_app = ours.clone();
        no_app.remove(TAG_APP);
        assert_eq!(ownership(&no_app, "ferry", "acme"), Ownership::Foreign);
        assert_eq!(
            ownership(&BTreeMap::new(), "ferry", "acme"),
            Ownership::Foreign
        );
    }
}
