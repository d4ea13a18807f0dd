//! The derogation workflow (Code du patrimoine L213-3): the originating agency's consent, then
//! the control authority's decision, each asked with its SEDA authorisation message and
//! recorded with the matching reply (received as SEDA, or written by Archipel from an answer
//! given through the API).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use archipel_seda::authorization::{
    parse_authorization_reply, write_authorization_reply, write_authorization_request, Authority, AuthorityKind,
    AuthorizationDecision, AuthorizationReply, AuthorizationRequest,
};
use archipel_seda::version::SedaVersion;

use super::{AuthorizationStep, Delivery, DeliveryStatus};
use crate::access::guard::{self, Grant};
use crate::auth::{Principal, Role};
use crate::error::{ArchiveError, Result};
use crate::model::Tenant;
use crate::service::Archive;
use crate::store::Write;

/// The reason written in the authorisation requests.
pub const REASON: &str = "Dérogation L213-3 du Code du patrimoine";
/// The control authority's identifier when the originating agency's answer names none.
pub const DEFAULT_CONTROL_AUTHORITY: &str = "controle-scientifique-et-technique";

fn version(d: &Delivery) -> SedaVersion {
    SedaVersion::ALL
        .into_iter()
        .find(|v| v.as_str() == d.seda_version)
        .unwrap_or(SedaVersion::V2_2)
}

fn write_error(e: archipel_seda::reply::ReplyError) -> ArchiveError {
    ArchiveError::Invalid(format!("the authorisation message cannot be written: {e}"))
}

/// Writes, stores and records one authorisation request.
async fn ask(
    a: &Archive,
    t: &Tenant,
    d: &Delivery,
    authority: Authority,
    units: Vec<String>,
    message_id: String,
    comments: Vec<String>,
) -> Result<AuthorizationStep> {
    let now = Utc::now();
    let request = AuthorizationRequest {
        version: version(d),
        message_identifier: message_id.clone(),
        date: now,
        comments: vec![format!("Demande de communication {} de {}", d.id, d.requester)],
        archival_agreement: None,
        reason: REASON.into(),
        request_comments: comments,
        request_date: d.created_at.date_naive(),
        unit_identifiers: units.clone(),
        requester: d.requester.clone(),
        archival_agency: t.archival_agency.clone(),
        authority: authority.clone(),
    };
    let xml = write_authorization_request(&request).map_err(write_error)?;
    let key = super::store_message(a, &d.tenant, &d.id, &message_id, &xml).await?;
    Ok(AuthorizationStep {
        authority: authority.kind,
        authority_id: authority.identifier,
        units,
        request_message_id: message_id,
        request_key: key,
        decision: None,
        reason: None,
        reply_message_id: None,
        reply_key: None,
        decided_by: None,
        decided_at: None,
    })
}

/// One AuthorizationOriginatingAgencyRequest per originating agency of the restricted units
/// (units without one go to the archival agency itself).
pub async fn ask_originating_agencies(a: &Archive, t: &Tenant, d: &mut Delivery) -> Result<()> {
    let mut by_agency: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &d.restricted {
        let agency = r
            .originating_agency
            .clone()
            .unwrap_or_else(|| t.archival_agency.clone());
        by_agency.entry(agency).or_default().push(r.unit.clone());
    }
    for (n, (agency, units)) in by_agency.into_iter().enumerate() {
        let comments = d
            .restricted
            .iter()
            .filter(|r| units.contains(&r.unit))
            .map(|r| format!("{} : {}", r.unit, r.reason))
            .chain(d.comment.clone())
            .collect();
        let authority = Authority {
            kind: AuthorityKind::OriginatingAgency,
            identifier: agency,
        };
        let step = ask(a, t, d, authority, units, format!("{}-OA-{}", d.id, n + 1), comments).await?;
        d.authorizations.push(step);
    }
    Ok(())
}

/// An answer given through the API.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub decision: AuthorizationDecision,
    /// Why (required when refusing; written as the reply's Comment).
    #[serde(default)]
    pub reason: Option<String>,
    /// With the originating agency's consent: the control authority to ask next.
    #[serde(default)]
    pub control_authority: Option<String>,
}

