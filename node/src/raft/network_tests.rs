//! How a failed Raft RPC is reported to openraft decides whether it stops talking to the peer.

use std::time::Duration;

use archipel_proto::raft::raft_client::RaftClient;
use archipel_proto::raft::RaftRequest;
use openraft::error::{Infallible, RPCError};
use tonic::transport::Channel;

use super::rpc_error_of;

async fn call(addr: std::net::SocketAddr, timeout: Duration) -> tonic::Status {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("a valid uri")
        .connect_lazy();
    let mut request = tonic::Request::new(RaftRequest::default());
    request.set_timeout(timeout);
    RaftClient::new(channel)
        .append_entries(request)
        .await
        .expect_err("nobody answers")
}

/// A peer that accepted the connection but answers late (busy applying, short of CPU) is not
/// unreachable: openraft must keep sending it heartbeats.
#[tokio::test]
async fn a_slow_answer_is_not_an_unreachable_peer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    // Accepts and reads, never answers.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let status = call(addr, Duration::from_millis(200)).await;
    let error: RPCError<u64, openraft::BasicNode, Infallible> = rpc_error_of(&status);
    assert!(matches!(error, RPCError::Network(_)), "{status:?} gave {error:?}");
    silent.abort();
}

#[tokio::test]
async fn a_peer_that_cannot_be_connected_to_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let status = call(addr, Duration::from_secs(5)).await;
    let error: RPCError<u64, openraft::BasicNode, Infallible> = rpc_error_of(&status);
    assert!(matches!(error, RPCError::Unreachable(_)), "{status:?} gave {error:?}");
}

fn put_entries(count: u64, value_bytes: usize) -> Vec<super::Entry> {
    (1..=count)
        .map(|index| openraft::Entry {
            log_id: openraft::LogId::new(openraft::CommittedLeaderId::new(1, 1), index),
            payload: openraft::EntryPayload::Normal(crate::raft::Command::Put {
                ns: "archive.t".into(),
                key: index.to_be_bytes().to_vec(),
                value: vec![7; value_bytes],
            }),
        })
        .collect()
}

#[test]
fn appends_are_bounded_by_bytes_not_only_by_entries() {
    let budget = super::APPEND_ENTRIES_BYTES;
    let third = (budget / 3) as usize;
    assert_eq!(super::entries_within(&put_entries(2, third), budget), None);
    assert_eq!(super::entries_within(&put_entries(5, third), budget), Some(2));
    // One entry larger than the budget still goes, alone.
    assert_eq!(
        super::entries_within(&put_entries(3, 2 * budget as usize), budget),
        Some(1)
    );
    assert_eq!(
        super::entries_within(&put_entries(1, 2 * budget as usize), budget),
        Some(1)
    );
}

/// Transactions are up to 4 MiB each: a batch of them counted by entries alone could not even be
/// encoded within the message limit, so replication to a lagging follower never progressed.
#[test]
fn a_batch_of_large_transactions_is_split_before_it_outgrows_a_message() {
    let per_entry = crate::kv::MAX_TXN_BYTES;
    let count = crate::raft::codec::MAX_RAFT_MESSAGE_BYTES / per_entry as u64 + 1;
    let entries = put_entries(count, per_entry);
    assert!(
        crate::raft::codec::encode(&entries).is_err(),
        "{count} entries of {per_entry} bytes exceed one message"
    );
    assert_eq!(super::entries_within(&entries, super::APPEND_ENTRIES_BYTES), Some(1));
}
