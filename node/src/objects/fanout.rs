//! The shard fan-out of a write: one client-streaming WriteShard RPC per shard index (or this
//! node's own store for its shard), fed stripe by stripe. The coordinator hashes every shard it
//! sends and records only those hashes: a node must have stored exactly what it was sent.

use std::time::Duration;

use archipel_proto::shard::shard_client::ShardClient;
use archipel_proto::shard::{write_shard_chunk, FinishShard, ShardHeader, WriteShardChunk, WriteShardReply};
use bytes::Bytes;
use futures::future::join_all;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

use crate::grpc::shard_receive::{file_header, receive_stripes, ChunkSource};
use crate::node::Node;
use crate::shards::TableHasher;

use super::feed::STRIPE_DEADLINE;
use super::model::ShardRef;
use super::ObjectError;

/// Stripes in flight per shard stream: enough to keep links busy, bounded memory.
const SHARD_QUEUE: usize = 2;
/// How long a node may take to make a finished shard durable (the last stripes, fsync, rename).
const FINISH_DEADLINE: Duration = Duration::from_secs(120);

/// One client-streaming WriteShard RPC per shard index, fed stripe by stripe. Dropping it
/// before `finish` ends every stream without a finish message: the nodes discard their temp files.
pub(crate) struct Fanout {
    /// Shard index -> (node, addr, stream); None for a shard not written (degraded write).
    streams: Vec<Option<ShardStream>>,
    stripes: u64,
    /// Shard index -> the table hash of what this coordinator sent: the only hash recorded.
    tables: Vec<TableHasher>,
}

struct ShardStream {
    node: u64,
    addr: String,
    tx: Option<mpsc::Sender<WriteShardChunk>>,
    task: JoinHandle<Result<WriteShardReply, tonic::Status>>,
}

impl Fanout {
    pub(crate) async fn open(
        node: &Node,
        targets: &[Option<(u64, String)>],
        header: ShardHeader,
    ) -> Result<Self, ObjectError> {
        Self::open_from(node.id(), &node.shards, &node.peers, targets, header).await
    }

    /// [`Self::open`] from node `me`, whose own shards go to `store` and others' over `peers`.
    async fn open_from(
        me: u64,
        store: &crate::shards::ShardStore,
        peers: &crate::peers::Peers,
        targets: &[Option<(u64, String)>],
        header: ShardHeader,
    ) -> Result<Self, ObjectError> {
        let mut streams = Vec::new();
        for (index, target) in targets.iter().enumerate() {
            let Some((id, addr)) = target else {
                streams.push(None);
                continue;
            };
            let (tx, rx) = mpsc::channel(SHARD_QUEUE);
            let mut h = header.clone();
            h.index = index as u32;
            if *id == me {
                // This node's own shard goes straight to its store, checked as a peer's would be.
                let (object_id, stored_header) =
                    file_header(&h).map_err(|s| ObjectError::Invalid(s.message().to_owned()))?;
                let store = store.clone();
                let task = tokio::spawn(async move {
                    receive_stripes(&store, object_id, stored_header, ChunkSource::Local(rx)).await
                });
                streams.push(Some(ShardStream {
                    node: *id,
                    addr: addr.clone(),
                    tx: Some(tx),
                    task,
                }));
                continue;
            }
            let channel = peers
                .channel(addr)
                .map_err(|e| ObjectError::Unavailable(format!("node {id} at {addr}: {e}")))?;
            tx.send(WriteShardChunk {
                part: Some(write_shard_chunk::Part::Header(h)),
            })
            .await
            .map_err(|_| ObjectError::Internal("shard stream closed before start".into()))?;
            let mut client = ShardClient::new(channel)
                .max_encoding_message_size(usize::MAX)
                .max_decoding_message_size(1 << 20);
            let task = tokio::spawn(async move {
                client
                    .write_shard(ReceiverStream::new(rx))
                    .await
                    .map(|r| r.into_inner())
            });
            streams.push(Some(ShardStream {
                node: *id,
                addr: addr.clone(),
                tx: Some(tx),
                task,
            }));
        }
        let tables = vec![TableHasher::default(); streams.len()];
        Ok(Self {
            streams,
            stripes: 0,
            tables,
        })
    }

