//! Reading an object: any k healthy shards per stripe, each stripe verified against its
//! shard's table and each table against the manifest; bad shards are avoided and recorded.

use std::collections::BTreeSet;

use bytes::Bytes;
use futures::future::join_all;
use tokio::sync::mpsc;

use crate::erasure::Codec;
use crate::node::Node;
use crate::raft::Command;
use crate::shards::object_id_hex;

use super::feed::{Feed, ShardFailure};
use super::model::{now_ms, Manifest, ShardRef, Storage, NS_DAMAGED};
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

    fn data_loss(&self, m: &Manifest, reason: String) -> ObjectError {
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

    /// Stripes `start..start+count`, each with at least k verified shards.
    pub(crate) async fn fetch_window(
        &self,
        m: &Manifest,
        order: &[&ShardRef],
        failed: &mut BTreeSet<u32>,
        (start, count): (u64, u64),
        (k, total): (usize, usize),
    ) -> Result<Vec<Vec<Option<Bytes>>>, ObjectError> {
        let mut window: Vec<Vec<Option<Bytes>>> = vec![vec![None; total]; count as usize];
        let mut have = 0usize;
        let mut tried: BTreeSet<u32> = BTreeSet::new();
        let mut reasons: Vec<String> = Vec::new();
        while have < k {
            let batch: Vec<&ShardRef> = order
                .iter()
                .filter(|s| !failed.contains(&s.index) && !tried.contains(&s.index))
                .take(k - have)
                .copied()
                .collect();
            if batch.is_empty() {
                return Err(self.data_loss(
                    m,
                    format!(
                        "stripes {start}..{}: only {have} of the {k} shards needed are readable ({})",
                        start + count,
                        reasons.join("; ")
                    ),
                ));
            }
            let fetches = batch.iter().map(|s| self.fetch_shard_window(m, s, start, count));
            for (s, result) in batch.iter().zip(join_all(fetches).await) {
                tried.insert(s.index);
                match result {
                    Ok(stripes) => {
                        for (j, data) in stripes.into_iter().enumerate() {
                            window[j][s.index as usize] = Some(data);
                        }
                        have += 1;
                    }
                    Err(f) => {
                        failed.insert(s.index);
                        reasons.push(format!("shard {} on node {}: {}", s.index, s.node_id, f.reason));
                        self.shard_failed(m, s, &f).await;
                    }
                }
            }
        }
        Ok(window)
    }

    /// Opens a feed of stripes `first..end` of `shard` from its node.
    pub(crate) fn open_feed(&self, m: &Manifest, shard: &ShardRef, first: u64, end: u64) -> Result<Feed, ShardFailure> {
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

    async fn fetch_shard_window(
        &self,
        m: &Manifest,
        shard: &ShardRef,
        start: u64,
        count: u64,
    ) -> Result<Vec<Bytes>, ShardFailure> {
        let mut feed = self.open_feed(m, shard, start, start + count)?;
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            out.push(feed.next().await?);
        }
        Ok(out)
    }

    /// Logs an unreadable shard and, when it is damaged rather than out of reach, records it.
    async fn shard_failed(&self, m: &Manifest, shard: &ShardRef, f: &ShardFailure) {
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
        let cmd = damage_command(m, index, node_id, stripe, reason, self.id());
        if let Err(e) = self.propose(cmd).await {
            tracing::warn!("could not record shard damage ({e}); the scrubber will find it again");
        }
    }
}

/// The k shard feeds of one read. Each feed is at the same stripe; one that fails is replaced
/// by the next shard in preference order, opened at the stripe where the other stopped.
struct Feeds<'a> {
    node: &'a Node,
    m: &'a Manifest,
    waiting: std::collections::VecDeque<&'a ShardRef>,
    active: Vec<Feed>,
    end: u64,
    k: usize,
    reasons: Vec<String>,
}

impl<'a> Feeds<'a> {
    fn open(node: &'a Node, m: &'a Manifest, order: Vec<&'a ShardRef>, (first, end): (u64, u64), k: usize) -> Self {
        let mut feeds = Self {
            node,
            m,
            waiting: order.into(),
            active: Vec::with_capacity(k),
            end,
            k,
            reasons: Vec::new(),
        };
        // All k at once, so the first stripe does not wait on each in turn.
        while feeds.active.len() < k {
            let Some(shard) = feeds.waiting.pop_front() else { break };
            match node.open_feed(m, shard, first, end) {
                Ok(feed) => feeds.active.push(feed),
                Err(f) => feeds
                    .reasons
                    .push(format!("shard {} on node {}: {}", shard.index, shard.node_id, f.reason)),
            }
        }
        feeds
    }

    /// The shards of `stripe` (`total` slots, at least k filled).
    async fn stripe(&mut self, stripe: u64, total: usize) -> Result<Vec<Option<Bytes>>, ObjectError> {
        let mut set: Vec<Option<Bytes>> = vec![None; total];
        let mut i = 0;
        while i < self.k {
            if i == self.active.len() {
                let Some(shard) = self.waiting.pop_front() else {
                    return Err(self.node.data_loss(
                        self.m,
                        format!(
                            "stripe {stripe}: only {i} of the {} shards needed are readable ({})",
                            self.k,
                            self.reasons.join("; ")
                        ),
                    ));
                };
                match self.node.open_feed(self.m, shard, stripe, self.end) {
                    Ok(feed) => self.active.push(feed),
                    Err(f) => {
                        self.reasons
                            .push(format!("shard {} on node {}: {}", shard.index, shard.node_id, f.reason));
                        continue;
                    }
                }
            }
            match self.active[i].next().await {
                Ok(data) => {
                    set[self.active[i].shard.index as usize] = Some(data);
                    i += 1;
                }
                Err(f) => {
                    let feed = self.active.remove(i);
                    self.reasons.push(format!(
                        "shard {} on node {}: {}",
                        feed.shard.index, feed.shard.node_id, f.reason
                    ));
                    self.node.shard_failed(self.m, &feed.shard, &f).await;
                }
            }
        }
        Ok(set)
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
) -> Command {
    let value = serde_json::json!({
        "namespace": m.namespace,
        "key": m.key,
        "node_id": node_id,
        "stripe": stripe,
        "reason": reason,
        "detected_by": detected_by,
        "detected_at_ms": now_ms(),
    });
    Command::Put {
        ns: NS_DAMAGED.into(),
        key: format!("{}.{}", object_id_hex(&m.object_id), index).into_bytes(),
        value: value.to_string().into_bytes(),
    }
}
