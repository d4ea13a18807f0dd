//! Receiving one shard as a stream of stripes and a finish message into this node's store: the
//! body of the WriteShard RPC, also run by a coordinator for the shard it keeps itself, so that
//! shard does not cross TLS to its own node.

use archipel_proto::shard::{
    write_shard_chunk, ShardHeader, ShardWriteResult, WholeShard, WriteShardChunk, WriteShardReply,
};
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use super::idle::IdleLimit;
use super::shard_service::shard_status;
use crate::ec_profile::{EcProfile, MAX_TOTAL_SHARDS};
use crate::objects::model::validate_object_key;
use crate::shards::{ObjectId, ShardError, ShardFileHeader, ShardStore, WholeShardWrite};

/// Largest shard bytes per stripe a node accepts (64 MiB stripes over 1 data shard).
pub(crate) const MAX_SHARD_LEN: u64 = 64 << 20;

/// Where the chunks after the header come from.
pub(crate) enum ChunkSource<'a> {
    /// A WriteShard RPC from a coordinator, dropped when it stalls.
    Wire {
        stream: &'a mut Streaming<WriteShardChunk>,
        idle: IdleLimit,
    },
    /// This node's own coordinator; its upload has idle limits of its own, and a dropped sender
    /// ends the shard like a stream that stopped.
    Local(mpsc::Receiver<WriteShardChunk>),
}

impl ChunkSource<'_> {
    async fn next(&mut self) -> Result<Option<WriteShardChunk>, Status> {
        match self {
            ChunkSource::Wire { stream, idle } => idle.next_message(stream).await,
            ChunkSource::Local(rx) => Ok(rx.recv().await),
        }
    }
}

/// Checks a shard header (from the wire or this node's coordinator) and gives the header the
/// shard is stored with. The caller checks the cluster id.
pub(crate) fn file_header(header: &ShardHeader) -> Result<(ObjectId, ShardFileHeader), Status> {
    let id = object_id(&header.object_id)?;
    let profile = EcProfile::new(
        u8::try_from(header.data_shards).map_err(|_| Status::invalid_argument("too many data shards"))?,
        u8::try_from(header.parity_shards).map_err(|_| Status::invalid_argument("too many parity shards"))?,
    )
    .map_err(Status::invalid_argument)?;
    if header.index as usize >= profile.total().min(MAX_TOTAL_SHARDS) {
        return Err(Status::invalid_argument(format!(
            "shard index {} out of range for {profile}",
            header.index
        )));
    }
    if header.shard_len == 0 || header.shard_len > MAX_SHARD_LEN {
        return Err(Status::invalid_argument("shard length out of range"));
    }
    validate_object_key(&header.key).map_err(Status::invalid_argument)?;
    let file_header = ShardFileHeader {
        format: 1,
        object_id: hex::encode(id),
        namespace: header.namespace.clone(),
        key: header.key.clone(),
        index: header.index,
        profile: profile.to_string(),
        stripe_size: header.stripe_size,
        shard_len: header.shard_len,
        created_at_ms: 0, // stamped by the store with the node's clock
    };
    Ok((id, file_header))
}

pub(crate) fn object_id(raw: &[u8]) -> Result<ObjectId, Status> {
    raw.try_into()
        .map_err(|_| Status::invalid_argument("object id must be 16 bytes"))
}

