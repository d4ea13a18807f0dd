//! A bounded element tree read with quick-xml: no DTD, no entities beyond the five predefined
//! ones, and every limit of [`ParseLimits`] checked as the elements arrive.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::error::ManifestError;
use super::limits::ParseLimits;

/// SEDA elements carry at most a few attributes; more is an attack on the duplicate check.
const MAX_ATTRIBUTES: usize = 64;

/// One element: its local name, whether it is outside the SEDA namespace, its attributes (keys
/// as written, e.g. `xml:lang`), its text and its children.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub foreign: bool,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Node>,
    pub line: u32,
}

impl Node {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `id`, or `xml:id` for the elements that use it.
    pub fn id(&self) -> Option<&str> {
        self.attr("id").or_else(|| self.attr("xml:id"))
    }

    /// The name shown in paths: `ArchiveUnit[ID4]` when the element has an id.
    pub fn label(&self) -> String {
        label(&self.name, self.id())
    }
}

fn label(name: &str, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{name}[{id}]"),
        None => name.to_owned(),
    }
}

struct Builder<'a> {
    xml: &'a str,
    limits: &'a ParseLimits,
    seda_ns: &'a str,
    stack: Vec<Node>,
    root: Option<Node>,
    elements: usize,
    units: usize,
    objects: usize,
    line: u32,
    line_pos: usize,
}

/// Reads `xml` into a tree. `seda_ns` is the namespace of the detected SEDA version.
pub(crate) fn build(xml: &str, seda_ns: &str, limits: &ParseLimits) -> Result<Node, ManifestError> {
    let mut reader = NsReader::from_str(xml);
    let mut b = Builder {
        xml,
        limits,
        seda_ns,
        stack: Vec::new(),
        root: None,
        elements: 0,
        units: 0,
        objects: 0,
        line: 1,
        line_pos: 0,
    };
    loop {
        // Where the event starts: the line of an element is the line of its `<`.
        let start = reader.buffer_position() as usize;
        let (resolved, event) = match reader.read_resolved_event() {
            Ok(pair) => pair,
            Err(e) => {
                let position = reader.error_position();
                return Err(ManifestError::Syntax {
                    line: b.line_at(position as usize),
                    position,
                    reason: e.to_string(),
                });
            }
        };
        let foreign = match resolved {
            ResolveResult::Bound(ns) => ns.as_ref() != b.seda_ns.as_bytes(),
            ResolveResult::Unbound => true,
            ResolveResult::Unknown(prefix) => {
                let position = reader.buffer_position();
                return Err(ManifestError::Syntax {
                    line: b.line_at(position as usize),
                    position,
                    reason: format!(
                        "the namespace prefix \"{}\" is not declared",
                        String::from_utf8_lossy(&prefix)
                    ),
                });
            }
        };
        let position = start;
        match event {
            Event::Start(start) => {
                let node = b.open(&start, foreign, position)?;
                b.stack.push(node);
            }
            Event::Empty(start) => {
                let node = b.open(&start, foreign, position)?;
                b.close(node, position)?;
            }
            Event::End(_) => {
                // quick-xml has checked that the end tag matches the open element.
                if let Some(node) = b.stack.pop() {
                    b.close(node, position)?;
                }
            }
            Event::Text(text) => {
                let s = text.xml_content().map_err(|e| b.syntax(position, e.to_string()))?;
                b.push_text(&s, position)?;
            }
            Event::CData(data) => {
                let s = data.decode().map_err(|e| b.syntax(position, e.to_string()))?;
                b.push_text(&s, position)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| b.syntax(position, e.to_string()))?;
                        match resolve_predefined_entity(&name) {
                            Some(s) => s.to_owned(),
                            None => {
                                return Err(ManifestError::UndefinedEntity {
                                    path: b.path(),
                                    line: b.line_at(position),
                                    name: name.into_owned(),
                                })
                            }
                        }
                    }
                    Err(e) => return Err(b.syntax(position, e.to_string())),
                };
                b.push_text(&resolved, position)?;
            }
            Event::DocType(_) => {
                return Err(ManifestError::Dtd {
                    line: b.line_at(position),
                })
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if let Some(open) = b.stack.last() {
        return Err(b.syntax(xml.len(), format!("the element {} is never closed", open.name)));
    }
    match b.root.take() {
        Some(root) => Ok(root),
        None => Err(b.syntax(xml.len(), "there is no root element".into())),
    }
}

