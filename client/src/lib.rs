//! Async client for an Archipel cluster: the only way upper layers talk to the nodes.
//!
//! Invariants this crate keeps:
//! - It depends on the wire protocol (`archipel-proto`) only, never on node internals.
//! - A request is sent to another node only when that cannot apply it twice: the server said the
//!   retry is safe, or the operation's repetition changes nothing (reads, membership, namespace
//!   creation). Otherwise, metadata put and delete included, the caller gets `Indeterminate`.
//! - Every error says what happened and what to do.

mod admin;
mod conn;
mod error;
mod lost;
mod meta;
mod objects;
mod pki;
mod tls;
mod workers;

pub use archipel_proto as proto;
pub use archipel_proto::pki::Revoked;
pub use conn::{Client, ClientOptions, TLS_DIR_ENV};
pub use error::ClientError;
pub use meta::{CasExpect, CasOutcome, Consistency, MetaEntry, TxnOp, TxnOutcome};
pub use objects::Progress;
pub use tls::TlsFiles;
