use std::path::Path;

use super::*;

const ROLE: &str = "arn:aws:iam::123456789012:role/";

fn loaded(role: &str, execution_role: &str) -> LoadedApp {
    let text = format!(
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: shop\nspec:\n  image: shop:1\n  \
         role: {role}\n  executionRole: {execution_role}\n  processes:\n    web: {{command: serve}}\n"
    );
    crate::parse_manifest(Path::new("shop.yaml"), &text, &|_| {
        Err(std::io::Error::other("no Procfile"))
    })
    .expect("valid")
}

#[test]
fn roles_under_the_path_pass_and_others_are_located_at_their_keys() {
    let own = format!("{ROLE}ferry-apps/shop");
    assert!(check_app_roles(
        &loaded(&own, &format!("{ROLE}ferry-apps/teams/shop-exec")),
        "/ferry-apps/"
    )
    .is_empty());
    let found = check_app_roles(
        &loaded(
            &format!("{ROLE}admin"),
            &format!("{ROLE}ferry-apps-admin/x"),
        ),
        "/ferry-apps/",
    );
    let at: Vec<(usize, usize, &str)> = found
        .iter()
        .map(|d| (d.line, d.column, d.path.as_str()))
        .collect();
    assert_eq!(at, vec![(7, 9, "spec.role"), (8, 18, "spec.executionRole")]);
    assert!(
        found[0].message.contains("app role path `/ferry-apps/`"),
        "{}",
        found[0]
    );
    assert!(found[0].message.contains("iam:PassRole"), "{}", found[0]);
}

#[test]
fn a_path_is_a_prefix_of_whole_segments() {
    assert!(is_under(&format!("{ROLE}ferry-apps/shop"), "/ferry-apps/"));
    assert!(is_under(
        &format!("{ROLE}ferry-apps/a/b/shop"),
        "/ferry-apps/"
    ));
    assert!(is_under(&format!("{ROLE}shop"), "/"));
    assert!(!is_under(&format!("{ROLE}shop"), "/ferry-apps/"));
    assert!(!is_under(&format!("{ROLE}ferry-apps"), "/ferry-apps/"));
    assert!(!is_under(
        &format!("{ROLE}ferry-apps-x/shop"),
        "/ferry-apps/"
    ));
}
