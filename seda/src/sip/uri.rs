//! Manifest `Uri` values, turned into the entry names they may denote.

use super::error::SipError;
use super::names;

/// The names a manifest URI may denote, most literal first: the URI as written (less any
/// leading `./`), then its percent-decoded form when that differs. Both are checked like entry
/// names, so `%2e%2e/` cannot smuggle a traversal through the decoding.
pub(crate) fn candidates(uri: &str, max_len: usize, max_depth: usize) -> Result<Vec<String>, SipError> {
    let mut path = uri;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let decoded = percent_decode(path).map_err(|reason| SipError::BadUri {
        uri: uri.to_owned(),
        reason,
    })?;
    let mut out = Vec::with_capacity(2);
    for name in [path.to_owned(), decoded] {
        if out.contains(&name) {
            continue;
        }
        names::check(&name, max_len, max_depth).map_err(|problem| SipError::UnsafeUri {
            uri: uri.to_owned(),
            problem,
        })?;
        out.push(name);
    }
    Ok(out)
}

/// Strict RFC 3986 decoding: a `%` must start two hex digits, and the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = |at: usize| b.get(at).and_then(|c| (*c as char).to_digit(16));
        match (hex(i + 1), hex(i + 2)) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => return Err(format!("`%` at byte {i} is not followed by two hex digits")),
        }
        i += 3;
    }
    String::from_utf8(out).map_err(|_| "the decoded bytes are not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_strips_dot_slash() {
        let c = candidates("./content/My%20File.pdf", 100, 10).unwrap();
        assert_eq!(
            c,
            vec!["content/My%20File.pdf".to_owned(), "content/My File.pdf".to_owned()]
        );
        assert_eq!(candidates("a/b", 100, 10).unwrap(), vec!["a/b".to_owned()]);
    }

    #[test]
    fn rejects_encoded_traversal_and_bad_escapes() {
        assert!(matches!(
            candidates("%2e%2e/etc/passwd", 100, 10),
            Err(SipError::UnsafeUri { .. })
        ));
        assert!(matches!(candidates("a%2", 100, 10), Err(SipError::BadUri { .. })));
        assert!(matches!(candidates("a%ff", 100, 10), Err(SipError::BadUri { .. })));
        assert_eq!(percent_decode("%C3%A9").unwrap(), "é");
    }
}
