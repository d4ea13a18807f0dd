//! Streaming reads of payload XML: the declared encoding, the root element, and the values of a
//! flow's fields. Constant memory whatever the file size: the file is read through a buffer, and
//! only the field values are kept, each bounded.
//!
//! Hostile input: a DOCTYPE is refused (no entity expansion, no external fetch), undefined
//! entities are errors, depth and value sizes are capped, and the whole document must be
//! well-formed (a truncated payload is not silently accepted).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use encoding_rs::Encoding;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::definition::FieldSpec;

/// Deeper nesting than this is refused: no payload of ours goes near it.
const MAX_DEPTH: usize = 256;
/// One field value larger than this is refused (a title, a date, a code: never megabytes).
const MAX_VALUE_BYTES: usize = 64 * 1024;
/// A multi-valued field with more values than this is refused.
const MAX_VALUES: usize = 10_000;
/// How much of the file start is searched for the XML declaration.
const HEAD_BYTES: usize = 1024;

/// The expanded name of a root element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootName {
    pub namespace: String,
    pub local: String,
}

impl fmt::Display for RootName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}", self.local)
        } else {
            write!(f, "{{{}}}{}", self.namespace, self.local)
        }
    }
}

/// What a full scan found.
#[derive(Debug)]
pub struct Scan {
    pub root: RootName,
    /// The encoding the payload declared (WHATWG name, e.g. `windows-1252` for ISO-8859-1).
    pub encoding: &'static str,
    /// Field name → values in document order (at most one unless the field is `multiple`).
    pub values: BTreeMap<String, Vec<String>>,
}

/// Why a scan failed.
#[derive(Debug)]
pub enum ScanError {
    Io(std::io::Error),
    /// Not (well-formed, acceptable) XML: the reason, for the error message.
    Xml(String),
}

impl From<std::io::Error> for ScanError {
    fn from(e: std::io::Error) -> Self {
        ScanError::Io(e)
    }
}

/// Reads only as far as the root element.
pub fn sniff_root(path: &Path) -> Result<RootName, ScanError> {
    scan(path, &BTreeMap::new(), true).map(|s| s.root)
}

/// Reads the whole document and collects `fields`.
pub fn extract(path: &Path, fields: &BTreeMap<String, FieldSpec>) -> Result<Scan, ScanError> {
    scan(path, fields, false)
}

struct Capture {
    field: usize,
    depth: usize,
    text: String,
}

