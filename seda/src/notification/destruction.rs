//! ArchiveDestructionNotification: "these units were eliminated, under this authorisation".
//! Its own element, between the header and the units (`frame`): `AuthorizationRequestReplyIdentifier`.

use chrono::{DateTime, Utc};

use super::units_message;
use crate::reply::text;
use crate::reply::{ReplyError, SedaVersion};

const MESSAGE: &str = "ArchiveDestructionNotification";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestructionNotification {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    /// The MessageIdentifier of the AuthorizationControlAuthorityRequestReply that approved it.
    pub authorization_reply_identifier: String,
    /// The eliminated units, by the identifiers the originating agency knows them by.
    pub unit_identifiers: Vec<String>,
    pub archival_agency: String,
    pub originating_agency: String,
}

/// The notification as UTF-8 XML, valid against the XSD of `n.version`; fails naming the field
/// when an identifier is blank or too long, or no unit is given.
pub fn write_destruction_notification(n: &DestructionNotification) -> Result<Vec<u8>, ReplyError> {
    let reply = text::identifier(
        MESSAGE,
        "authorization_reply_identifier",
        &n.authorization_reply_identifier,
    )?;
    units_message!(n).write(MESSAGE, |x| x.text("AuthorizationRequestReplyIdentifier", &reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DestructionNotification {
        DestructionNotification {
            version: SedaVersion::V2_2,
            message_identifier: "ELIM-1-NOTIF".into(),
            date: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            comments: vec!["Élimination <visée>".into()],
            archival_agreement: None,
            authorization_reply_identifier: "VISA-1".into(),
            unit_identifiers: vec!["U1".into(), "U2".into()],
            archival_agency: "Identifier4".into(),
            originating_agency: "Identifier5".into(),
        }
    }

    #[test]
    fn writes_the_elements_in_schema_order_and_escaped() {
        let xml = String::from_utf8(write_destruction_notification(&sample()).unwrap()).unwrap();
        let order = [
            "<Comment>Élimination &lt;visée&gt;</Comment>",
            "<Date>",
            "<MessageIdentifier>ELIM-1-NOTIF</MessageIdentifier>",
            "<CodeListVersions/>",
            "<AuthorizationRequestReplyIdentifier>VISA-1<",
            "<UnitIdentifier>U1</UnitIdentifier>",
            "<UnitIdentifier>U2</UnitIdentifier>",
            "<ArchivalAgency>",
            "<OriginatingAgency>",
        ];
        let mut at = 0;
        for part in order {
            let found = xml[at..]
                .find(part)
                .unwrap_or_else(|| panic!("{part} missing or out of order:\n{xml}"));
            at += found + part.len();
        }
    }

    #[test]
    fn refuses_an_empty_unit_list_or_a_blank_reply() {
        let mut n = sample();
        n.unit_identifiers.clear();
        assert!(matches!(
            write_destruction_notification(&n),
            Err(ReplyError::MissingField { .. })
        ));
        let mut n = sample();
        n.authorization_reply_identifier = " ".into();
        assert!(write_destruction_notification(&n).is_err());
    }
}
