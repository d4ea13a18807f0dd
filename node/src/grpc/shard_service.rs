//! Receives and serves shards for coordinators on other nodes (and this one).

use std::sync::Arc;

use archipel_proto::shard::shard_server::Shard;
use archipel_proto::shard::{
    read_shard_reply, write_shard_chunk, ReadShardReply, ReadShardRequest, ReserveReply, ReserveRequest, ShardHeader,
    ShardWriteResult, StripeData, WholeShard, WriteShardChunk, WriteShardReply, WriteShardsReply, WriteShardsRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::idle::IdleLimit;
use crate::ec_profile::{EcProfile, MAX_TOTAL_SHARDS};
use crate::node::Node;
use crate::objects::model::validate_object_key;
use crate::shards::{ObjectId, ShardError, ShardFileHeader, WholeShardWrite};

/// Largest shard bytes per stripe a node accepts (64 MiB stripes over 1 data shard).
const MAX_SHARD_LEN: u64 = 64 << 20;
/// Most shards one `WriteShards` call may carry.
const MAX_WHOLE_SHARDS: usize = 1024;

pub struct ShardService {
    pub node: Arc<Node>,
}

pub fn shard_status(e: ShardError) -> Status {
    let msg = e.to_string();
    match e {
        ShardError::DiskFull { .. } => Status::resource_exhausted(msg),
        ShardError::NotFound(_) => Status::not_found(msg),
        ShardError::Corrupt { .. } => Status::data_loss(msg),
        ShardError::Io { .. } => Status::internal(msg),
    }
}

impl ShardService {
    fn check_cluster(&self, cluster_id: &str) -> Result<(), Status> {
        match self.node.identity.cluster_id() {
            Some(ours) if ours == cluster_id => Ok(()),
            _ => Err(Status::permission_denied(format!(
                "node {} does not serve shards for cluster `{cluster_id}`",
                self.node.id()
            ))),
        }
    }
}

impl ShardService {
    /// Checks a shard header from the wire and gives the header the shard is stored with.
    fn file_header(&self, header: &ShardHeader) -> Result<(ObjectId, ShardFileHeader), Status> {
        self.check_cluster(&header.cluster_id)?;
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
            created_at_ms: crate::objects::model::now_ms(),
        };
        Ok((id, file_header))
    }

    /// One shard of a `WriteShards` batch, checked.
    fn whole_shard(&self, shard: WholeShard) -> Result<WholeShardWrite, Status> {
        let header = shard
            .header
            .ok_or_else(|| Status::invalid_argument("a whole shard needs its header"))?;
        let (object_id, file_header) = self.file_header(&header)?;
        if shard.stripe.is_empty() || shard.stripe.len() as u64 > header.shard_len {
            return Err(Status::invalid_argument("stripe length out of range"));
        }
        Ok(WholeShardWrite {
            object_id,
            header: file_header,
            stripe: shard.stripe,
            object_size: shard.object_size,
        })
    }
}

fn failed(status: &Status) -> ShardWriteResult {
    ShardWriteResult {
        table_hash: Vec::new(),
        error: status.message().to_owned(),
        code: status.code() as i32,
    }
}

fn object_id(raw: &[u8]) -> Result<ObjectId, Status> {
    raw.try_into()
        .map_err(|_| Status::invalid_argument("object id must be 16 bytes"))
}

#[tonic::async_trait]
impl Shard for ShardService {
    async fn reserve(&self, request: Request<ReserveRequest>) -> Result<Response<ReserveReply>, Status> {
        let r = request.into_inner();
        self.check_cluster(&r.cluster_id)?;
        if self
            .node
            .state
            .cluster_map()
            .nodes
            .get(&self.node.id())
            .map(|n| n.state)
            != Some(crate::cluster_map::NodeState::Up)
        {
            return Err(Status::failed_precondition(format!(
                "node {} does not take new shards (not up in the cluster map)",
                self.node.id()
            )));
        }
        let free_bytes = self.node.shards.reserve(r.bytes).map_err(shard_status)?;
        Ok(Response::new(ReserveReply { free_bytes }))
    }

