//! Names in Application Auto Scaling: scalable targets' resource ids,
//! policies, and request-count labels.

use crate::model::autoscaling::Metric;

/// The resource id of an ECS service's scalable target.
pub fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

/// The service name in a resource id `service/<cluster>/<service>`.
pub fn service_of(resource_id: &str) -> Option<&str> {
    let rest = resource_id.strip_prefix("service/")?;
    let (_, service) = rest.split_once('/')?;
    (!service.is_empty() && !service.contains('/')).then_some(service)
}

/// The name of the policy that tracks `metric` for a service: derived
/// from the service name (that is, app and process), so a restarted
/// controller finds it, and prefixed so that a reader sees whose it is.
pub fn policy_name(service: &str, metric: Metric) -> String {
    format!("ferry-{service}-{}", metric.suffix())
}

/// `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>`, the resource
/// label of `ALBRequestCountPerTarget`: the final portions of the load
/// balancer's and the target group's ARNs. `None` if either is no ALB or
/// target group ARN.
pub fn resource_label(load_balancer_arn: &str, target_group_arn: &str) -> Option<String> {
    let (_, lb) = load_balancer_arn.split_once(":loadbalancer/")?;
    let (_, tg) = target_group_arn.split_once(":targetgroup/")?;
    let lb_parts: Vec<&str> = lb.split('/').collect();
    let tg_parts: Vec<&str> = tg.split('/').collect();
    let whole = |parts: &[&str]| parts.iter().all(|p| !p.is_empty());
    match (lb_parts.as_slice(), tg_parts.as_slice()) {
        (["app", _, _], [_, _]) if whole(&lb_parts) && whole(&tg_parts) => {
            Some(format!("{lb}/targetgroup/{tg}"))
        }
        _ => None,
    }
}
