//! Small objects' shards travel together. A one-stripe object's shard fits one message, so the
//! shards bound for one node wait in a queue, and each `WriteShards` call takes all that came
//! while the previous calls were in flight: under load, one call and one sync on the node
//! carry the shards of many PUTs; when idle, a shard goes at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use archipel_proto::shard::shard_client::ShardClient;
use archipel_proto::shard::{ShardWriteResult, WholeShard, WriteShardsRequest};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tonic::transport::Channel;

use crate::grpc::shard_receive::store_whole_shards;
use crate::peers::Peers;
use crate::shards::{ShardStore, TableHasher};

/// Calls in flight per node: one being stored while the next batch fills.
const CALLS_PER_NODE: usize = 2;
const MAX_BATCH_SHARDS: usize = 256;
/// Well under the shard service's message limit.
const MAX_BATCH_BYTES: usize = 4 << 20;
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

struct Pending {
    shard: WholeShard,
    /// The table hash this coordinator computed: the one recorded, if the node agrees.
    expected: [u8; 32],
    done: oneshot::Sender<Result<[u8; 32], String>>,
}

/// One queue per node address, each drained by its own task.
#[derive(Default)]
pub struct ShardBatcher {
    queues: Mutex<HashMap<String, mpsc::UnboundedSender<Pending>>>,
}

impl ShardBatcher {
    /// Stores `shard` on the node at `addr`; returns its table hash, computed here from the
    /// stripe and sent along, once the node has synced a shard that hashes so. `local` is this
    /// node's store when `addr` is this node: its batches skip the network.
    pub async fn write(
        &self,
        peers: &Peers,
        addr: &str,
        local: Option<&ShardStore>,
        mut shard: WholeShard,
    ) -> Result<[u8; 32], String> {
        let expected = TableHasher::of_one(&shard.stripe);
        shard.expected_table_hash = Some(expected.to_vec());
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(|p| p.into_inner());
            match queues.get(addr) {
                Some(q) if !q.is_closed() => q.clone(),
                _ => {
                    let target = match local {
                        Some(store) => Target::Local(store.clone()),
                        None => Target::Remote(peers.channel(addr).map_err(|e| e.to_string())?),
                    };
                    let (tx, rx) = mpsc::unbounded_channel();
                    tokio::spawn(drain(target, rx));
                    queues.insert(addr.to_owned(), tx.clone());
                    tx
                }
            }
        };
        let (done, result) = oneshot::channel();
        queue
            .send(Pending { shard, expected, done })
            .map_err(|_| "the shard queue for this node stopped".to_owned())?;
        result
            .await
            .map_err(|_| "the shard batch was dropped before an answer".to_owned())?
    }
}

/// Where a queue's batches go.
#[derive(Clone)]
enum Target {
    Remote(Channel),
    Local(ShardStore),
}

async fn drain(target: Target, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let slots = Arc::new(Semaphore::new(CALLS_PER_NODE));
    while let Some(first) = rx.recv().await {
        // Waiting for a slot is what lets the next batch fill.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = first.shard.stripe.len();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH_SHARDS && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(p) => {
                    bytes += p.shard.stripe.len();
                    batch.push(p);
                }
                Err(_) => break,
            }
        }
        tokio::spawn(send(target.clone(), batch, permit));
    }
}

async fn send(target: Target, batch: Vec<Pending>, _slot: OwnedSemaphorePermit) {
    let mut shards = Vec::with_capacity(batch.len());
    let mut waiting = Vec::with_capacity(batch.len());
    for p in batch {
        shards.push(p.shard);
        waiting.push((p.expected, p.done));
    }
    let count = shards.len();
    let channel = match target {
        Target::Remote(channel) => channel,
        Target::Local(store) => {
            let results = store_whole_shards(&store, shards, |_| Ok(())).await;
            answer(waiting, Ok(results));
            return;
        }
    };
    let mut request = tonic::Request::new(WriteShardsRequest { shards });
    request.set_timeout(CALL_TIMEOUT);
    let mut client = ShardClient::new(channel)
        .max_encoding_message_size(usize::MAX)
        .max_decoding_message_size(1 << 20);
    let outcome = match tokio::time::timeout(CALL_TIMEOUT, client.write_shards(request)).await {
        Ok(Ok(reply)) => {
            let results = reply.into_inner().results;
            if results.len() == count {
                Ok(results)
            } else {
                Err(format!(
                    "the node answered {} results for {count} shards",
                    results.len()
                ))
            }
        }
        Ok(Err(status)) => Err(status.message().to_owned()),
        Err(_) => Err(format!("no answer within {CALL_TIMEOUT:?}")),
    };
    answer(waiting, outcome);
}

type Waiting = ([u8; 32], oneshot::Sender<Result<[u8; 32], String>>);

/// Answers each shard of a batch: its own hash when the node stored it with that hash.
fn answer(waiting: Vec<Waiting>, outcome: Result<Vec<ShardWriteResult>, String>) {
    match outcome {
        Ok(results) => {
            for ((expected, done), r) in waiting.into_iter().zip(results) {
                let outcome = if !r.error.is_empty() {
                    Err(r.error)
                } else if r.table_hash != expected {
                    Err(format!(
                        "the node stored the shard with table hash {}, not the {} sent; not recorded",
                        hex::encode(&r.table_hash),
                        hex::encode(expected)
                    ))
                } else {
                    Ok(expected)
                };
                let _ = done.send(outcome);
            }
        }
        Err(reason) => {
            for (_, done) in waiting {
                let _ = done.send(Err(reason.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use archipel_proto::shard::ShardHeader;
    use bytes::Bytes;

    use super::*;

    fn shard(stripe: &'static [u8]) -> WholeShard {
        WholeShard {
            header: Some(ShardHeader {
                object_id: vec![9; 16],
                namespace: "ns".into(),
                key: "k".into(),
                index: 0,
                data_shards: 2,
                parity_shards: 1,
                stripe_size: 8,
                shard_len: 4,
                ..Default::default()
            }),
            stripe: Bytes::from_static(stripe),
            object_size: 8,
            ..Default::default()
        }
    }

    /// The coordinator records only the hash it computed: a node that stores something else
    /// (here its store alters the stripe) fails the shard instead of having its hash recorded.
    #[tokio::test]
    async fn a_shard_stored_other_than_sent_is_not_recorded() {
        for pack_max in [0, 1 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let store = ShardStore::open(dir.path(), 1 << 30, pack_max).unwrap();
            let batcher = ShardBatcher::default();
            let peers = Peers::default();
            let good = batcher.write(&peers, "self", Some(&store), shard(b"abcd")).await;
            assert_eq!(good, Ok(TableHasher::of_one(b"abcd")), "pack_max {pack_max}");

            store.alter_stripes.store(true, Ordering::Relaxed);
            let mut altered = shard(b"wxyz");
            altered.header.as_mut().unwrap().index = 1;
            let result = batcher.write(&peers, "self", Some(&store), altered).await;
            assert!(result.is_err(), "pack_max {pack_max}: {result:?} was recorded");
            assert!(!store.contains(&[9; 16], 1), "pack_max {pack_max}: nothing kept");
        }
    }
}
