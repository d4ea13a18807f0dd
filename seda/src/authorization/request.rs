//! Writing AuthorizationOriginatingAgencyRequest and AuthorizationControlAuthorityRequest.

use std::collections::HashSet;

use super::model::{AuthorizationRequest, AUTHORIZATION_REPLY_CODE_LIST};
use crate::reply::text;
use crate::reply::xml::Xml;
use crate::reply::ReplyError;

/// The request for `r`, addressed to `r.authority`, as UTF-8 XML valid against the XSD of
/// `r.version`.
///
/// Fails, naming the field, when a required identifier or the reason is blank, an identifier
/// is too long, a unit is listed twice, no unit is listed, or the date is outside years 1–9999.
pub fn write_authorization_request(r: &AuthorizationRequest) -> Result<Vec<u8>, ReplyError> {
    let message = r.authority.kind.request_element();
    let date = text::date_time("date", &r.date)?;
    let id = text::identifier(message, "message_identifier", &r.message_identifier)?;
    let agreement = match r.archival_agreement.as_deref() {
        Some(a) if !text::is_blank(a) => Some(text::identifier(message, "archival_agreement", a)?),
        _ => None,
    };
    let reason = token(message, "reason", &r.reason)?;
    let request_date = xsd_date("request_date", r.request_date)?;
    if r.unit_identifiers.is_empty() {
        return Err(ReplyError::MissingField {
            message,
            field: "unit_identifiers".into(),
        });
    }
    let mut seen = HashSet::new();
    let mut units = Vec::with_capacity(r.unit_identifiers.len());
    for (i, u) in r.unit_identifiers.iter().enumerate() {
        let field = format!("unit_identifiers[{i}]");
        let u = text::identifier(message, &field, u)?;
        if !seen.insert(u.clone()) {
            return Err(ReplyError::DuplicateId {
                field,
                value: text::for_error(&u),
            });
        }
        units.push(u);
    }
    let requester = text::identifier(message, "requester", &r.requester)?;
    let agency = text::identifier(message, "archival_agency", &r.archival_agency)?;
    let authority = text::identifier(message, "authority.identifier", &r.authority.identifier)?;
    let comments: Vec<String> = r.comments.iter().map(|c| text::free_text(c)).collect();
    let request_comments: Vec<String> = r.request_comments.iter().map(|c| text::free_text(c)).collect();

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
        x.element("AuthorizationRequestContent", &[], |x| {
            x.text("AuthorizationReason", &reason)?;
            for c in &request_comments {
                x.text("Comment", c)?;
            }
            x.text("RequestDate", &request_date)?;
            for u in &units {
                x.text("UnitIdentifier", u)?;
            }
            x.organization("Requester", &requester)
        })?;
        x.organization("ArchivalAgency", &agency)?;
        x.organization(r.authority.kind.organization_element(), &authority)
    })?;
    Ok(x.finish())
}

/// A required `xsd:token` written on one line: cleaned, whitespace collapsed, not blank, at
/// most [`text::MAX_IDENTIFIER_CHARS`] characters.
pub(crate) fn token(message: &'static str, field: &str, s: &str) -> Result<String, ReplyError> {
    let collapsed = text::clean(s).split_whitespace().collect::<Vec<_>>().join(" ");
    text::identifier(message, field, &collapsed)
}

/// An `xsd:date` in years 1–9999.
pub(crate) fn xsd_date(field: &str, d: chrono::NaiveDate) -> Result<String, ReplyError> {
    use chrono::Datelike;
    if !(1..=9999).contains(&d.year()) {
        return Err(ReplyError::DateOutOfRange {
            field: field.to_owned(),
            value: d.to_string(),
        });
    }
    Ok(d.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::authorization::{Authority, AuthorityKind};
    use crate::version::SedaVersion;

    fn request() -> AuthorizationRequest {
        AuthorizationRequest {
            version: SedaVersion::V2_2,
            message_identifier: "DRG-1".into(),
            date: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 0).unwrap(),
            comments: vec![],
            archival_agreement: None,
            reason: "  Dérogation\n L213-3 ".into(),
            request_comments: vec!["thèse <histoire> & société".into()],
            request_date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            unit_identifiers: vec!["u1".into(), "u2".into()],
            requester: "lecteur-42".into(),
            archival_agency: "region".into(),
            authority: Authority {
                kind: AuthorityKind::OriginatingAgency,
                identifier: "DGS".into(),
            },
        }
    }

    #[test]
    fn reason_is_one_line_and_text_is_escaped() {
        let xml = String::from_utf8(write_authorization_request(&request()).unwrap()).unwrap();
        assert!(
            xml.contains("<AuthorizationReason>Dérogation L213-3</AuthorizationReason>"),
            "{xml}"
        );
        assert!(xml.contains("thèse &lt;histoire&gt; &amp; société"), "{xml}");
        assert!(
            xml.contains("<OriginatingAgency>\n    <Identifier>DGS</Identifier>"),
            "{xml}"
        );
    }

    #[test]
    fn refuses_no_unit_a_twice_listed_unit_and_a_blank_reason() {
        let mut r = request();
        r.unit_identifiers.clear();
        assert!(
            matches!(write_authorization_request(&r), Err(ReplyError::MissingField { field, .. }) if field == "unit_identifiers")
        );
        let mut r = request();
        r.unit_identifiers.push("u1".into());
        assert!(
            matches!(write_authorization_request(&r), Err(ReplyError::DuplicateId { field, .. }) if field == "unit_identifiers[2]")
        );
        let mut r = request();
        r.reason = " \n".into();
        assert!(
            matches!(write_authorization_request(&r), Err(ReplyError::MissingField { field, .. }) if field == "reason")
        );
    }
}
