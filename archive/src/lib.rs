//! Archipel's archive-management layer (OAIS): SEDA transfers in, AIPs in the cluster, replies out.
//!
//! Invariants this crate keeps:
//! - It talks to the cluster only through `archipel-client`; it never reaches the nodes' internals.
//! - All its state lives in the cluster: an archive front is stateless and can be rebuilt.
//! - The tenant of a call comes from its credential, never from what the caller names.
//! - A transfer is stored whole or not at all, and every step is in the tenant's logbook.

pub mod flows;
pub mod logbook;
pub mod search;
