//! Reading the SEDA business messages other than ArchiveTransfer (authorisation replies,
//! delivery requests): the XML is read into the bounded tree of [`crate::manifest`] (no DTD,
//! no external entity, bounded size and depth), then walked child by child in the order the
//! message's XSD requires, so a misplaced, unknown or missing element is refused by name and
//! line instead of being silently skipped.

mod error;

use std::iter::Peekable;
use std::slice;

use chrono::{DateTime, NaiveDateTime, Utc};

pub use error::MessageError;

use crate::manifest::tree::{self, Node};
use crate::manifest::{encoding, ParseLimits};
use crate::version::SedaVersion;

/// Largest business message read: these messages list identifiers, not data; 4 MiB holds
/// tens of thousands of unit identifiers.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

fn limits() -> ParseLimits {
    ParseLimits {
        max_bytes: MAX_MESSAGE_BYTES,
        max_depth: 64,
        max_elements: 200_000,
        max_text_len: 64 * 1024,
        max_units: 10_000,
        max_objects: 10_000,
    }
}

/// Reads `xml`, whose root must be `expected` in a SEDA 2.1, 2.2 or 2.3 namespace.
pub(crate) fn read_root(xml: &[u8], expected: &str) -> Result<(SedaVersion, Node), MessageError> {
    if xml.len() > MAX_MESSAGE_BYTES {
        return Err(MessageError::TooLarge {
            size: xml.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let text = encoding::decode(xml)?;
    let limits = limits();
    let mut found = String::new();
    // The version is the namespace that makes the root a SEDA element; a syntax error is
    // reported by the first reading.
    for version in SedaVersion::ALL {
        let root = tree::build(&text, version.namespace(), &limits)?;
        if !root.foreign {
            if root.name != expected {
                return Err(MessageError::WrongRoot {
                    expected: expected.to_owned(),
                    found: format!("{} (SEDA {version})", root.name),
                });
            }
            return Ok((version, root));
        }
        found = root.name;
    }
    Err(MessageError::NotSeda { found })
}

/// The children of one element, consumed in schema order.
pub(crate) struct Seq<'a> {
    message: &'static str,
    parent: &'a str,
    nodes: Peekable<slice::Iter<'a, Node>>,
}

impl<'a> Seq<'a> {
    pub(crate) fn new(message: &'static str, parent: &'a Node) -> Self {
        Seq {
            message,
            parent: &parent.name,
            nodes: parent.children.iter().peekable(),
        }
    }

    /// The next child when it is the SEDA element `name`.
    pub(crate) fn opt(&mut self, name: &str) -> Option<&'a Node> {
        match self.nodes.peek() {
            Some(n) if !n.foreign && n.name == name => self.nodes.next(),
            _ => None,
        }
    }

    /// Every next child named `name`.
    pub(crate) fn many(&mut self, name: &str) -> Vec<&'a Node> {
        let mut out = Vec::new();
        while let Some(n) = self.opt(name) {
            out.push(n);
        }
        out
    }

    /// The next child, which must be `name`.
    pub(crate) fn req(&mut self, name: &'static str) -> Result<&'a Node, MessageError> {
        if let Some(n) = self.opt(name) {
            return Ok(n);
        }
        match self.nodes.peek().copied() {
            Some(n) => Err(self.unexpected(n, name)),
            None => Err(MessageError::Missing {
                message: self.message,
                element: name,
                parent: self.parent.to_owned(),
            }),
        }
    }

    /// Refuses any child left over.
    pub(crate) fn end(mut self, expected: &str) -> Result<(), MessageError> {
        match self.nodes.next() {
            Some(n) => Err(self.unexpected(n, expected)),
            None => Ok(()),
        }
    }

    fn unexpected(&self, n: &Node, expected: &str) -> MessageError {
        MessageError::Unexpected {
            message: self.message,
            element: if n.foreign {
                format!("{} (outside the SEDA namespace)", n.name)
            } else {
                n.name.clone()
            },
            line: n.line,
            expected: expected.to_owned(),
        }
    }
}

/// The element's text as `xsd:token` reads it: trimmed, inner whitespace collapsed.
pub(crate) fn token(n: &Node) -> String {
    n.text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A required identifier: a non-empty token.
pub(crate) fn identifier(message: &'static str, element: &'static str, n: &Node) -> Result<String, MessageError> {
    let t = token(n);
    if t.is_empty() {
        return Err(invalid(message, element, n, "empty: give the identifier"));
    }
    Ok(t)
}

/// `OrganizationType`: `Identifier, OrganizationDescriptiveMetadata?`; returns the identifier.
pub(crate) fn organization(message: &'static str, element: &'static str, n: &Node) -> Result<String, MessageError> {
    let mut seq = Seq::new(message, n);
    let id = identifier(message, element, seq.req("Identifier")?)?;
    seq.opt("OrganizationDescriptiveMetadata");
    seq.end("nothing after Identifier and OrganizationDescriptiveMetadata")?;
    Ok(id)
}

/// An `xsd:dateTime`; one without a time zone is taken as UTC.
pub(crate) fn date_time(message: &'static str, element: &'static str, n: &Node) -> Result<DateTime<Utc>, MessageError> {
    let t = token(n);
    if let Ok(d) = DateTime::parse_from_rfc3339(&t) {
        return Ok(d.with_timezone(&Utc));
    }
    match NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(d) => Ok(d.and_utc()),
        Err(_) => Err(invalid(
            message,
            element,
            n,
            "not an xsd:dateTime such as 2026-03-01T10:00:00Z",
        )),
    }
}

/// An `xsd:boolean`.
pub(crate) fn boolean(message: &'static str, element: &'static str, n: &Node) -> Result<bool, MessageError> {
    match token(n).as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(invalid(message, element, n, "not an xsd:boolean (true, false, 1 or 0)")),
    }
}

pub(crate) fn invalid(message: &'static str, element: &'static str, n: &Node, reason: &'static str) -> MessageError {
    MessageError::Invalid {
        message,
        element,
        line: n.line,
        value: crate::reply::text::cut(&n.text, 80),
        reason,
    }
}

/// `MessageType` then `BusinessMessageType`'s head: `Comment*, Date, MessageIdentifier,
/// Signature?, ArchivalAgreement?, CodeListVersions, DataObjectPackage?`.
pub(crate) struct Head {
    pub comments: Vec<String>,
    pub date: DateTime<Utc>,
    pub message_identifier: String,
    pub archival_agreement: Option<String>,
}

pub(crate) fn head(message: &'static str, seq: &mut Seq<'_>) -> Result<Head, MessageError> {
    let comments = seq
        .many("Comment")
        .into_iter()
        .map(|c| c.text.trim().to_owned())
        .collect();
    let date = date_time(message, "Date", seq.req("Date")?)?;
    let message_identifier = identifier(message, "MessageIdentifier", seq.req("MessageIdentifier")?)?;
    seq.opt("Signature");
    let archival_agreement = seq
        .opt("ArchivalAgreement")
        .map(|n| identifier(message, "ArchivalAgreement", n))
        .transpose()?;
    seq.req("CodeListVersions")?;
    seq.opt("DataObjectPackage");
    Ok(Head {
        comments,
        date,
        message_identifier,
        archival_agreement,
    })
}
