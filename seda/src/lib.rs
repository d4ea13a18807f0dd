//! SEDA 2.1, 2.2 and 2.3 for Archipel's archive layer: the parts that need no cluster.
//!
//! Invariants this crate keeps:
//! - Every input is hostile: a SIP zip, a manifest or a digest is checked against explicit limits
//!   before anything is trusted, and every rejection names the element or entry at fault.
//! - XML is read without DTDs or external entities, ever.
//! - Every message it writes is valid against the official schema of the transfer's SEDA version.
//! - It does no network or cluster I/O; the archive crate drives it.

pub mod authorization;
pub mod delivery;
pub mod digest;
pub mod manifest;
pub mod message;
pub mod notification;
pub mod outgoing;
pub mod reply;
pub mod sip;
pub mod validate;
pub mod version;
