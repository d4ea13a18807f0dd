//! Receives and serves shards for coordinators on other nodes (a coordinator reads and writes
//! its own shards directly: `shard_receive`, `objects::feed`).

use std::sync::Arc;

use archipel_proto::shard::shard_server::Shard;
use archipel_proto::shard::{
    read_shard_reply, write_shard_chunk, ReadShardReply, ReadShardRequest, ReserveReply, ReserveRequest, ShardHeader,
    StripeData, WriteShardChunk, WriteShardReply, WriteShardsReply, WriteShardsRequest,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::idle::IdleLimit;
use super::shard_receive::{file_header, object_id, receive_stripes, store_whole_shards, ChunkSource};
use crate::node::Node;
use crate::shards::{ObjectId, ShardError, ShardFileHeader};

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

    /// Checks a shard header from the wire and gives the header the shard is stored with.
    fn file_header(&self, header: &ShardHeader) -> Result<(ObjectId, ShardFileHeader), Status> {
        self.check_cluster(&header.cluster_id)?;
        file_header(header)
    }
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
        let source = ChunkSource::Wire {
            stream: &mut stream,
            idle,
        };
        receive_stripes(&self.node.shards, id, file_header, source)
            .await
            .map(Response::new)
    }

    async fn write_shards(&self, request: Request<WriteShardsRequest>) -> Result<Response<WriteShardsReply>, Status> {
        let shards = request.into_inner().shards;
        if shards.len() > MAX_WHOLE_SHARDS {
            return Err(Status::invalid_argument(format!(
                "{} shards in one call; at most {MAX_WHOLE_SHARDS}",
                shards.len()
            )));
        }
        let results = store_whole_shards(&self.node.shards, shards, |id| self.check_cluster(id)).await;
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
