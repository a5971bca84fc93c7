//! DynamoDB's item size, computed as DynamoDB computes it, so that an
//! item over the limit is refused before anything is written instead of
//! failing inside a transaction with the service's error.
//!
//! "The maximum item size in DynamoDB is 400 KB, which includes both
//! attribute name binary length (UTF-8 length) and attribute value lengths
//! (again binary length)":
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-items>.
//! How each type counts:
//! <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html>.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::error::{Error, Result};

/// DynamoDB's item size limit: 400 KB, in bytes.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The size DynamoDB counts for an item: every attribute's name and value.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// Refuses an item over DynamoDB's size limit, naming which and by how
/// much. The spec and the release item each hold the manifest text and the
/// resolved spec, so an app's stored size is about twice its manifest.
pub(crate) fn check_size(
    item: &HashMap<String, AttributeValue>,
    what: &str,
    app: &str,
) -> Result<()> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(Error::TooLarge {
            apps: app.to_owned(),
            message: format!(
                "its {what} item would be {} KiB, over DynamoDB's item limit of {} KiB (the \
                 manifest text and the resolved spec are both stored); make the env or the \
                 manifest smaller; nothing was written",
                size.div_ceil(1024),
                MAX_ITEM_BYTES / 1024
            ),
        });
    }
    Ok(())
}

/// A value's size. Numbers are counted at the documented upper bound (1
/// byte per two significant digits, plus one), lists and maps at their
/// elements plus 3 bytes of overhead and 1 per element, as documented.
fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() + value_size(v))
                .sum::<usize>()
        }
        // A type newer than this code: count it as the largest it could
        // plausibly be rather than as nothing (stricter, never kinder).
        _ => MAX_ITEM_BYTES,
    }
}

fn number_size(number: &str) -> usize {
    let digits = number.chars().filter(char::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_count_in_bytes() {
        let item = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("app".into())),
            ("sk".to_owned(), AttributeValue::S("wéb".into())),
            ("generation".to_owned(), AttributeValue::N("12345".into())),
            ("deleting".to_owned(), AttributeValue::Bool(false)),
        ]);
        // 2+3 + 2+4 (é is two bytes) + 10+4 + 8+1
        assert_eq!(item_size(&item), 34);
    }

    #[test]
    fn the_limit_is_400_kib() {
        let big = HashMap::from([(
            "spec".to_owned(),
            AttributeValue::S("x".repeat(MAX_ITEM_BYTES)),
        )]);
        assert!(item_size(&big) > MAX_ITEM_BYTES);
    }
}
