//! What authorisation requests and replies say, independent of XML.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::version::SedaVersion;

/// Written as `ReplyCodeListVersion` in requests (the codes the reply is expected to use) and
/// replies: `OK` approves, `KO` refuses, as in Archipel's other replies.
pub const AUTHORIZATION_REPLY_CODE_LIST: &str = "ReplyCodeListVersion0";

/// Who is asked for consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityKind {
    /// The service that produced the records (`AuthorizationOriginatingAgencyRequest`).
    OriginatingAgency,
    /// The State's control (the Archives départementales' director,
    /// `AuthorizationControlAuthorityRequest`).
    ControlAuthority,
}

impl AuthorityKind {
    /// The root element of the request addressed to this authority.
    pub fn request_element(self) -> &'static str {
        match self {
            AuthorityKind::OriginatingAgency => "AuthorizationOriginatingAgencyRequest",
            AuthorityKind::ControlAuthority => "AuthorizationControlAuthorityRequest",
        }
    }

    /// The root element of this authority's reply.
    pub fn reply_element(self) -> &'static str {
        match self {
            AuthorityKind::OriginatingAgency => "AuthorizationOriginatingAgencyRequestReply",
            AuthorityKind::ControlAuthority => "AuthorizationControlAuthorityRequestReply",
        }
    }

    /// The element naming the authority itself, after `ArchivalAgency`.
    pub fn organization_element(self) -> &'static str {
        match self {
            AuthorityKind::OriginatingAgency => "OriginatingAgency",
            AuthorityKind::ControlAuthority => "ControlAuthority",
        }
    }
}

/// An authority and its identifier (SEDA `OrganizationWithIdType/Identifier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    pub kind: AuthorityKind,
    pub identifier: String,
}

/// A request for consent about listed archive units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub version: SedaVersion,
    /// This message's own identifier.
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    /// Message-level comments.
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    /// `AuthorizationReason`: why consent is needed, e.g. `Dérogation L213-3` or
    /// `Élimination L212-2`. Required, written on one line.
    pub reason: String,
    /// `AuthorizationRequestContent/Comment`: the requester's justification, the unit titles…
    pub request_comments: Vec<String>,
    /// `RequestDate` (xsd:date): when the requester asked.
    pub request_date: NaiveDate,
    /// The units concerned (Archipel's unit ids, or any identifier the authority knows). At
    /// least one.
    pub unit_identifiers: Vec<String>,
    /// Identifier of who asks (a requester, a service, the archival agency itself for a visa).
    pub requester: String,
    /// Identifier of the archival agency sending the request (Archipel's tenant).
    pub archival_agency: String,
    /// Who is asked.
    pub authority: Authority,
}

/// The authority's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationDecision {
    /// `ReplyCode` `OK`.
    Approved,
    /// `ReplyCode` `KO`.
    Refused,
}

impl AuthorizationDecision {
    pub fn reply_code(self) -> &'static str {
        match self {
            AuthorizationDecision::Approved => "OK",
            AuthorizationDecision::Refused => "KO",
        }
    }

    /// The decision a reply code means; `None` for a code outside the list.
    pub fn from_reply_code(code: &str) -> Option<Self> {
        match code.trim() {
            "OK" => Some(AuthorizationDecision::Approved),
            "KO" => Some(AuthorizationDecision::Refused),
            _ => None,
        }
    }
}

/// An `AuthorizationOriginatingAgencyRequestReply` or `AuthorizationControlAuthorityRequestReply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationReply {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    /// The authority's reasons, as `Comment`s.
    pub comments: Vec<String>,
    pub archival_agreement: Option<String>,
    pub decision: AuthorizationDecision,
    /// The request's `MessageIdentifier`.
    pub message_request_identifier: String,
    pub archival_agency: String,
    /// Who answers; its kind says which reply message this is.
    pub authority: Authority,
}
