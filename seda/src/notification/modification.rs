//! ArchiveModificationNotification: "the management metadata of these units changed". No
//! element of its own between the header and the units (`frame`).

use chrono::{DateTime, Utc};

use super::units_message;
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
    units_message!(n).write(MESSAGE, |_| Ok(()))
}
