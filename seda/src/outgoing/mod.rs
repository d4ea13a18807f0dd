//! Messages of archives leaving the archival agency: restitution to the originating agency
//! (ArchiveRestitutionRequest and its Reply, written) and the answers Archipel reads back —
//! the receiving archive's ArchiveTransferReply after a transfer out, and the Acknowledgement
//! of a restitution package.

mod answers;
mod restitution;
mod transfer;

pub use answers::{parse_acknowledgement, parse_transfer_reply, ReceivedAcknowledgement, ReceivedTransferReply};
pub use restitution::{write_restitution_reply, write_restitution_request, RestitutionMessage};
pub use transfer::{write_outgoing_transfer, OutObject, OutRules, OutUnit, OutgoingTransfer};
