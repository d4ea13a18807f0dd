//! A small element tree over quick-xml, with line numbers for error messages.
//!
//! Signature files are configuration (a few MB), so they are read whole into a tree. No DTD is
//! processed and no entity is resolved beyond XML's five predefined ones and character
//! references: an unknown entity is an error, and an external entity can never be fetched.

use quick_xml::events::Event;
use quick_xml::Reader;

/// An XML element: local name (namespace prefix dropped), attributes, text and children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
    pub(crate) line: usize,
}

/// A parse failure: the line and what is wrong.
#[derive(Debug)]
pub(crate) struct XmlError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> XmlError {
        XmlError {
            line: self.line,
            message: message.into(),
        }
    }

    /// A required attribute.
    pub(crate) fn req(&self, name: &str) -> Result<&str, XmlError> {
        self.attr(name)
            .ok_or_else(|| self.error(format!("<{}> has no {name} attribute", self.name)))
    }

    /// An optional numeric attribute.
    pub(crate) fn num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, XmlError> {
        match self.attr(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                self.error(format!(
                    "<{}> has {name}=\"{v}\", expected a non-negative whole number",
                    self.name
                ))
            }),
        }
    }

    /// The element's text as a number.
    pub(crate) fn text_num<T: std::str::FromStr>(&self) -> Result<T, XmlError> {
        self.text.trim().parse().map_err(|_| {
            self.error(format!(
                "<{}> contains \"{}\", expected a whole number",
                self.name,
                self.text.trim()
            ))
        })
    }
}

/// Parses a whole document into its root element.
pub(crate) fn parse(data: &[u8]) -> Result<Element, XmlError> {
    let lines = LineIndex::new(data);
    let mut reader = Reader::from_reader(data);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut buf = Vec::new();
    loop {
        let pos = reader.buffer_position();
        let at = |p: u64| lines.line(p);
        let event = reader.read_event_into(&mut buf).map_err(|e| XmlError {
            line: at(reader.error_position()),
            message: format!("not well-formed XML: {e}"),
        })?;
        match event {
            Event::Start(e) => stack.push(start(&e, at(pos))?),
            Event::Empty(e) => {
                let el = start(&e, at(pos))?;
                stack.last_mut().expect("root").children.push(el);
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err(XmlError {
                        line: at(pos),
                        message: "an end tag closes nothing".into(),
                    });
                }
                let el = stack.pop().expect("checked");
                stack.last_mut().expect("checked").children.push(el);
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| XmlError {
                    line: at(pos),
                    message: format!("bad text: {e}"),
                })?;
                stack.last_mut().expect("root").text.push_str(&text);
            }
            Event::CData(t) => {
                let text = t.decode().map_err(|e| XmlError {
                    line: at(pos),
                    message: format!("bad text: {e}"),
                })?;
                stack.last_mut().expect("root").text.push_str(&text);
            }
            Event::GeneralRef(r) => {
                let c = resolve_entity(&r).ok_or_else(|| XmlError {
                    line: at(pos),
                    message: format!(
                        "unknown entity &{};: only XML's predefined entities are accepted",
                        String::from_utf8_lossy(&r)
                    ),
                })?;
                stack.last_mut().expect("root").text.push(c);
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    if stack.len() != 1 {
        let open = stack.last().map(|e| e.name.clone()).unwrap_or_default();
        return Err(XmlError {
            line: lines.line(data.len() as u64),
            message: format!("<{open}> is never closed"),
        });
    }
    let mut root = stack.pop().expect("checked");
    match root.children.len() {
        1 => Ok(root.children.pop().expect("checked")),
        0 => Err(XmlError {
            line: 1,
            message: "the document has no element".into(),
        }),
        _ => Err(XmlError {
            line: root.children[1].line,
            message: "the document has several root elements".into(),
        }),
    }
}

fn resolve_entity(r: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Some(c);
    }
    match &r[..] {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => None,
    }
}

fn start(e: &quick_xml::events::BytesStart<'_>, line: usize) -> Result<Element, XmlError> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| XmlError {
            line,
            message: format!("bad attribute in <{name}>: {err}"),
        })?;
        let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        let value = a.unescape_value().map_err(|err| XmlError {
            line,
            message: format!("bad value of {key} in <{name}>: {err}"),
        })?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        text: String::new(),
        children: Vec::new(),
        line,
    })
}

/// Byte offset → line number.
struct LineIndex(Vec<usize>);

impl LineIndex {
    fn new(data: &[u8]) -> Self {
        LineIndex(memchr::memchr_iter(b'\n', data).collect())
    }

    fn line(&self, pos: u64) -> usize {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX);
        self.0.partition_point(|&nl| nl < pos) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_entities_and_lines() {
        let doc = b"<?xml version=\"1.0\"?>\n<a x=\"1\">\n  <b>[&amp;01]</b>\n  <c/>\n</a>";
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.attr("x"), Some("1"));
        assert_eq!(root.child("b").unwrap().text, "[&01]");
        assert_eq!(root.child("c").unwrap().line, 4);
    }

    #[test]
    fn malformed_and_external_entities_are_errors() {
        let err = parse(b"<a>\n<b></c></a>").unwrap_err();
        assert_eq!(err.line, 2);
        let err = parse(b"<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>").unwrap_err();
        assert!(err.message.contains("unknown entity &e;"), "{}", err.message);
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"").is_err());
    }
}
