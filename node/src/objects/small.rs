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
use crate::shards::ShardStore;

/// Calls in flight per node: one being stored while the next batch fills.
const CALLS_PER_NODE: usize = 2;
const MAX_BATCH_SHARDS: usize = 256;
/// Well under the shard service's message limit.
const MAX_BATCH_BYTES: usize = 4 << 20;
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

struct Pending {
    shard: WholeShard,
    done: oneshot::Sender<Result<[u8; 32], String>>,
}

/// One queue per node address, each drained by its own task.
#[derive(Default)]
pub struct ShardBatcher {
    queues: Mutex<HashMap<String, mpsc::UnboundedSender<Pending>>>,
}

impl ShardBatcher {
    /// Stores `shard` on the node at `addr`; returns its table hash once the node has synced it.
    /// `local` is this node's store when `addr` is this node: its batches skip the network.
    pub async fn write(
        &self,
        peers: &Peers,
        addr: &str,
        local: Option<&ShardStore>,
        shard: WholeShard,
    ) -> Result<[u8; 32], String> {
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
            .send(Pending { shard, done })
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
    let (shards, dones): (Vec<WholeShard>, Vec<_>) = batch.into_iter().map(|p| (p.shard, p.done)).unzip();
    let count = shards.len();
    let channel = match target {
        Target::Remote(channel) => channel,
        Target::Local(store) => {
            let results = store_whole_shards(&store, shards, |_| Ok(())).await;
            answer(dones, Ok(results));
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
    answer(dones, outcome);
}

fn answer(dones: Vec<oneshot::Sender<Result<[u8; 32], String>>>, outcome: Result<Vec<ShardWriteResult>, String>) {
    match outcome {
        Ok(results) => {
            for (done, r) in dones.into_iter().zip(results) {
                let outcome = match <[u8; 32]>::try_from(r.table_hash.as_slice()) {
                    Ok(hash) if r.error.is_empty() => Ok(hash),
                    _ if !r.error.is_empty() => Err(r.error),
                    _ => Err("the node returned a malformed shard hash".to_owned()),
                };
                let _ = done.send(outcome);
            }
        }
        Err(reason) => {
            for done in dones {
                let _ = done.send(Err(reason.clone()));
            }
        }
    }
}
