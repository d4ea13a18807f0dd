//! SEDA reply messages: the ArchiveTransferReply (ATR) that closes a transfer and the
//! Acknowledgement that confirms receipt, for SEDA 2.1, 2.2 and 2.3.
//!
//! Every message is written with quick-xml's writer, so every text and attribute is escaped;
//! text is first cleaned of the characters XML 1.0 forbids (see [`text`]). The elements are
//! written in the order the official XSD of the message's version requires; the subset used
//! here is the same in all three versions, only the namespace differs (see [`transfer`]).

mod ack;
mod error;
mod model;
pub mod text;
pub mod transfer;
mod version;
pub(crate) mod xml;

pub use ack::{write_acknowledgement, Acknowledgement};
pub use error::ReplyError;
pub use model::{
    EventSubject, FormatIdentified, ReplyCode, ReplyDigest, ReplyEvent, ReplyGroup, ReplyObject, ReplyPhysical,
    ReplyUnit, TransferReply,
};
pub use transfer::write_transfer_reply;
pub use version::SedaVersion;

/// Written as `MessageRequestIdentifier` / `MessageReceivedIdentifier` when the request's own
/// identifier is unknown (unreadable manifest) or blank: SEDA requires the element.
pub const UNKNOWN_REQUEST_IDENTIFIER: &str = "UNKNOWN";
