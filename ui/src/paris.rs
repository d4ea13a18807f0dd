//! Legal time in metropolitan France (Europe/Paris), from UTC, without a time-zone database:
//! UTC+1, and UTC+2 in summer. Since 1981 the European rule moves the clocks at 01:00 UTC on the
//! last Sunday of March and back on the last Sunday of October (of September until 1995). Dates
//! before 1981 are shown in UTC+1: Archipel's own events (transfers, logbook, decisions) are
//! all recent, and older dates (covering dates of records) are calendar dates, not moments.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};

/// The last Sunday of `month` in `year`.
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    // Every year Archipel can show has a next month; the fallback keeps this total.
    let mut d = first_of_next.and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MIN);
    while d.weekday() != Weekday::Sun && d > NaiveDate::MIN {
        d = d.pred_opt().unwrap_or(NaiveDate::MIN);
    }
    d
}

/// The offset from UTC of Paris time at `t`, in seconds.
pub fn offset_secs(t: DateTime<Utc>) -> i64 {
    let year = t.year();
    if year < 1981 {
        return 3600;
    }
    let at_one_utc = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(1, 0, 0).unwrap_or_default());
    let summer_starts = at_one_utc(last_sunday(year, 3));
    let summer_ends = at_one_utc(last_sunday(year, if year >= 1996 { 10 } else { 9 }));
    if summer_starts <= t && t < summer_ends {
        7200
    } else {
        3600
    }
}

/// The wall-clock time in Paris at `t`.
pub fn local(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc() + Duration::seconds(offset_secs(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn paris(s: &str) -> String {
        local(utc(s)).format("%Y-%m-%d %H:%M:%S").to_string()
    }

    #[test]
    fn winter_and_summer() {
        assert_eq!(paris("2026-12-06T10:13:00Z"), "2026-12-06 11:13:00");
        assert_eq!(paris("2026-07-14T10:00:00Z"), "2026-07-14 12:00:00");
        // New Year's Eve crosses midnight in Paris first.
        assert_eq!(paris("2026-12-31T23:30:00Z"), "2027-01-01 00:30:00");
    }

    #[test]
    fn spring_forward_at_one_utc_on_the_last_sunday_of_march() {
        // 29 March 2026: 02:00 Paris jumps to 03:00.
        assert_eq!(last_sunday(2026, 3), NaiveDate::from_ymd_opt(2026, 3, 29).unwrap());
        assert_eq!(paris("2026-03-29T00:59:59Z"), "2026-03-29 01:59:59");
        assert_eq!(paris("2026-03-29T01:00:00Z"), "2026-03-29 03:00:00");
        // The Sunday before is still winter time all day.
        assert_eq!(paris("2026-03-22T12:00:00Z"), "2026-03-22 13:00:00");
        // 2024: the 31st is itself the last Sunday.
        assert_eq!(paris("2024-03-31T00:59:00Z"), "2024-03-31 01:59:00");
        assert_eq!(paris("2024-03-31T01:00:00Z"), "2024-03-31 03:00:00");
    }

    #[test]
    fn fall_back_at_one_utc_on_the_last_sunday_of_october() {
        // 25 October 2026: 03:00 Paris goes back to 02:00; 02:xx happens twice.
        assert_eq!(last_sunday(2026, 10), NaiveDate::from_ymd_opt(2026, 10, 25).unwrap());
        assert_eq!(paris("2026-10-25T00:30:00Z"), "2026-10-25 02:30:00");
        assert_eq!(paris("2026-10-25T00:59:59Z"), "2026-10-25 02:59:59");
        assert_eq!(paris("2026-10-25T01:00:00Z"), "2026-10-25 02:00:00");
        assert_eq!(paris("2026-10-25T01:30:00Z"), "2026-10-25 02:30:00");
        assert_eq!(paris("2026-10-18T12:00:00Z"), "2026-10-18 14:00:00");
    }

    #[test]
    fn before_1996_summer_time_ended_in_september() {
        // 24 September 1995 was the last Sunday of September.
        assert_eq!(paris("1995-09-24T00:59:00Z"), "1995-09-24 02:59:00");
        assert_eq!(paris("1995-09-24T01:00:00Z"), "1995-09-24 02:00:00");
        assert_eq!(paris("1995-10-15T12:00:00Z"), "1995-10-15 13:00:00");
        assert_eq!(paris("1996-10-15T12:00:00Z"), "1996-10-15 14:00:00");
    }

    #[test]
    fn december_has_a_last_sunday_too() {
        assert_eq!(last_sunday(2026, 12), NaiveDate::from_ymd_opt(2026, 12, 27).unwrap());
    }
}
