//! Turning caller text into text a SEDA reply can carry.
//!
//! Reply fields echo hostile input (identifiers and errors from a SIP), so every string is
//! cleaned before it reaches the writer: characters XML 1.0 forbids become U+FFFD, free text
//! is cut to a bounded length, and identifiers must be non-empty and bounded.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, SecondsFormat, Utc};

use super::ReplyError;

/// Longest free text (comment, event detail) written, in characters; longer text is cut.
/// Big enough for any real explanation, small enough that a hostile SIP cannot bloat a reply.
pub const MAX_TEXT_CHARS: usize = 32 * 1024;
/// Longest identifier accepted, in characters; identifiers are never cut, since a cut
/// identifier would silently name something else.
pub const MAX_IDENTIFIER_CHARS: usize = 1024;
/// Appended to free text that was cut.
pub const TRUNCATION_MARK: &str = " […]";
/// Written in place of each character XML 1.0 cannot carry.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether XML 1.0 allows `c` in a document (production `Char`; Rust `char`s are never
/// surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` with every character XML 1.0 forbids replaced by U+FFFD, and CR LF / lone CR turned
/// into LF (what any XML parser would read back anyway).
pub fn clean(s: &str) -> Cow<'_, str> {
    if s.chars().all(|c| is_xml_char(c) && c != '\r') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c if is_xml_char(c) => out.push(c),
            _ => out.push(REPLACEMENT),
        }
    }
    Cow::Owned(out)
}

/// Cleaned free text, cut to `MAX_TEXT_CHARS` characters (mark included) when longer.
pub fn free_text(s: &str) -> String {
    cut(s, MAX_TEXT_CHARS)
}

/// Cleaned text, cut to `max` characters (mark included) when longer.
pub(crate) fn cut(s: &str, max: usize) -> String {
    let cleaned = clean(s);
    if cleaned.chars().count() <= max {
        return cleaned.into_owned();
    }
    let keep = max.saturating_sub(TRUNCATION_MARK.chars().count());
    let mut out: String = cleaned.chars().take(keep).collect();
    out.push_str(TRUNCATION_MARK);
    out
}

/// Whether `s` carries nothing: only whitespace and characters XML cannot hold.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || !is_xml_char(c))
}

/// Cleaned optional text: `None` when blank, since SEDA's token elements must not be empty.
pub(crate) fn optional_text(s: Option<&str>) -> Option<String> {
    let s = s?;
    if is_blank(s) {
        return None;
    }
    Some(free_text(s.trim()))
}

/// A required identifier: cleaned, trimmed, not blank and at most `MAX_IDENTIFIER_CHARS`.
pub(crate) fn identifier(message: &'static str, field: &str, s: &str) -> Result<String, ReplyError> {
    let cleaned = clean(s);
    let trimmed = cleaned.trim();
    if is_blank(s) {
        return Err(ReplyError::MissingField {
            message,
            field: field.to_owned(),
        });
    }
    let len = trimmed.chars().count();
    if len > MAX_IDENTIFIER_CHARS {
        return Err(ReplyError::TooLong {
            field: field.to_owned(),
            len,
            max: MAX_IDENTIFIER_CHARS,
        });
    }
    Ok(trimmed.to_owned())
}

/// An identifier taken from the request, or `placeholder` when it is unknown or blank: the
/// reply must still be sent when the request could not be read.
pub(crate) fn request_identifier(
    message: &'static str,
    field: &str,
    s: Option<&str>,
    placeholder: &str,
) -> Result<String, ReplyError> {
    match s {
        Some(s) if !is_blank(s) => identifier(message, field, s),
        _ => Ok(placeholder.to_owned()),
    }
}

/// A value for an `xsd:ID` attribute: a trimmed NCName.
pub(crate) fn xml_id(message: &'static str, field: &str, s: &str) -> Result<String, ReplyError> {
    let id = identifier(message, field, s)?;
    if !is_ncname(&id) {
        return Err(ReplyError::InvalidId {
            field: field.to_owned(),
            value: for_error(&id),
        });
    }
    Ok(id)
}

