//! Task-definition hygiene: Ferry deregisters the revisions it registered
//! and no longer uses, keeping the newest few per family and every one a
//! service runs, and never touches a revision without its tags.

use std::time::Duration;

use crate::ecs::revisions;
use crate::support::{eventually, LocalAws};

fn manifest(image: &str) -> String {
    format!(
        "apiVersion: ferry/v1\nkind: App\nmetadata:\n  name: shop\nspec:\n  image: {image}\n  processes:\n    web:\n      command: [serve]\n      scale: 1\n"
    )
}

fn revision(arn: &str) -> u32 {
    arn.rsplit(':')
        .next()
        .and_then(|r| r.parse().ok())
        .expect("a revision number")
}

#[tokio::test(flavor = "multi_thread")]
async fn unused_revisions_are_retired_and_foreign_ones_kept() {
    let mut local = LocalAws::start().expect("local AWS");
    let ecs = local.ecs().await;
    // Before this controller's term, someone else registered in Ferry's
    // family (revision 1, no tags), and an earlier leader left a revision
    // it registered and never used (revision 2, Ferry's tags: a crash
    // between registering and updating the service).
    let container = |image: &str| {
        aws_sdk_ecs::types::ContainerDefinition::builder()
            .name("web")
            .image(image)
            .memory(256)
            .build()
    };
    let tag = |k: &str, v: &str| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build();
    ecs.register_task_definition()
        .family("ferry_shop_web")
        .container_definitions(container("someone/else:1"))
        .send()
        .await
        .expect("RegisterTaskDefinition");
    ecs.register_task_definition()
        .family("ferry_shop_web")
        .container_definitions(container("acme/shop:0"))
        .tags(tag("ferry:managed-by", "ferry"))
        .tags(tag("ferry:app", "shop"))
        .tags(tag("ferry:process", "web"))
        .send()
        .await
        .expect("RegisterTaskDefinition");

    local
        .start_leader(&["--keep-task-definitions", "2"])
        .expect("controller");
    let file = local.dir().join("shop.yaml");
    for version in 1..=6 {
        std::fs::write(&file, manifest(&format!("acme/shop:{version}"))).expect("write");
        local.ferry_ok(&[
            "apply",
            "-f",
            file.to_str().expect("utf-8"),
            "--wait",
            "--timeout",
            "60s",
        ]);
    }

    // Ferry's: 2 and 3..=8; 8 runs. Kept: the foreign 1 and the newest
    // two (7, 8). Retired: 2 to 6, the orphan included.
    let left = eventually(Duration::from_secs(60), "old revisions retired", || async {
        let left: Vec<u32> = revisions(&ecs, "ferry_shop_web")
            .await
            .iter()
            .map(|a| revision(a))
            .collect();
        (left.len() == 3).then_some(left)
    })
    .await;
    assert_eq!(
        left,
        vec![1, 7, 8],
        "kept: the foreign one and the newest two"
    );
    let metrics = local.metrics(0);
    assert_eq!(metrics.sum("task_definitions_deregistered_total", &[]), 5.0);

    // Nothing more goes on later resyncs, and the running one stays.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let later: Vec<u32> = revisions(&ecs, "ferry_shop_web")
        .await
        .iter()
        .map(|a| revision(a))
        .collect();
    assert_eq!(later, vec![1, 7, 8]);
    let status: serde_json::Value =
        serde_json::from_str(&local.ferry_ok(&["status", "shop", "-o", "json"])).expect("json");
    assert!(
        status["processes"]["web"]["taskDefinition"]
            .as_str()
            .is_some_and(|arn| arn.ends_with(":8")),
        "{status}"
    );
}
