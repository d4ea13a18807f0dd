//! Writing an Acknowledgement: "your message arrived", before any processing verdict.
//!
//! `AcknowledgementType` (same in the 2.1, 2.2 and 2.3 XSDs) extends `MessageType` with
//! `Comment*, Date, MessageIdentifier, Signature?` then `MessageReceivedIdentifier, Sender,
//! Receiver`.

use chrono::{DateTime, Utc};

use super::text;
use super::xml::Xml;
use super::{ReplyError, SedaVersion, UNKNOWN_REQUEST_IDENTIFIER};

const MESSAGE: &str = "Acknowledgement";

/// A SEDA Acknowledgement of a received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    /// The SEDA version of the received message; the acknowledgement uses the same one.
    pub version: SedaVersion,
    /// This acknowledgement's own identifier.
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    /// The received message's `MessageIdentifier`; `None` (or blank) when it could not be
    /// read, and [`UNKNOWN_REQUEST_IDENTIFIER`] is written instead.
    pub message_received_identifier: Option<String>,
    /// Identifier of the acknowledging organisation (the archival agency). Required.
    pub sender: String,
    /// Identifier of the organisation that sent the message. Required.
    pub receiver: String,
}

/// The Acknowledgement for `a`, as UTF-8 XML valid against the XSD of `a.version`.
///
/// Fails, naming the field, when a required identifier is blank or too long, or the date is
/// outside years 1–9999.
pub fn write_acknowledgement(a: &Acknowledgement) -> Result<Vec<u8>, ReplyError> {
    let comments: Vec<String> = a.comments.iter().map(|c| text::free_text(c)).collect();
    let date = text::date_time("date", &a.date)?;
    let id = text::identifier(MESSAGE, "message_identifier", &a.message_identifier)?;
    let received = text::request_identifier(
        MESSAGE,
        "message_received_identifier",
        a.message_received_identifier.as_deref(),
        UNKNOWN_REQUEST_IDENTIFIER,
    )?;
    let sender = text::identifier(MESSAGE, "sender", &a.sender)?;
    let receiver = text::identifier(MESSAGE, "receiver", &a.receiver)?;

    let mut x = Xml::new()?;
    x.element(MESSAGE, &[("xmlns", a.version.namespace())], |x| {
        for c in &comments {
            x.text("Comment", c)?;
        }
        x.text("Date", &date)?;
        x.text("MessageIdentifier", &id)?;
        x.text("MessageReceivedIdentifier", &received)?;
        x.organization("Sender", &sender)?;
        x.organization("Receiver", &receiver)
    })?;
    Ok(x.finish())
}
