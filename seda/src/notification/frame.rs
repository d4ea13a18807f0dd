//! What the notifications and the restitution messages share: `Header` (`Comment*, Date,
//! MessageIdentifier, ArchivalAgreement?, CodeListVersions`), the message's own elements, then
//! `UnitIdentifier+, ArchivalAgency, OriginatingAgency`.

use std::io;

use chrono::{DateTime, Utc};

use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::{ReplyError, SedaVersion};

/// The fields of a message about units, around its own elements.
pub(crate) struct UnitsMessage<'a> {
    pub version: SedaVersion,
    pub message_identifier: &'a str,
    pub date: &'a DateTime<Utc>,
    pub comments: &'a [String],
    pub archival_agreement: Option<&'a str>,
    pub unit_identifiers: &'a [String],
    pub archival_agency: &'a str,
    pub originating_agency: &'a str,
}

/// The `UnitsMessage` of a public message struct: they all name these fields alike.
macro_rules! units_message {
    ($m:expr) => {
        $crate::notification::UnitsMessage {
            version: $m.version,
            message_identifier: &$m.message_identifier,
            date: &$m.date,
            comments: &$m.comments,
            archival_agreement: $m.archival_agreement.as_deref(),
            unit_identifiers: &$m.unit_identifiers,
            archival_agency: &$m.archival_agency,
            originating_agency: &$m.originating_agency,
        }
    };
}
pub(crate) use units_message;

impl UnitsMessage<'_> {
    /// `message` as UTF-8 XML, with `own` (checked by the caller) written after the header; fails
    /// naming the field when an identifier is blank or too long, or no unit is given.
    pub(crate) fn write(
        &self,
        message: &'static str,
        own: impl FnOnce(&mut Xml) -> io::Result<()>,
    ) -> Result<Vec<u8>, ReplyError> {
        let header = Header::new(
            message,
            self.comments,
            self.date,
            self.message_identifier,
            self.archival_agreement,
        )?;
        let units = unit_identifiers(message, self.unit_identifiers)?;
        let archival = text::identifier(message, "archival_agency", self.archival_agency)?;
        let originating = text::identifier(message, "originating_agency", self.originating_agency)?;
        let mut x = Xml::new()?;
        x.element(message, &[("xmlns", self.version.namespace())], |x| {
            header.write(x)?;
            own(x)?;
            for u in &units {
                x.text("UnitIdentifier", u)?;
            }
            x.organization("ArchivalAgency", &archival)?;
            x.organization("OriginatingAgency", &originating)
        })?;
        Ok(x.finish())
    }
}

/// The elements every notification starts with.
struct Header {
    comments: Vec<String>,
    date: String,
    message_identifier: String,
    archival_agreement: Option<String>,
}

impl Header {
    fn new(
        message: &'static str,
        comments: &[String],
        date: &DateTime<Utc>,
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

    fn write(&self, x: &mut Xml) -> io::Result<()> {
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
fn unit_identifiers(message: &'static str, units: &[String]) -> Result<Vec<String>, ReplyError> {
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
