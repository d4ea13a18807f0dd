//! ArchiveModificationNotification: "the management metadata of these units changed". After
//! `Header`: `UnitIdentifier+, ArchivalAgency, OriginatingAgency`.

use chrono::{DateTime, Utc};

use super::{unit_identifiers, Header};
use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::{ReplyError, SedaVersion};

const MESSAGE: &str = "ArchiveModificationNotification";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModificationNotification {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    /// What changed, in words (one comment per change).
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    pub unit_identifiers: Vec<String>,
    pub archival_agency: String,
    pub originating_agency: String,
}

/// The notification as UTF-8 XML, valid against the XSD of `n.version`.
pub fn write_modification_notification(n: &ModificationNotification) -> Result<Vec<u8>, ReplyError> {
    let header = Header::new(
        MESSAGE,
        &n.comments,
        &n.date,
        &n.message_identifier,
        n.archival_agreement.as_deref(),
    )?;
    let units = unit_identifiers(MESSAGE, &n.unit_identifiers)?;
    let archival = text::identifier(MESSAGE, "archival_agency", &n.archival_agency)?;
    let originating = text::identifier(MESSAGE, "originating_agency", &n.originating_agency)?;
    let mut x = Xml::new()?;
    x.element(MESSAGE, &[("xmlns", n.version.namespace())], |x| {
        header.write(x)?;
        for u in &units {
            x.text("UnitIdentifier", u)?;
        }
        x.organization("ArchivalAgency", &archival)?;
        x.organization("OriginatingAgency", &originating)
    })?;
    Ok(x.finish())
}
