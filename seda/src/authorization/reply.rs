//! AuthorizationOriginatingAgencyRequestReply and AuthorizationControlAuthorityRequestReply:
//! read when an authority sends its own message, written when it answers through Archipel's
//! API (so the stored decision is a SEDA message either way).

use super::model::{
    Authority, AuthorityKind, AuthorizationDecision, AuthorizationReply, AUTHORIZATION_REPLY_CODE_LIST,
};
use super::request::token;
use crate::message::{self, MessageError, Seq};
use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::ReplyError;

/// Reads an authority's reply, either kind; the root element says which (`authority.kind`).
///
/// Refused, naming the element: anything but one of the two reply messages in SEDA 2.1–2.3,
/// elements out of the schema's order, a missing or unknown `ReplyCode` (only `OK` and `KO`
/// decide), blank identifiers, unreadable dates, DTDs, oversized input.
pub fn parse_authorization_reply(xml: &[u8]) -> Result<AuthorizationReply, MessageError> {
    // The root decides the kind; read it once with the first expectation, then retry with
    // the second only when the root was the other reply.
    let (kind, (version, root)) = match message::read_root(xml, AuthorityKind::ControlAuthority.reply_element()) {
        Ok(r) => (AuthorityKind::ControlAuthority, r),
        Err(MessageError::WrongRoot { found, .. })
            if found.starts_with(AuthorityKind::OriginatingAgency.reply_element()) =>
        {
            let r = message::read_root(xml, AuthorityKind::OriginatingAgency.reply_element())?;
            (AuthorityKind::OriginatingAgency, r)
        }
        Err(MessageError::WrongRoot { found, .. }) => {
            return Err(MessageError::WrongRoot {
                expected: "AuthorizationOriginatingAgencyRequestReply or AuthorizationControlAuthorityRequestReply"
                    .into(),
                found,
            })
        }
        Err(e) => return Err(e),
    };
    let name = kind.reply_element();
    let mut seq = Seq::new(name, &root);
    let head = message::head(name, &mut seq)?;
    let decision = match seq.opt("ReplyCode") {
        Some(n) => AuthorizationDecision::from_reply_code(&message::token(n)).ok_or_else(|| {
            message::invalid(
                name,
                "ReplyCode",
                n,
                "not a decision: answer OK (approved) or KO (refused)",
            )
        })?,
        None => {
            return Err(MessageError::Missing {
                message: name,
                element: "ReplyCode",
                parent: name.to_owned(),
            })
        }
    };
    seq.opt("Operation");
    let request_id = message::identifier(name, "MessageRequestIdentifier", seq.req("MessageRequestIdentifier")?)?;
    let agency = message::organization(name, "ArchivalAgency", seq.req("ArchivalAgency")?)?;
    let authority_element = kind.organization_element();
    let authority = message::organization(name, "Identifier", seq.req(authority_element)?)?;
    seq.end(&format!("nothing after {authority_element}"))?;
    Ok(AuthorizationReply {
        version,
        message_identifier: head.message_identifier,
        date: head.date,
        comments: head.comments,
        archival_agreement: head.archival_agreement,
        decision,
        message_request_identifier: request_id,
        archival_agency: agency,
        authority: Authority {
            kind,
            identifier: authority,
        },
    })
}

/// The reply `r`, as UTF-8 XML valid against the XSD of `r.version`.
pub fn write_authorization_reply(r: &AuthorizationReply) -> Result<Vec<u8>, ReplyError> {
    let message = r.authority.kind.reply_element();
    let date = text::date_time("date", &r.date)?;
    let id = text::identifier(message, "message_identifier", &r.message_identifier)?;
    let agreement = match r.archival_agreement.as_deref() {
        Some(a) if !text::is_blank(a) => Some(text::identifier(message, "archival_agreement", a)?),
        _ => None,
    };
    let request_id = token(message, "message_request_identifier", &r.message_request_identifier)?;
    let agency = text::identifier(message, "archival_agency", &r.archival_agency)?;
    let authority = text::identifier(message, "authority.identifier", &r.authority.identifier)?;
    let comments: Vec<String> = r.comments.iter().map(|c| text::free_text(c)).collect();

    let mut x = Xml::new()?;
    x.element(message, &[("xmlns", r.version.namespace())], |x| {
        for c in &comments {
            x.text("Comment", c)?;
        }
        x.text("Date", &date)?;
        x.text("MessageIdentifier", &id)?;
        x.opt_text("ArchivalAgreement", agreement.as_deref())?;
        x.element("CodeListVersions", &[], |x| {
            x.text("ReplyCodeListVersion", AUTHORIZATION_REPLY_CODE_LIST)
        })?;
        x.text("ReplyCode", r.decision.reply_code())?;
        x.text("MessageRequestIdentifier", &request_id)?;
        x.organization("ArchivalAgency", &agency)?;
        x.organization(r.authority.kind.organization_element(), &authority)
    })?;
    Ok(x.finish())
}
