//! The tamper-evident logbook: every operation of the archive as an append-only, hash-chained entry in its
//! tenant's chain, sealed periodically under a Merkle root that carries a time-stamp token.
//!
//! Invariants: seqs are 1-based and dense; each entry's `prev_hash` is the previous entry's `hash`; seals cover
//! consecutive ranges and are chained by `prev_seal_hash`; everything hashed is canonical JSON (docs/logbook.md),
//! so a third party can re-verify an export with standard tools.

mod book;
pub mod canonical;
mod entry;
mod error;
mod export;
mod hash;
mod key;
mod memory;
pub mod merkle;
mod proof;
mod seal;
mod sealer;
mod stamp;
mod store;
pub mod time;
mod tsa_alg;
mod tsa_attrs;
mod tsa_cert;
mod tsa_client;
mod tsa_trust;
mod tsa_verify;
pub mod tsp;
mod verify;

pub use book::{Logbook, MAX_BATCH};
pub use entry::{check_tenant, Entry, InvalidField, NewEntry, Outcome, MAX_DETAIL_BYTES};
pub use error::LogbookError;
pub use export::{export_jsonl, ExportError};
pub use hash::{BadHash, Hash32};
pub use key::{key_id_of, KeyError, PublicSealKey, SealKey, VerifyKeys};
pub use memory::{MemoryStore, MemoryTenant};
pub use proof::{verify_inclusion, InclusionProof, ProofError};
pub use seal::{Seal, SealStatement, SealToken, SEAL_STATEMENT_PREFIX};
pub use sealer::{spawn_sealer, Sealer, SealerStats};
pub use stamp::{check_token, StampError, Timestamper, TokenCheck};
pub use store::{ChainHead, LogbookStore, StoreError};
pub use tsa_client::{Rfc3161Client, TsaUrlError};
pub use tsa_trust::{TsaTrust, TsaTrustError};
pub use tsa_verify::{verify_token, TsaCheckError, TsaVerified};
pub use verify::{verify, Break, BreakAt, BreakKind, TokenSummary, VerifyReport};
