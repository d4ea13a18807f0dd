//! openraft's network over tonic: each Raft RPC is a bincode payload in a protobuf envelope
//! that carries the cluster id.

use std::future::Future;

use archipel_proto::raft::raft_client::RaftClient;
use archipel_proto::raft::{RaftReply, RaftRequest};
use openraft::error::{
    InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use openraft::BasicNode;
use serde::{de::DeserializeOwned, Serialize};
use tonic::transport::Channel;

use super::quorum_clock::ClockSamples;
use super::{codec, Entry, NodeId, TypeConfig};
use crate::peers::Peers;
use crate::store::LocalIdentity;

pub struct NetworkFactory {
    pub self_id: NodeId,
    pub peers: Peers,
    pub identity: LocalIdentity,
    /// Where the peers' clocks, carried by their replies, are recorded for stamping.
    pub clocks: ClockSamples,
}

pub struct PeerConnection {
    self_id: NodeId,
    target: NodeId,
    addr: String,
    peers: Peers,
    identity: LocalIdentity,
    clocks: ClockSamples,
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerConnection {
        PeerConnection {
            self_id: self.self_id,
            target,
            addr: node.addr.clone(),
            peers: self.peers.clone(),
            identity: self.identity.clone(),
            clocks: self.clocks.clone(),
        }
    }
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

/// Bytes of entries one AppendEntries carries (a single larger entry still goes, alone). Entries
/// are up to a 4 MiB transaction each: openraft's entry count alone let a batch outgrow the 64 MiB
/// message limit (it could then never be sent) or take far longer than the RPC's deadline, which
/// is the heartbeat interval.
pub const APPEND_ENTRIES_BYTES: u64 = 1 << 20;

/// How many leading `entries` fit in `budget` bytes, at least one; `None` when all do.
pub fn entries_within(entries: &[Entry], budget: u64) -> Option<u64> {
    let mut total = 0u64;
    for (i, entry) in entries.iter().enumerate() {
        let bytes = match &entry.payload {
            openraft::EntryPayload::Normal(cmd) => cmd.wire_bytes(),
            openraft::EntryPayload::Membership(_) => 4096,
            openraft::EntryPayload::Blank => 0,
        };
        total = total.saturating_add(bytes + 64);
        if total > budget {
            return Some(i.max(1) as u64);
        }
    }
    None
}

/// `Unreachable` makes openraft stop sending to the peer for 500 ms, heartbeats included: only
/// a peer that could not be reached at all earns it. A slow answer (the RPC's deadline, a busy
/// or overloaded peer) is a `Network` error, retried on the next round: reported as
/// `Unreachable`, one slow AppendEntries silenced a follower long enough to start an election,
/// and a loaded cluster kept electing (docs/ui.md, Performance).
fn rpc_error_of<E: std::error::Error>(status: &tonic::Status) -> RPCError<NodeId, BasicNode, E> {
    if archipel_proto::retry::never_sent(status) {
        RPCError::Unreachable(Unreachable::new(status))
    } else {
        RPCError::Network(NetworkError::new(status))
    }
}

impl PeerConnection {
    async fn call<Req, Resp, E, F, Fut>(&self, rpc: &Req, option: &RPCOption, send: F) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
        F: FnOnce(RaftClient<Channel>, tonic::Request<RaftRequest>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<RaftReply>, tonic::Status>>,
    {
        let payload = codec::encode(rpc).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let channel = self
            .peers
            .channel(&self.addr)
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        let client = RaftClient::new(channel)
            .max_decoding_message_size(codec::MAX_RAFT_MESSAGE_BYTES as usize)
            .max_encoding_message_size(codec::MAX_RAFT_MESSAGE_BYTES as usize);
        let mut request = tonic::Request::new(RaftRequest {
            cluster_id: self.identity.cluster_id().unwrap_or_default(),
            from_node: self.self_id,
            payload,
        });
        request.set_timeout(option.hard_ttl());
        let sent = tokio::time::Instant::now();
        let reply = send(client, request)
            .await
            .map_err(|status| rpc_error_of(&status))?
            .into_inner();
        self.clocks
            .record(self.target, reply.now_ms, sent, tokio::time::Instant::now());
        let result: Result<Resp, RaftError<NodeId, E>> =
            codec::decode(&reply.payload).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        if let Some(fit) = entries_within(&rpc.entries, APPEND_ENTRIES_BYTES).filter(|&n| n < rpc.entries.len() as u64)
        {
            // openraft resends at once with at most `fit` entries (for the next ten sends).
            return Err(RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(fit)));
        }
        self.call(&rpc, &option, |mut c, r| async move { c.append_entries(r).await })
            .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(&rpc, &option, |mut c, r| async move { c.install_snapshot(r).await })
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.call(&rpc, &option, |mut c, r| async move { c.vote(r).await })
            .await
    }
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
