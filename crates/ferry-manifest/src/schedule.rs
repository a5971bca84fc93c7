//! EventBridge Scheduler expressions and time zones, as `schedule` and
//! `timezone` on a process take them.
//!
//! The forms, from <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html>:
//! - `rate(value unit)`: a positive whole number and `minute(s)`,
//!   `hour(s)` or `day(s)`; singular for 1 (`rate(1 hour)`), plural
//!   otherwise (`rate(5 minutes)`).
//! - `cron(minutes hours day-of-month month day-of-week year)`: six fields
//!   separated by single spaces. Ranges: minutes 0-59, hours 0-23,
//!   day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT,
//!   year 1970-2199. Wildcards `,` `-` `*` `/` in every field, `?` in
//!   day-of-month and day-of-week, `L` in both, `W` in day-of-month, `#` in
//!   day-of-week; exactly one of day-of-month and day-of-week is `?`.
//! - `at(yyyy-mm-ddThh:mm:ss)`: once.
//!
//! The emulator's model (deploy/local/ferry_emulation/schedule_model.py)
//! checks the same rules.

use crate::timezones::IANA;

/// What a `schedule` may be, for messages.
pub const VALID_FORMS: &str = "`rate(value unit)` such as `rate(15 minutes)` (unit minute(s), \
     hour(s) or day(s); singular for 1), `cron(minutes hours day-of-month month day-of-week \
     year)` such as `cron(0 3 * * ? *)` (six fields; one of day-of-month and day-of-week must \
     be `?`), or `at(yyyy-mm-ddThh:mm:ss)`";

/// The time zone of a schedule that names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct CronField {
    name: &'static str,
    low: u32,
    high: u32,
    names: &'static [&'static str],
}

const FIELDS: [CronField; 6] = [
    CronField {
        name: "minutes",
        low: 0,
        high: 59,
        names: &[],
    },
    CronField {
        name: "hours",
        low: 0,
        high: 23,
        names: &[],
    },
    CronField {
        name: "day-of-month",
        low: 1,
        high: 31,
        names: &[],
    },
    CronField {
        name: "month",
        low: 1,
        high: 12,
        names: &MONTHS,
    },
    CronField {
        name: "day-of-week",
        low: 1,
        high: 7,
        names: &DAYS,
    },
    CronField {
        name: "year",
        low: 1970,
        high: 2199,
        names: &[],
    },
];
const DAY_OF_MONTH: usize = 2;
const DAY_OF_WEEK: usize = 4;

/// Checks an expression; the error says what is wrong, without the
/// list of valid forms (the caller adds it).
pub fn check_expression(expression: &str) -> Result<(), String> {
    if let Some(inner) = strip(expression, "rate(") {
        return check_rate(inner);
    }
    if let Some(inner) = strip(expression, "cron(") {
        return check_cron(inner);
    }
    if let Some(inner) = strip(expression, "at(") {
        return check_at(inner);
    }
    Err(format!("`{expression}` is not a schedule expression"))
}

/// Whether `name` is an IANA time zone name (case as the database has it).
pub fn is_timezone(name: &str) -> bool {
    IANA.binary_search(&name).is_ok()
}

fn strip<'a>(expression: &'a str, prefix: &str) -> Option<&'a str> {
    expression.strip_prefix(prefix)?.strip_suffix(')')
}

fn check_rate(inner: &str) -> Result<(), String> {
    let Some((value, unit)) = inner.split_once(' ') else {
        return Err(format!(
            "`rate({inner})` needs a value and a unit, e.g. `rate(15 minutes)`"
        ));
    };
    let value: u64 = match value.parse() {
        Ok(v) if v >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => v,
        _ => {
            return Err(format!(
                "the rate value `{value}` must be a positive whole number"
            ))
        }
    };
    let (singular, plural) = match unit {
        "minute" | "minutes" => ("minute", "minutes"),
        "hour" | "hours" => ("hour", "hours"),
        "day" | "days" => ("day", "days"),
        _ => {
            return Err(format!(
                "the rate unit `{unit}` must be minute(s), hour(s) or day(s)"
            ))
        }
    };
    match (value == 1, unit == singular) {
        (true, false) => Err(format!(
            "a rate of 1 takes the singular unit: `rate(1 {singular})`"
        )),
        (false, true) => Err(format!(
            "a rate of {value} takes the plural unit: `rate({value} {plural})`"
        )),
        _ => Ok(()),
    }
}

fn check_at(inner: &str) -> Result<(), String> {
    let bad = || format!("`at({inner})` must be a date and time `yyyy-mm-ddThh:mm:ss`");
    let bytes = inner.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| inner[range].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (num(0..4), num(5..7), num(8..10));
    let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if day == 0 || day > days || hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    Ok(())
}

fn check_cron(inner: &str) -> Result<(), String> {
    let fields: Vec<&str> = inner.split(' ').collect();
    if fields.len() != 6 || fields.iter().any(|f| f.is_empty()) {
        return Err(format!(
            "`cron({inner})` must have six fields separated by single spaces: minutes hours \
             day-of-month month day-of-week year"
        ));
    }
    for (index, text) in fields.iter().enumerate() {
        check_cron_field(index, text)?;
    }
    let (dom, dow) = (fields[DAY_OF_MONTH], fields[DAY_OF_WEEK]);
    if (dom == "?") == (dow == "?") {
        return Err(format!(
            "exactly one of day-of-month (`{dom}`) and day-of-week (`{dow}`) must be `?`, \
             e.g. `cron(0 3 * * ? *)` or `cron(0 3 ? * MON *)`"
        ));
    }
    Ok(())
}