    async fn send_all(&mut self, mut chunks: Vec<Option<WriteShardChunk>>) -> Result<(), ObjectError> {
        let sends = self.streams.iter().zip(chunks.iter_mut()).map(|(s, chunk)| {
            let tx = s.as_ref().and_then(|s| s.tx.clone());
            let chunk = chunk.take();
            async move {
                match (tx, chunk) {
                    // A node that takes nothing for this long (a hung disk) fails its shard.
                    (Some(tx), Some(chunk)) => match tokio::time::timeout(STRIPE_DEADLINE, tx.send(chunk)).await {
                        Ok(sent) => sent.map_err(|_| None),
                        Err(_) => Err(Some(format!("the node took no stripe within {STRIPE_DEADLINE:?}"))),
                    },
                    _ => Ok(()),
                }
            }
        });
        let results = join_all(sends).await;
        if let Some((index, stalled)) = results
            .into_iter()
            .enumerate()
            .find_map(|(i, r)| r.err().map(|e| (i, e)))
        {
            return Err(match stalled {
                Some(reason) => self.stalled(index, reason),
                None => self.failure(index).await,
            });
        }
        Ok(())
    }

    /// Shard `index`'s node stopped taking stripes: its stream is abandoned (the node drops its
    /// temp file when the stream ends).
    fn stalled(&mut self, index: usize, reason: String) -> ObjectError {
        let Some(stream) = self.streams[index].as_mut() else {
            return ObjectError::Internal(format!("shard {index} has no stream"));
        };
        stream.task.abort();
        ObjectError::Unavailable(format!(
            "writing shard {index} to node {} ({}) failed: {reason}",
            stream.node, stream.addr
        ))
    }

    /// Sends one stripe's shards, and hashes them (off the async threads, while the nodes write)
    /// into each shard's table hash.
    pub(crate) async fn send_stripe(&mut self, shards: Vec<Bytes>) -> Result<(), ObjectError> {
        let written: Vec<Option<Bytes>> = self
            .streams
            .iter()
            .zip(&shards)
            .map(|(s, data)| s.as_ref().map(|_| data.clone()))
            .collect();
        let hashing = tokio::task::spawn_blocking(move || {
            written
                .into_iter()
                .map(|d| d.map(|d| *blake3::hash(&d).as_bytes()))
                .collect::<Vec<_>>()
        });
        let chunks = shards
            .into_iter()
            .map(|data| {
                Some(WriteShardChunk {
                    part: Some(write_shard_chunk::Part::Stripe(data)),
                })
            })
            .collect();
        let (hashes, sent) = tokio::join!(hashing, self.send_all(chunks));
        sent?;
        let hashes = hashes.map_err(|e| ObjectError::Internal(e.to_string()))?;
        for (table, hash) in self.tables.iter_mut().zip(hashes) {
            if let Some(hash) = hash {
                table.push_hash(&hash);
            }
        }
        self.stripes += 1;
        Ok(())
    }

    /// Why shard `index`'s stream stopped early.
    async fn failure(&mut self, index: usize) -> ObjectError {
        let Some(stream) = self.streams[index].as_mut() else {
            return ObjectError::Internal(format!("shard {index} has no stream"));
        };
        let reason = match (&mut stream.task).await {
            Ok(Err(status)) => status.message().to_owned(),
            Ok(Ok(_)) => "the node ended the stream early".into(),
            Err(e) => e.to_string(),
        };
        ObjectError::Unavailable(format!(
            "writing shard {index} to node {} ({}) failed: {reason}",
            stream.node, stream.addr
        ))
    }

