//! Plain text: what a file that no signature matches may still be recognised as.
//!
//! The classes are those of the `file` utility, which Siegfried follows: text is made of
//! printable ASCII, the controls BEL, BS, TAB, LF, VT, FF, CR and ESC, and (outside UTF-8)
//! any byte from 80 up (ISO-8859 and the extended ASCII code pages, CP-1252, Big5, Shift JIS…).

/// Whether a byte may occur in ASCII text.
fn ascii_text(b: u8) -> bool {
    matches!(b, 0x07..=0x0d | 0x1b | 0x20..=0x7e)
}

fn char_text(c: char) -> bool {
    if c.is_ascii() {
        ascii_text(c as u8)
    } else {
        !c.is_control()
    }
}

/// Whether `data` (the beginning of a file; `truncated` when the file goes on, so a character
/// may be cut at the end) reads as text: UTF-8 (ASCII included), UTF-16 with a byte-order mark,
/// or a single-byte encoding (ISO-8859, code pages).
pub(crate) fn is_text(data: &[u8], truncated: bool) -> bool {
    if data.is_empty() {
        return false;
    }
    if data.len() >= 2 && (data[..2] == [0xFF, 0xFE] || data[..2] == [0xFE, 0xFF]) {
        return utf16_is_text(&data[2..], data[0] == 0xFE, truncated);
    }
    match std::str::from_utf8(data) {
        Ok(text) => text.chars().all(char_text),
        // A window that ends inside a character is fine.
        Err(e) if truncated && e.error_len().is_none() => {
            std::str::from_utf8(&data[..e.valid_up_to()]).is_ok_and(|t| t.chars().all(char_text))
        }
        Err(_) => data.iter().all(|&b| ascii_text(b) || b >= 0x80),
    }
}

fn utf16_is_text(data: &[u8], big_endian: bool, truncated: bool) -> bool {
    let even = if truncated { data.len() & !1 } else { data.len() };
    if even % 2 != 0 {
        return false;
    }
    let units = data[..even].chunks_exact(2).map(|c| {
        if big_endian {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_le_bytes([c[0], c[1]])
        }
    });
    let mut chars = char::decode_utf16(units).peekable();
    while let Some(c) = chars.next() {
        match c {
            Ok(c) if !char_text(c) => return false,
            Ok(_) => {}
            // A surrogate cut by the end of the window is fine.
            Err(_) if truncated && chars.peek().is_none() => {}
            Err(_) => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_not_text() {
        assert!(is_text(b"hello\r\n\tworld\x07", false));
        assert!(is_text("d\u{e9}j\u{e0} vu".as_bytes(), false));
        assert!(is_text(&"\u{e9}t\u{e9}".as_bytes()[..4], true));
        assert!(is_text(b"caf\xe9 cr\xe8me \x85", false));
        assert!(!is_text(b"bin\x00ary", false));
        assert!(!is_text(b"\x89PNG\r\n\x1a\n", false));
        assert!(!is_text(b"a\x7fb", false));
        assert!(is_text(b"\xff\xfeh\x00i\x00", false));
        assert!(!is_text(b"\xff\xfeh\x00\x01\x00", false));
        assert!(!is_text(b"", false));
    }
}
