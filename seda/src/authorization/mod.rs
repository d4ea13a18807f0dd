//! SEDA authorisation messages: asking an originating agency or a control authority for
//! consent, and reading their answer, for SEDA 2.1, 2.2 and 2.3.
//!
//! Two uses share them: a communication by derogation (Code du patrimoine L213-3: the
//! originating agency's opinion, then the control authority's decision) and an elimination
//! visa (L212-2: the control authority approves the destruction of listed units). The request
//! is the same shape for both ([`AuthorizationRequest`]: reason, comments, units, requester);
//! only the addressee differs ([`Authority`]).
//!
//! Writers go through quick-xml's writer (everything escaped, text cleaned as in
//! [`crate::reply::text`]) in the element order of the official XSDs, which is identical in the
//! three versions for these messages (`seda-2.x-main.xsd`): `MessageType` (`Comment*, Date,
//! MessageIdentifier, Signature?`), `BusinessMessageType` (`ArchivalAgreement?,
//! CodeListVersions, DataObjectPackage?`), then `AuthorizationRequestContent`
//! (`AuthorizationReason, Comment*, RequestDate, UnitIdentifier+, Requester,
//! AuthorizationRequestReply*`) and `ArchivalAgency` followed by `OriginatingAgency` or
//! `ControlAuthority`. Replies add `ReplyCode?, Operation?, MessageRequestIdentifier` after
//! `CodeListVersions`/`DataObjectPackage`.
//!
//! The reader ([`parse_authorization_reply`]) takes hostile input: no DTD, no external entity,
//! bounded size, and the elements must come in the schema's order (it checks the part of the
//! schema these messages use; unknown or misplaced elements are refused by name and line).

mod model;
mod reply;
mod request;

pub use crate::message::MessageError;
pub use model::{
    Authority, AuthorityKind, AuthorizationDecision, AuthorizationReply, AuthorizationRequest,
    AUTHORIZATION_REPLY_CODE_LIST,
};
pub use reply::{parse_authorization_reply, write_authorization_reply};
pub use request::write_authorization_request;
