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
    /// A process has a schedule but the controller has no role for
    /// EventBridge Scheduler (`--scheduler-role-arn`).
    NoSchedulerRole,
    /// The app's `role` or `executionRole` is not under the IAM path the
    /// controller may pass roles from (`--app-role-path`).
    RoleOutsidePath,
    /// A process with a strategy other than `rolling` is served on a load
    /// balancer the controller has no test listener for
    /// (`--internal-test-listener-arn`, `--public-test-listener-arn`).
    NoTestListener,
    /// A process with a strategy other than `rolling` needs the ECS
    /// infrastructure role (`--ecs-infrastructure-role-arn`), which ECS
    /// uses to shift the load balancer's traffic.
    NoInfrastructureRole,
    /// An alarm Ferry would create (`alarms: default`) has a name an
    /// alarm it does not own already has.
    AlarmConflict,
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
            BlockerReason::NoSchedulerRole => "NoSchedulerRole",
            BlockerReason::RoleOutsidePath => "RoleOutsidePath",
            BlockerReason::NoTestListener => "NoTestListener",
            BlockerReason::NoInfrastructureRole => "NoInfrastructureRole",
            BlockerReason::AlarmConflict => "AlarmConflict",
        }
    }
}

impl BlockerReason {
    /// Every reason, for parsing what status wrote.
    pub const ALL: [BlockerReason; 13] = [
        BlockerReason::NameConflict,
        BlockerReason::ServiceDraining,
        BlockerReason::LoadBalancerFull,
        BlockerReason::RecordConflict,
        BlockerReason::NoHostedZone,
        BlockerReason::NoLoadBalancer,
        BlockerReason::NoPublicLoadBalancer,
        BlockerReason::DomainWithoutPort,
        BlockerReason::NoSchedulerRole,
        BlockerReason::RoleOutsidePath,
        BlockerReason::NoTestListener,
        BlockerReason::NoInfrastructureRole,
        BlockerReason::AlarmConflict,
    ];

    /// The reason `Degraded` names, if it is a blocker's.
    pub fn parse(reason: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == reason)
    }

    /// Whether the blocker stays until a person acts (a new spec, a freed
    /// name, a configured zone). Only [`BlockerReason::ServiceDraining`]
    /// clears by itself, once ECS has drained the old service, so `apply
    /// --wait` waits it out and fails at once on any other.
    pub fn needs_a_person(self) -> bool {
        self != BlockerReason::ServiceDraining
    }
}

impl fmt::Display for BlockerReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_parses_back() {
        for reason in BlockerReason::ALL {
            assert_eq!(BlockerReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(BlockerReason::parse("ReconcileError"), None);
        assert_eq!(BlockerReason::parse("RolloutFailed"), None);
    }
}
