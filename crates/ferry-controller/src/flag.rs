//! Stop and resign flags, as `watch` channels of `bool`, shared by the
//! control loop and leader election.

use tokio::sync::watch;

/// Waits until `flag` is true (or its sender is gone). Unlike
/// `wait_for`, holds no borrow of the value, so the future stays `Send`.
pub async fn until_true(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|value| *value).await;
}
