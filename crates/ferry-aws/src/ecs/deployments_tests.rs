//! The service deployments' reads and their budget, against a fake.

use std::collections::BTreeMap;
use std::sync::Mutex;

use ferry_core::model::deployments::{ObservedServiceDeployment, ServiceDeploymentState};

use super::*;

/// Answers every ARN with the status set for it (IN_PROGRESS unless
/// said), and counts the calls and the ARNs of each.
#[derive(Default)]
struct Fake {
    status: Mutex<BTreeMap<String, ServiceDeploymentState>>,
    calls: Mutex<Vec<usize>>,
}

impl Fake {
    fn set(&self, arn: &str, status: ServiceDeploymentState) {
        self.status
            .lock()
            .expect("fake")
            .insert(arn.to_owned(), status);
    }

    fn calls(&self) -> Vec<usize> {
        std::mem::take(&mut *self.calls.lock().expect("fake"))
    }
}

impl DeploymentReads for Fake {
    async fn describe(&self, arns: &[String]) -> Result<Vec<ObservedServiceDeployment>> {
        assert!(arns.len() <= DESCRIBE_SERVICE_DEPLOYMENTS_BATCH);
        self.calls.lock().expect("fake").push(arns.len());
        let status = self.status.lock().expect("fake");
        Ok(arns
            .iter()
            .map(|arn| ObservedServiceDeployment {
                arn: arn.clone(),
                service_arn: String::new(),
                status: status
                    .get(arn)
                    .copied()
                    .unwrap_or(ServiceDeploymentState::InProgress),
                status_reason: None,
                lifecycle_stage: None,
                target: None,
                sources: Vec::new(),
                rollback_reason: None,
                hooks: Vec::new(),
                triggered_alarms: Vec::new(),
                created_at: None,
                updated_at: None,
                finished_at: None,
            })
            .collect())
    }
}

fn current(n: usize) -> BTreeMap<String, String> {
    (0..n)
        .map(|i| (format!("svc{i:02}"), format!("arn:sd/svc{i:02}/1")))
        .collect()
}

#[tokio::test]
async fn n_services_take_n_over_20_calls_across_apps() {
    let cache = ServiceDeployments::default();
    let fake = Fake::default();
    let calls = cache.read_tick(&fake, &current(45)).await.expect("read");
    assert_eq!(calls, 3);
    assert_eq!(fake.calls(), vec![20, 20, 5]);
    assert_eq!(
        cache.of("svc44").map(|d| d.arn),
        Some("arn:sd/svc44/1".to_owned())
    );
}

#[tokio::test]
async fn nothing_to_read_makes_no_call() {
    let cache = ServiceDeployments::default();
    let fake = Fake::default();
    let calls = cache
        .read_tick(&fake, &BTreeMap::new())
        .await
        .expect("read");
    assert_eq!(calls, 0);
    assert!(fake.calls().is_empty());
}

#[tokio::test]
async fn a_final_deployment_is_read_once_more_then_not_again_until_the_next() {
    let cache = ServiceDeployments::default();
    let fake = Fake::default();
    let mut wanted = current(1);
    cache.read_tick(&fake, &wanted).await.expect("read");
    assert!(cache.in_progress("svc00", "arn:sd/svc00/1"));
    fake.set("arn:sd/svc00/1", ServiceDeploymentState::Successful);
    cache.read_tick(&fake, &wanted).await.expect("read");
    assert!(!cache.in_progress("svc00", "arn:sd/svc00/1"));
    cache.read_tick(&fake, &wanted).await.expect("read");
    assert_eq!(
        fake.calls(),
        vec![1, 1, 1],
        "read until final, and once after"
    );
    cache.read_tick(&fake, &wanted).await.expect("read");
    assert!(fake.calls().is_empty(), "then not again");
    // The service's next deployment is read.
    wanted.insert("svc00".into(), "arn:sd/svc00/2".into());
    assert!(cache.in_progress("svc00", "arn:sd/svc00/2"));
    cache.read_tick(&fake, &wanted).await.expect("read");
    assert_eq!(fake.calls(), vec![1]);
    assert_eq!(
        cache.of("svc00").map(|d| d.arn),
        Some("arn:sd/svc00/2".to_owned())
    );
}

#[tokio::test]
async fn a_service_with_a_strategy_settles_until_its_deployment_is_known_final() {
    let cache = ServiceDeployments::default();
    let fake = Fake::default();
    let mut service = crate::ecs::tests::service("svc00");
    service.current_deployment = Some("arn:sd/svc00/1".into());
    assert!(
        !settles_by_deployment(&cache, &service),
        "rolling: DescribeServices tells"
    );
    service.deployment = Some(ferry_core::DeploymentSpec {
        strategy: RolloutStrategy::BlueGreen,
        ..Default::default()
    });
    assert!(settles_by_deployment(&cache, &service), "not read yet");
    fake.set("arn:sd/svc00/1", ServiceDeploymentState::Successful);
    cache.read_tick(&fake, &current(1)).await.expect("read");
    assert!(!settles_by_deployment(&cache, &service));
}
