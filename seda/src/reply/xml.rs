//! A thin layer over quick-xml's writer: every text and attribute value goes through its
//! escaping; nothing here concatenates markup.

use std::io;

use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

pub(crate) struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    /// A document with its XML declaration written.
    pub(crate) fn new() -> io::Result<Self> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(Xml { w })
    }

    /// `<name attrs…>` then whatever `body` writes, then `</name>`.
    pub(crate) fn element(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        body: impl FnOnce(&mut Xml) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for &attr in attrs {
            start.push_attribute(attr);
        }
        self.w.write_event(Event::Start(start))?;
        body(self)?;
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name/>`.
    pub(crate) fn empty(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::Empty(BytesStart::new(name)))
    }

    /// `<name attrs…>text</name>`, the text escaped.
    pub(crate) fn text_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> io::Result<()> {
        let mut start = BytesStart::new(name);
        for &attr in attrs {
            start.push_attribute(attr);
        }
        self.w.write_event(Event::Start(start))?;
        // Text needs only `<`, `>`, `&` escaped; attributes get quotes escaped too.
        self.w
            .write_event(Event::Text(BytesText::from_escaped(partial_escape(text))))?;
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    /// `<name>text</name>`, the text escaped.
    pub(crate) fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        self.text_with(name, &[], text)
    }

    /// `<name>text</name>` when there is a text.
    pub(crate) fn opt_text(&mut self, name: &str, text: Option<&str>) -> io::Result<()> {
        match text {
            Some(t) => self.text(name, t),
            None => Ok(()),
        }
    }

    /// SEDA's organisation: `<name><Identifier>id</Identifier></name>`.
    pub(crate) fn organization(&mut self, name: &str, id: &str) -> io::Result<()> {
        self.element(name, &[], |x| x.text("Identifier", id))
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        let mut bytes = self.w.into_inner();
        bytes.push(b'\n');
        bytes
    }
}