    /// Sends the finish message, with the table hash this coordinator computed for each shard,
    /// waits for every node's fsync, and returns the written shards with those hashes: a node keeps
    /// a shard only if it hashes so, and a node answering another hash fails the write.
    /// `recorded`: the hash the manifest holds for the one shard a repair rebuilds, which the
    /// rebuilt shard must match before anything is sent.
    pub(crate) async fn finish(
        mut self,
        object_size: u64,
        recorded: Option<[u8; 32]>,
    ) -> Result<Vec<ShardRef>, ObjectError> {
        let computed: Vec<Option<[u8; 32]>> = self
            .streams
            .iter()
            .zip(&self.tables)
            .map(|(s, t)| s.as_ref().map(|_| t.finalize()))
            .collect();
        if let Some(recorded) = recorded {
            if let Some(index) = computed.iter().position(|c| c.is_some_and(|c| c != recorded)) {
                return Err(ObjectError::Internal(format!(
                    "the rebuilt shard {index} does not hash as the manifest recorded; nothing replaced"
                )));
            }
        }
        let finishes = computed
            .iter()
            .map(|expected| {
                Some(WriteShardChunk {
                    part: Some(write_shard_chunk::Part::Finish(FinishShard {
                        stripe_count: self.stripes,
                        object_size,
                        expected_table_hash: expected.map(|h| h.to_vec()),
                    })),
                })
            })
            .collect();
        self.send_all(finishes).await?;
        let mut refs = Vec::new();
        for (index, stream) in self.streams.iter_mut().enumerate() {
            let (Some(stream), Some(expected)) = (stream, computed[index]) else {
                continue;
            };
            stream.tx = None;
            let Ok(answer) = tokio::time::timeout(FINISH_DEADLINE, &mut stream.task).await else {
                stream.task.abort();
                return Err(ObjectError::Unavailable(format!(
                    "shard {index} on node {} ({}): not made durable within {FINISH_DEADLINE:?}",
                    stream.node, stream.addr
                )));
            };
            let reply = match answer {
                Ok(Ok(r)) => r,
                Ok(Err(status)) => {
                    return Err(ObjectError::Unavailable(format!(
                        "shard {index} on node {} ({}): {}",
                        stream.node,
                        stream.addr,
                        status.message()
                    )))
                }
                Err(e) => return Err(ObjectError::Internal(e.to_string())),
            };
            let table_hash = checked_table_hash(index, stream.node, expected, &reply.table_hash)?;
            refs.push(ShardRef {
                index: index as u32,
                node_id: stream.node,
                table_hash,
            });
        }
        Ok(refs)
    }
}

/// The hash to record for shard `index`: the coordinator's own, provided the node that stored the
/// shard answered the same. Any other answer (a node that altered the shard, or lies) fails it.
pub(crate) fn checked_table_hash(
    index: usize,
    node: u64,
    computed: [u8; 32],
    answered: &[u8],
) -> Result<[u8; 32], ObjectError> {
    if answered != computed.as_slice() {
        return Err(ObjectError::Unavailable(format!(
            "node {node} stored shard {index} with table hash {}, not the {} this coordinator sent; \
             the shard is not recorded",
            hex::encode(answered),
            hex::encode(computed)
        )));
    }
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A streamed write records the hashes of what the coordinator sent; a store that keeps
    /// other bytes (a faulty node or disk) fails the write instead of having its hash recorded.
    #[tokio::test]
    async fn a_streamed_shard_stored_other_than_sent_fails_the_write() {
        let header = ShardHeader {
            object_id: vec![6; 16],
            namespace: "ns".into(),
            key: "k".into(),
            data_shards: 2,
            parity_shards: 1,
            stripe_size: 8,
            shard_len: 4,
            ..Default::default()
        };
        let stripes: [[&[u8]; 3]; 2] = [[b"abcd", b"efgh", b"ijkl"], [b"mnop", b"qrst", b"uvwx"]];
        for altered in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::shards::ShardStore::open(dir.path(), 1 << 30, 0).unwrap();
            store.alter_stripes.store(altered, std::sync::atomic::Ordering::Relaxed);
            let peers = crate::peers::Peers::default();
            let targets = vec![Some((1, "self".to_owned())); 3];
            let mut fanout = Fanout::open_from(1, &store, &peers, &targets, header.clone())
                .await
                .unwrap();
            for stripe in stripes {
                let shards = stripe.iter().map(|s| Bytes::from_static(s)).collect();
                fanout.send_stripe(shards).await.unwrap();
            }
            let written = fanout.finish(16, None).await;
            if altered {
                assert!(written.is_err(), "{written:?}");
                assert!(!store.contains(&[6; 16], 0), "nothing kept");
                continue;
            }
            for r in written.unwrap() {
                let mut sent = TableHasher::default();
                stripes.iter().for_each(|s| sent.push(s[r.index as usize]));
                assert_eq!(r.table_hash, sent.finalize(), "shard {}", r.index);
            }
        }
    }

    #[test]
    fn a_node_answering_another_table_hash_fails_its_shard() {
        let computed = [7u8; 32];
        assert_eq!(checked_table_hash(2, 5, computed, &computed).unwrap(), computed);
        let err = checked_table_hash(2, 5, computed, &[8u8; 32]).unwrap_err();
        assert!(matches!(err, ObjectError::Unavailable(_)), "{err:?}");
        assert!(err.to_string().contains("node 5"), "{err}");
        assert!(checked_table_hash(2, 5, computed, b"short").is_err());
    }
}