fn scan(path: &Path, fields: &BTreeMap<String, FieldSpec>, root_only: bool) -> Result<Scan, ScanError> {
    let mut file = File::open(path)?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut file).take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    let encoding = sniff_encoding(&head).map_err(ScanError::Xml)?;
    file.seek(SeekFrom::Start(0))?;

    let specs: Vec<(&String, &FieldSpec)> = fields.iter().collect();
    let mut values: Vec<Vec<String>> = vec![Vec::new(); specs.len()];
    let mut reader = NsReader::from_reader(BufReader::with_capacity(64 * 1024, file));
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut root: Option<RootName> = None;
    let mut root_closed = false;
    let mut captures: Vec<Capture> = Vec::new();
    let xml_err = |reader: &NsReader<_>, e: &dyn fmt::Display| -> ScanError {
        ScanError::Xml(format!("at byte {}: {e}", reader.buffer_position()))
    };

    loop {
        buf.clear();
        let (ns, event) = match reader.read_resolved_event_into(&mut buf) {
            Ok(x) => x,
            Err(e) => return Err(xml_err(&reader, &e)),
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                if root_closed {
                    return Err(xml_err(&reader, &"a second root element"));
                }
                let local = decode(encoding, e.local_name().as_ref())?.into_owned();
                if root.is_none() {
                    let namespace = match ns {
                        ResolveResult::Bound(n) => decode(encoding, n.as_ref())?.into_owned(),
                        ResolveResult::Unbound => String::new(),
                        ResolveResult::Unknown(p) => {
                            let p = String::from_utf8_lossy(&p).into_owned();
                            return Err(xml_err(&reader, &format!("undeclared namespace prefix '{p}'")));
                        }
                    };
                    root = Some(RootName {
                        namespace,
                        local: local.clone(),
                    });
                    if root_only {
                        break;
                    }
                }
                stack.push(local);
                if stack.len() > MAX_DEPTH {
                    return Err(xml_err(&reader, &format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let here = &stack[1..];
                for (i, (name, spec)) in specs.iter().enumerate() {
                    if spec.path.steps != here || (!spec.multiple && !values[i].is_empty()) {
                        continue;
                    }
                    match &spec.path.attribute {
                        Some(wanted) => {
                            for attr in e.attributes() {
                                let attr = attr.map_err(|e| xml_err(&reader, &e))?;
                                if attr.key.as_namespace_binding().is_some() {
                                    continue;
                                }
                                if decode(encoding, attr.key.local_name().as_ref())? != wanted.as_str() {
                                    continue;
                                }
                                let raw = decode(encoding, &attr.value)?;
                                let value = quick_xml::escape::unescape(&raw)
                                    .map_err(|e| xml_err(&reader, &format!("attribute {wanted}: {e}")))?;
                                push_value(&mut values[i], value.trim(), name)?;
                            }
                        }
                        None if !is_empty => captures.push(Capture {
                            field: i,
                            depth: stack.len(),
                            text: String::new(),
                        }),
                        None => {}
                    }
                }
                if is_empty {
                    stack.pop();
                    root_closed = stack.is_empty();
                }
            }
            Event::End(_) => {
                let depth = stack.len();
                let mut k = 0;
                while k < captures.len() {
                    if captures[k].depth == depth {
                        let c = captures.swap_remove(k);
                        push_value(&mut values[c.field], c.text.trim(), specs[c.field].0)?;
                    } else {
                        k += 1;
                    }
                }
                stack.pop();
                root_closed = stack.is_empty();
            }
            Event::Text(t) => {
                let text = decode(encoding, t.as_ref())?;
                if stack.is_empty() {
                    if !text.trim().is_empty() {
                        return Err(xml_err(&reader, &"text outside the root element"));
                    }
                } else {
                    append(&mut captures, &text)?;
                }
            }
            Event::CData(t) => {
                if stack.is_empty() {
                    return Err(xml_err(&reader, &"CDATA outside the root element"));
                }
                append(&mut captures, &decode(encoding, t.as_ref())?)?;
            }
            Event::GeneralRef(r) => {
                if stack.is_empty() {
                    return Err(xml_err(&reader, &"an entity reference outside the root element"));
                }
                let resolved = match r.resolve_char_ref().map_err(|e| xml_err(&reader, &e))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = decode(encoding, r.as_ref())?;
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_string(),
                            None => return Err(xml_err(&reader, &format!("undefined entity &{name};"))),
                        }
                    }
                };
                append(&mut captures, &resolved)?;
            }
            Event::DocType(_) => {
                return Err(xml_err(
                    &reader,
                    &"a DOCTYPE declaration (refused: payloads must not declare entities)",
                ));
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    let root = root.ok_or_else(|| ScanError::Xml("no root element".into()))?;
    if !root_only && !root_closed {
        return Err(ScanError::Xml(format!(
            "the document ends inside <{}>",
            stack.last().map_or("?", |s| s)
        )));
    }
    let values = specs
        .iter()
        .zip(values)
        .filter(|(_, v)| !v.is_empty())
        .map(|((name, _), v)| ((*name).clone(), v))
        .collect();
    Ok(Scan {
        root,
        encoding: encoding.name(),
        values,
    })
}

fn push_value(values: &mut Vec<String>, value: &str, field: &str) -> Result<(), ScanError> {
    if value.is_empty() {
        return Ok(());
    }
    if values.len() >= MAX_VALUES {
        return Err(ScanError::Xml(format!(
            "field '{field}' matches more than {MAX_VALUES} times"
        )));
    }
    values.push(value.to_string());
    Ok(())
}

fn append(captures: &mut [Capture], text: &str) -> Result<(), ScanError> {
    for c in captures.iter_mut() {
        if c.text.len() + text.len() > MAX_VALUE_BYTES {
            return Err(ScanError::Xml(format!(
                "a field value is longer than {MAX_VALUE_BYTES} bytes"
            )));
        }
        c.text.push_str(text);
    }
    Ok(())
}

fn decode<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Result<Cow<'a, str>, ScanError> {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| ScanError::Xml(format!("bytes that are not valid {}", encoding.name())))
}

