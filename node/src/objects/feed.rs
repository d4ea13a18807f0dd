//! Shard feeds: one ReadShard stream per shard for a whole range of stripes, drained by its own
//! task that checks each stripe as it arrives. A read keeps k feeds going, so fetching,
//! checking, decoding and sending overlap instead of taking turns.

use archipel_proto::shard::shard_client::ShardClient;
use archipel_proto::shard::{read_shard_reply, ReadShardRequest};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::Code;

use super::model::{Manifest, ShardRef};
use super::ObjectError;
use crate::node::Node;
use crate::shards::{ShardError, ShardStore};

/// Stripes a feed may hold ahead of the reader, beyond what is in flight on the wire.
const AHEAD: usize = 2;

/// Why a shard could not serve (the rest of) a range.
#[derive(Debug)]
pub(crate) struct ShardFailure {
    /// The shard is damaged or missing (as opposed to its node being unreachable).
    pub damaged: bool,
    pub stripe: Option<u64>,
    pub reason: String,
}

impl ShardFailure {
    pub fn unreachable(reason: String) -> Self {
        Self {
            damaged: false,
            stripe: None,
            reason,
        }
    }

    pub fn damaged(stripe: Option<u64>, reason: String) -> Self {
        Self {
            damaged: true,
            stripe,
            reason,
        }
    }

    fn table_mismatch() -> Self {
        Self::damaged(None, "stripe table does not match the manifest".into())
    }

    fn bad_stripe(stripe: u64) -> Self {
        Self::damaged(Some(stripe), format!("stripe {stripe} fails its BLAKE3 check"))
    }

    /// The shard held stripes `first..next` of the `count` asked for.
    fn ends_early(first: u64, next: u64, count: u64) -> Self {
        Self::damaged(
            Some(next),
            format!("shard ends after {} of {count} stripes", next - first),
        )
    }

    fn from_status(status: tonic::Status) -> Self {
        match status.code() {
            Code::NotFound => Self::damaged(None, "shard file missing".into()),
            Code::DataLoss => Self::damaged(None, status.message().to_owned()),
            _ => Self::unreachable(status.message().to_owned()),
        }
    }
}

/// The stripes `first..first + count` of one shard, in order, each checked against the shard's
/// table and the table against the manifest. Dropping the feed stops its stream.
pub(crate) struct Feed {
    pub shard: ShardRef,
    rx: mpsc::Receiver<Result<Bytes, ShardFailure>>,
    task: JoinHandle<()>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    pub fn open(
        channel: Channel,
        cluster_id: String,
        object_id: [u8; 16],
        shard: &ShardRef,
        first: u64,
        count: u64,
    ) -> Self {
        let (tx, rx) = mpsc::channel(AHEAD);
        let request = ReadShardRequest {
            cluster_id,
            object_id: object_id.to_vec(),
            index: shard.index,
            first_stripe: first,
            stripe_count: count,
        };
        let task = tokio::spawn(run(channel, request, shard.table_hash, tx));
        Self {
            shard: shard.clone(),
            rx,
            task,
        }
    }

    /// A shard this node holds: read from its own store, checked the same way as a remote one,
    /// without a TLS round trip to itself.
    pub fn open_local(store: ShardStore, object_id: [u8; 16], shard: &ShardRef, first: u64, count: u64) -> Self {
        let (tx, rx) = mpsc::channel(AHEAD);
        let local = shard.clone();
        let task = tokio::spawn(async move {
            if let Err(failure) = read_local(store, object_id, &local, (first, count), &tx).await {
                let _ = tx.send(Err(failure)).await;
            }
        });
        Self {
            shard: shard.clone(),
            rx,
            task,
        }
    }

    /// The next stripe, or why there is none.
    pub async fn next(&mut self) -> Result<Bytes, ShardFailure> {
        match self.rx.recv().await {
            Some(item) => item,
            None => Err(ShardFailure::unreachable("the shard stream stopped".into())),
        }
    }
}

async fn run(
    channel: Channel,
    request: ReadShardRequest,
    table_hash: [u8; 32],
    tx: mpsc::Sender<Result<Bytes, ShardFailure>>,
) {
    if let Err(failure) = stream_stripes(channel, request, table_hash, &tx).await {
        let _ = tx.send(Err(failure)).await;
    }
}

