//! Elimination proposals and the control authority's visa (Code du patrimoine R212-14: no
//! public archive is destroyed without it).
//!
//! An archivist proposes units the analysis finds DESTROY; Archipel writes the
//! AuthorizationControlAuthorityRequest and keeps it. Only a control-authority token can answer,
//! with an AuthorizationControlAuthorityRequestReply it sends (XML) or that Archipel writes from
//! its decision (JSON): whole, or approving all but the units it refuses. The record lives under
//! `t/<tenant>/elimination/<id>`; the messages as objects under `eliminations/<id>/`.

use std::collections::{BTreeSet, HashSet};

use archipel_seda::authorization::{
    parse_authorization_reply, write_authorization_reply, write_authorization_request, Authority, AuthorityKind,
    AuthorizationDecision, AuthorizationReply, AuthorizationRequest,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::analysis::Status;
use crate::auth::{Principal, Role};
use crate::error::{ArchiveError, Result};
use crate::service::Archive;
use crate::store::{Expect, Write};

/// Units per proposal (the record is one cluster value).
pub const MAX_UNITS: usize = 5000;
/// `AuthorizationReason` of an elimination request.
pub const REASON: &str = "Élimination (Code du patrimoine, art. L212-2 et R212-14)";

pub fn key(tenant: &str, id: &str) -> String {
    format!("t/{tenant}/elimination/{id}")
}
pub fn prefix(tenant: &str) -> String {
    format!("t/{tenant}/elimination/")
}
pub fn object_key(id: &str, name: &str) -> String {
    format!("eliminations/{id}/{name}")
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Sent to the control authority, no answer yet.
    Proposed,
    /// Visa given for every unit, or all but those refused.
    Approved,
    /// Visa refused: nothing will be eliminated under this proposal.
    Refused,
    /// The approved units were eliminated (those a later hold or change kept are listed).
    Executed,
}

/// Why the units leave: an elimination under the control authority's visa, or the deletion
/// that closes a restitution or a transfer out, under the recipient's acknowledgement.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    #[default]
    Elimination,
    Restitution,
    TransferOut,
}

