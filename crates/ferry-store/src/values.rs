//! Attribute values of the two scalar kinds Ferry writes outside its
//! records: keys, conditions and update expressions.

use aws_sdk_dynamodb::types::AttributeValue;

/// A string (`S`) value.
pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number (`N`) value.
pub(crate) fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