fn check_cron_field(index: usize, text: &str) -> Result<(), String> {
    let field = &FIELDS[index];
    if text == "?" {
        return if index == DAY_OF_MONTH || index == DAY_OF_WEEK {
            Ok(())
        } else {
            Err(format!(
                "`?` is valid only in day-of-month and day-of-week, not in {}",
                field.name
            ))
        };
    }
    for part in text.split(',') {
        if index == DAY_OF_MONTH && (part == "L" || part == "LW") {
            continue;
        }
        if index == DAY_OF_MONTH {
            if let Some(day) = part.strip_suffix('W') {
                value(field, day)?;
                continue;
            }
        }
        if index == DAY_OF_WEEK {
            if part == "L" {
                continue;
            }
            if let Some(day) = part.strip_suffix('L') {
                value(field, day)?;
                continue;
            }
            if let Some((day, nth)) = part.split_once('#') {
                value(field, day)?;
                if !matches!(nth, "1" | "2" | "3" | "4" | "5") {
                    return Err(format!("in `{part}`, the week after `#` must be 1 to 5"));
                }
                continue;
            }
        }
        let (base, step) = match part.split_once('/') {
            Some((base, step)) => (base, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step {
            if !step.parse::<u32>().is_ok_and(|s| s >= 1) {
                return Err(format!(
                    "in `{part}`, the increment of {} must be a positive whole number",
                    field.name
                ));
            }
        }
        if base == "*" {
            continue;
        }
        match base.split_once('-') {
            Some((low, high)) => {
                value(field, low)?;
                value(field, high)?;
            }
            None => {
                value(field, base)?;
            }
        }
    }
    Ok(())
}

fn value(field: &CronField, text: &str) -> Result<u32, String> {
    if let Some(i) = field
        .names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(text))
    {
        return Ok(field.low + u32::try_from(i).unwrap_or(0));
    }
    match text.parse::<u32>() {
        Ok(v)
            if (field.low..=field.high).contains(&v)
                && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(v)
        }
        _ => {
            let names = if field.names.is_empty() {
                String::new()
            } else {
                format!(
                    " or {}-{}",
                    field.names[0],
                    field.names[field.names.len() - 1]
                )
            };
            Err(format!(
                "`{text}` is not a valid {} ({}-{}{names})",
                field.name, field.low, field.high
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_expressions_are_valid() {
        for expression in [
            "rate(1 minute)",
            "rate(15 minutes)",
            "rate(1 hour)",
            "rate(2 days)",
            "cron(0 3 * * ? *)",
            "cron(0/15 * * * ? *)",
            "cron(0 8 ? * MON-FRI *)",
            "cron(15 10 ? * 6L 2022-2023)",
            "cron(0 12 L * ? *)",
            "cron(0 9 ? * 2#1 *)",
            "cron(0 18 ? * MON,WED *)",
            "cron(0 0 15W * ? *)",
            "at(2030-01-01T03:00:00)",
            "at(2028-02-29T23:59:59)",
        ] {
            assert_eq!(check_expression(expression), Ok(()), "{expression}");
        }
    }

    #[test]
    fn invalid_expressions_say_why() {
        for (expression, why) in [
            ("rate(1 minutes)", "singular"),
            ("rate(5 minute)", "plural"),
            ("rate(0 minutes)", "positive"),
            ("rate(-1 minutes)", "positive"),
            ("rate(5 weeks)", "unit"),
            ("rate(5)", "value and a unit"),
            ("cron(0 3 * * *)", "six fields"),
            ("cron(0  3 * * ? *)", "six fields"),
            ("cron(0 3 * * * *)", "exactly one"),
            ("cron(0 3 ? * ? *)", "exactly one"),
            ("cron(60 3 * * ? *)", "minutes"),
            ("cron(0 24 * * ? *)", "hours"),
            ("cron(0 3 * 13 ? *)", "month"),
            ("cron(? 3 * * ? *)", "only in"),
            ("cron(0 3 * * ? 1969)", "year"),
            ("cron(0/0 3 * * ? *)", "increment"),
            ("cron(0 9 ? * 2#6 *)", "week"),
            ("at(2030-02-30T03:00:00)", "date and time"),
            ("at(2030-01-01 03:00:00)", "date and time"),
            ("0 3 * * *", "not a schedule expression"),
            ("", "not a schedule expression"),
        ] {
            match check_expression(expression) {
                Err(message) => assert!(message.contains(why), "{expression}: {message}"),
                Ok(()) => panic!("{expression} accepted"),
            }
        }
    }

    #[test]
    fn timezones_are_iana_names() {
        assert!(is_timezone("Europe/Berlin"));
        assert!(is_timezone("UTC"));
        assert!(is_timezone("America/Argentina/Buenos_Aires"));
        assert!(!is_timezone("europe/berlin"));
        assert!(!is_timezone("Mars/Olympus"));
        assert!(!is_timezone("CEST"));
        assert!(
            IANA.windows(2).all(|w| w[0] < w[1]),
            "sorted for binary search"
        );
    }
}