    async fn write_shard(
        &self,
        request: Request<Streaming<WriteShardChunk>>,
    ) -> Result<Response<WriteShardReply>, Status> {
        let mut stream = request.into_inner();
        let idle = IdleLimit::shard_stream(&self.node.config.network, "shard write");
        let header = match idle.next_message(&mut stream).await? {
            Some(WriteShardChunk {
                part: Some(write_shard_chunk::Part::Header(h)),
            }) => h,
            _ => return Err(Status::invalid_argument("a shard stream starts with its header")),
        };
        let (id, file_header) = self.file_header(&header)?;
        let mut writer = self.node.shards.create(&id, &file_header).await.map_err(shard_status)?;
        loop {
            // On an error or a stall the writer is dropped here: its temp file goes with it.
            let chunk = match idle.next_message(&mut stream).await? {
                Some(c) => c,
                None => {
                    return Err(Status::aborted(
                        "the shard stream ended without finishing; nothing kept",
                    ))
                }
            };
            match chunk.part {
                Some(write_shard_chunk::Part::Stripe(data)) => {
                    if data.is_empty() || data.len() as u64 > header.shard_len {
                        return Err(Status::invalid_argument("stripe length out of range"));
                    }
                    if self.node.shards.free_bytes() < data.len() as u64 {
                        return Err(shard_status(ShardError::DiskFull {
                            needed: data.len() as u64,
                            free: self.node.shards.free_bytes(),
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
                    let expected = match &f.expected_table_hash {
                        Some(h) => Some(
                            <[u8; 32]>::try_from(h.as_slice())
                                .map_err(|_| Status::invalid_argument("expected table hash must be 32 bytes"))?,
                        ),
                        None => None,
                    };
                    let (table_hash, size) = writer.finish(f.object_size, expected).await.map_err(shard_status)?;
                    return Ok(Response::new(WriteShardReply {
                        table_hash: table_hash.to_vec(),
                        bytes_written: size,
                    }));
                }
                _ => return Err(Status::invalid_argument("unexpected message in a shard stream")),
            }
        }
    }

    async fn write_shards(&self, request: Request<WriteShardsRequest>) -> Result<Response<WriteShardsReply>, Status> {
        let shards = request.into_inner().shards;
        if shards.len() > MAX_WHOLE_SHARDS {
            return Err(Status::invalid_argument(format!(
                "{} shards in one call; at most {MAX_WHOLE_SHARDS}",
                shards.len()
            )));
        }
        let mut results = vec![ShardWriteResult::default(); shards.len()];
        let mut accepted = Vec::new();
        let mut positions = Vec::new();
        for (i, shard) in shards.into_iter().enumerate() {
            match self.whole_shard(shard) {
                Ok(w) => {
                    accepted.push(w);
                    positions.push(i);
                }
                Err(status) => results[i] = failed(&status),
            }
        }
        let needed: u64 = accepted.iter().map(|w| w.stripe.len() as u64).sum();
        let free = self.node.shards.free_bytes();
        let outcome = if needed > free {
            Err(shard_status(ShardError::DiskFull { needed, free }))
        } else {
            self.node.shards.put_whole_many(accepted).await.map_err(shard_status)
        };
        match outcome {
            Ok(stored) => {
                for (i, (table_hash, _)) in positions.into_iter().zip(stored) {
                    results[i].table_hash = table_hash.to_vec();
                }
            }
            Err(status) => {
                for i in positions {
                    results[i] = failed(&status);
                }
            }
        }
        Ok(Response::new(WriteShardsReply { results }))
    }

    type ReadShardStream = ReceiverStream<Result<ReadShardReply, Status>>;

    async fn read_shard(&self, request: Request<ReadShardRequest>) -> Result<Response<Self::ReadShardStream>, Status> {
        let r = request.into_inner();
        self.check_cluster(&r.cluster_id)?;
        let id = object_id(&r.object_id)?;
        let mut reader = self.node.shards.open_reader(&id, r.index).await.map_err(shard_status)?;
        let end = match r.stripe_count {
            0 => reader.stripe_count,
            n => r.first_stripe.saturating_add(n).min(reader.stripe_count),
        };
        let (tx, rx) = mpsc::channel(2);
        let table = reader.table.clone();
        let idle = IdleLimit::shard_stream(&self.node.config.network, "shard read");
        tokio::spawn(async move {
            let first = ReadShardReply {
                part: Some(read_shard_reply::Part::Table(table)),
            };
            if !idle.send(&tx, Ok(first)).await {
                return;
            }
            for stripe in r.first_stripe..end {
                let msg = match reader.read_stripe(stripe).await {
                    Ok(data) => Ok(ReadShardReply {
                        part: Some(read_shard_reply::Part::Stripe(StripeData {
                            stripe,
                            data: data.into(),
                        })),
                    }),
                    Err(e) => Err(shard_status(e)),
                };
                let failed = msg.is_err();
                if !idle.send(&tx, msg).await || failed {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