/// Writes the stripes that follow a checked header; fsyncs and renames the shard into place on
/// the finish message. Any other end drops the writer, and its temp file with it.
pub(crate) async fn receive_stripes(
    store: &ShardStore,
    id: ObjectId,
    file_header: ShardFileHeader,
    mut source: ChunkSource<'_>,
) -> Result<WriteShardReply, Status> {
    let shard_len = file_header.shard_len;
    let mut writer = store.create(&id, &file_header).await.map_err(shard_status)?;
    loop {
        let chunk = match source.next().await? {
            Some(c) => c,
            None => {
                return Err(Status::aborted(
                    "the shard stream ended without finishing; nothing kept",
                ))
            }
        };
        match chunk.part {
            Some(write_shard_chunk::Part::Stripe(data)) => {
                if data.is_empty() || data.len() as u64 > shard_len {
                    return Err(Status::invalid_argument("stripe length out of range"));
                }
                if store.free_bytes() < data.len() as u64 {
                    return Err(shard_status(ShardError::DiskFull {
                        needed: data.len() as u64,
                        free: store.free_bytes(),
                    }));
                }
                writer.write_stripe(data).await.map_err(shard_status)?;
            }
            Some(write_shard_chunk::Part::Finish(f)) => {
                if f.stripe_count != writer.stripes() {
                    return Err(Status::invalid_argument(format!(
                        "finish says {} stripes, {} were sent",
                        f.stripe_count,
                        writer.stripes()
                    )));
                }
                let expected = expected_hash(f.expected_table_hash.as_deref())?;
                let (table_hash, size) = writer.finish(f.object_size, expected).await.map_err(shard_status)?;
                return Ok(WriteShardReply {
                    table_hash: table_hash.to_vec(),
                    bytes_written: size,
                });
            }
            _ => return Err(Status::invalid_argument("unexpected message in a shard stream")),
        }
    }
}

/// Stores whole one-stripe shards (a `WriteShards` batch) with one sync; one result per shard, in
/// order. `check_cluster` vets each header's cluster id (a no-op for this node's own shards).
pub(crate) async fn store_whole_shards(
    store: &ShardStore,
    shards: Vec<WholeShard>,
    check_cluster: impl Fn(&str) -> Result<(), Status>,
) -> Vec<ShardWriteResult> {
    let mut results = vec![ShardWriteResult::default(); shards.len()];
    let mut accepted = Vec::new();
    let mut positions = Vec::new();
    for (i, shard) in shards.into_iter().enumerate() {
        match whole_shard(shard, &check_cluster) {
            Ok(w) => {
                accepted.push(w);
                positions.push(i);
            }
            Err(status) => results[i] = failed(&status),
        }
    }
    let needed: u64 = accepted.iter().map(|w| w.stripe.len() as u64).sum();
    let free = store.free_bytes();
    let outcome = if needed > free {
        Err(shard_status(ShardError::DiskFull { needed, free }))
    } else {
        store.put_whole_many(accepted).await.map_err(shard_status)
    };
    match outcome {
        Ok(stored) => {
            for (i, one) in positions.into_iter().zip(stored) {
                match one {
                    Ok((table_hash, _)) => results[i].table_hash = table_hash.to_vec(),
                    Err(e) => results[i] = failed(&shard_status(e)),
                }
            }
        }
        Err(status) => {
            for i in positions {
                results[i] = failed(&status);
            }
        }
    }
    results
}

/// One shard of a `WriteShards` batch, checked.
fn whole_shard(
    shard: WholeShard,
    check_cluster: impl Fn(&str) -> Result<(), Status>,
) -> Result<WholeShardWrite, Status> {
    let header = shard
        .header
        .ok_or_else(|| Status::invalid_argument("a whole shard needs its header"))?;
    check_cluster(&header.cluster_id)?;
    let (object_id, file_header) = file_header(&header)?;
    if shard.stripe.is_empty() || shard.stripe.len() as u64 > header.shard_len {
        return Err(Status::invalid_argument("stripe length out of range"));
    }
    Ok(WholeShardWrite {
        object_id,
        header: file_header,
        stripe: shard.stripe,
        object_size: shard.object_size,
        expected_table_hash: expected_hash(shard.expected_table_hash.as_deref())?,
    })
}

/// The coordinator's table hash of a shard, when it sent one.
fn expected_hash(raw: Option<&[u8]>) -> Result<Option<[u8; 32]>, Status> {
    raw.map(|h| <[u8; 32]>::try_from(h).map_err(|_| Status::invalid_argument("expected table hash must be 32 bytes")))
        .transpose()
}

fn failed(status: &Status) -> ShardWriteResult {
    ShardWriteResult {
        table_hash: Vec::new(),
        error: status.message().to_owned(),
        code: status.code() as i32,
    }
}

