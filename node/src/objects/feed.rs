//! Shard feeds: one ReadShard stream per shard for a whole range of stripes, drained by its own
//! task that checks each stripe as it arrives. A read keeps k feeds going, so fetching,
//! checking, decoding and sending overlap instead of taking turns.

use std::future::Future;
use std::time::Duration;

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
/// A feed that yields no stripe for this long (a hung disk, a stalled node) is replaced by the
/// next shard, as a failed one is. Generous: a shard's stripe is a few MiB at most.
pub(crate) const STRIPE_DEADLINE: Duration = Duration::from_secs(30);

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

/// Where a read's feeds come from, and who hears of a bad shard: the node, or a test's fake.
pub(crate) trait FeedSource: Sync {
    /// Opens a feed of stripes `first..end` of `shard`.
    fn open_feed(&self, m: &Manifest, shard: &ShardRef, first: u64, end: u64) -> Result<Feed, ShardFailure>;
    /// A feed failed; a damaged shard is recorded for repair.
    fn shard_failed(&self, m: &Manifest, shard: &ShardRef, f: &ShardFailure) -> impl Future<Output = ()> + Send;
    /// How long a feed may go without yielding a stripe.
    fn stripe_deadline(&self) -> Duration {
        STRIPE_DEADLINE
    }
}

impl FeedSource for Node {
    fn open_feed(&self, m: &Manifest, shard: &ShardRef, first: u64, end: u64) -> Result<Feed, ShardFailure> {
        Node::open_feed(self, m, shard, first, end)
    }

    fn shard_failed(&self, m: &Manifest, shard: &ShardRef, f: &ShardFailure) -> impl Future<Output = ()> + Send {
        Node::shard_failed(self, m, shard, f)
    }
}

/// The k shard feeds of one read. Each feed is at the same stripe; one that fails is replaced
/// by the next shard in preference order, opened at the stripe where the other stopped.
pub(crate) struct Feeds<'a, S: FeedSource = Node> {
    source: &'a S,
    m: &'a Manifest,
    waiting: std::collections::VecDeque<&'a ShardRef>,
    active: Vec<Feed>,
    end: u64,
    k: usize,
    /// Shards this read may use, and how many of them proved damaged or missing (not merely
    /// out of reach): only when fewer than k are left unproven is the object lost.
    candidates: usize,
    proven_bad: usize,
    reasons: Vec<String>,
}

impl<'a, S: FeedSource> Feeds<'a, S> {
    pub fn open(source: &'a S, m: &'a Manifest, order: Vec<&'a ShardRef>, (first, end): (u64, u64), k: usize) -> Self {
        let mut feeds = Self {
            source,
            m,
            candidates: order.len(),
            proven_bad: 0,
            waiting: order.into(),
            active: Vec::with_capacity(k),
            end,
            k,
            reasons: Vec::new(),
        };
        // All k at once, so the first stripe does not wait on each in turn.
        while feeds.active.len() < k {
            let Some(shard) = feeds.waiting.pop_front() else { break };
            match source.open_feed(m, shard, first, end) {
                Ok(feed) => feeds.active.push(feed),
                Err(f) => feeds.failed_to_open(shard, &f),
            }
        }
        feeds
    }

    fn failed_to_open(&mut self, shard: &ShardRef, f: &ShardFailure) {
        self.proven_bad += usize::from(f.damaged);
        self.reasons
            .push(format!("shard {} on node {}: {}", shard.index, shard.node_id, f.reason));
    }

    /// Why stripe `stripe` cannot be served: data loss only when fewer than k shards are left
    /// that have not proved damaged or missing; otherwise some are only out of reach (nodes
    /// down, timeouts), and the read is worth retrying.
    fn shortfall(&self, stripe: u64, readable: usize) -> ObjectError {
        let reason = format!(
            "stripes {stripe}..{}: only {readable} of the {} shards needed are readable ({})",
            self.end,
            self.k,
            self.reasons.join("; ")
        );
        let (namespace, key) = (self.m.namespace.clone(), self.m.key.clone());
        if self.candidates.saturating_sub(self.proven_bad) < self.k {
            ObjectError::DataLoss { namespace, key, reason }
        } else {
            ObjectError::ShardsUnreachable { namespace, key, reason }
        }
    }

