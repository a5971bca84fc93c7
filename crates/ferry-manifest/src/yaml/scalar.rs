//! How serde_yaml resolves a plain scalar (YAML 1.2 core schema),
//! mirrored so the structural pass can say "expected an integer" exactly
//! where the typed parse would fail.

/// How serde_yaml reads a scalar, mirrored so the structural pass can say
/// "expected an integer" exactly where the typed parse would fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScalarKind {
    Null,
    Bool,
    Int(i128),
    Float,
    Str,
}

/// Resolves a scalar the way serde_yaml 0.9 does (YAML 1.2 core schema):
/// quoted and block scalars are strings; plain ones may be null, booleans
/// or numbers.
pub(crate) fn scalar_kind(scalar: &marked_yaml::types::MarkedScalarNode) -> ScalarKind {
    if !scalar.may_coerce() {
        return ScalarKind::Str;
    }
    let value = scalar.as_str();
    if matches!(value, "" | "~" | "null" | "Null" | "NULL") {
        return ScalarKind::Null;
    }
    if matches!(
        value,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) {
        return ScalarKind::Bool;
    }
    if let Some(int) = parse_int(value) {
        return ScalarKind::Int(int);
    }
    if is_float(value) {
        return ScalarKind::Float;
    }
    ScalarKind::Str
}

/// Integers as serde_yaml reads them: an optional sign, then decimal
/// (without leading zeros), `0x`, `0o` or `0b` digits.
pub(crate) fn parse_int(value: &str) -> Option<i128> {
    let (negative, unsigned) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let (digits, radix) = if let Some(rest) = unsigned.strip_prefix("0x") {
        (rest, 16)
    } else if let Some(rest) = unsigned.strip_prefix("0o") {
        (rest, 8)
    } else if let Some(rest) = unsigned.strip_prefix("0b") {
        (rest, 2)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        // YAML 1.2: `010` is a string, not an octal or decimal number.
        return None;
    } else {
        (unsigned, 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Floats as serde_yaml reads them: Rust's float syntax (finite values
/// only) plus YAML's `.inf` and `.nan` spellings.
pub(super) fn is_float(value: &str) -> bool {
    if matches!(
        value,
        ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
    ) {
        return true;
    }
    let unsigned = match value.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return false,
        Some(rest) => rest,
        None => value,
    };
    let digits = unsigned.strip_prefix('-').unwrap_or(unsigned);
    // YAML 1.2: digits with a leading zero are a string.
    let leading_zero_digits =
        digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit());
    !leading_zero_digits && unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}
