//! Names of traffic resources: target groups, and the TXT record that
//! marks a DNS name as an app's.

use sha2::{Digest, Sha256};

use crate::model::ownership;
use crate::model::traffic::MAX_TARGET_GROUP_NAME;

/// The target group name of an exposed process: readable where it fits,
/// and unique through a hash of installation, app, process and port. The
/// port is in the hash because a target group's port cannot change: a new
/// port means a new group, created before the old one goes.
pub fn target_group_name(owner: &str, app: &str, process: &str, port: u16) -> String {
    named_group(owner, app, process, port, "")
}

/// The name of the group the internet-facing load balancer forwards a
/// process's domains to: like [`target_group_name`], with another hash.
pub fn public_target_group_name(owner: &str, app: &str, process: &str, port: u16) -> String {
    named_group(owner, app, process, port, "\0public")
}

/// The other target group of `primary`'s pair, for a process whose
/// deployments ECS shifts traffic for (blue/green, canary, linear): the
/// primary's name with its 8-hex-digit hash replaced by `x` and 7 hex
/// digits of a hash of the primary's name. Same length as the primary
/// (so within 32 characters), deterministic, and never equal to any
/// primary name: a primary's name always ends with 8 hex digits after its
/// last `-`, an alternate's with `x`, which is not one.
pub fn alternate_target_group_name(primary: &str) -> String {
    let digest = Sha256::digest(format!("alternate\0{primary}").as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let stem = primary.rsplit_once('-').map_or(primary, |(stem, _)| stem);
    format!("{stem}-x{}", &hash[..7])
}

/// `<app>-<process>-<hash>` within 32 characters; `edge` tells the groups
/// of one process on different load balancers apart (empty for the
/// internal one, whose names predate the others).
fn named_group(owner: &str, app: &str, process: &str, port: u16, edge: &str) -> String {
    let digest = Sha256::digest(format!("{owner}\0{app}\0{process}\0{port}{edge}").as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    // Two separators and the hash leave 22 characters for the names.
    let room = MAX_TARGET_GROUP_NAME - hash.len() - 2;
    let process_part = truncate(process, (room / 2).max(room.saturating_sub(app.len())));
    let app_part = truncate(app, room - process_part.len());
    format!("{app_part}-{process_part}-{hash}")
}

fn truncate(label: &str, max: usize) -> &str {
    // Labels are ASCII (validated DNS labels), so byte slicing is safe; a
    // cut must not leave a trailing '-', which AWS rejects before a '-'.
    let cut = &label[..label.len().min(max)];
    cut.trim_end_matches('-')
}

/// The text of the TXT record that marks a name as this app's.
pub fn owner_record(owner: &str, app: &str) -> String {
    format!(
        "{}={owner},{}={app}",
        ownership::TAG_MANAGED_BY,
        ownership::TAG_APP
    )
}

/// The name inside a target group ARN
/// (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`).
pub fn target_group_name_from_arn(arn: &str) -> &str {
    arn.rsplit_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
}
