//! The table itself: creating it (`ferry init`), and telling a Ferry table
//! from someone else's before anything reads or writes it.
//!
//! Ferry's table is keyed by a string partition key `pk` and a string sort
//! key `sk`, and nothing else about it is required: billing, point-in-time
//! recovery and deletion protection are the operator's choice (the
//! CloudFormation template turns the last two on), reported by
//! `ferry doctor`. A table of that name with any other key is refused by
//! every command and by the controller, and never changed.

use std::fmt;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TableDescription,
};
use ferry_call::pacing::Bucket;

use crate::error::{Error, Result};
use crate::store::{Store, SERVICE};

/// One attribute of a table's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: String,
    /// `HASH` (partition) or `RANGE` (sort).
    pub key_type: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

impl fmt::Display for KeyAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.key_type.as_str() {
            "HASH" => "partition key",
            "RANGE" => "sort key",
            other => other,
        };
        write!(f, "{role} {} ({})", self.name, self.attribute_type)
    }
}

/// What `DescribeTable` (and, when permitted, `DescribeContinuousBackups`)
/// say about a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableFacts {
    pub key: Vec<KeyAttribute>,
    /// `ACTIVE`, `CREATING`, `UPDATING`, ...
    pub status: String,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: String,
    pub deletion_protection: bool,
    /// Point-in-time recovery: `None` when the caller may not ask.
    pub point_in_time_recovery: Option<bool>,
}

/// The key every Ferry table has.
pub fn expected_key() -> Vec<KeyAttribute> {
    ["pk", "sk"]
        .iter()
        .zip(["HASH", "RANGE"])
        .map(|(name, key_type)| KeyAttribute {
            name: (*name).to_owned(),
            key_type: key_type.to_owned(),
            attribute_type: "S".to_owned(),
        })
        .collect()
}

fn describe_key(key: &[KeyAttribute]) -> String {
    if key.is_empty() {
        return "unknown".to_owned();
    }
    key.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl TableFacts {
    fn from_description(table: &TableDescription) -> Self {
        let attribute_type = |name: &str| {
            table
                .attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == name)
                .map_or_else(
                    || "?".to_owned(),
                    |a| a.attribute_type().as_str().to_owned(),
                )
        };
        // DynamoDB lists the partition key first; sort so that a
        // description in another order compares equal.
        let mut key: Vec<KeyAttribute> = table
            .key_schema()
            .iter()
            .map(|k| KeyAttribute {
                name: k.attribute_name().to_owned(),
                key_type: k.key_type().as_str().to_owned(),
                attribute_type: attribute_type(k.attribute_name()),
            })
            .collect();
        key.sort_by_key(|k| k.key_type != "HASH");
        Self {
            key,
            status: table
                .table_status()
                .map_or_else(|| "UNKNOWN".to_owned(), |s| s.as_str().to_owned()),
            // A table created on demand may report no summary at all.
            billing_mode: table
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .map_or_else(|| "PROVISIONED".to_owned(), |m| m.as_str().to_owned()),
            deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
            point_in_time_recovery: None,
        }
    }

    /// Whether the table is keyed as Ferry's tables are.
    pub fn has_ferry_schema(&self) -> bool {
        self.key == expected_key()
    }

    /// The table's key, as `partition key pk (S), sort key sk (S)`.
    pub fn key_description(&self) -> String {
        describe_key(&self.key)
    }

    fn check_schema(&self, table: &str) -> Result<()> {
        if self.has_ferry_schema() {
            Ok(())
        } else {
            Err(Error::WrongSchema {
                table: table.to_owned(),
                found: self.key_description(),
                expected: describe_key(&expected_key()),
            })
        }
    }
}

/// What `ferry init` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableInit {
    /// The table did not exist and now does, ACTIVE.
    Created(TableFacts),
    /// A table with Ferry's schema was there already; nothing changed.
    Existed(TableFacts),
}

impl Store {
    /// Describes the table, or `None` if it does not exist. Also asks for
    /// point-in-time recovery, leaving it unknown when the caller may not.
    pub async fn describe_table(&self) -> Result<Option<TableFacts>> {
        let Some(mut facts) = self.describe_table_only().await? else {
            return Ok(None);
        };
        let backups = self
            .caller
            .call(
                SERVICE,
                "DescribeContinuousBackups",
                Bucket::Unpaced,
                &self.table,
                || {
                    self.client
                        .describe_continuous_backups()
                        .table_name(&self.table)
                        .send()
                },
            )
            .await;
        facts.point_in_time_recovery = backups.ok().and_then(|out| {
            let status = out
                .continuous_backups_description()?
                .point_in_time_recovery_description()?
                .point_in_time_recovery_status()?
                .as_str()
                .to_owned();
            Some(status == "ENABLED")
        });
        Ok(Some(facts))
    }

