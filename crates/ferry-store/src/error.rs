//! The store's one error type: every failure names the table, app or
//! item involved.

/// Errors of the store, naming the table, app or item involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("DynamoDB table {table} does not exist: create it with `ferry init`")]
    TableMissing { table: String },
    /// The table exists but is not keyed as Ferry's tables are: it is
    /// someone else's, or from another tool. Ferry neither uses nor changes it.
    #[error(
        "DynamoDB table {table} is not a Ferry table: its key is {found}, Ferry's is {expected}; \
         name another table with --table or FERRY_TABLE"
    )]
    WrongSchema {
        table: String,
        found: String,
        expected: String,
    },
    /// A conditional write lost: someone else changed the app first.
    #[error("conflict on {apps}: {message}")]
    Conflict { apps: String, message: String },
    #[error("app {app} not found")]
    NotFound { app: String },
    #[error("app {app} has no release v{version}")]
    ReleaseNotFound { app: String, version: u64 },
    #[error(
        "app {app} is being deleted; wait for the deletion to finish before applying it again"
    )]
    Deleting { app: String },
    /// An apply claims a domain that another app holds; nothing was written.
    #[error(
        "domain {domain} is already claimed by app {owner}; remove it from that app first, then \
         apply {app} again"
    )]
    DomainClaimed {
        domain: String,
        /// The app that holds the claim.
        owner: String,
        /// The app whose apply was refused.
        app: String,
    },
    /// Writes that must be atomic do not fit in one DynamoDB transaction;
    /// nothing was written.
    #[error("cannot apply {apps}: {message}")]
    TooLarge { apps: String, message: String },
    #[error("item {item} in table {table} is not valid: {message}")]
    Corrupt {
        table: String,
        item: String,
        message: String,
    },
    /// A fenced write found the lease held by someone else: this replica
    /// is no longer the leader, and nothing was written.
    #[error("not the leader any more: the lease is no longer held with fencing token {token}")]
    Fenced { token: u64 },
    /// A split apply failed part-way: the transactions before the failing
    /// one stay written.
    #[error(
        "the apply was split into transactions and only part went through: applied {applied}; \
         not applied {rest}: {error}"
    )]
    PartlyApplied {
        applied: String,
        rest: String,
        error: Box<Error>,
    },
    #[error(transparent)]
    Aws(#[from] ferry_call::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A request that failed to build, as the error naming what it was.
pub(crate) fn build<T>(
    result: Result<T, aws_sdk_dynamodb::error::BuildError>,
    what: &'static str,
) -> Result<T> {
    result.map_err(|e| {
        ferry_call::Error::Build {
            what,
            message: e.to_string(),
        }
        .into()
    })
}
