//! Strict readings of the XML Schema date and boolean types SEDA uses. A value that does not
//! parse is an error for the caller to report: it never silently becomes "no date".

use chrono::{Datelike, NaiveDate, NaiveTime};

/// xsd:date: `YYYY-MM-DD`, optionally followed by a timezone (`Z`, `+01:00`).
pub fn xsd_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    let (date, tz) = (s.get(..10)?, s.get(10..)?);
    if !timezone(tz) {
        return None;
    }
    calendar_date(date)
}

/// What a SEDA `DateType` (Content's StartDate, EndDate, CreatedDate...) gives as a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentDate {
    /// A date, or a dateTime's day; a gYear or gYearMonth as its first (start) or last (end) day.
    Day(NaiveDate),
    /// A valid gMonth, gMonthDay or gDay: no year, so no day to index.
    Partial,
}

/// SEDA's DateType: xsd:date, xsd:dateTime, gYear, gYearMonth, gMonth, gMonthDay or gDay.
/// `end` picks the last day of a year or month rather than the first.
pub fn content_date(s: &str, end: bool) -> Option<ContentDate> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("--") {
        return partial(rest).then_some(ContentDate::Partial);
    }
    if let Some(date) = xsd_date(s) {
        return Some(ContentDate::Day(date));
    }
    if let Some((date, time)) = s.split_once('T') {
        return date_time(date, time).map(ContentDate::Day);
    }
    year_or_month(s, end).map(ContentDate::Day)
}

/// xsd:boolean.
pub fn xsd_boolean(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn calendar_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().filter(|d| d.year() > 0)
}

fn timezone(tz: &str) -> bool {
    if tz.is_empty() || tz == "Z" {
        return true;
    }
    let b = tz.as_bytes();
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[3] == b':'
        && [1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit())
        && tz[1..3].parse::<u8>().is_ok_and(|h| h <= 14)
        && tz[4..6].parse::<u8>().is_ok_and(|m| m < 60)
}

fn date_time(date: &str, time: &str) -> Option<NaiveDate> {
    let day = calendar_date(date)?;
    // hh:mm:ss with optional fraction, then an optional timezone.
    let clock_len = time
        .char_indices()
        .find(|&(i, c)| i >= 8 && (c == 'Z' || c == '+' || c == '-'))
        .map_or(time.len(), |(i, _)| i);
    let (clock, tz) = time.split_at(clock_len);
    let b = clock.as_bytes();
    let shape = b.len() >= 8 && b[2] == b':' && b[5] == b':';
    let fraction_ok = clock.get(8..).is_none_or(|f| {
        f.is_empty() || (f.len() > 1 && f.starts_with('.') && f[1..].bytes().all(|c| c.is_ascii_digit()))
    });
    // 24:00:00 is xsd's end of day.
    let end_of_day = clock.starts_with("24:00:00") && clock[8..].trim_start_matches(['.', '0']).is_empty();
    let valid_clock = end_of_day || NaiveTime::parse_from_str(&clock[..8.min(clock.len())], "%H:%M:%S").is_ok();
    (shape && fraction_ok && valid_clock && timezone(tz)).then_some(day)
}

fn year_or_month(s: &str, end: bool) -> Option<NaiveDate> {
    let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|c| c.is_ascii_digit());
    // Strip a trailing timezone (gYear and gYearMonth allow one).
    let body = ["Z", "+", "-"]
        .iter()
        .filter_map(|sep| s.get(4..).and_then(|r| r.rfind(sep)).map(|i| i + 4))
        .filter(|&i| timezone(&s[i..]))
        .min()
        .map_or(s, |i| &s[..i]);
    let (year, month) = match body.split_once('-') {
        Some((y, m)) if digits(y, 4) && digits(m, 2) => (y.parse::<i32>().ok()?, Some(m.parse::<u32>().ok()?)),
        None if digits(body, 4) => (body.parse::<i32>().ok()?, None),
        _ => return None,
    };
    if year == 0 {
        return None;
    }
    match (month, end) {
        (None, false) => NaiveDate::from_ymd_opt(year, 1, 1),
        (None, true) => NaiveDate::from_ymd_opt(year, 12, 31),
        (Some(m), false) => NaiveDate::from_ymd_opt(year, m, 1),
        (Some(m), true) => NaiveDate::from_ymd_opt(year, m, 1)?
            .checked_add_months(chrono::Months::new(1))?
            .pred_opt(),
    }
}

/// The part of a gMonth (`MM`), gMonthDay (`MM-DD`) or gDay (`-DD`) after its leading `--`.
fn partial(rest: &str) -> bool {
    let two = |t: &str, max: u32| t.len() == 2 && t.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v));
    let rest = rest.trim_end_matches('Z');
    match rest.split_once('-') {
        Some(("", d)) => two(d, 31),
        Some((m, d)) => two(m, 12) && two(d, 31),
        None => two(rest, 12),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn xsd_date_is_strict() {
        assert_eq!(xsd_date("2020-02-29"), Some(d(2020, 2, 29)));
        assert_eq!(xsd_date(" 2020-01-31Z "), Some(d(2020, 1, 31)));
        assert_eq!(xsd_date("2020-01-31+02:00"), Some(d(2020, 1, 31)));
        for bad in [
            "2021-02-29",
            "2020-1-31",
            "31/01/2020",
            "2020-01-31T00:00:00",
            "2020-01-31 garbage",
            "0000-01-01",
            "",
            "2020-13-01",
            "2020-01-31+25:00",
        ] {
            assert_eq!(xsd_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn content_dates_follow_seda_date_type() {
        assert_eq!(
            content_date("2017-04-05T08:11:56", false),
            Some(ContentDate::Day(d(2017, 4, 5)))
        );
        assert_eq!(
            content_date("2017-04-05T08:11:56.250+01:00", false),
            Some(ContentDate::Day(d(2017, 4, 5)))
        );
        assert_eq!(content_date("2017", false), Some(ContentDate::Day(d(2017, 1, 1))));
        assert_eq!(content_date("2017", true), Some(ContentDate::Day(d(2017, 12, 31))));
        assert_eq!(content_date("2016-02", true), Some(ContentDate::Day(d(2016, 2, 29))));
        assert_eq!(content_date("--12-25", false), Some(ContentDate::Partial));
        for bad in [
            "2017-04-05T25:00:00",
            "2017-04-05T",
            "17",
            "2017-4",
            "hier",
            "--13",
            "2017-04-05T08:11",
        ] {
            assert_eq!(content_date(bad, false), None, "{bad}");
        }
    }
}
