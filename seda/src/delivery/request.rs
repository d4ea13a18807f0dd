//! ArchiveDeliveryRequest: read from requesters, written by clients.

use chrono::{DateTime, Utc};

use crate::message::{self, MessageError, Seq};
use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::ReplyError;
use crate::version::SedaVersion;

const MESSAGE: &str = "ArchiveDeliveryRequest";

/// A communication request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRequest {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    /// Whether the requester asks for a derogation (units not yet communicable).
    pub derogation: bool,
    /// The units asked for, in the order given, each once.
    pub unit_identifiers: Vec<String>,
    pub archival_agency: String,
    pub requester: String,
}

/// Reads an ArchiveDeliveryRequest, checking the element order of the schema; a unit listed
/// twice is refused (it would be delivered once, silently).
pub fn parse_delivery_request(xml: &[u8]) -> Result<DeliveryRequest, MessageError> {
    let (version, root) = message::read_root(xml, MESSAGE)?;
    let mut seq = Seq::new(MESSAGE, &root);
    let head = message::head(MESSAGE, &mut seq)?;
    let derogation = message::boolean(MESSAGE, "Derogation", seq.req("Derogation")?)?;
    let first = seq.req("UnitIdentifier")?;
    let mut units = Vec::new();
    for n in std::iter::once(first).chain(seq.many("UnitIdentifier")) {
        let id = message::identifier(MESSAGE, "UnitIdentifier", n)?;
        if units.contains(&id) {
            return Err(message::invalid(
                MESSAGE,
                "UnitIdentifier",
                n,
                "listed twice: name each unit once",
            ));
        }
        units.push(id);
    }
    let agency = message::organization(MESSAGE, "ArchivalAgency", seq.req("ArchivalAgency")?)?;
    let requester = message::organization(MESSAGE, "Requester", seq.req("Requester")?)?;
    seq.end("nothing after Requester")?;
    Ok(DeliveryRequest {
        version,
        message_identifier: head.message_identifier,
        date: head.date,
        comments: head.comments,
        archival_agreement: head.archival_agreement,
        derogation,
        unit_identifiers: units,
        archival_agency: agency,
        requester,
    })
}

/// Writes `r` as UTF-8 XML valid against the XSD of `r.version`.
pub fn write_delivery_request(r: &DeliveryRequest) -> Result<Vec<u8>, ReplyError> {
    let date = text::date_time("date", &r.date)?;
    let id = text::identifier(MESSAGE, "message_identifier", &r.message_identifier)?;
    let agreement = match r.archival_agreement.as_deref() {
        Some(a) if !text::is_blank(a) => Some(text::identifier(MESSAGE, "archival_agreement", a)?),
        _ => None,
    };
    if r.unit_identifiers.is_empty() {
        return Err(ReplyError::MissingField {
            message: MESSAGE,
            field: "unit_identifiers".into(),
        });
    }
    let units = r
        .unit_identifiers
        .iter()
        .enumerate()
        .map(|(i, u)| text::identifier(MESSAGE, &format!("unit_identifiers[{i}]"), u))
        .collect::<Result<Vec<_>, _>>()?;
    let agency = text::identifier(MESSAGE, "archival_agency", &r.archival_agency)?;
    let requester = text::identifier(MESSAGE, "requester", &r.requester)?;
    let comments: Vec<String> = r.comments.iter().map(|c| text::free_text(c)).collect();
    let mut x = Xml::new()?;
    x.element(MESSAGE, &[("xmlns", r.version.namespace())], |x| {
        for c in &comments {
            x.text("Comment", c)?;
        }
        x.text("Date", &date)?;
        x.text("MessageIdentifier", &id)?;
        x.opt_text("ArchivalAgreement", agreement.as_deref())?;
        x.element("CodeListVersions", &[], |x| {
            x.text(
                "ReplyCodeListVersion",
                crate::authorization::AUTHORIZATION_REPLY_CODE_LIST,
            )
        })?;
        x.text("Derogation", if r.derogation { "true" } else { "false" })?;
        for u in &units {
            x.text("UnitIdentifier", u)?;
        }
        x.organization("ArchivalAgency", &agency)?;
        x.organization("Requester", &requester)
    })?;
    Ok(x.finish())
}
