//! Archipel's wire protocol: the tonic/prost definitions of every RPC.
//!
//! Invariants this crate keeps:
//! - It holds definitions only, and the retry contract (`retry`) and limits (`limits`) both
//!   ends keep: every other crate may depend on it.
//! - Field numbers are never reused; a removed field is reserved.

pub mod limits;
pub mod retry;

pub mod raft {
    tonic::include_proto!("archipel.raft.v1");
}
pub mod cluster {
    tonic::include_proto!("archipel.cluster.v1");
}
pub mod meta {
    tonic::include_proto!("archipel.meta.v1");
}
pub mod shard {
    tonic::include_proto!("archipel.shard.v1");
}
pub mod object {
    tonic::include_proto!("archipel.object.v1");
}
pub mod worker {
    tonic::include_proto!("archipel.worker.v1");
}
pub mod pki {
    tonic::include_proto!("archipel.pki.v1");
}
