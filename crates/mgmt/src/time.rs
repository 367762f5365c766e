//! IOS-style formatting of ages and remaining times.
//!
//! Cisco prints a duration as `hh:mm:ss` below one day, then `1d02h` (days and
//! hours) below one week, `3w0d` (weeks and days) below one year, and `1y2w`
//! (years and weeks) beyond. A duration that does not exist (an entry that
//! never expires, a session that never came up) prints as `never`.
//!
//! Snapshots carry durations as whole seconds (`u64`), and `None` where IOS
//! prints `never`.

/// Seconds in a minute, hour, day, week and (IOS) year of 52 weeks.
const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;
const YEAR: u64 = 52 * WEEK;

/// Formats `secs` the way IOS prints uptimes and expiry times.
///
/// ```
/// use dmvpn_mgmt::time::ios_duration;
/// assert_eq!(ios_duration(3447), "00:57:27");
/// assert_eq!(ios_duration(93_600), "1d02h");
/// assert_eq!(ios_duration(3 * 7 * 86_400), "3w0d");
/// ```
pub fn ios_duration(secs: u64) -> String {
    if secs < DAY {
        let h = secs / HOUR;
        let m = (secs % HOUR) / MINUTE;
        let s = secs % MINUTE;
        format!("{h:02}:{m:02}:{s:02}")
    } else if secs < WEEK {
        format!("{}d{:02}h", secs / DAY, (secs % DAY) / HOUR)
    } else if secs < YEAR {
        format!("{}w{}d", secs / WEEK, (secs % WEEK) / DAY)
    } else {
        format!("{}y{}w", secs / YEAR, (secs % YEAR) / WEEK)
    }
}

/// Formats an optional duration: `None` is `never`.
pub fn ios_duration_or_never(secs: Option<u64>) -> String {
    match secs {
        Some(s) => ios_duration(s),
        None => "never".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_a_day_is_clock_time() {
        assert_eq!(ios_duration(0), "00:00:00");
        assert_eq!(ios_duration(253), "00:04:13");
        assert_eq!(ios_duration(25_878), "07:11:18");
        assert_eq!(ios_duration(DAY - 1), "23:59:59");
    }

    #[test]
    fn days_then_weeks_then_years() {
        assert_eq!(ios_duration(DAY), "1d00h");
        assert_eq!(ios_duration(DAY + 2 * HOUR + 59), "1d02h");
        assert_eq!(ios_duration(WEEK - 1), "6d23h");
        assert_eq!(ios_duration(WEEK + 3 * DAY), "1w3d");
        assert_eq!(ios_duration(6 * WEEK + 6 * DAY), "6w6d");
        assert_eq!(ios_duration(YEAR + 2 * WEEK), "1y2w");
        assert!(ios_duration(u64::MAX).ends_with('w'));
    }

    #[test]
    fn none_is_never() {
        assert_eq!(ios_duration_or_never(None), "never");
        assert_eq!(ios_duration_or_never(Some(59)), "00:00:59");
    }
}
