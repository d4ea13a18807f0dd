//! Turns the manifest bytes into text: UTF-8 (with or without BOM) and ISO-8859-1 are read,
//! every other declared encoding is refused by name.

use std::borrow::Cow;

use super::error::ManifestError;

/// How far into the file the XML declaration may end; it is the first thing in the file.
const DECL_WINDOW: usize = 512;

pub(crate) fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ManifestError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ManifestError::UnsupportedEncoding {
            encoding: "UTF-16".into(),
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match declared_encoding(bytes).as_deref() {
        None | Some("utf-8") | Some("utf8") => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(e) => Err(ManifestError::NotUtf8 {
                position: e.valid_up_to(),
            }),
        },
        // ISO-8859-1 maps each byte to the code point of the same value.
        Some("iso-8859-1") | Some("iso8859-1") | Some("iso_8859-1") | Some("latin1") | Some("latin-1") => {
            Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
        }
        Some(other) => Err(ManifestError::UnsupportedEncoding {
            encoding: other.to_uppercase(),
        }),
    }
}

/// The encoding named in the XML declaration, lowercased, if there is one.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(b"<?xml") {
        return None;
    }
    let window = &bytes[..bytes.len().min(DECL_WINDOW)];
    let end = window.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&window[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?;
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = rest[1..].split(quote).next()?;
    Some(value.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utf8_and_latin1() {
        assert_eq!(decode("<a>é</a>".as_bytes()).unwrap(), "<a>é</a>");
        assert_eq!(
            decode(b"\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?><a/>").unwrap(),
            "<?xml version='1.0' encoding='UTF-8'?><a/>"
        );
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xE9t\xE9</a>";
        assert!(decode(latin).unwrap().ends_with("<a>été</a>"));
    }

    #[test]
    fn refuses_other_encodings_by_name() {
        let e = decode(b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><a/>").unwrap_err();
        assert!(e.to_string().contains("WINDOWS-1252"), "{e}");
        assert!(matches!(
            decode(b"\xFF\xFE<\0a\0/\0>\0"),
            Err(ManifestError::UnsupportedEncoding { .. })
        ));
        assert_eq!(
            decode(b"<a>\xE9</a>").unwrap_err(),
            ManifestError::NotUtf8 { position: 3 }
        );
    }
}
