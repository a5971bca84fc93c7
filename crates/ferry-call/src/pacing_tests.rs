use super::*;

/// Starts `n` waiters for `claimant` that record, in order, who got a
/// token, and returns their handles.
fn waiters(
    pacing: &Arc<Pacing>,
    bucket: Bucket,
    claimant: &Claimant,
    n: usize,
    log: &Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let pacing = Arc::clone(pacing);
            let claimant = claimant.clone();
            let log = Arc::clone(log);
            tokio::spawn(async move {
                let key = claimant.key.to_string();
                on_behalf_of(claimant, pacing.acquire(bucket)).await;
                log.lock().expect("log").push(key);
            })
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn burst_goes_at_once_then_the_documented_refill() {
    let pacing = Pacing::default();
    let start = Instant::now();
    for _ in 0..20 {
        pacing.acquire(Bucket::TaskDefinitionWrites).await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "the burst of 20 is free");
    for _ in 0..10 {
        pacing.acquire(Bucket::TaskDefinitionWrites).await;
    }
    let waited = start.elapsed().as_secs_f64();
    let expected = 10.0 / (1.0 - CLOCK_MARGIN);
    assert!((waited - expected).abs() < 0.05, "10 more at 1/s: {waited}");
}

#[tokio::test(start_paused = true)]
async fn share_scales_burst_and_refill() {
    let pacing = Pacing::with_share(0.5);
    let start = Instant::now();
    for _ in 0..25 {
        pacing.acquire(Bucket::ServiceWrites).await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
    pacing.acquire(Bucket::ServiceWrites).await;
    let waited = start.elapsed().as_secs_f64();
    let expected = 1.0 / (2.5 * (1.0 - CLOCK_MARGIN));
    assert!((waited - expected).abs() < 0.01, "2.5/s: {waited}");
}

#[tokio::test(start_paused = true)]
async fn equal_priorities_take_turns() {
    let pacing = Arc::new(Pacing::default());
    for _ in 0..20 {
        pacing.acquire(Bucket::TaskDefinitionWrites).await;
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let bulk = Claimant::new("bulk", 1);
    let other = Claimant::new("other", 1);
    let mut handles = waiters(&pacing, Bucket::TaskDefinitionWrites, &bulk, 4, &log);
    tokio::task::yield_now().await;
    handles.extend(waiters(
        &pacing,
        Bucket::TaskDefinitionWrites,
        &other,
        2,
        &log,
    ));
    for handle in handles {
        handle.await.expect("waiter");
    }
    let order = log.lock().expect("log").clone();
    assert_eq!(order, ["bulk", "other", "bulk", "other", "bulk", "bulk"]);
}

#[tokio::test(start_paused = true)]
async fn a_recent_apply_is_served_before_a_bulk_rollout() {
    let pacing = Arc::new(Pacing::default());
    for _ in 0..20 {
        pacing.acquire(Bucket::TaskDefinitionWrites).await;
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for app in 0..200 {
        let claimant = Claimant::new(format!("bulk-{app}"), 100);
        handles.extend(waiters(
            &pacing,
            Bucket::TaskDefinitionWrites,
            &claimant,
            2,
            &log,
        ));
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    let start = Instant::now();
    let hotfix = Claimant::new("hotfix", 110);
    on_behalf_of(hotfix, pacing.acquire(Bucket::TaskDefinitionWrites)).await;
    assert!(
        start.elapsed() <= Duration::from_millis(1100),
        "the hotfix waits for one refill at most, not for 390 tokens"
    );
    for handle in handles {
        handle.abort();
    }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_waiter_takes_no_token() {
    let pacing = Arc::new(Pacing::default());
    for _ in 0..20 {
        pacing.acquire(Bucket::TaskDefinitionWrites).await;
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let gone = waiters(
        &pacing,
        Bucket::TaskDefinitionWrites,
        &Claimant::new("a", 1),
        3,
        &log,
    );
    tokio::task::yield_now().await;
    for handle in &gone {
        handle.abort();
    }
    let start = Instant::now();
    pacing.acquire(Bucket::TaskDefinitionWrites).await;
    assert!(start.elapsed() <= Duration::from_millis(1100), "one refill");
    assert!(log.lock().expect("log").is_empty());
}

#[tokio::test(start_paused = true)]
async fn throttling_halves_the_rate_and_successes_restore_it() {
    let pacing = Pacing::default();
    let full = pacing
        .configured_rate(Bucket::ServiceWrites)
        .expect("paced");
    let rate = || pacing.rate(Bucket::ServiceWrites).expect("paced");
    pacing.throttled(Bucket::ServiceWrites);
    assert_eq!(rate(), full / 2.0);
    pacing.throttled(Bucket::ServiceWrites);
    assert_eq!(rate(), full / 2.0, "one cut per congestion event");
    for _ in 0..100 {
        tokio::time::advance(DECREASE_WINDOW).await;
        pacing.throttled(Bucket::ServiceWrites);
    }
    assert_eq!(rate(), full * FLOOR, "never below the floor");
    for _ in 0..40 {
        pacing.succeeded(Bucket::ServiceWrites);
    }
    assert_eq!(rate(), full);
    // After a throttle the bucket is empty: the next call waits.
    tokio::time::advance(DECREASE_WINDOW).await;
    pacing.throttled(Bucket::ServiceWrites);
    let start = Instant::now();
    pacing.acquire(Bucket::ServiceWrites).await;
    assert!(start.elapsed() > Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn unpaced_calls_never_wait() {
    let pacing = Pacing::with_share(0.01);
    let start = Instant::now();
    for _ in 0..1000 {
        pacing.acquire(Bucket::Unpaced).await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO);
}
