//! Where a process's tasks run: `platform` (the app's or the process's),
//! `capacity` and `ephemeralStorage`.

use super::{hint_suffix, Reported, Validator};
use crate::diagnostic::{quote, FieldPath};
use crate::limits;
use crate::types::{Capacity, ManifestCapacity, Platform};

impl Validator<'_> {
    /// `platform` at `path`: `arm64` or `x86_64`, with a hint for the
    /// names other tools use (`amd64`, `aarch64`).
    pub(super) fn resolve_platform(
        &mut self,
        path: &FieldPath,
        written: Option<&String>,
    ) -> Result<Option<Platform>, Reported> {
        let Some(written) = written else {
            return Ok(None);
        };
        if self.broken.at(path) {
            return Err(Reported);
        }
        match written.as_str() {
            "arm64" => Ok(Some(Platform::Arm64)),
            "x86_64" => Ok(Some(Platform::X86_64)),
            other => {
                let hint = platform_alias(other).map(|known| format!("did you mean `{known}`?"));
                self.error_at(
                    path,
                    format!(
                        "unknown platform {}: Fargate runs Linux tasks on `arm64` (Graviton) or \
                         `x86_64`{}",
                        quote(other),
                        hint_suffix(hint)
                    ),
                );
                Err(Reported)
            }
        }
    }

    /// `capacity` of the process at `process`: a strategy over FARGATE and
    /// FARGATE_SPOT. A strategy needs a provider with a weight
    /// ([CapacityProviderStrategyItem](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html)),
    /// so the map form needs `spot`.
    pub(super) fn resolve_capacity(
        &mut self,
        process: &FieldPath,
        written: Option<&ManifestCapacity>,
        scheduled: bool,
    ) -> Result<Option<Capacity>, Reported> {
        let path = process.key("capacity");
        let Some(written) = written else {
            return Ok(None);
        };
        if self.broken.at(&path) {
            return Err(Reported);
        }
        match written {
            ManifestCapacity::Named(name) => match name.as_str() {
                "spot" => Ok(Some(Capacity {
                    spot_weight: 1,
                    ..Capacity::default()
                })),
                "on-demand" => Ok(Some(Capacity {
                    on_demand_weight: 1,
                    ..Capacity::default()
                })),
                other => {
                    self.error_at(
                        &path,
                        format!(
                            "unknown capacity {}: write `spot` (FARGATE_SPOT), `on-demand` \
                             (FARGATE) or `{{spot: 1, onDemand: 2}}` (the first 2 tasks on \
                             demand, the rest on Spot)",
                            quote(other)
                        ),
                    );
                    Err(Reported)
                }
            },
            ManifestCapacity::Weighted(weights) => {
                let spot = self.resolve_bounded(
                    &path.key("spot"),
                    weights.spot,
                    limits::CAPACITY_SPOT_WEIGHT,
                    "the weight of FARGATE_SPOT",
                );
                let base = self.resolve_bounded(
                    &path.key("onDemand"),
                    weights.on_demand,
                    limits::CAPACITY_ON_DEMAND_BASE,
                    "tasks always on FARGATE",
                );
                let (spot, base) = (spot?, base?);
                let Some(spot_weight) = spot else {
                    let consequence = if scheduled {
                        "the scheduled run would have no capacity provider to run on"
                    } else {
                        "the service would have no capacity provider with a weight, so no task \
                         past the base would be placed"
                    };
                    self.key_error_at(
                        &path,
                        format!(
                            "`capacity` as a mapping needs `spot` (the weight of FARGATE_SPOT, \
                             1-1000): without it {consequence}; write e.g. `{{spot: 1, \
                             onDemand: 2}}`, or `capacity: on-demand`"
                        ),
                    );
                    return Err(Reported);
                };
                Ok(Some(Capacity {
                    on_demand_base: base.unwrap_or(0),
                    on_demand_weight: 0,
                    spot_weight,
                }))
            }
        }
    }
}

/// The platform another tool's name for an architecture means.
fn platform_alias(written: &str) -> Option<&'static str> {
    match written
        .to_ascii_lowercase()
        .replace(['-', ' '], "_")
        .as_str()
    {
        "arm64" | "aarch64" | "arm" | "arm64v8" | "graviton" | "linux/arm64" => Some("arm64"),
        "x86_64" | "amd64" | "x64" | "x86" | "intel" | "linux/amd64" => Some("x86_64"),
        _ => None,
    }
}
