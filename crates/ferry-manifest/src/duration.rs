//! Durations as a manifest writes them: whole seconds (`600`), or hours,
//! minutes and seconds, largest first, each at most once (`90s`, `10m`,
//! `1h`, `1h30m`, `2h0m5s`). One parser for every duration field
//! (`progressDeadline`; bake times next), with the pattern the JSON Schema
//! carries for it ([`crate::limits::DURATION`]), which agrees with it.
//!
//! A field's bounds are its own (see [`crate::limits`]): here a duration
//! is only read, into seconds.

/// How a duration may be written, for messages.
pub const DURATION_FORMS: &str =
    "whole seconds (600) or hours, minutes and seconds, largest first (90s, 10m, 1h, 1h30m)";

/// The units, largest first, with their seconds.
const UNITS: [(char, u64); 3] = [('h', 3600), ('m', 60), ('s', 1)];

/// The seconds `text` stands for, or `None` when it is not a duration
/// ([`DURATION_FORMS`]). Never overflows: a duration beyond `u64` seconds
/// is `None` too (no field takes one anywhere near).
pub fn parse_seconds(text: &str) -> Option<u64> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok();
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut units = UNITS.iter();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let (number, tail) = rest.split_at(digits);
        let unit = tail.chars().next()?;
        // Each unit once, largest first: find it among those left.
        let (_, seconds) = units.find(|(u, _)| *u == unit)?;
        let value: u64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(*seconds)?)?;
        rest = &tail[unit.len_utf8()..];
    }
    (!text.is_empty()).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_units_largest_first_are_read() {
        for (text, seconds) in [
            ("600", 600),
            ("0", 0),
            ("90s", 90),
            ("10m", 600),
            ("1h", 3600),
            ("1h30m", 5400),
            ("2h0m5s", 7205),
            ("1m30s", 90),
            ("007m", 420),
        ] {
            assert_eq!(parse_seconds(text), Some(seconds), "{text}");
        }
    }

    #[test]
    fn anything_else_is_not_a_duration() {
        for text in [
            "",
            "h",
            "10 m",
            "1m1h",
            "1h1h",
            "10d",
            "1.5h",
            "-5",
            "5S",
            "1h30",
            "m10",
            "१०",
            "99999999999999999999",
        ] {
            assert_eq!(parse_seconds(text), None, "{text:?}");
        }
    }
}
