//! Canonical JSON: the exact bytes that are hashed and signed.
//!
//! Rules (see docs/logbook.md): object keys sorted by their UTF-8 bytes, no whitespace, strings as UTF-8 with
//! only `"`, `\` and control characters below U+0020 escaped (`\b \f \n \r \t`, otherwise `\u00xx` in lower-case
//! hex), numbers only as integers. Python's `json.dumps(v, sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)` produces the same bytes for such values.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CanonicalError {
    /// JSON path of the offending value, e.g. `detail.size`.
    pub path: String,
    pub reason: String,
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into(value: &Value, path: &str, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            // Floats have several textual forms across languages; integers have one.
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CanonicalError {
                    path: path.to_string(),
                    reason: format!("number {n} is not an integer; write it as a string"),
                });
            }
        }
        Value::String(s) => encode_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_into(item, &format!("{path}[{i}]"), out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_str(key, out);
                out.push(b':');
                encode_into(&map[key], &format!("{path}.{key}"), out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// The canonical encoding of `value` as a fresh buffer.
pub fn encode(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    encode_into(value, "$", &mut out)?;
    Ok(out)
}

fn encode_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": {"d": [true, null], "c": "x"}, "é": -2});
        assert_eq!(
            encode(&v).unwrap(),
            r#"{"a":{"c":"x","d":[true,null]},"b":1,"é":-2}"#.as_bytes()
        );
    }

    #[test]
    fn escapes_only_quotes_backslash_and_controls() {
        let v = json!("a\"b\\c\n\u{1}\u{7f}é€");
        assert_eq!(encode(&v).unwrap(), "\"a\\\"b\\\\c\\n\\u0001\u{7f}é€\"".as_bytes());
    }

    #[test]
    fn rejects_floats_with_their_path() {
        let err = encode(&json!({"detail": {"ratio": 0.5}})).unwrap_err();
        assert_eq!(err.path, "$.detail.ratio");
    }

    #[test]
    fn keeps_large_unsigned_integers() {
        assert_eq!(encode(&json!(u64::MAX)).unwrap(), u64::MAX.to_string().as_bytes());
    }
}
