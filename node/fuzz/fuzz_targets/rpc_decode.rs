//! Any bytes as any archipel-proto message: decoded with prost, and what decodes survives a
//! round trip (encode, decode, encode gives the same bytes).
//!
//! The first byte picks the message type, the rest is the message. Every message of every
//! package is here, requests and replies: a node decodes requests from clients and peers, and a
//! client or peer decodes replies from a node that may be compromised.
#![no_main]

use archipel_proto::{cluster, meta, object, pki, raft, shard, worker};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fn round_trip<M: Message + Default>(bytes: &[u8]) {
    let Ok(first) = M::decode(bytes) else {
        return;
    };
    let encoded = first.encode_to_vec();
    assert_eq!(encoded.len(), first.encoded_len());
    let second = M::decode(encoded.as_slice()).expect("a re-encoded message decodes");
    // Bytes, not `==`: a NaN in a double field is not equal to itself but encodes the same.
    assert_eq!(encoded, second.encode_to_vec());
}

macro_rules! by_index {
    ($index:expr, $bytes:expr, $($t:ty,)+) => {{
        let decoders: &[fn(&[u8])] = &[$(round_trip::<$t>,)+];
        decoders[$index as usize % decoders.len()]($bytes)
    }};
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    by_index!(
        which,
        bytes,
        cluster::RaftView,
        cluster::NodeInfoRequest,
        cluster::NodeInfo,
        cluster::InitRequest,
        cluster::InitReply,
        cluster::JoinRequest,
        cluster::JoinReply,
        cluster::AddNodeRequest,
        cluster::AddNodeReply,
        cluster::RemoveNodeRequest,
        cluster::RemoveNodeReply,
        cluster::DrainNodeRequest,
        cluster::DrainNodeReply,
        cluster::StatusRequest,
        cluster::NodeStatus,
        cluster::ClusterStatus,
        meta::Entry,
        meta::PutRequest,
        meta::PutReply,
        meta::DeleteRequest,
        meta::DeleteReply,
        meta::CasRequest,
        meta::CasReply,
        meta::GetRequest,
        meta::GetReply,
        meta::ScanRequest,
        meta::ScanReply,
        meta::TxnCondition,
        meta::TxnWrite,
        meta::TxnRequest,
        meta::TxnReply,
        object::NamespaceSpec,
        object::Namespace,
        object::CreateNamespaceRequest,
        object::GetNamespaceRequest,
        object::ListNamespacesRequest,
        object::ListNamespacesReply,
        object::ShardLocation,
        object::ObjectInfo,
        object::PutHeader,
        object::PutObjectChunk,
        object::GetObjectRequest,
        object::GetObjectChunk,
        object::StatObjectRequest,
        object::ListObjectsRequest,
        object::ListObjectsReply,
        object::DeleteObjectRequest,
        object::DeleteObjectReply,
        pki::RevokeRequest,
        pki::RevokeReply,
        pki::ListRevokedRequest,
        pki::Revoked,
        pki::ListRevokedReply,
        raft::RaftRequest,
        raft::RaftReply,
        shard::ShardHeader,
        shard::FinishShard,
        shard::WriteShardChunk,
        shard::WriteShardReply,
        shard::ReserveRequest,
        shard::ReserveReply,
        shard::ReadShardRequest,
        shard::StripeData,
        shard::ReadShardReply,
        shard::WholeShard,
        shard::WriteShardsRequest,
        shard::ShardWriteResult,
        shard::WriteShardsReply,
        worker::WorkerInfo,
        worker::ListWorkersRequest,
        worker::ListWorkersReply,
        worker::ControlWorkerRequest,
        worker::ControlWorkerReply,
        worker::NodeWorkers,
        worker::ClusterWorkersRequest,
        worker::ClusterWorkersReply,
    );
});