    /// The shards of `stripe` (`total` slots, at least k filled).
    pub async fn stripe(&mut self, stripe: u64, total: usize) -> Result<Vec<Option<Bytes>>, ObjectError> {
        let mut set: Vec<Option<Bytes>> = vec![None; total];
        let mut i = 0;
        while i < self.k {
            if i == self.active.len() {
                let Some(shard) = self.waiting.pop_front() else {
                    return Err(self.shortfall(stripe, i));
                };
                match self.source.open_feed(self.m, shard, stripe, self.end) {
                    Ok(feed) => self.active.push(feed),
                    Err(f) => {
                        self.failed_to_open(shard, &f);
                        continue;
                    }
                }
            }
            let deadline = self.source.stripe_deadline();
            let next = tokio::time::timeout(deadline, self.active[i].next())
                .await
                .unwrap_or_else(|_| {
                    Err(ShardFailure::unreachable(format!(
                        "no stripe within {deadline:?}: its node or disk is stalled"
                    )))
                });
            match next {
                Ok(data) => {
                    set[self.active[i].shard.index as usize] = Some(data);
                    i += 1;
                }
                Err(f) => {
                    let feed = self.active.remove(i);
                    self.proven_bad += usize::from(f.damaged);
                    self.reasons.push(format!(
                        "shard {} on node {}: {}",
                        feed.shard.index, feed.shard.node_id, f.reason
                    ));
                    self.source.shard_failed(self.m, &feed.shard, &f).await;
                }
            }
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ec_profile::EcProfile;
    use crate::objects::model::Storage;
    use crate::shards::ShardFileHeader;

    /// Shards from a local store; those listed as unreachable fail as a down node would, those
    /// listed as stalled never answer, as a hung disk.
    struct FakeSource {
        store: ShardStore,
        unreachable: Vec<u32>,
        stalled: Vec<u32>,
        reported: Mutex<Vec<u32>>,
    }

    impl FeedSource for FakeSource {
        fn open_feed(&self, m: &Manifest, shard: &ShardRef, first: u64, end: u64) -> Result<Feed, ShardFailure> {
            if self.unreachable.contains(&shard.index) {
                return Err(ShardFailure::unreachable("connection refused".into()));
            }
            if self.stalled.contains(&shard.index) {
                let (tx, rx) = mpsc::channel(AHEAD);
                let task = tokio::spawn(async move {
                    let _held = tx;
                    std::future::pending::<()>().await
                });
                return Ok(Feed {
                    shard: shard.clone(),
                    rx,
                    task,
                });
            }
            Ok(Feed::open_local(
                self.store.clone(),
                m.object_id,
                shard,
                first,
                end - first,
            ))
        }

        fn shard_failed(&self, _: &Manifest, shard: &ShardRef, f: &ShardFailure) -> impl Future<Output = ()> + Send {
            if f.damaged {
                self.reported.lock().unwrap().push(shard.index);
            }
            async {}
        }

        fn stripe_deadline(&self) -> Duration {
            Duration::from_millis(200)
        }
    }

    const ID: [u8; 16] = [3; 16];

    /// A 2+1 object of one stripe whose shards `stored` this store holds; the others are missing.
    async fn object(store: &ShardStore, stored: &[u32]) -> Manifest {
        let mut shards = Vec::new();
        for index in 0..3u32 {
            let stripe = vec![index as u8; 4];
            let header = ShardFileHeader {
                format: 1,
                object_id: hex::encode(ID),
                namespace: "ns".into(),
                key: "k".into(),
                index,
                profile: "2+1".into(),
                stripe_size: 8,
                shard_len: 4,
                created_at_ms: 0,
            };
            let mut w = store.create(&ID, &header).await.unwrap();
            w.write_stripe(stripe).await.unwrap();
            let table_hash = if stored.contains(&index) {
                w.finish(8, None).await.unwrap().0
            } else {
                crate::shards::TableHasher::of_one(&[index as u8; 4])
            };
            shards.push(ShardRef {
                index,
                node_id: 1,
                table_hash,
            });
        }
        Manifest {
            namespace: "ns".into(),
            key: "k".into(),
            object_id: ID,
            size: 8,
            blake3: [0; 32],
            created_at_ms: 0,
            retain_until_ms: 0,
            storage: Storage::Sharded {
                profile: EcProfile::new(2, 1).unwrap(),
                stripe_size: 8,
                shards,
            },
            sealed: None,
        }
    }

    async fn read(stored: &[u32], unreachable: &[u32]) -> (Result<usize, ObjectError>, Vec<u32>) {
        read_with(stored, unreachable, &[]).await
    }

    async fn read_with(stored: &[u32], unreachable: &[u32], stalled: &[u32]) -> (Result<usize, ObjectError>, Vec<u32>) {
        let dir = tempfile::tempdir().unwrap();
        let store = ShardStore::open(dir.path(), 1 << 30, 1 << 20).unwrap();
        let m = object(&store, stored).await;
        let source = FakeSource {
            store,
            unreachable: unreachable.to_vec(),
            stalled: stalled.to_vec(),
            reported: Mutex::new(Vec::new()),
        };
        let Storage::Sharded { shards, .. } = &m.storage else {
            unreachable!()
        };
        let mut feeds = Feeds::open(&source, &m, shards.iter().collect(), (0, 1), 2);
        let got = feeds.stripe(0, 3).await.map(|set| set.iter().flatten().count());
        drop(feeds);
        (got, source.reported.into_inner().unwrap())
    }

    #[tokio::test]
    async fn unreachable_shards_are_retry_safe_not_data_loss() {
        // One shard missing (proven), one out of reach: two are still sound, so retry later.
        let (got, reported) = read(&[0, 2], &[2]).await;
        assert!(matches!(got, Err(ObjectError::ShardsUnreachable { .. })), "{got:?}");
        assert_eq!(reported, vec![1], "only the missing shard is recorded as damaged");
        let status = tonic::Status::from(got.unwrap_err());
        assert_eq!(status.code(), Code::Unavailable);
        // Reachable again: the read succeeds.
        assert_eq!(read(&[0, 2], &[]).await.0.unwrap(), 2);
    }

    #[tokio::test]
    async fn too_few_sound_shards_is_data_loss() {
        let (got, reported) = read(&[0], &[]).await;
        assert!(matches!(got, Err(ObjectError::DataLoss { .. })), "{got:?}");
        assert_eq!(reported, vec![1, 2]);
        // Missing two of three even with the third out of reach: lost whatever comes back.
        let (got, _) = read(&[], &[0]).await;
        assert!(matches!(got, Err(ObjectError::DataLoss { .. })), "{got:?}");
    }

    /// A hung disk holds a feed open without a stripe: the read moves on to the next shard
    /// instead of waiting for ever, and does not count the stalled shard as damaged.
    #[tokio::test]
    async fn a_stalled_shard_is_replaced_by_the_next_one() {
        let read = tokio::time::timeout(Duration::from_secs(20), read_with(&[0, 1, 2], &[], &[0]));
        let (got, reported) = read.await.expect("the read waited on the stalled shard");
        assert_eq!(got.unwrap(), 2);
        assert!(reported.is_empty(), "{reported:?}");
        // Two stalled of three: out of reach, not lost.
        let (got, _) = read_with(&[0, 1, 2], &[], &[0, 1]).await;
        assert!(matches!(got, Err(ObjectError::ShardsUnreachable { .. })), "{got:?}");
    }
}
