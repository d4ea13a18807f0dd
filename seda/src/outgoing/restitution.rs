//! ArchiveRestitutionRequest (the originating agency asks for its units back) and
//! ArchiveRestitutionRequestReply (the archival agency's answer), identical in SEDA 2.1, 2.2 and
//! 2.3. Between the header and the units (`notification::UnitsMessage`) the reply has its own
//! `ReplyCode?, Operation?, MessageRequestIdentifier`; the request nothing.

use chrono::{DateTime, Utc};

use crate::notification::units_message;
use crate::reply::text;
use crate::reply::{ReplyError, SedaVersion};

const REQUEST: &str = "ArchiveRestitutionRequest";
const REPLY: &str = "ArchiveRestitutionRequestReply";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestitutionMessage {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    /// For the reply: the request's MessageIdentifier (ignored by the request).
    pub message_request_identifier: Option<String>,
    /// For the reply: `OK` (restitution granted) or `KO`.
    pub reply_code: Option<String>,
    pub unit_identifiers: Vec<String>,
    pub archival_agency: String,
    pub originating_agency: String,
}

/// The request, valid against the XSD of `m.version`.
pub fn write_restitution_request(m: &RestitutionMessage) -> Result<Vec<u8>, ReplyError> {
    write(REQUEST, m, None)
}

/// The reply, valid against the XSD of `m.version`; fails when the request's identifier or the
/// reply code is missing.
pub fn write_restitution_reply(m: &RestitutionMessage) -> Result<Vec<u8>, ReplyError> {
    let missing = |field: &str| ReplyError::MissingField {
        message: REPLY,
        field: field.into(),
    };
    let request = m
        .message_request_identifier
        .as_deref()
        .filter(|r| !text::is_blank(r))
        .ok_or_else(|| missing("message_request_identifier"))?;
    let request = text::identifier(REPLY, "message_request_identifier", request)?;
    let code = m
        .reply_code
        .as_deref()
        .filter(|r| !text::is_blank(r))
        .ok_or_else(|| missing("reply_code"))?;
    let code = text::identifier(REPLY, "reply_code", code)?;
    write(REPLY, m, Some((code, request)))
}

fn write(
    message: &'static str,
    m: &RestitutionMessage,
    reply: Option<(String, String)>,
) -> Result<Vec<u8>, ReplyError> {
    units_message!(m).write(message, |x| match &reply {
        Some((code, request)) => {
            x.text("ReplyCode", code)?;
            x.text("MessageRequestIdentifier", request)
        }
        None => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RestitutionMessage {
        RestitutionMessage {
            version: SedaVersion::V2_1,
            message_identifier: "REST-1-REPLY".into(),
            date: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            comments: vec!["Restitution <fin de convention>".into()],
            archival_agreement: None,
            message_request_identifier: Some("REST-1-REQ".into()),
            reply_code: Some("OK".into()),
            unit_identifiers: vec!["U1".into()],
            archival_agency: "AA".into(),
            originating_agency: "OA".into(),
        }
    }

    #[test]
    fn the_reply_carries_its_code_and_request_in_schema_order() {
        let xml = String::from_utf8(write_restitution_reply(&sample()).unwrap()).unwrap();
        let order = [
            "<ArchiveRestitutionRequestReply",
            "&lt;fin de convention&gt;",
            "<CodeListVersions/>",
            "<ReplyCode>OK</ReplyCode>",
            "<MessageRequestIdentifier>REST-1-REQ<",
            "<UnitIdentifier>U1<",
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
        let req = String::from_utf8(write_restitution_request(&sample()).unwrap()).unwrap();
        assert!(
            req.contains("<ArchiveRestitutionRequest ") && !req.contains("ReplyCode"),
            "{req}"
        );
    }

    #[test]
    fn a_reply_without_request_or_units_is_refused() {
        let mut m = sample();
        m.message_request_identifier = None;
        assert!(matches!(
            write_restitution_reply(&m),
            Err(ReplyError::MissingField { .. })
        ));
        let mut m = sample();
        m.unit_identifiers.clear();
        assert!(write_restitution_request(&m).is_err());
    }
}
