//! Why part of an app cannot be converged.

use std::fmt;

use serde::Serialize;

/// Why part of an app cannot be converged. Reported in status; nothing is
/// done about it until the cause goes away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocker {
    pub process: String,
    pub reason: BlockerReason,
    pub message: String,
}

/// The reason of a [`Blocker`]: the `reason` of the `Degraded` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum BlockerReason {
    /// A resource with Ferry's name exists and is not Ferry's.
    NameConflict,
    /// The service was deleted and ECS has not finished draining it.
    ServiceDraining,
    /// The app's rules would exceed the load balancer's rule quota.
    LoadBalancerFull,
    /// A DNS name the app needs is taken by a record Ferry does not own.
    RecordConflict,
    /// A domain lies outside every hosted zone the controller may use.
    NoHostedZone,
    /// A process has a port but no internal listener is configured.
    NoLoadBalancer,
    /// An app has domains but no internet-facing listener is configured.
    NoPublicLoadBalancer,
    /// A domain is served by a process without a port.
    DomainWithoutPort,
}

impl BlockerReason {
    /// The CamelCase name, as status and `ferry get` show it.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerReason::NameConflict => "NameConflict",
            BlockerReason::ServiceDraining => "ServiceDraining",
            BlockerReason::LoadBalancerFull => "LoadBalancerFull",
            BlockerReason::RecordConflict => "RecordConflict",
            BlockerReason::NoHostedZone => "NoHostedZone",
            BlockerReason::NoLoadBalancer => "NoLoadBalancer",
            BlockerReason::NoPublicLoadBalancer => "NoPublicLoadBalancer",
            BlockerReason::DomainWithoutPort => "DomainWithoutPort",
        }
    }
}

impl fmt::Display for BlockerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
