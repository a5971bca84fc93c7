//! The [`Store`] handle and the reads every part of it shares: one item by
//! key, one partition, and the errors AWS answers with.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use ferry_call::pacing::Bucket;
use ferry_call::Caller;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::items::{from_item, to_item, Item};
use crate::layout::key;
use crate::values::s;

/// The service name Ferry's call layer paces and counts DynamoDB under.
pub(crate) const SERVICE: &str = "dynamodb";

/// The DynamoDB table of one Ferry installation.
#[derive(Clone)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) caller: Caller,
    pub(crate) table: String,
}

impl Store {
    pub fn new(client: Client, caller: Caller, table: impl Into<String>) -> Self {
        Self {
            client,
            caller,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn corrupt(&self, item: &str, message: impl Into<String>) -> Error {
        Error::Corrupt {
            table: self.table.clone(),
            item: item.to_owned(),
            message: message.into(),
        }
    }

    /// A read's error: a missing table said as such, any other as it came.
    pub(crate) fn missing_table(&self, err: ferry_call::Error) -> Error {
        if err.code() == Some("ResourceNotFoundException") {
            Error::TableMissing {
                table: self.table.clone(),
            }
        } else {
            err.into()
        }
    }

    /// All items of a partition, following pagination.
    pub(crate) async fn query(
        &self,
        pk: &str,
        newest_first: bool,
    ) -> Result<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = self
                .query_page(pk, newest_first, None, start.take(), pk)
                .await?;
            items.extend(out.items().iter().cloned());
            match out.last_evaluated_key() {
                Some(last) if !last.is_empty() => start = Some(last.clone()),
                _ => break,
            }
        }
        Ok(items)
    }

    /// One Query of a partition, strongly consistent: at most `limit`
    /// items (`None`: a page, as DynamoDB sizes it), from after `start`
    /// (`None`: from the first). `what` names it in errors.
    pub(crate) async fn query_page(
        &self,
        pk: &str,
        newest_first: bool,
        limit: Option<i32>,
        start: Option<HashMap<String, AttributeValue>>,
        what: &str,
    ) -> Result<QueryOutput> {
        self.caller
            .call(SERVICE, "Query", Bucket::Unpaced, what, || {
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("pk = :pk")
                    .expression_attribute_values(":pk", s(pk))
                    .scan_index_forward(!newest_first)
                    .set_limit(limit)
                    .consistent_read(true)
                    .set_exclusive_start_key(start.clone())
                    .send()
            })
            .await
            .map_err(|e| self.missing_table(e))
    }

    /// One item by key, strongly consistent. `what` names it in errors.
    pub(crate) async fn get_item(
        &self,
        pk: &str,
        sk: &str,
        what: &str,
    ) -> Result<aws_sdk_dynamodb::operation::get_item::GetItemOutput> {
        self.caller
            .call(SERVICE, "GetItem", Bucket::Unpaced, what, || {
                self.client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .consistent_read(true)
                    .send()
            })
            .await
            .map_err(|e| self.missing_table(e))
    }

    /// An AWS error as Ferry reports it, naming the call and resource.
    pub(crate) fn call_error<E, R>(
        &self,
        operation: &'static str,
        resource: &str,
        err: &aws_sdk_dynamodb::error::SdkError<E, R>,
    ) -> Error
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug,
    {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        if err.code() == Some("ResourceNotFoundException") {
            return Error::TableMissing {
                table: self.table.clone(),
            };
        }
        ferry_call::Error::from_sdk(SERVICE, operation, resource, err).into()
    }

    /// The item of `value` (see [`crate::items`]); `what` names it in
    /// errors.
    pub(crate) fn encode<T: Serialize>(&self, value: &T, what: &str) -> Result<Item> {
        to_item(value).map_err(|e| self.corrupt(what, e.to_string()))
    }

    /// The value an item holds, or [`Error::Corrupt`] naming the item as
    /// `what` and saying what is wrong with it.
    pub(crate) fn decode<T: DeserializeOwned>(&self, item: &Item, what: &str) -> Result<T> {
        from_item(item).map_err(|e| self.corrupt(what, e.to_string()))
    }
}
