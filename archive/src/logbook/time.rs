//! The one textual form of a logbook time: RFC 3339, UTC, microseconds, `Z` (`2026-01-31T09:30:00.000000Z`).
//!
//! Deserialisation refuses any other spelling of the same instant, because the text is what gets hashed:
//! accepting `+00:00` and re-printing `Z` would make a stored entry verify against bytes it never had.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats `t` in the canonical form.
pub fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses the canonical form and nothing else.
pub fn parse(s: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("time {s:?} is not RFC 3339: {e}"))?
        .with_timezone(&Utc);
    if format(&t) != s {
        return Err(format!("time {s:?} is not in the canonical form {:?}", format(&t)));
    }
    Ok(t)
}

/// Drops precision below the microsecond so a fresh time survives a round trip through its text.
pub fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    let micros = t.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(t)
}

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(t))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_canonical_spelling_parses() {
        let t = parse("2026-01-31T09:30:00.123456Z").unwrap();
        assert_eq!(format(&t), "2026-01-31T09:30:00.123456Z");
        assert!(parse("2026-01-31T09:30:00.123456+00:00").is_err());
        assert!(parse("2026-01-31T09:30:00Z").is_err());
        assert!(parse("2026-01-31T09:30:00.123456789Z").is_err());
    }

    #[test]
    fn truncation_round_trips() {
        let t = truncate(Utc::now());
        assert_eq!(parse(&format(&t)).unwrap(), t);
    }
}
