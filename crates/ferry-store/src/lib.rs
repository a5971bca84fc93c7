//! Ferry's desired state in DynamoDB: app specs, releases, status, domain
//! claims, the revision counter and the leader lease, in one table (its
//! layout, item by item, is in the docs of the `layout` module).
//!
//! Guarantees: every write is conditional. An apply replaces an app's spec
//! only if its generation is still the one the applier read, and writes the
//! release in the same transaction, so two racing applies never lose an
//! update and a release is never overwritten. Releases are never deleted.
//! A domain belongs to at most one app: the apply that stores a spec claims
//! its domains in the same transaction, and fails, writing nothing, if
//! another app holds one (see [`Store::apply`]); the finalizer releases
//! them with the spec (see [`Store::remove_app`]).
//! The controller's writes carry its lease's fencing token (see [`Fence`]).

mod apply;
mod apps;
mod claim_plan;
mod domains;
mod error;
mod item_size;
mod items;
mod layout;
mod lease;
mod records;
mod releases;
mod status;
mod store;
mod table;
mod transactions;
mod values;

pub use claim_plan::MAX_DOMAINS_PER_APP;
pub use error::{Error, Result};
pub use ferry_core::ReleaseOutcome;
pub use item_size::MAX_ITEM_BYTES;
pub use lease::{Fence, Leadership, LeaseRecord, LeaseWrite};
pub use records::{AppChange, AppRecord, ApplyContext, GitInfo, Release};
pub use store::Store;
pub use table::{KeyAttribute, TableFacts, TableInit};