async fn stream_stripes(
    channel: Channel,
    request: ReadShardRequest,
    table_hash: [u8; 32],
    tx: &mpsc::Sender<Result<Bytes, ShardFailure>>,
) -> Result<(), ShardFailure> {
    let (first, count) = (request.first_stripe, request.stripe_count);
    let mut client = ShardClient::new(channel).max_decoding_message_size(usize::MAX);
    let mut stream = client
        .read_shard(request)
        .await
        .map_err(ShardFailure::from_status)?
        .into_inner();
    let mut table: Option<Vec<u8>> = None;
    let mut next = first;
    while let Some(msg) = stream.message().await.map_err(ShardFailure::from_status)? {
        match msg.part {
            Some(read_shard_reply::Part::Table(t)) => {
                if *blake3::hash(&t).as_bytes() != table_hash {
                    return Err(ShardFailure::table_mismatch());
                }
                table = Some(t);
            }
            Some(read_shard_reply::Part::Stripe(s)) => {
                let t = table
                    .as_ref()
                    .ok_or_else(|| ShardFailure::unreachable("stripe before table".into()))?;
                let i = next as usize * 32;
                let ok = s.stripe == next && t.get(i..i + 32) == Some(blake3::hash(&s.data).as_bytes().as_slice());
                if !ok {
                    return Err(ShardFailure::bad_stripe(next));
                }
                if tx.send(Ok(s.data)).await.is_err() {
                    return Ok(()); // the reader has what it needs
                }
                next += 1;
            }
            None => return Err(ShardFailure::unreachable("empty message".into())),
        }
    }
    if next != first + count {
        return Err(ShardFailure::ends_early(first, next, count));
    }
    Ok(())
}

async fn read_local(
    store: ShardStore,
    object_id: [u8; 16],
    shard: &ShardRef,
    (first, count): (u64, u64),
    tx: &mpsc::Sender<Result<Bytes, ShardFailure>>,
) -> Result<(), ShardFailure> {
    let mut reader = store
        .open_reader(&object_id, shard.index)
        .await
        .map_err(|e| local_failure(e, None))?;
    if reader.table_hash != shard.table_hash {
        return Err(ShardFailure::table_mismatch());
    }
    let end = first.saturating_add(count).min(reader.stripe_count);
    for stripe in first..end {
        let data = reader
            .read_stripe(stripe)
            .await
            .map_err(|e| local_failure(e, Some(stripe)))?;
        if !reader.verify(stripe, &data) {
            return Err(ShardFailure::bad_stripe(stripe));
        }
        if tx.send(Ok(Bytes::from(data))).await.is_err() {
            return Ok(()); // the reader has what it needs
        }
    }
    if end != first + count {
        return Err(ShardFailure::ends_early(first, end, count));
    }
    Ok(())
}

/// As a remote read's status would be judged (`ShardFailure::from_status`).
fn local_failure(e: ShardError, stripe: Option<u64>) -> ShardFailure {
    match e {
        ShardError::NotFound(_) => ShardFailure::damaged(None, "shard file missing".into()),
        ShardError::Corrupt { .. } => ShardFailure::damaged(stripe, e.to_string()),
        ShardError::Io { .. } | ShardError::DiskFull { .. } => ShardFailure::unreachable(e.to_string()),
    }
}

/// The k shard feeds of one read. Each feed is at the same stripe; one that fails is replaced
/// by the next shard in preference order, opened at the stripe where the other stopped.
pub(crate) struct Feeds<'a> {
    node: &'a Node,
    m: &'a Manifest,
    waiting: std::collections::VecDeque<&'a ShardRef>,
    active: Vec<Feed>,
    end: u64,
    k: usize,
    reasons: Vec<String>,
}

impl<'a> Feeds<'a> {
    pub fn open(node: &'a Node, m: &'a Manifest, order: Vec<&'a ShardRef>, (first, end): (u64, u64), k: usize) -> Self {
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
    pub async fn stripe(&mut self, stripe: u64, total: usize) -> Result<Vec<Option<Bytes>>, ObjectError> {
        let mut set: Vec<Option<Bytes>> = vec![None; total];
        let mut i = 0;
        while i < self.k {
            if i == self.active.len() {
                let Some(shard) = self.waiting.pop_front() else {
                    return Err(self.node.data_loss(
                        self.m,
                        format!(
                            "stripes {stripe}..{}: only {i} of the {} shards needed are readable ({})",
                            self.end,
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
