//! SEDA communication messages: the ArchiveDeliveryRequest a requester sends (read, and written
//! for clients such as the CLI) and the ArchiveDeliveryRequestReply that is the manifest of a
//! DIP (written), for SEDA 2.1, 2.2 and 2.3.
//!
//! Element order, identical in the three XSDs (`seda-2.x-main.xsd`): the `BusinessMessageType`
//! head (`Comment*, Date, MessageIdentifier, Signature?, ArchivalAgreement?, CodeListVersions,
//! DataObjectPackage?`), then for the request `Derogation, UnitIdentifier+, ArchivalAgency,
//! Requester`, and for the reply `ReplyCode?, Operation?, MessageRequestIdentifier,
//! AuthorizationRequestReplyIdentifier?, UnitIdentifier+, ArchivalAgency, Requester`.
//!
//! The reply's `DataObjectPackage` describes what the DIP holds: each binary object with its
//! `Uri` in the zip, SHA-512 digest, size, format and original file name; each unit with its
//! AccessRules (and NeedAuthorization) in `Management`, and in `Content` its level, title,
//! Archipel id (`SystemId`), description, originating agency and dates, then references to its
//! objects. The complete description of each unit travels beside the manifest (see the DIP
//! layout in docs/archive.md): SEDA's ontology is too large to re-serialise losslessly here.

mod reply;
mod request;

pub use reply::{write_delivery_reply, DeliveryObject, DeliveryReply, DeliveryRule, DeliveryUnit};
pub use request::{parse_delivery_request, write_delivery_request, DeliveryRequest};