impl Builder<'_> {
    /// Line of byte `pos`, counted incrementally since positions only grow while reading.
    fn line_at(&mut self, pos: usize) -> u32 {
        let pos = pos.min(self.xml.len());
        if pos > self.line_pos {
            let added = self.xml.as_bytes()[self.line_pos..pos]
                .iter()
                .filter(|&&c| c == b'\n')
                .count();
            self.line = self.line.saturating_add(added as u32);
            self.line_pos = pos;
        }
        self.line
    }

    fn syntax(&mut self, position: usize, reason: String) -> ManifestError {
        ManifestError::Syntax {
            line: self.line_at(position),
            position: position as u64,
            reason,
        }
    }

    /// The open elements as a path; deep paths keep their ends so messages stay readable.
    fn path(&self) -> String {
        const ENDS: usize = 5;
        let n = self.stack.len();
        if n <= 2 * ENDS + 1 {
            let parts: Vec<String> = self.stack.iter().map(Node::label).collect();
            return parts.join("/");
        }
        let head: Vec<String> = self.stack[..ENDS].iter().map(Node::label).collect();
        let tail: Vec<String> = self.stack[n - ENDS..].iter().map(Node::label).collect();
        format!("{}/…({} more)…/{}", head.join("/"), n - 2 * ENDS, tail.join("/"))
    }

    fn path_with(&self, name: &str, id: Option<&str>) -> String {
        let mut path = self.path();
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&label(name, id));
        path
    }

    fn open(&mut self, start: &BytesStart<'_>, foreign: bool, position: usize) -> Result<Node, ManifestError> {
        let line = self.line_at(position);
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        if self.root.is_some() {
            return Err(self.syntax(position, format!("a second root element <{name}> follows the first")));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(ManifestError::TooManyElements {
                line,
                limit: self.limits.max_elements,
            });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(ManifestError::TooDeep {
                path: self.path_with(&name, None),
                line,
                limit: self.limits.max_depth,
            });
        }
        if !foreign {
            match name.as_str() {
                "ArchiveUnit" => {
                    self.units += 1;
                    if self.units > self.limits.max_units {
                        return Err(ManifestError::TooManyUnits {
                            line,
                            limit: self.limits.max_units,
                        });
                    }
                }
                "BinaryDataObject" | "PhysicalDataObject" => {
                    self.objects += 1;
                    if self.objects > self.limits.max_objects {
                        return Err(ManifestError::TooManyObjects {
                            line,
                            limit: self.limits.max_objects,
                        });
                    }
                }
                _ => {}
            }
        }
        let attrs = self.attributes(start, &name, line)?;
        Ok(Node {
            name,
            foreign,
            attrs,
            text: String::new(),
            children: Vec::new(),
            line,
        })
    }

    fn attributes(
        &mut self,
        start: &BytesStart<'_>,
        name: &str,
        line: u32,
    ) -> Result<Vec<(String, String)>, ManifestError> {
        let mut attrs: Vec<(String, String)> = Vec::new();
        // Checks are ours: quick-xml's duplicate check is quadratic in the attribute count.
        for (count, attr) in start.attributes().with_checks(false).enumerate() {
            if count >= MAX_ATTRIBUTES {
                return Err(ManifestError::TooManyAttributes {
                    path: self.path_with(name, None),
                    line,
                    limit: MAX_ATTRIBUTES,
                });
            }
            let attr = attr.map_err(|e| ManifestError::Syntax {
                line,
                position: self.line_pos as u64,
                reason: format!("bad attribute on <{name}>: {e}"),
            })?;
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            if attrs.iter().any(|(k, _)| *k == key) {
                return Err(ManifestError::DuplicateAttribute {
                    path: self.path_with(name, None),
                    line,
                    attribute: key,
                });
            }
            let value = attr.unescape_value().map_err(|e| ManifestError::Invalid {
                path: self.path_with(name, None),
                line,
                reason: format!("the attribute {key} cannot be read ({e}): use only the predefined entities"),
            })?;
            if value.len() > self.limits.max_text_len {
                return Err(ManifestError::TextTooLong {
                    path: self.path_with(name, None),
                    line,
                    limit: self.limits.max_text_len,
                });
            }
            attrs.push((key, value.into_owned()));
        }
        Ok(attrs)
    }

    fn push_text(&mut self, s: &str, position: usize) -> Result<(), ManifestError> {
        let limit = self.limits.max_text_len;
        let Some(node) = self.stack.last_mut() else {
            // Only whitespace may sit outside the root; quick-xml reports anything else.
            return Ok(());
        };
        if node.text.len() + s.len() > limit {
            let line = self.line_at(position);
            return Err(ManifestError::TextTooLong {
                path: self.path(),
                line,
                limit,
            });
        }
        node.text.push_str(s);
        Ok(())
    }

    fn close(&mut self, node: Node, position: usize) -> Result<(), ManifestError> {
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => {
                if self.root.is_some() {
                    return Err(self.syntax(position, "a second root element".into()));
                }
                self.root = Some(node);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:seda";

    fn tree(xml: &str) -> Result<Node, ManifestError> {
        build(xml, NS, &ParseLimits::default())
    }

    #[test]
    fn builds_a_tree_with_text_entities_and_namespaces() {
        let xml = "<?xml version='1.0'?>\n<s:A xmlns:s='urn:seda' xml:id='x1'>\n <s:B id='b'>1 &lt; 2 &#233;<![CDATA[<raw>]]></s:B>\n <v:C xmlns:v='urn:vitam'/></s:A>";
        let root = tree(xml).unwrap();
        assert_eq!(root.name, "A");
        assert!(!root.foreign);
        assert_eq!(root.id(), Some("x1"));
        assert_eq!(root.children.len(), 2);
        assert_eq!(root.children[0].text, "1 < 2 é<raw>");
        assert_eq!(root.children[0].line, 3);
        assert!(root.children[1].foreign);
    }

    #[test]
    fn refuses_doctype_and_unknown_entities() {
        let bomb = "<?xml version='1.0'?>\n<!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;'>]>\n<A xmlns='urn:seda'>&lol2;</A>";
        assert_eq!(tree(bomb).unwrap_err(), ManifestError::Dtd { line: 2 });
        let e = tree("<A xmlns='urn:seda'><B>&lol;</B></A>").unwrap_err();
        assert!(
            matches!(e, ManifestError::UndefinedEntity { ref name, ref path, .. } if name == "lol" && path == "A/B"),
            "{e}"
        );
    }

    #[test]
    fn enforces_limits() {
        let limits = ParseLimits {
            max_depth: 3,
            max_elements: 10,
            max_text_len: 4,
            max_units: 1,
            ..ParseLimits::default()
        };
        let deep = "<A xmlns='urn:seda'><B><C><D/></C></B></A>";
        assert!(matches!(build(deep, NS, &limits), Err(ManifestError::TooDeep { ref path, .. }) if path == "A/B/C/D"));
        let many = format!("<A xmlns='urn:seda'>{}</A>", "<B/>".repeat(10));
        assert!(matches!(
            build(&many, NS, &limits),
            Err(ManifestError::TooManyElements { .. })
        ));
        let long = "<A xmlns='urn:seda'>abcde</A>";
        assert!(matches!(
            build(long, NS, &limits),
            Err(ManifestError::TextTooLong { .. })
        ));
        let units = "<A xmlns='urn:seda'><ArchiveUnit/><ArchiveUnit/></A>";
        assert!(matches!(
            build(units, NS, &limits),
            Err(ManifestError::TooManyUnits { .. })
        ));
        let attrs = format!(
            "<A xmlns='urn:seda' {}/>",
            (0..65).map(|i| format!("a{i}='x'")).collect::<Vec<_>>().join(" ")
        );
        assert!(matches!(tree(&attrs), Err(ManifestError::TooManyAttributes { .. })));
        assert!(matches!(
            tree("<A xmlns='urn:seda' a='1' a='2'/>"),
            Err(ManifestError::DuplicateAttribute { .. })
        ));
    }

    #[test]
    fn reports_syntax_errors_with_lines() {
        let e = tree("<A xmlns='urn:seda'>\n<B>\n</C></A>").unwrap_err();
        assert!(matches!(e, ManifestError::Syntax { line: 3, .. }), "{e}");
        assert!(matches!(
            tree("<A xmlns='urn:seda'><B>"),
            Err(ManifestError::Syntax { .. })
        ));
        assert!(matches!(
            tree("<A xmlns='urn:seda'/><B/>"),
            Err(ManifestError::Syntax { .. })
        ));
        assert!(matches!(tree("<p:A/>"), Err(ManifestError::Syntax { .. })));
    }
}
