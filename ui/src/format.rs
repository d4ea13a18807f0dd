//! Dates, numbers and sizes as archivists read them: `6 décembre 2026`, `1 234,5 Mo`.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::i18n::Lang;

/// French groups thousands with a narrow no-break space, and puts a no-break space before units.
const THIN: char = '\u{202F}';
const NBSP: char = '\u{A0}';

const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub fn month_name(l: Lang, month0: usize) -> &'static str {
    let names = match l {
        Lang::Fr => &MONTHS_FR,
        Lang::En => &MONTHS_EN,
    };
    names[month0 % 12]
}

/// `6 décembre 2026` / `6 December 2026`; `1er` for the first day in French.
pub fn date(l: Lang, d: NaiveDate) -> String {
    let day = match (l, d.day()) {
        (Lang::Fr, 1) => "1er".to_owned(),
        (_, n) => n.to_string(),
    };
    format!("{day} {} {}", month_name(l, d.month0() as usize), d.year())
}

/// A moment, to the minute, in Paris time (the page footer says so): `6 décembre 2026 à 11:13`.
pub fn datetime(l: Lang, t: DateTime<Utc>) -> String {
    let at = l.t("à", "at");
    let p = crate::paris::local(t);
    format!("{} {at} {:02}:{:02}", date(l, p.date()), p.hour(), p.minute())
}

/// The day of a moment, in Paris.
pub fn day(l: Lang, t: DateTime<Utc>) -> String {
    date(l, crate::paris::local(t).date())
}

/// Today's date in Paris (what an archivist calls today).
pub fn today() -> NaiveDate {
    crate::paris::local(Utc::now()).date()
}

/// An integer with grouped thousands: `10 000` / `10,000`.
pub fn int(l: Lang, n: u64) -> String {
    let digits = n.to_string();
    let sep = match l {
        Lang::Fr => THIN,
        Lang::En => ',',
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A decimal number with one digit after the point: `1 234,5` / `1,234.5`.
pub fn decimal1(l: Lang, x: f64) -> String {
    let tenths = (x * 10.0).round().max(0.0) as u64;
    let point = match l {
        Lang::Fr => ',',
        Lang::En => '.',
    };
    format!("{}{point}{}", int(l, tenths / 10), tenths % 10)
}

/// A size in decimal units: `1 234,5 Mo` / `1,234.5 MB` (octets in French).
pub fn size(l: Lang, bytes: u64) -> String {
    let units_fr = ["o", "ko", "Mo", "Go", "To", "Po"];
    let units_en = ["B", "kB", "MB", "GB", "TB", "PB"];
    let units = match l {
        Lang::Fr => units_fr,
        Lang::En => units_en,
    };
    if bytes < 1000 {
        return format!("{}{NBSP}{}", int(l, bytes), units[0]);
    }
    // Up to 9 999,9 in a unit before moving to the next: `1 234,5 Mo` reads better than `1,2 Go`.
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 10_000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        value /= 1000.0;
        unit = 1;
    }
    format!("{}{NBSP}{}", decimal1(l, value), units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_first() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(date(Lang::Fr, d), "6 décembre 2026");
        assert_eq!(date(Lang::En, d), "6 December 2026");
        assert_eq!(
            date(Lang::Fr, NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()),
            "1er mai 2026"
        );
        assert_eq!(int(Lang::Fr, 10_000), "10\u{202F}000");
        assert_eq!(int(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(int(Lang::Fr, 999), "999");
        assert_eq!(size(Lang::Fr, 1_234_500_000), "1\u{202F}234,5\u{A0}Mo");
        assert_eq!(size(Lang::En, 1_234_500_000), "1,234.5\u{A0}MB");
        assert_eq!(size(Lang::Fr, 512), "512\u{A0}o");
        assert_eq!(size(Lang::Fr, 1500), "1,5\u{A0}ko");
        assert_eq!(size(Lang::Fr, 12_000_000_000), "12,0\u{A0}Go");
    }

    #[test]
    fn moments_in_paris_time() {
        let t: DateTime<Utc> = "2026-12-06T10:13:00Z".parse().unwrap();
        assert_eq!(datetime(Lang::Fr, t), "6 décembre 2026 à 11:13");
        let summer: DateTime<Utc> = "2026-07-31T22:30:00Z".parse().unwrap();
        assert_eq!(datetime(Lang::En, summer), "1 August 2026 at 00:30");
        assert_eq!(day(Lang::Fr, summer), "1er août 2026");
    }
}