impl ProposalKind {
    /// The register's movement kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalKind::Elimination => "elimination",
            ProposalKind::Restitution => "restitution",
            ProposalKind::TransferOut => "transfer_out",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UnitDecision {
    Approved,
    Refused,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProposedUnit {
    pub unit_id: String,
    pub sip_id: String,
    pub title: String,
    pub aip_id: String,
    pub transfer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_agency: Option<String>,
    pub objects: usize,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<UnitDecision>,
    /// After execution: `eliminated`, or why it was not (a hold added since, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageRef {
    pub message_identifier: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Visa {
    pub message_identifier: String,
    pub key: String,
    pub decision: AuthorizationDecision,
    /// The token that answered (always a control-authority token).
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub refused_units: Vec<String>,
    #[serde(default)]
    pub comments: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Proposal {
    pub id: String,
    /// `elimination`, or the local deletion closing a restitution or a transfer out (then
    /// `visa` is the recipient's acknowledgement and `request` the outgoing message).
    #[serde(default)]
    pub kind: ProposalKind,
    pub tenant: String,
    pub status: ProposalStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The date of the analysis the proposal was made from.
    pub at: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub control_authority: String,
    pub seda_version: String,
    pub units: Vec<ProposedUnit>,
    pub request: MessageRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visa: Option<Visa>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<super::execute::Execution>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposalRequest {
    /// Analysis date (default today).
    #[serde(default)]
    pub at: Option<NaiveDate>,
    /// The units to propose; every DESTROY unit of the analysis when absent.
    #[serde(default)]
    pub unit_ids: Option<Vec<String>>,
    /// The control authority's identifier in SEDA messages (e.g. the Archives départementales).
    pub control_authority: String,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub seda_version: Option<String>,
}

async fn put_xml(a: &Archive, namespace: &str, key: &str, xml: &[u8]) -> Result<()> {
    a.store
        .client()
        .put_object(namespace, key, xml, Some(xml.len() as u64), None)
        .await?;
    Ok(())
}

/// Creates a proposal from the analysis at `req.at`, writes and stores its request.
pub async fn propose(a: &Archive, tenant: &str, who: &Principal, req: ProposalRequest) -> Result<Proposal> {
    let version = super::modification::seda_version(req.seda_version.as_deref())?;
    let t = a.refs.tenant(tenant).await?;
    let at = req.at.unwrap_or_else(|| Utc::now().date_naive());
    let analysis = super::analyse(a, tenant, at).await?;
    let units: Vec<&super::analysis::Entry> = match &req.unit_ids {
        None => analysis.units.iter().filter(|e| e.status == Status::Destroy).collect(),
        Some(ids) => {
            let mut problems = Vec::new();
            let mut chosen = Vec::new();
            let mut seen = HashSet::new();
            for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
                match analysis.units.iter().find(|e| &e.unit_id == id) {
                    Some(e) if e.status == Status::Destroy => chosen.push(e),
                    Some(e) => problems.push(format!(
                        "unit `{id}` is in CONFLICT at {at} ({})",
                        e.reasons
                            .iter()
                            .map(|r| serde_json::to_value(r)
                                .ok()
                                .and_then(|v| v["type"].as_str().map(str::to_owned))
                                .unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    None => problems.push(format!("unit `{id}` is not eliminable at {at} (KEEP, or no such unit)")),
                }
            }
            if !problems.is_empty() {
                return Err(ArchiveError::Invalid(format!(
                    "no proposal was made: {}",
                    problems.join("; ")
                )));
            }
            chosen
        }
    };
    if units.is_empty() {
        return Err(ArchiveError::Invalid(format!(
            "no unit to propose: the analysis at {at} finds none eliminable (DESTROY)"
        )));
    }
    if units.len() > MAX_UNITS {
        return Err(ArchiveError::Invalid(format!(
            "{} units in one proposal, more than {MAX_UNITS}: select part of them (unit_ids)",
            units.len()
        )));
    }
    let id = format!("ELIM-{}", uuid::Uuid::new_v4().simple());
    let message_identifier = format!("{id}-REQ");
    let mut request_comments: Vec<String> = units.iter().map(|u| format!("{} — {}", u.unit_id, u.title)).collect();
    if let Some(c) = &req.comment {
        request_comments.insert(0, c.clone());
    }
    let xml = write_authorization_request(&AuthorizationRequest {
        version,
        message_identifier: message_identifier.clone(),
        date: Utc::now(),
        comments: vec![format!(
            "Proposition d'élimination de {} unités, analyse au {at}",
            units.len()
        )],
        archival_agreement: None,
        reason: REASON.into(),
        request_comments,
        request_date: Utc::now().date_naive(),
        unit_identifiers: units.iter().map(|u| u.unit_id.clone()).collect(),
        requester: t.archival_agency.clone(),
        archival_agency: t.archival_agency.clone(),
        authority: Authority {
            kind: AuthorityKind::ControlAuthority,
            identifier: req.control_authority.clone(),
        },
    })
    .map_err(|e| {
        ArchiveError::Invalid(format!(
            "the AuthorizationControlAuthorityRequest cannot be written: {e}"
        ))
    })?;
    let request_key = object_key(&id, "request.xml");
    put_xml(a, &t.namespace, &request_key, &xml).await?;
    let proposal = Proposal {
        kind: ProposalKind::Elimination,
        id: id.clone(),
        tenant: tenant.into(),
        status: ProposalStatus::Proposed,
        created_by: who.id.clone(),
        created_at: Utc::now(),
        at,
        comment: req.comment.clone(),
        control_authority: req.control_authority.clone(),
        seda_version: version.as_str().into(),
        units: units
            .iter()
            .map(|e| ProposedUnit {
                unit_id: e.unit_id.clone(),
                sip_id: e.sip_id.clone(),
                title: e.title.clone(),
                aip_id: e.aip_id.clone(),
                transfer_id: e.transfer_id.clone(),
                originating_agency: e.originating_agency.clone(),
                objects: e.objects,
                bytes: e.bytes,
                decision: None,
                outcome: None,
            })
            .collect(),
        request: MessageRef {
            message_identifier,
            key: request_key,
        },
        visa: None,
        execution: None,
    };
    if !a.store.create(&key(tenant, &id), &proposal).await? {
        return Err(ArchiveError::Internal(format!("elimination `{id}` exists already")));
    }
    a.journal
        .record(
            tenant,
            "elimination.proposed",
            "OK",
            &who.id,
            Some(&id),
            serde_json::json!({"at": at, "units": proposal.units.len(), "request": proposal.request.message_identifier,
                               "control_authority": proposal.control_authority}),
        )
        .await?;
    Ok(proposal)
}

pub async fn get(a: &Archive, tenant: &str, id: &str) -> Result<crate::store::Versioned<Proposal>> {
    a.store
        .get::<Proposal>(&key(tenant, id))
        .await?
        .ok_or_else(|| ArchiveError::NotFound(format!("elimination `{id}`")))
}

pub async fn list(a: &Archive, tenant: &str) -> Result<Vec<Proposal>> {
    Ok(a.store
        .scan::<Proposal>(&prefix(tenant))
        .await?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}

/// The control authority's decision, as JSON.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: AuthorizationDecision,
    /// With `approved`: the units refused nonetheless (the others are approved).
    #[serde(default)]
    pub refused_units: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// How the decision arrives.
pub enum DecisionInput {
    Json(DecisionRequest),
    /// An AuthorizationControlAuthorityRequestReply the control authority wrote itself.
    Xml(Vec<u8>),
}

/// Records the control authority's visa on proposal `id`.
pub async fn decide(a: &Archive, tenant: &str, who: &Principal, id: &str, input: DecisionInput) -> Result<Proposal> {
    // Only a control-authority token: the archivist who proposed can never approve. The dev
    // front's local superuser stands for every role, as everywhere else.
    if who.role != Role::ControlAuthority && !who.all_tenants {
        let e = ArchiveError::Forbidden(format!(
            "only the control authority can approve or refuse an elimination; the {} role cannot",
            who.role
        ));
        a.journal.denied(tenant, tenant, who, &e).await;
        return Err(e);
    }
    let t = a.refs.tenant(tenant).await?;
    let current = get(a, tenant, id).await?;
    let mut p = current.value;
    if p.status != ProposalStatus::Proposed {
        return Err(ArchiveError::Conflict(format!(
            "elimination `{id}` was already answered ({:?}): a visa is given once",
            p.status
        )));
    }
    let version = super::modification::seda_version(Some(&p.seda_version))?;
    let (reply, xml, refused) = match input {
        DecisionInput::Xml(xml) => {
            let r = parse_authorization_reply(&xml).map_err(|e| {
                ArchiveError::Invalid(format!("the reply is not a valid SEDA authorisation reply: {e}"))
            })?;
            if r.authority.kind != AuthorityKind::ControlAuthority {
                return Err(ArchiveError::Invalid(
                    "the reply is an AuthorizationOriginatingAgencyRequestReply: an elimination needs the control authority's".into(),
                ));
            }
            (r, xml, Vec::new())
        }
        DecisionInput::Json(d) => {
            let listed: HashSet<&str> = p.units.iter().map(|u| u.unit_id.as_str()).collect();
            let unknown: Vec<&String> = d
                .refused_units
                .iter()
                .filter(|u| !listed.contains(u.as_str()))
                .collect();
            if !unknown.is_empty() {
                return Err(ArchiveError::Invalid(format!(
                    "refused_units names units that are not in the proposal: {unknown:?}"
                )));
            }
            if d.decision == AuthorizationDecision::Refused && !d.refused_units.is_empty() {
                return Err(ArchiveError::Invalid(
                    "refused_units goes with an approval (approve all but these); a refusal refuses every unit".into(),
                ));
            }
            let refused: Vec<String> = d
                .refused_units
                .iter()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let all_refused = refused.len() == p.units.len();
            let decision = if all_refused {
                AuthorizationDecision::Refused
            } else {
                d.decision
            };
            let mut comments: Vec<String> = d.comment.iter().cloned().collect();
            if !refused.is_empty() && !all_refused {
                comments.push(format!("Élimination refusée pour les unités : {}", refused.join(", ")));
            }
            let r = AuthorizationReply {
                version,
                message_identifier: format!("{id}-VISA"),
                date: Utc::now(),
                comments,
                archival_agreement: None,
                decision,
                message_request_identifier: p.request.message_identifier.clone(),
                archival_agency: t.archival_agency.clone(),
                authority: Authority {
                    kind: AuthorityKind::ControlAuthority,
                    identifier: p.control_authority.clone(),
                },
            };
            let xml = write_authorization_reply(&r)
                .map_err(|e| ArchiveError::Invalid(format!("the reply cannot be written: {e}")))?;
            (r, xml, refused)
        }
    };
    if reply.message_request_identifier != p.request.message_identifier {
        return Err(ArchiveError::Invalid(format!(
            "the reply answers `{}`, but this elimination's request is `{}`",
            reply.message_request_identifier, p.request.message_identifier
        )));
    }
    if reply.authority.identifier != p.control_authority {
        return Err(ArchiveError::Invalid(format!(
            "the reply comes from `{}`, but the request was addressed to `{}`",
            reply.authority.identifier, p.control_authority
        )));
    }
    let reply_key = object_key(id, "reply.xml");
    put_xml(a, &t.namespace, &reply_key, &xml).await?;
    for u in &mut p.units {
        u.decision = Some(
            if reply.decision == AuthorizationDecision::Refused || refused.contains(&u.unit_id) {
                UnitDecision::Refused
            } else {
                UnitDecision::Approved
            },
        );
    }
    p.status = match reply.decision {
        AuthorizationDecision::Approved => ProposalStatus::Approved,
        AuthorizationDecision::Refused => ProposalStatus::Refused,
    };
    p.visa = Some(Visa {
        message_identifier: reply.message_identifier.clone(),
        key: reply_key,
        decision: reply.decision,
        by: who.id.clone(),
        at: Utc::now(),
        refused_units: refused.clone(),
        comments: reply.comments.clone(),
    });
    let k = key(tenant, id);
    if !a
        .store
        .atomically(
            &[Expect::Revision(k.clone(), current.revision)],
            vec![Write::put(k, &p)?],
        )
        .await?
    {
        return Err(ArchiveError::Conflict(format!(
            "elimination `{id}` changed while the decision was recorded: read it again"
        )));
    }
    a.journal
        .record(
            tenant,
            "elimination.visa",
            "OK",
            &who.id,
            Some(id),
            serde_json::json!({"decision": reply.decision, "reply": reply.message_identifier,
                               "refused_units": refused, "approved": p.units.iter().filter(|u| u.decision == Some(UnitDecision::Approved)).count()}),
        )
        .await?;
    Ok(p)
}