/// Whether `s` is an XML NCName (XML 1.0 fifth edition `Name`, without ':').
pub fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start(c) => chars.all(is_name_char),
        _ => false,
    }
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// An `xsd:dateTime` in UTC, e.g. `2024-05-02T09:30:00Z`.
pub(crate) fn date_time(field: &str, date: &DateTime<Utc>) -> Result<String, ReplyError> {
    // xsd:dateTime has no year 0, and chrono writes years past 9999 with a '+' it rejects.
    if !(1..=9999).contains(&date.year()) {
        return Err(ReplyError::DateOutOfRange {
            field: field.to_owned(),
            value: date.to_rfc3339(),
        });
    }
    Ok(date.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// A digest value that fits SEDA's `BinaryType` (hexBinary or base64Binary).
pub(crate) fn digest_value(field: &str, s: &str) -> Result<String, ReplyError> {
    let v = s.trim();
    if is_hex(v) || is_base64(v) {
        return Ok(v.to_owned());
    }
    Err(ReplyError::InvalidDigest {
        field: field.to_owned(),
        value: for_error(v),
    })
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    let padding = s.len() - body.len();
    !s.is_empty()
        && s.len().is_multiple_of(4)
        && padding <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// `s` made safe and short enough to quote in an error message.
pub(crate) fn for_error(s: &str) -> String {
    const MAX: usize = 80;
    let cleaned = clean(s);
    if cleaned.chars().count() <= MAX {
        return cleaned.into_owned();
    }
    let mut out: String = cleaned.chars().take(MAX).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_replaced_and_cr_normalised() {
        assert_eq!(clean("a\u{0}b\u{1F}c\u{FFFE}"), "a\u{FFFD}b\u{FFFD}c\u{FFFD}");
        assert_eq!(clean("l1\r\nl2\rl3\tend"), "l1\nl2\nl3\tend");
        assert!(matches!(clean("Délibération n°12 — été"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_free_text_is_cut_with_a_mark() {
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        let cut = free_text(&long);
        assert_eq!(cut.chars().count(), MAX_TEXT_CHARS);
        assert!(cut.ends_with(TRUNCATION_MARK));
        assert_eq!(free_text("court"), "court");
    }

    #[test]
    fn identifiers_must_be_non_empty_and_bounded() {
        for blank in ["", " \t ", "\u{0}\n\u{1B}"] {
            assert!(matches!(
                identifier("m", "f", blank),
                Err(ReplyError::MissingField { .. })
            ));
        }
        let long = "x".repeat(MAX_IDENTIFIER_CHARS + 1);
        assert!(matches!(identifier("m", "f", &long), Err(ReplyError::TooLong { .. })));
        assert_eq!(identifier("m", "f", " ID1 ").unwrap(), "ID1");
    }

    #[test]
    fn ncnames() {
        for ok in ["ID1", "_a", "é-1.2", "Délib_12"] {
            assert!(is_ncname(ok), "{ok}");
        }
        for bad in ["", "1ID", "a:b", "a b", "-a", "a<"] {
            assert!(!is_ncname(bad), "{bad}");
        }
    }

    #[test]
    fn digests() {
        assert!(digest_value("d", "00ff").is_ok());
        assert!(digest_value("d", "AAECAw==").is_ok());
        assert!(digest_value("d", "abc").is_err());
        assert!(digest_value("d", "zz<&").is_err());
        assert!(digest_value("d", "").is_err());
    }

    #[test]
    fn dates_outside_xsd_range_are_errors() {
        let ok = DateTime::parse_from_rfc3339("2024-05-02T09:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date_time("d", &ok).unwrap(), "2024-05-02T09:30:00Z");
        let far = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::days(1);
        assert!(matches!(date_time("d", &far), Err(ReplyError::DateOutOfRange { .. })));
    }
}
