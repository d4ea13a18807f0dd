//! Loading the cluster through the ordinary PUT path, then waiting for the snapshot of it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use archipel_client::Client;

use super::probe::{RaftSample, RaftWatch};

/// How often a long load says where it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How long a PUT or a filler write is retried while the cluster answers that it is
/// unavailable (an election on a loaded machine can take several seconds).
const RETRY_FOR: Duration = Duration::from_secs(120);
/// The metadata namespace that takes the writes bringing the next snapshot about.
const FILLER_NS: &str = "bench-scale-filler";

pub struct Loaded {
    pub secs: f64,
}

/// Stores `count` objects of `size` bytes as `ns/obj/<n>`, `concurrency` at a time.
pub async fn objects(
    client: &Arc<Client>,
    ns: &str,
    count: u64,
    size: u64,
    concurrency: u64,
) -> anyhow::Result<Loaded> {
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, done, ns) = (client.clone(), next.clone(), done.clone(), ns.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut body = vec![0x5au8; size as usize];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    return Ok::<_, anyhow::Error>(());
                }
                // Distinct bytes per object: nothing in the path can share them.
                let tag = i.to_le_bytes();
                let n = tag.len().min(body.len());
                body[..n].copy_from_slice(&tag[..n]);
                put_one(&client, &ns, &format!("obj/{i:010}"), &body).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let all = futures::future::try_join_all(tasks);
    tokio::pin!(all);
    loop {
        tokio::select! {
            r = &mut all => {
                for t in r? {
                    t?;
                }
                break;
            }
            _ = tokio::time::sleep(PROGRESS_EVERY) => {
                let d = done.load(Ordering::Relaxed);
                eprintln!(
                    "bench scale: {d} / {count} objects stored ({:.0}/s)",
                    d as f64 / start.elapsed().as_secs_f64()
                );
            }
        }
    }
    Ok(Loaded {
        secs: start.elapsed().as_secs_f64(),
    })
}

/// Each object's bytes are in memory, so a PUT whose outcome is unknown is simply sent again.
async fn put_one(client: &Client, ns: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        match client.put_object(ns, key, body, Some(body.len() as u64), None).await {
            Ok(_) => return Ok(()),
            Err(e) if e.is_transient() && start.elapsed() < RETRY_FOR => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("PUT {ns}/{key} failed")),
        }
    }
}

pub struct Snapshotted {
    /// The slowest node's build of its snapshot of the whole loaded keyspace.
    pub build_secs: f64,
}

/// Writes small metadata entries until every node has built a snapshot that covers what is
/// applied now (the load), timing each node's build from the Raft view it reports.
pub async fn until_snapshot(client: &Arc<Client>, addrs: &[String], every: u64) -> anyhow::Result<Snapshotted> {
    let mut covered = 0;
    for addr in addrs {
        let info = client.node_info(addr).await?;
        covered = covered.max(info.raft.map(|r| r.last_applied).unwrap_or(0));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let filler = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move { fill(&client, &stop, every).await })
    };
    let watch = RaftWatch::new(addrs);
    let samples = watch
        .until(client, |latest| {
            latest.iter().all(|s| s.snapshot_index >= Some(covered))
        })
        .await;
    stop.store(true, Ordering::Relaxed);
    let filled = filler.await?;
    let samples = samples?;
    filled?;
    let mut build_secs = 0.0f64;
    for (addr, node) in addrs.iter().zip(&samples) {
        let secs = build_time(node, covered)
            .with_context(|| format!("the node at {addr} built no snapshot of index {covered} or more"))?;
        build_secs = build_secs.max(secs);
    }
    Ok(Snapshotted { build_secs })
}

/// From one node's samples: the first snapshot at or past `covered`, timed from the first
/// sample where that entry was applied (the build starts from the applied state) to the first
/// one that shows the snapshot.
fn build_time(samples: &[RaftSample], covered: u64) -> Option<f64> {
    let built = samples.iter().find(|s| s.snapshot_index >= Some(covered))?;
    let index = built.snapshot_index?;
    let applied = samples.iter().find(|s| s.last_applied >= index)?;
    Some(built.at.saturating_duration_since(applied.at).as_secs_f64())
}

/// One metadata write at a time per task until `stop`: each is one Raft entry. Gives up after
/// three snapshot intervals' worth, which means the nodes build no snapshot.
async fn fill(client: &Client, stop: &AtomicBool, every: u64) -> anyhow::Result<()> {
    const TASKS: u64 = 8;
    let written = Arc::new(AtomicU64::new(0));
    let tasks = (0..TASKS).map(|t| {
        let written = written.clone();
        async move {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                if written.fetch_add(1, Ordering::Relaxed) > 3 * every {
                    bail!(
                        "{} metadata writes and no snapshot yet: see the nodes' archipel.log",
                        3 * every
                    );
                }
                // Each key is written once and its value does not matter: sending it again
                // after an unknown outcome is harmless here.
                let key = format!("{i:012}");
                let start = Instant::now();
                loop {
                    match client.meta_put(FILLER_NS, key.as_bytes(), b"x").await {
                        Ok(_) => break,
                        Err(e) if e.is_transient() && start.elapsed() < RETRY_FOR => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        Err(e) => return Err(e).context("a metadata write failed"),
                    }
                }
                i += TASKS;
            }
            Ok::<(), anyhow::Error>(())
        }
    });
    futures::future::try_join_all(tasks).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(base: Instant, ms: u64, applied: u64, snapshot: Option<u64>) -> RaftSample {
        RaftSample {
            at: base + Duration::from_millis(ms),
            last_applied: applied,
            snapshot_index: snapshot,
        }
    }

    #[test]
    fn a_build_is_timed_from_when_its_entry_was_applied_to_when_the_snapshot_shows() {
        let t = Instant::now();
        let s = [
            sample(t, 0, 90, Some(50)),
            sample(t, 100, 120, Some(50)),
            sample(t, 200, 130, Some(50)),
            sample(t, 300, 140, Some(120)),
        ];
        let secs = build_time(&s, 100).expect("a snapshot covers 100");
        assert!((secs - 0.2).abs() < 1e-9, "{secs}");
        assert_eq!(build_time(&s, 125), None);
    }
}