pub enum AnswerInput {
    Json(Answer),
    /// An AuthorizationOriginatingAgencyRequestReply or AuthorizationControlAuthorityRequestReply.
    Xml(Vec<u8>),
}

/// Who may answer for an authority: the control authority's own tokens for it; for an
/// originating agency, a token of that agency or an archivist recording its answer.
fn entitled(who: &Principal, step: &AuthorizationStep) -> bool {
    if who.all_tenants {
        return true;
    }
    match step.authority {
        AuthorityKind::ControlAuthority => who.role == Role::ControlAuthority,
        AuthorityKind::OriginatingAgency => {
            who.role == Role::Archivist
                || (who.role == Role::TransferringAgency && who.agency.as_deref() == Some(step.authority_id.as_str()))
        }
    }
}

/// Records an authority's answer on a pending delivery and moves it on.
pub async fn answer(a: &Arc<Archive>, who: &Principal, tenant: &str, id: &str, input: AnswerInput) -> Result<Delivery> {
    let t = a.refs.tenant(tenant).await?;
    let current = super::load(a, tenant, id).await?;
    let revision = current.revision;
    let mut d = current.value;
    let wanted = match d.status {
        DeliveryStatus::PendingOriginatingAgency => AuthorityKind::OriginatingAgency,
        DeliveryStatus::PendingControlAuthority => AuthorityKind::ControlAuthority,
        other => {
            return Err(ArchiveError::Conflict(format!(
                "delivery `{id}` is {other:?}: it awaits no authorisation"
            )))
        }
    };
    let received = match &input {
        AnswerInput::Xml(xml) => {
            let r = parse_authorization_reply(xml).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
            let root = r.authority.kind.reply_element();
            crate::seda_xsd::check_incoming(&a.config, root, r.version, xml).await?;
            Some(r)
        }
        AnswerInput::Json(_) => None,
    };
    // The step answered: the one the SEDA reply names, or the first one still open.
    let index = d
        .authorizations
        .iter()
        .position(|s| {
            s.authority == wanted
                && s.decision.is_none()
                && received
                    .as_ref()
                    .is_none_or(|r| r.message_request_identifier == s.request_message_id)
        })
        .ok_or_else(|| {
            ArchiveError::Invalid(match &received {
                Some(r) => format!(
                    "the reply answers `{}`, which is not an open {} request of delivery `{id}`",
                    r.message_request_identifier,
                    wanted.request_element()
                ),
                None => format!("delivery `{id}` has no open request to the {wanted:?}"),
            })
        })?;
    let step = d.authorizations[index].clone();
    if !entitled(who, &step) {
        let e = ArchiveError::Forbidden(format!(
            "the {} role cannot answer for the {} `{}`",
            who.role,
            step.authority.organization_element(),
            step.authority_id
        ));
        return Err(guard::refuse(a, who, tenant, id, e).await);
    }
    let (reply, xml, next_authority) = match input {
        AnswerInput::Xml(xml) => {
            let Some(r) = received else {
                return Err(ArchiveError::Internal("a SEDA reply was read but not kept".into()));
            };
            if r.authority.kind != step.authority || r.authority.identifier != step.authority_id {
                return Err(ArchiveError::Invalid(format!(
                    "the reply comes from the {:?} `{}`, but the request went to the {:?} `{}`",
                    r.authority.kind, r.authority.identifier, step.authority, step.authority_id
                )));
            }
            (r, xml, None)
        }
        AnswerInput::Json(ans) => {
            let reason = ans.reason.filter(|r| !r.trim().is_empty());
            if ans.decision == AuthorizationDecision::Refused && reason.is_none() {
                return Err(ArchiveError::Invalid(
                    "a refusal needs a reason: the requester is told why".into(),
                ));
            }
            let r = AuthorizationReply {
                version: version(&d),
                message_identifier: format!("{}-R", step.request_message_id),
                date: Utc::now(),
                comments: reason.into_iter().collect(),
                archival_agreement: None,
                decision: ans.decision,
                message_request_identifier: step.request_message_id.clone(),
                archival_agency: t.archival_agency.clone(),
                authority: Authority {
                    kind: step.authority,
                    identifier: step.authority_id.clone(),
                },
            };
            let xml = write_authorization_reply(&r).map_err(write_error)?;
            (r, xml, ans.control_authority)
        }
    };
    let reply_key = super::store_message(a, tenant, id, &reply.message_identifier, &xml).await?;
    let reason = (!reply.comments.is_empty()).then(|| reply.comments.join("\n"));
    {
        let s = &mut d.authorizations[index];
        s.decision = Some(reply.decision);
        s.reason = reason.clone();
        s.reply_message_id = Some(reply.message_identifier.clone());
        s.reply_key = Some(reply_key);
        s.decided_by = Some(who.id.clone());
        s.decided_at = Some(Utc::now());
    }
    let mut extra: Vec<Write> = Vec::new();
    let all_decided = |d: &Delivery, kind: AuthorityKind| {
        d.authorizations
            .iter()
            .filter(|s| s.authority == kind)
            .all(|s| s.decision.is_some())
    };
    match reply.decision {
        AuthorizationDecision::Refused => d.status = DeliveryStatus::Refused,
        AuthorizationDecision::Approved if wanted == AuthorityKind::OriginatingAgency => {
            if all_decided(&d, AuthorityKind::OriginatingAgency) {
                let units: Vec<String> = d.restricted.iter().map(|r| r.unit.clone()).collect();
                let consents = d
                    .authorizations
                    .iter()
                    .map(|s| {
                        format!(
                            "Avis favorable du service producteur {} ({})",
                            s.authority_id, s.request_message_id
                        )
                    })
                    .chain(d.comment.clone())
                    .collect();
                let authority = Authority {
                    kind: AuthorityKind::ControlAuthority,
                    identifier: next_authority
                        .filter(|c| !c.trim().is_empty())
                        .unwrap_or_else(|| DEFAULT_CONTROL_AUTHORITY.into()),
                };
                let step = ask(a, &t, &d, authority, units, format!("{}-CA", d.id), consents).await?;
                d.authorizations.push(step);
                d.status = DeliveryStatus::PendingControlAuthority;
            }
        }
        AuthorizationDecision::Approved => {
            // Both approvals: the requester, and only it, may take these units.
            let now = Utc::now();
            for r in &d.restricted {
                let grant = Grant {
                    principal: d.requested_by.clone(),
                    unit: r.unit.clone(),
                    delivery: d.id.clone(),
                    granted_at: now,
                };
                extra.push(Write::put(
                    crate::keys::access_grant(tenant, &d.requested_by, &r.unit),
                    &grant,
                )?);
            }
            d.status = DeliveryStatus::Building;
        }
    }
    d.updated_at = Utc::now();
    if !super::save_if(a, &d, revision, extra).await? {
        return Err(ArchiveError::Conflict(format!(
            "delivery `{id}` was answered by someone else meanwhile; reload it"
        )));
    }
    let outcome = match reply.decision {
        AuthorizationDecision::Approved => "OK",
        AuthorizationDecision::Refused => "KO",
    };
    a.journal
        .record(
            tenant,
            "derogation.decided",
            outcome,
            &who.id,
            Some(id),
            json!({
                "authority": step.authority,
                "authority_id": step.authority_id,
                "decision": reply.decision,
                "reason": reason,
                "request": step.request_message_id,
                "reply": reply.message_identifier,
                "units": step.units,
                "requester": d.requester,
            }),
        )
        .await?;
    if d.status == DeliveryStatus::Refused {
        a.journal
            .record(
                tenant,
                "delivery.refused",
                "KO",
                &who.id,
                Some(id),
                json!({"reason": reason}),
            )
            .await?;
    }
    if d.status == DeliveryStatus::Building {
        super::dip::spawn(a.clone(), tenant.to_owned(), id.to_owned());
    }
    Ok(d)
}
