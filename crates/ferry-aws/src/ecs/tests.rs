use std::time::{Duration, Instant};

use super::execute::already_exists;
use super::*;

pub(crate) fn service(name: &str) -> ferry_core::ObservedService {
    ferry_core::ObservedService {
        name: name.into(),
        arn: format!("arn:aws:ecs:us-east-1:1:service/c/{name}"),
        status: ferry_core::ServiceStatus::Active,
        tags: BTreeMap::new(),
        desired_count: 1,
        running_count: 0,
        pending_count: 1,
        task_definition_arn: String::new(),
        task_definition: None,
        network: None,
        load_balancers: Vec::new(),
        health_check_grace_period: None,
        deployment: None,
        capacity_provider_strategy: Vec::new(),
        enable_execute_command: false,
        deployments: Vec::new(),
        events: Vec::new(),
        current_deployment: None,
    }
}

#[test]
fn a_service_ferry_just_created_outlives_reads_that_miss_it() {
    let services = services::Services::default();
    let created = services.begin();
    services.put(created, service("shop_web"));
    services.created_now("shop_web");
    // A named read and a listing sent after the create that do not show
    // it yet.
    let read = services.begin();
    services.remove(read, "shop_web");
    let listing = services.begin();
    services.apply_listing(listing, Vec::new());
    assert!(services.get("shop_web").is_some(), "kept within the grace");
    // Once the grace has passed, a miss is believed.
    let long_ago = Instant::now()
        .checked_sub(CONSISTENCY_GRACE + Duration::from_secs(1))
        .expect("the clock is past the grace");
    services.created_at("shop_web", long_ago);
    let later = services.begin();
    services.remove(later, "shop_web");
    assert!(services.get("shop_web").is_none());
    // And an INACTIVE answer is believed at once.
    let again = services.begin();
    services.put(again, service("shop_worker"));
    services.created_now("shop_worker");
    services.inactive("shop_worker");
    let listing = services.begin();
    services.apply_listing(listing, Vec::new());
    assert!(services.get("shop_worker").is_none());
}

#[test]
fn only_a_refusal_of_a_live_name_is_taken_for_an_existing_service() {
    let refusal = |code: &str, message: &str| Error::Call {
        service: SERVICE,
        operation: "CreateService",
        resource: "shop_web".into(),
        code: Some(code.into()),
        message: message.into(),
    };
    assert!(already_exists(&refusal(
        "InvalidParameterException",
        "InvalidParameterException: Creation of service was not idempotent."
    )));
    assert!(!already_exists(&refusal(
        "InvalidParameterException",
        "InvalidParameterException: subnets can have at most 16 items."
    )));
    assert!(!already_exists(&refusal(
        "ClientException",
        "not idempotent"
    )));
}

/// What a snapshot needs of a family's latest revision, and what it must
/// ask for first: nothing when the cache can tell, the family when it
/// cannot, the revision when it knows its ARN only.
#[test]
fn a_snapshot_names_what_the_cache_cannot_tell_of_a_family() {
    let latest = |cache: &Cache, family: &str| {
        let mut missing = Missing::default();
        let found = cache.latest(family, &mut missing);
        assert!(found.is_none(), "nothing is described in these caches");
        missing
    };
    let mut cache = Cache::default();
    // Before the term's family listing, a family is asked of ECS...
    assert_eq!(
        latest(&cache, "ferry_shop_web").families,
        ["ferry_shop_web".to_owned()].into()
    );
    // ...unless ECS already said it has no revision, or the listing did.
    cache.empty_families.insert("ferry_shop_web".into());
    assert!(latest(&cache, "ferry_shop_web").is_empty());
    cache.empty_families.clear();
    cache.families_listed = true;
    assert!(latest(&cache, "ferry_shop_web").is_empty());
    // A known latest revision not yet described is described first...
    let arn = "arn:aws:ecs:us-east-1:1:task-definition/ferry_shop_web:3";
    cache
        .latest_revisions
        .insert("ferry_shop_web".into(), arn.into());
    assert_eq!(
        latest(&cache, "ferry_shop_web").task_definitions,
        [arn.to_owned()].into()
    );
    // ...unless ECS no longer has it.
    cache.vanished.insert(arn.into());
    assert!(latest(&cache, "ferry_shop_web").is_empty());
    // A registration without a clear answer puts the family in doubt.
    cache.uncertain_families.insert("ferry_shop_web".into());
    assert_eq!(
        latest(&cache, "ferry_shop_web").families,
        ["ferry_shop_web".to_owned()].into()
    );
}

#[tokio::test]
async fn a_service_stays_in_the_progress_reads_a_while_after_it_looks_settled() {
    let sdk = crate::test_support::unreachable_sdk().await;
    let ecs = Ecs::new(
        aws_sdk_ecs::Client::new(&sdk),
        crate::test_support::caller(),
        "c",
    );
    let owned = |name: &str, settling: bool| {
        let mut service = service(name);
        service.tags = BTreeMap::from([(names::TAG_MANAGED_BY.to_owned(), "ferry".to_owned())]);
        if !settling {
            service.running_count = 1;
            service.pending_count = 0;
            service.deployments = vec![ferry_core::model::observed::ObservedDeployment {
                id: "ecs-svc/1".into(),
                status: ferry_core::model::observed::DeploymentStatus::Primary,
                task_definition_arn: "td:1".into(),
                desired_count: 1,
                running_count: 1,
                pending_count: 0,
                failed_tasks: 0,
                rollout_state: Some(EcsRolloutState::Completed),
                rollout_state_reason: None,
                created_at: None,
            }];
        }
        service
    };
    let start = Instant::now();
    ecs.services
        .put(ecs.services.begin(), owned("shop_web", true));
    ecs.services
        .put(ecs.services.begin(), owned("shop_jobs", false));
    assert_eq!(ecs.settling_at("ferry", start), ["shop_web"]);
    // ECS calls it done: still read within the watch, then no more.
    ecs.services
        .put(ecs.services.begin(), owned("shop_web", false));
    let soon = start + WATCH_AFTER_SETTLED - Duration::from_secs(1);
    assert_eq!(ecs.settling_at("ferry", soon), ["shop_web"]);
    assert!(ecs
        .settling_at("ferry", start + WATCH_AFTER_SETTLED)
        .is_empty());
    assert!(ecs.settling_at("other", start).is_empty(), "owner's only");
}
