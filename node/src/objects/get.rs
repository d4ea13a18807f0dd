//! Reading an object: any k healthy shards per stripe, each stripe verified against its
//! shard's table and each table against the manifest; bad shards are avoided and recorded.

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::erasure::Codec;
use crate::node::Node;
use crate::raft::Command;
use crate::shards::object_id_hex;

use super::feed::{Feed, Feeds, ShardFailure};
use super::model::{Manifest, ShardRef, Storage, NS_DAMAGED};
use super::ObjectError;

#[derive(Debug, Clone, Copy)]
pub struct ReadRange {
    pub offset: u64,
    pub length: Option<u64>,
}

impl Node {
    /// Streams the bytes of `range` of the object described by `m` into `out`.
    pub async fn read_object(
        &self,
        m: &Manifest,
        range: ReadRange,
        out: &mpsc::Sender<Result<Bytes, tonic::Status>>,
    ) -> Result<(), ObjectError> {
        if range.offset > m.size {
            return Err(ObjectError::Invalid(format!(
                "offset {} is past the end of the object ({} bytes)",
                range.offset, m.size
            )));
        }
        let end = match range.length {
            Some(len) => range.offset.saturating_add(len).min(m.size),
            None => m.size,
        };
        if range.offset == end {
            return Ok(());
        }
        let sealer = self.manifest_sealer(m)?;
        let (profile, stripe_size, shards) = match &m.storage {
            Storage::Inline(data) => {
                let opened;
                let data = match &sealer {
                    Some(s) => {
                        opened = s.open_inline(m, data)?;
                        &opened
                    }
                    None => data,
                };
                let slice = data
                    .get(range.offset as usize..end as usize)
                    .ok_or_else(|| ObjectError::DataLoss {
                        namespace: m.namespace.clone(),
                        key: m.key.clone(),
                        reason: "inline data shorter than the manifest says".into(),
                    })?;
                let _ = out.send(Ok(Bytes::copy_from_slice(slice))).await;
                return Ok(());
            }
            Storage::Sharded {
                profile,
                stripe_size,
                shards,
            } => (*profile, *stripe_size, shards),
        };
        let codec = Codec::new(profile).map_err(|e| ObjectError::Internal(e.to_string()))?;
        let whole = range.offset == 0 && end == m.size;
        let mut hasher = blake3::Hasher::new();
        let first = range.offset / stripe_size;
        let last = (end - 1) / stripe_size;
        let order = self.read_preference(shards, profile.data as u32);
        let mut feeds = Feeds::open(self, m, order, (first, last + 1), profile.data as usize);
        for stripe in first..=last {
            let shard_set = feeds.stripe(stripe, profile.total()).await?;
            let stripe_len = m.plain_stripe_len(stripe) as usize;
            let data = codec
                .decode(&shard_set, m.stored_stripe_len(stripe))
                .map_err(|e| self.data_loss(m, format!("stripe {stripe}: {e}")))?;
            let data = match &sealer {
                Some(s) => s.open_stripe(m, stripe, &data)?,
                None => data,
            };
            if whole {
                hasher.update(&data);
            }
            let stripe_start = stripe * stripe_size;
            let from = range.offset.saturating_sub(stripe_start) as usize;
            let to = (end - stripe_start).min(stripe_len as u64) as usize;
            if out.send(Ok(Bytes::from(data).slice(from..to))).await.is_err() {
                return Ok(()); // the reader went away
            }
        }
        if whole && *hasher.finalize().as_bytes() != m.blake3 {
            return Err(self.data_loss(m, "the decoded object does not match its BLAKE3".into()));
        }
        Ok(())
    }

    pub(crate) fn data_loss(&self, m: &Manifest, reason: String) -> ObjectError {
        ObjectError::DataLoss {
            namespace: m.namespace.clone(),
            key: m.key.clone(),
            reason,
        }
    }

    /// Data shards first (no decoding needed), then this node, then its site, then the rest.
    pub(crate) fn read_preference<'a>(&self, shards: &'a [ShardRef], k: u32) -> Vec<&'a ShardRef> {
        let map = self.state.cluster_map();
        let my_site = &self.config.site;
        let mut order: Vec<&ShardRef> = shards.iter().collect();
        order.sort_by_key(|s| {
            let local = s.node_id == self.id();
            let same_site = map.nodes.get(&s.node_id).is_some_and(|n| &n.site == my_site);
            (s.index >= k, !local, !same_site, s.index)
        });
        order
    }

    /// Opens a feed of stripes `first..end` of `shard` from its node.
    pub(crate) fn open_feed(&self, m: &Manifest, shard: &ShardRef, first: u64, end: u64) -> Result<Feed, ShardFailure> {
        if shard.node_id == self.id() {
            return Ok(Feed::open_local(
                self.shards.clone(),
                m.object_id,
                shard,
                first,
                end - first,
            ));
        }
        let addr = self
            .state
            .cluster_map()
            .nodes
            .get(&shard.node_id)
            .map(|n| n.addr.clone())
            .ok_or_else(|| ShardFailure::unreachable("node no longer in the cluster map".into()))?;
        let channel = self
            .peers
            .channel(&addr)
            .map_err(|e| ShardFailure::unreachable(e.to_string()))?;
        let cluster_id = self.identity.cluster_id().unwrap_or_default();
        Ok(Feed::open(channel, cluster_id, m.object_id, shard, first, end - first))
    }

    /// Logs an unreadable shard and, when it is damaged rather than out of reach, records it.
    pub(crate) async fn shard_failed(&self, m: &Manifest, shard: &ShardRef, f: &ShardFailure) {
        tracing::warn!(object = %object_id_hex(&m.object_id), shard = shard.index, node = shard.node_id, reason = %f.reason, "shard unreadable");
        if f.damaged {
            self.record_damage(m, shard.index, Some(shard.node_id), f.stripe, &f.reason)
                .await;
        }
    }

    /// Records a bad shard under `sys.damaged` for the healing work; best effort.
    pub(crate) async fn record_damage(
        &self,
        m: &Manifest,
        index: u32,
        node_id: Option<u64>,
        stripe: Option<u64>,
        reason: &str,
    ) {
        if crate::repair::is_lost(self, &object_id_hex(&m.object_id)) {
            return; // listed as lost: repair cannot use another report
        }
        let cmd = damage_command(m, index, node_id, stripe, reason, self.id(), self.clock.now_ms());
        if let Err(e) = self.propose(cmd).await {
            tracing::warn!("could not record shard damage ({e}); the scrubber will find it again");
        }
    }
}

/// The `sys.damaged` record of one bad or missing shard.
pub(crate) fn damage_command(
    m: &Manifest,
    index: u32,
    node_id: Option<u64>,
    stripe: Option<u64>,
    reason: &str,
    detected_by: u64,
    detected_at_ms: u64,
) -> Command {
    let value = serde_json::json!({
        "namespace": m.namespace,
        "key": m.key,
        "node_id": node_id,
        "stripe": stripe,
        "reason": reason,
        "detected_by": detected_by,
        "detected_at_ms": detected_at_ms,
    });
    Command::Put {
        ns: NS_DAMAGED.into(),
        key: format!("{}.{}", object_id_hex(&m.object_id), index).into_bytes(),
        value: value.to_string().into_bytes(),
    }
}
