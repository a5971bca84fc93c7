//! What the adapters' unit tests share: SDK configuration for an endpoint
//! nothing listens on (every call fails to connect, quickly), and a caller.

use std::sync::Arc;
use std::time::Duration;

use crate::{AwsMetrics, Caller, Pacing};

/// SDK configuration whose endpoint is a loopback port just released:
/// a request fails to connect, so a test sees Ferry's handling of a call
/// with no answer without any AWS.
pub async fn unreachable_sdk() -> aws_config::SdkConfig {
    let unused = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", unused.local_addr().expect("addr"));
    drop(unused);
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "AKID", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .load()
        .await;
    crate::paced_sdk_config(&sdk)
}

/// A caller with default pacing and no registered metrics.
pub fn caller() -> Caller {
    Caller::new(
        Arc::new(Pacing::default()),
        AwsMetrics::unregistered(),
        Duration::from_secs(5),
    )
}