/// The encoding the document declares; UTF-8 when it declares none. Only encodings that keep
/// ASCII as ASCII (UTF-8, ISO-8859-x, windows-125x…) are accepted: markup is then read as bytes.
pub fn sniff_encoding(head: &[u8]) -> Result<&'static Encoding, String> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Ok(encoding_rs::UTF_8);
    }
    if head.starts_with(&[0xFE, 0xFF]) || head.starts_with(&[0xFF, 0xFE]) {
        return Err("UTF-16 is not supported; re-encode the payload as UTF-8".into());
    }
    if !head.starts_with(b"<?xml") {
        return Ok(encoding_rs::UTF_8);
    }
    let end = head
        .windows(2)
        .position(|w| w == b"?>")
        .ok_or("the XML declaration is not closed within its first 1 KiB")?;
    let decl = &head[..end];
    let Some(at) = decl.windows(8).position(|w| w == b"encoding") else {
        return Ok(encoding_rs::UTF_8);
    };
    let rest = decl[at + 8..].trim_ascii_start();
    let rest = rest
        .strip_prefix(b"=")
        .ok_or("malformed encoding declaration")?
        .trim_ascii_start();
    let quote = *rest.first().ok_or("malformed encoding declaration")?;
    if quote != b'"' && quote != b'\'' {
        return Err("malformed encoding declaration".into());
    }
    let label = &rest[1..];
    let close = label
        .iter()
        .position(|&b| b == quote)
        .ok_or("malformed encoding declaration")?;
    let label = &label[..close];
    let encoding =
        Encoding::for_label(label).ok_or_else(|| format!("unknown encoding '{}'", String::from_utf8_lossy(label)))?;
    if !encoding.is_ascii_compatible() {
        return Err(format!(
            "encoding {} is not supported; re-encode the payload as UTF-8",
            encoding.name()
        ));
    }
    Ok(encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::path::FieldPath;

    fn field(path: &str, multiple: bool) -> FieldSpec {
        FieldSpec {
            path: FieldPath::parse(path).unwrap(),
            required: false,
            multiple,
            kind: Default::default(),
        }
    }

    fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
        f
    }

    #[test]
    fn sniffs_declared_encodings() {
        assert_eq!(
            sniff_encoding(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>")
                .unwrap()
                .name(),
            "windows-1252"
        );
        assert_eq!(
            sniff_encoding(b"<?xml version='1.0' encoding = 'utf-8' ?>")
                .unwrap()
                .name(),
            "UTF-8"
        );
        assert_eq!(sniff_encoding(b"<a/>").unwrap().name(), "UTF-8");
        assert!(sniff_encoding(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>")
            .unwrap_err()
            .contains("not supported"));
        assert!(sniff_encoding(b"<?xml version=\"1.0\" encoding=\"klingon\"?>")
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn extracts_latin1_text_attributes_entities_and_multiple_values() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<p:R xmlns:p=\"urn:x\" p:Id=\"r1\"><A V=\"caf\xe9 &amp; th\xe9\"/><B>x &lt; <![CDATA[y]]>&#233;</B><C>1</C><C>2</C></p:R>";
        let f = write(doc);
        let fields: BTreeMap<String, FieldSpec> = [
            ("id".to_string(), field("@Id", false)),
            ("a".to_string(), field("A/@V", false)),
            ("b".to_string(), field("B", false)),
            ("c".to_string(), field("C", true)),
            ("first".to_string(), field("C", false)),
            ("none".to_string(), field("D", false)),
        ]
        .into();
        let scan = extract(f.path(), &fields).unwrap();
        assert_eq!(
            scan.root,
            RootName {
                namespace: "urn:x".into(),
                local: "R".into()
            }
        );
        assert_eq!(scan.encoding, "windows-1252");
        assert_eq!(scan.values["id"], ["r1"]);
        assert_eq!(scan.values["a"], ["café & thé"]);
        assert_eq!(scan.values["b"], ["x < yé"]);
        assert_eq!(scan.values["c"], ["1", "2"]);
        assert_eq!(scan.values["first"], ["1"]);
        assert!(!scan.values.contains_key("none"));
    }

    #[test]
    fn refuses_non_xml_doctype_truncation_and_bad_utf8() {
        let cases: [&[u8]; 5] = [
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj",
            b"<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            b"<a><b></b>",
            b"<a>\xff\xfe</a>",
            b"<a>&nope;</a>",
        ];
        for bytes in cases {
            let f = write(bytes);
            match extract(f.path(), &BTreeMap::new()) {
                Err(ScanError::Xml(_)) => {}
                other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(bytes)),
            }
        }
    }
}
