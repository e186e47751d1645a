//! Times in site-database exports and ages shown to operators. Export times are SQL Server
//! `datetime` values as sqlcmd / SSMS print them ("2026-11-20 13:45:12.000"), in UTC; the
//! calendar arithmetic is jiff's. Ages saturate: no configured limit or clock skew can
//! overflow into a verdict.

use jiff::civil::Date;
use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch of an export timestamp ("2026-11-20 13:45:12.000",
/// "2026-11-20T13:45:12Z", "2026-11-20"), or `None` when it is not one.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once([' ', 'T']).unwrap_or((s, "00:00:00"));
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (
        t.next()??,
        t.next().unwrap_or(Some(0))?,
        t.next().unwrap_or(Some(0))?,
    );
    if t.next().is_some()
        || !(0..=23).contains(&hh)
        || !(0..=59).contains(&mm)
        || !(0..=60).contains(&ss)
    {
        return None;
    }
    Some(days_since_epoch(date)? * 86_400 + hh * 3600 + mm * 60 + ss)
}

thread_local! {
    /// Exports hold millions of rows but few distinct days: the last date parsed.
    static LAST_DAY: RefCell<Option<(String, i64)>> = const { RefCell::new(None) };
}

/// Days since 1970-01-01 of "YYYY-MM-DD" (jiff's proleptic Gregorian calendar).
fn days_since_epoch(date: &str) -> Option<i64> {
    if let Some(d) = LAST_DAY.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(s, _)| s == date)
            .map(|(_, d)| *d)
    }) {
        return Some(d);
    }
    let mut p = date.split('-');
    let y: i16 = p.next()?.parse().ok()?;
    let m: i8 = p.next()?.parse().ok()?;
    let d: i8 = p.next()?.parse().ok()?;
    if p.next().is_some() {
        return None;
    }
    let date_v = Date::new(y, m, d).ok()?;
    let epoch = Date::new(1970, 1, 1).ok()?;
    let days = i64::from(epoch.until(date_v).ok()?.get_days());
    LAST_DAY.with(|c| *c.borrow_mut() = Some((date.to_owned(), days)));
    Some(days)
}

/// Seconds since the epoch (0 before it).
pub fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The day number (days since the epoch) of a time in seconds since the epoch.
pub fn day(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(86_400)
}

/// Whole hours from `then` to `now` (0 when `then` is in the future), saturating.
pub fn hours_between(then: i64, now: i64) -> i64 {
    now.saturating_sub(then).max(0) / 3600
}

/// A duration in whole seconds as i64, saturating (a "106751991167300d" limit is just huge).
pub fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Formats seconds since the epoch the way SQL Server exports print them (UTC).
pub fn format_timestamp(unix_secs: i64) -> String {
    match jiff::Timestamp::from_second(unix_secs) {
        // A Timestamp formats in UTC.
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%S.000").to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_timestamps() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00.000"), Some(0));
        assert_eq!(
            parse_timestamp("2026-11-20 13:45:12.000"),
            Some(1_795_182_312)
        );
        assert_eq!(parse_timestamp("2026-11-20T13:45:12Z"), Some(1_795_182_312));
        assert_eq!(parse_timestamp("2026-11-20"), Some(1_795_132_800));
        assert_eq!(parse_timestamp("1969-12-31 23:59:59"), Some(-1));
        // The day cache must not leak a previous date into a different one.
        assert_eq!(parse_timestamp("2024-02-29 00:00:00"), Some(1_709_164_800));
        assert_eq!(
            parse_timestamp("2023-02-29 00:00:00"),
            None,
            "not a leap year"
        );
        for bad in [
            "last tuesday",
            "2026-13-01",
            "2026-11-20 24:00:00",
            "2026-11-20 1:2:3:4",
            "",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatting_round_trips_and_ages_saturate() {
        assert_eq!(format_timestamp(1_795_182_312), "2026-11-20 13:45:12.000");
        assert_eq!(
            parse_timestamp(&format_timestamp(1_234_567_890)),
            Some(1_234_567_890)
        );
        assert_eq!(hours_between(0, 7200), 2);
        assert_eq!(hours_between(7200, 0), 0, "a future time is no age");
        assert_eq!(hours_between(i64::MIN, i64::MAX), i64::MAX / 3600);
        assert_eq!(secs(Duration::from_secs(u64::MAX)), i64::MAX);
        assert_eq!(day(-1), -1);
    }
}
