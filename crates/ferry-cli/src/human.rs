//! How `ferry` shows times and the controller's leadership to people: the
//! one place those words and units are chosen, for every command.

use ferry_store::Leadership;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// "42s", "5m", "3h", "2d": a duration the way `ferry` shows ages.
/// Negative durations (clock skew) show as "0s".
pub fn human_seconds(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// "45s", "2m10s", "1h5m", "2d3h": a duration to the second below an
/// hour and in its two largest units above, for a countdown a person
/// watches (a progress deadline). Negative durations show as "0s".
pub fn clock(seconds: i64) -> String {
    let s = seconds.max(0);
    let (days, hours, minutes, secs) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m{secs}s"),
        (0, h, m) => format!("{h}h{m}m"),
        (d, h, _) => format!("{d}d{h}h"),
    }
}

/// "12s", "5m", "3h", "2d": how long ago an RFC 3339 time was.
pub fn age(rfc3339: &str) -> String {
    age_at(rfc3339, OffsetDateTime::now_utc())
}

/// [`age`] as of `now`, kubectl-style: seconds up to two minutes, then
/// minutes, hours and days. "-" for a time that does not parse.
fn age_at(rfc3339: &str, now: OffsetDateTime) -> String {
    since(rfc3339, now).unwrap_or_else(|| "-".into())
}

/// How long before `now` an RFC 3339 time was, as [`human_seconds`]
/// shows it; `None` for a time that does not parse.
pub fn since(rfc3339: &str, now: OffsetDateTime) -> Option<String> {
    let then = OffsetDateTime::parse(rfc3339, &Rfc3339).ok()?;
    Some(human_seconds((now - then).whole_seconds()))
}

/// Whether a controller leads, as one sentence; for a lapse, what an
/// operator does about it.
pub fn leadership(leadership: &Leadership) -> String {
    match leadership {
        Leadership::Leading { holder } => format!("controller {holder} is leading"),
        Leadership::Never => {
            "no controller is leading: none has ever taken the lease; start ferry-controller"
                .to_owned()
        }
        Leadership::Lapsed {
            last_holder,
            handed_back,
            for_seconds,
        } => {
            let who = last_holder.as_deref().unwrap_or("the last leader");
            let how = if *handed_back {
                format!("{who} handed the lease back")
            } else {
                format!("the lease of {who} expired")
            };
            format!(
                "no controller is leading: {how} {} ago, and no replica has taken it since",
                human_seconds(*for_seconds)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = datetime!(2026-11-23 12:00 UTC);
        assert_eq!(age_at("2026-11-23T11:59:48Z", now), "12s");
        assert_eq!(age_at("2026-11-23T11:55:00Z", now), "5m");
        assert_eq!(age_at("2026-11-23T09:00:00Z", now), "3h");
        assert_eq!(age_at("2026-11-20T12:00:00Z", now), "3d");
        assert_eq!(age_at("2026-11-23T12:00:05Z", now), "0s", "clock skew");
        assert_eq!(age_at("yesterday", now), "-");
        assert_eq!(since("2026-11-23T11:55:00Z", now).as_deref(), Some("5m"));
        assert_eq!(since("yesterday", now), None);
    }

    #[test]
    fn a_countdown_reads_to_the_second() {
        assert_eq!(clock(45), "45s");
        assert_eq!(clock(130), "2m10s");
        assert_eq!(clock(470), "7m50s");
        assert_eq!(clock(3900), "1h5m");
        assert_eq!(clock(3 * 86400 + 7200 + 5), "3d2h");
        assert_eq!(clock(-3), "0s");
    }

    #[test]
    fn a_lapse_says_whose_lease_ended_how_and_when() {
        let expired = Leadership::Lapsed {
            last_holder: Some("ctl-1".into()),
            handed_back: false,
            for_seconds: 300,
        };
        assert_eq!(
            leadership(&expired),
            "no controller is leading: the lease of ctl-1 expired 5m ago, and no replica has \
             taken it since"
        );
        let handed_back = Leadership::Lapsed {
            last_holder: None,
            handed_back: true,
            for_seconds: 42,
        };
        assert!(
            leadership(&handed_back).contains("the last leader handed the lease back 42s ago"),
            "{}",
            leadership(&handed_back)
        );
        assert_eq!(
            leadership(&Leadership::Never),
            "no controller is leading: none has ever taken the lease; start ferry-controller"
        );
    }
}
