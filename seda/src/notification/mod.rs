//! SEDA notifications an archival agency sends after acting on archived units: the
//! ArchiveDestructionNotification (units eliminated under a control authority's authorisation)
//! and the ArchiveModificationNotification (their management metadata changed).
//!
//! Both extend `BusinessNotificationMessageType`, identical in SEDA 2.1, 2.2 and 2.3:
//! `Comment*, Date, MessageIdentifier, ArchivalAgreement?, CodeListVersions`, then the message's
//! own elements. Written with the same escaping writer as the replies (`reply::xml`).

mod destruction;
mod modification;

pub use destruction::{write_destruction_notification, DestructionNotification};
pub use modification::{write_modification_notification, ModificationNotification};

use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::ReplyError;

/// The elements every notification starts with.
pub(crate) struct Header {
    pub comments: Vec<String>,
    pub date: String,
    pub message_identifier: String,
    pub archival_agreement: Option<String>,
}

impl Header {
    pub(crate) fn new(
        message: &'static str,
        comments: &[String],
        date: &chrono::DateTime<chrono::Utc>,
        message_identifier: &str,
        archival_agreement: Option<&str>,
    ) -> Result<Self, ReplyError> {
        Ok(Header {
            comments: comments.iter().map(|c| text::free_text(c)).collect(),
            date: text::date_time("date", date)?,
            message_identifier: text::identifier(message, "message_identifier", message_identifier)?,
            archival_agreement: match archival_agreement.filter(|a| !text::is_blank(a)) {
                Some(a) => Some(text::identifier(message, "archival_agreement", a)?),
                None => None,
            },
        })
    }

    pub(crate) fn write(&self, x: &mut Xml) -> std::io::Result<()> {
        for c in &self.comments {
            x.text("Comment", c)?;
        }
        x.text("Date", &self.date)?;
        x.text("MessageIdentifier", &self.message_identifier)?;
        x.opt_text("ArchivalAgreement", self.archival_agreement.as_deref())?;
        x.empty("CodeListVersions")
    }
}

/// Unit identifiers, each checked; SEDA requires at least one.
pub(crate) fn unit_identifiers(message: &'static str, units: &[String]) -> Result<Vec<String>, ReplyError> {
    if units.is_empty() {
        return Err(ReplyError::MissingField {
            message,
            field: "unit_identifiers".into(),
        });
    }
    units
        .iter()
        .enumerate()
        .map(|(i, u)| text::identifier(message, &format!("unit_identifiers[{i}]"), u))
        .collect()
}
