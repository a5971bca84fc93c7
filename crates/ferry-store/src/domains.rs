//! Domain claims: a public domain belongs to at most one app.
//!
//! Each claimed domain has an item (pk `domain`, sk the domain name,
//! attribute `app`). [`Store::apply`] writes an app's claims in the same
//! transaction as its spec, each on the condition that the domain is
//! unclaimed or already the app's, and deletes the claims of domains the new
//! spec drops, on the condition that they are still the app's. The
//! finalizer ([`Store::remove_app`]) deletes the claims left. A claim that
//! fails its condition cancels the whole transaction, so no spec is ever
//! stored with a domain that another app owns.
//!
//! The pure planning is [`crate::claim_plan`]'s; this module reads and
//! writes the claim items.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, KeysAndAttributes, Put, TransactWriteItem};
use ferry_call::pacing::Bucket;

use crate::claim_plan::{claim_conflict, claim_kinds, layout, owners_to_read};
use crate::error::{build, Result};
use crate::items::{sort_key, ClaimItem};
use crate::layout::{key, PK_DOMAIN};
use crate::records::AppChange;
use crate::store::{Store, SERVICE};
use crate::transactions::MAX_TRANSACTION_ITEMS;
use crate::values::s;

/// How many times [`Store::domain_owners`] asks again for keys DynamoDB
/// left unprocessed (it does when throttled) before giving up.
const UNPROCESSED_RETRIES: u32 = 8;

impl Store {
    /// The claim Put of `app` on `domain`. `from` are apps giving the
    /// domain up in the same transaction.
    pub(crate) fn put_claim(
        &self,
        domain: &str,
        app: &str,
        from: &[String],
    ) -> Result<TransactWriteItem> {
        let item = self.encode(&ClaimItem::new(domain, app), domain)?;
        let mut condition = "attribute_not_exists(pk) OR app = :me".to_owned();
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_values(":me", s(app));
        for (index, other) in from.iter().enumerate() {
            condition.push_str(&format!(" OR app = :from{index}"));
            put = put.expression_attribute_values(format!(":from{index}"), s(other.as_str()));
        }
        Ok(TransactWriteItem::builder()
            .put(build(
                put.condition_expression(condition).build(),
                "domain claim Put",
            )?)
            .build())
    }

    /// The Delete of `app`'s claim on `domain`, only if it is still `app`'s.
    pub(crate) fn delete_claim(&self, domain: &str, app: &str) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(PK_DOMAIN, domain)))
            .condition_expression("app = :me")
            .expression_attribute_values(":me", s(app));
        Ok(TransactWriteItem::builder()
            .delete(build(delete.build(), "domain claim Delete")?)
            .build())
    }

    /// The app that claims each of `domains`, for those claimed. Strongly
    /// consistent.
    pub async fn domain_owners<I, D>(&self, domains: I) -> Result<BTreeMap<String, String>>
    where
        I: IntoIterator<Item = D>,
        D: AsRef<str>,
    {
        let wanted: BTreeSet<String> = domains.into_iter().map(|d| d.as_ref().to_owned()).collect();
        let wanted: Vec<String> = wanted.into_iter().collect();
        let mut owners = BTreeMap::new();
        // BatchGetItem takes at most 100 keys.
        for chunk in wanted.chunks(100) {
            let mut keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|domain| key(PK_DOMAIN, domain.as_str()))
                .collect();
            let mut retries = 0;
            while !keys.is_empty() {
                let request = build(
                    KeysAndAttributes::builder()
                        .set_keys(Some(keys))
                        .consistent_read(true)
                        .build(),
                    "BatchGetItem keys",
                )?;
                let out = self
                    .caller
                    .call(
                        SERVICE,
                        "BatchGetItem",
                        Bucket::Unpaced,
                        "domain claims",
                        || {
                            self.client
                                .batch_get_item()
                                .request_items(&self.table, request.clone())
                                .send()
                        },
                    )
                    .await
                    .map_err(|e| self.missing_table(e))?;
                let items = out
                    .responses()
                    .and_then(|responses| responses.get(&self.table))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for item in items {
                    let claim: ClaimItem = self.decode(item, sort_key(item, PK_DOMAIN))?;
                    owners.insert(claim.sk, claim.app);
                }
                keys = out
                    .unprocessed_keys()
                    .and_then(|unprocessed| unprocessed.get(&self.table))
                    .map(|left| left.keys().to_vec())
                    .unwrap_or_default();
                if !keys.is_empty() {
                    retries += 1;
                    if retries > UNPROCESSED_RETRIES {
                        return Err(ferry_call::Error::Call {
                            service: SERVICE,
                            operation: "BatchGetItem",
                            resource: "domain claims".to_owned(),
                            code: None,
                            message: format!(
                                "{} keys still unprocessed after {UNPROCESSED_RETRIES} retries \
                                 (the table is throttled)",
                                keys.len()
                            ),
                        }
                        .into());
                    }
                    // DynamoDB leaves keys unprocessed when throttled: back off.
                    tokio::time::sleep(Duration::from_millis(50 << retries)).await;
                }
            }
        }
        Ok(owners)
    }

    /// Checks, without writing, that [`Store::apply`] of `changes` would
    /// not fail on a domain claim: returns [`crate::Error::DomainClaimed`] for
    /// the first domain another app holds, or [`crate::Error::TooLarge`]. A race
    /// with another apply can still make the real apply fail; it then
    /// writes nothing.
    pub async fn check_domains(&self, changes: &[AppChange]) -> Result<()> {
        let claimed = changes
            .iter()
            .flat_map(|change| change.spec.domains.iter().map(|d| d.name.clone()));
        let owners = self
            .domain_owners(claimed.chain(owners_to_read(changes)))
            .await?;
        let layout = layout(changes, &owners, MAX_TRANSACTION_ITEMS - 1)?;
        match claim_conflict(&claim_kinds(changes, &layout), &owners) {
            Some(conflict) => Err(conflict),
            None => Ok(()),
        }
    }
}
