//! Reading an object: any k healthy shards per stripe, each stripe verified against its
//! shard's table and each table against the manifest; bad shards are avoided and recorded.

use std::collections::BTreeSet;

use archipel_proto::shard::shard_client::ShardClient;
use archipel_proto::shard::{read_shard_reply, ReadShardRequest};
use bytes::Bytes;
use futures::future::join_all;
use tokio::sync::mpsc;
use tonic::Code;

use crate::erasure::Codec;
use crate::node::Node;
use crate::raft::Command;
use crate::shards::object_id_hex;

use super::model::{now_ms, Manifest, ShardRef, Storage, NS_DAMAGED};
use super::ObjectError;

/// Stripes fetched per round: bounds memory to about WINDOW x stripe_size x (k+m)/k.
const WINDOW: u64 = 4;

#[derive(Debug, Clone, Copy)]
pub struct ReadRange {
    pub offset: u64,
    pub length: Option<u64>,
}

/// Why one shard could not serve a window.
struct ShardFailure {
    /// The shard is damaged or missing (as opposed to its node being unreachable).
    damaged: bool,
    stripe: Option<u64>,
    reason: String,
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
        let order = self.read_preference(shards, profile.data as u32);
        let mut failed: BTreeSet<u32> = BTreeSet::new();
        let first = range.offset / stripe_size;
        let last = (end - 1) / stripe_size;
        let mut start = first;
        while start <= last {
            let count = (last - start + 1).min(WINDOW);
            let window = self
                .fetch_window(
                    m,
                    &order,
                    &mut failed,
                    (start, count),
                    (profile.data as usize, profile.total()),
                )
                .await?;
            for (j, shard_set) in window.iter().enumerate() {
                let stripe = start + j as u64;
                let stripe_len = m.plain_stripe_len(stripe) as usize;
                let data = codec
                    .decode(shard_set, m.stored_stripe_len(stripe))
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
            start += count;
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
                        tracing::warn!(object = %object_id_hex(&m.object_id), shard = s.index, node = s.node_id, reason = %f.reason, "shard unreadable");
                        if f.damaged {
                            self.record_damage(m, s.index, Some(s.node_id), f.stripe, &f.reason)
                                .await;
                        }
                    }
                }
            }
        }
        Ok(window)
    }

    async fn fetch_shard_window(
        &self,
        m: &Manifest,
        shard: &ShardRef,
        start: u64,
        count: u64,
    ) -> Result<Vec<Bytes>, ShardFailure> {
        let unreachable = |reason: String| ShardFailure {
            damaged: false,
            stripe: None,
            reason,
        };
        let damaged = |stripe: Option<u64>, reason: String| ShardFailure {
            damaged: true,
            stripe,
            reason,
        };
        let addr = self
            .state
            .cluster_map()
            .nodes
            .get(&shard.node_id)
            .map(|n| n.addr.clone())
            .ok_or_else(|| unreachable("node no longer in the cluster map".into()))?;
        let channel = self.peers.channel(&addr).map_err(|e| unreachable(e.to_string()))?;
        let mut client = ShardClient::new(channel).max_decoding_message_size(usize::MAX);
        let request = ReadShardRequest {
            cluster_id: self.identity.cluster_id().unwrap_or_default(),
            object_id: m.object_id.to_vec(),
            index: shard.index,
            first_stripe: start,
            stripe_count: count,
        };
        let classify = |status: tonic::Status| match status.code() {
            Code::NotFound => damaged(None, "shard file missing".into()),
            Code::DataLoss => damaged(None, status.message().to_owned()),
            _ => unreachable(status.message().to_owned()),
        };
        let mut stream = client.read_shard(request).await.map_err(classify)?.into_inner();
        let mut table: Option<Vec<u8>> = None;
        let mut out = Vec::with_capacity(count as usize);
        while let Some(msg) = stream.message().await.map_err(classify)? {
            match msg.part {
                Some(read_shard_reply::Part::Table(t)) => {
                    if *blake3::hash(&t).as_bytes() != shard.table_hash {
                        return Err(damaged(None, "stripe table does not match the manifest".into()));
                    }
                    table = Some(t);
                }
                Some(read_shard_reply::Part::Stripe(s)) => {
                    let expected_stripe = start + out.len() as u64;
                    let t = table
                        .as_ref()
                        .ok_or_else(|| unreachable("stripe before table".into()))?;
                    let i = s.stripe as usize * 32;
                    let ok = s.stripe == expected_stripe
                        && t.get(i..i + 32) == Some(blake3::hash(&s.data).as_bytes().as_slice());
                    if !ok {
                        return Err(damaged(
                            Some(expected_stripe),
                            format!("stripe {expected_stripe} fails its BLAKE3 check"),
                        ));
                    }
                    out.push(Bytes::from(s.data));
                }
                None => return Err(unreachable("empty message".into())),
            }
        }
        if out.len() as u64 != count {
            return Err(damaged(
                Some(start + out.len() as u64),
                format!("shard ends after {} of {count} stripes", out.len()),
            ));
        }
        Ok(out)
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