    async fn describe_table_only(&self) -> Result<Option<TableFacts>> {
        let result = self
            .caller
            .call(
                SERVICE,
                "DescribeTable",
                Bucket::Unpaced,
                &self.table,
                || self.client.describe_table().table_name(&self.table).send(),
            )
            .await;
        match result {
            Ok(out) => Ok(out.table().map(TableFacts::from_description)),
            Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Fails with [`Error::TableMissing`] unless the table exists, and with
    /// [`Error::WrongSchema`] unless it is keyed as Ferry's tables are.
    pub async fn check_table(&self) -> Result<()> {
        match self.describe_table_only().await? {
            None => Err(Error::TableMissing {
                table: self.table.clone(),
            }),
            Some(facts) => facts.check_schema(&self.table),
        }
    }

    /// Creates the table (on-demand) unless it exists, and waits until it
    /// is ACTIVE. Safe to run again: an existing table with Ferry's schema
    /// is left as it is; one with another schema is refused
    /// ([`Error::WrongSchema`]) and left as it is too.
    pub async fn create_table(&self) -> Result<TableInit> {
        if let Some(facts) = self.describe_table_only().await? {
            facts.check_schema(&self.table)?;
            return Ok(TableInit::Existed(facts));
        }
        let attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key_element = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| ferry_call::Error::Build {
            what: "CreateTable request",
            message: e.to_string(),
        };
        let request = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk").map_err(build_err)?)
            .attribute_definitions(attribute("sk").map_err(build_err)?)
            .key_schema(key_element("pk", KeyType::Hash).map_err(build_err)?)
            .key_schema(key_element("sk", KeyType::Range).map_err(build_err)?);
        self.caller
            .call(SERVICE, "CreateTable", Bucket::Unpaced, &self.table, || {
                request.clone().send()
            })
            .await?;
        // A new table takes a few seconds to become ACTIVE on AWS.
        for _ in 0..120 {
            if let Some(facts) = self.describe_table_only().await? {
                if facts.status == "ACTIVE" {
                    return Ok(TableInit::Created(facts));
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        Err(self.corrupt(&self.table, "table did not become ACTIVE within 60s"))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{BillingModeSummary, TableStatus};

    use super::*;

    fn described(keys: &[(&str, KeyType, ScalarAttributeType)]) -> TableFacts {
        let mut table = TableDescription::builder()
            .table_status(TableStatus::Active)
            .billing_mode_summary(
                BillingModeSummary::builder()
                    .billing_mode(BillingMode::PayPerRequest)
                    .build(),
            );
        for (name, key_type, attribute_type) in keys {
            table = table
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(*name)
                        .key_type(key_type.clone())
                        .build()
                        .expect("key"),
                )
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(*name)
                        .attribute_type(attribute_type.clone())
                        .build()
                        .expect("attribute"),
                );
        }
        TableFacts::from_description(&table.build())
    }

    #[test]
    fn only_a_string_pk_and_sk_are_ferrys_schema() {
        use KeyType::{Hash, Range};
        use ScalarAttributeType::{N, S};
        let ferry = described(&[("pk", Hash, S), ("sk", Range, S)]);
        assert!(ferry.has_ferry_schema());
        assert_eq!(ferry.billing_mode, "PAY_PER_REQUEST");
        assert_eq!(
            ferry.key_description(),
            "partition key pk (S), sort key sk (S)"
        );
        // Listed in the other order, it is the same key.
        assert!(described(&[("sk", Range, S), ("pk", Hash, S)]).has_ferry_schema());

        for other in [
            described(&[("pk", Hash, S)]),
            described(&[("id", Hash, S), ("sk", Range, S)]),
            described(&[("pk", Hash, S), ("sk", Range, N)]),
            described(&[("sk", Hash, S), ("pk", Range, S)]),
        ] {
            assert!(!other.has_ferry_schema(), "{other:?}");
            let err = other.check_schema("t").expect_err("refused");
            assert!(err.to_string().contains("is not a Ferry table"), "{err}");
        }
    }
}