#[cfg(test)]
mod tests {
    use archipel_proto::shard::FinishShard;
    use bytes::Bytes;

    use super::*;

    fn header() -> ShardHeader {
        ShardHeader {
            object_id: vec![7; 16],
            namespace: "ns".into(),
            key: "k".into(),
            index: 1,
            data_shards: 2,
            parity_shards: 1,
            stripe_size: 8,
            shard_len: 4,
            ..Default::default()
        }
    }

    fn stripe(data: &'static [u8]) -> WriteShardChunk {
        WriteShardChunk {
            part: Some(write_shard_chunk::Part::Stripe(Bytes::from_static(data))),
        }
    }

    fn finish(stripe_count: u64) -> WriteShardChunk {
        WriteShardChunk {
            part: Some(write_shard_chunk::Part::Finish(FinishShard {
                stripe_count,
                object_size: 16,
                expected_table_hash: None,
            })),
        }
    }

    /// Sends `chunks` as this node's coordinator would, then drops the sender.
    async fn receive_local(store: &ShardStore, chunks: Vec<WriteShardChunk>) -> Result<WriteShardReply, Status> {
        let (id, stored) = file_header(&header())?;
        let (tx, rx) = mpsc::channel(8);
        for c in chunks {
            tx.send(c).await.unwrap();
        }
        drop(tx);
        receive_stripes(store, id, stored, ChunkSource::Local(rx)).await
    }

    #[tokio::test]
    async fn a_local_shard_is_stored_and_reads_back_verified() {
        for pack_max in [0, 1 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let store = ShardStore::open(dir.path(), 1 << 30, pack_max).unwrap();
            let reply = receive_local(&store, vec![stripe(b"abcd"), stripe(b"efgh"), finish(2)])
                .await
                .unwrap();
            let mut reader = store.open_reader(&[7; 16], 1).await.unwrap();
            assert_eq!(reader.table_hash.to_vec(), reply.table_hash);
            let second = reader.read_stripe(1).await.unwrap();
            assert!(reader.verify(1, &second));
            assert_eq!(second, b"efgh");
        }
    }

    #[tokio::test]
    async fn a_local_shard_that_never_finishes_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30, 0).unwrap();
        let err = receive_local(&store, vec![stripe(b"abcd")]).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::Aborted);
        assert!(!store.contains(&[7; 16], 1));
        assert!(store.list().unwrap().is_empty(), "no temp file left");
        let err = receive_local(&store, vec![stripe(b"abcd"), finish(3)])
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
        assert!(store.list().unwrap().is_empty());
    }

    /// The coordinator's own path sends its table hash too: a store that keeps other bytes than
    /// it was given refuses the shard rather than answering another hash.
    #[tokio::test]
    async fn a_local_shard_that_does_not_hash_as_sent_is_refused() {
        for pack_max in [0, 1 << 20] {
            let dir = tempfile::tempdir().unwrap();
            let store = ShardStore::open(dir.path(), 1 << 30, pack_max).unwrap();
            store.alter_stripes.store(true, std::sync::atomic::Ordering::Relaxed);
            let mut sent = crate::shards::TableHasher::default();
            sent.push(b"abcd");
            let mut last = finish(1);
            if let Some(write_shard_chunk::Part::Finish(f)) = &mut last.part {
                f.expected_table_hash = Some(sent.finalize().to_vec());
            }
            let err = receive_local(&store, vec![stripe(b"abcd"), last]).await.unwrap_err();
            assert!(err.message().contains("does not hash"), "{err:?}");
            assert!(!store.contains(&[7; 16], 1));
        }
    }

    #[test]
    fn a_bad_header_is_refused_before_anything_is_written() {
        let mut h = header();
        h.index = 3;
        assert!(file_header(&h).unwrap_err().message().contains("out of range"));
        let mut h = header();
        h.object_id = vec![1; 3];
        assert!(file_header(&h).is_err());
        let mut h = header();
        h.shard_len = MAX_SHARD_LEN + 1;
        assert!(file_header(&h).is_err());
    }
}
