//! What the bench reads from outside the nodes: their Raft view over time (node info), their
//! peak memory (`/proc/<pid>/status`), and their metadata and snapshot files on disk.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use archipel_client::Client;

/// Between two looks at every node: fine enough for builds of a fraction of a second.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
const WATCH_LIMIT: Duration = Duration::from_secs(3600);

#[derive(Clone, Copy, Debug)]
pub struct RaftSample {
    pub at: Instant,
    pub last_applied: u64,
    pub snapshot_index: Option<u64>,
}

pub struct RaftWatch<'a> {
    addrs: &'a [String],
}

impl<'a> RaftWatch<'a> {
    pub fn new(addrs: &'a [String]) -> Self {
        Self { addrs }
    }

    /// Samples every node until `done` holds for the latest sample of each; returns each
    /// node's samples, in the order of the addresses.
    pub async fn until(
        &self,
        client: &Client,
        done: impl Fn(&[RaftSample]) -> bool,
    ) -> anyhow::Result<Vec<Vec<RaftSample>>> {
        let start = Instant::now();
        let mut samples: Vec<Vec<RaftSample>> = vec![Vec::new(); self.addrs.len()];
        loop {
            for (addr, node) in self.addrs.iter().zip(samples.iter_mut()) {
                // A missed look (a busy node) is only a coarser sample.
                if let Ok(info) = client.node_info(addr).await {
                    let raft = info.raft.unwrap_or_default();
                    node.push(RaftSample {
                        at: Instant::now(),
                        last_applied: raft.last_applied,
                        snapshot_index: raft.snapshot_index,
                    });
                }
            }
            let latest: Option<Vec<RaftSample>> = samples.iter().map(|s| s.last().copied()).collect();
            if latest.is_some_and(|l| done(&l)) {
                return Ok(samples);
            }
            if start.elapsed() > WATCH_LIMIT {
                bail!("the nodes did not get there within {WATCH_LIMIT:?}; see their archipel.log");
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    }
}

/// Each node's peak resident memory (`VmHWM`), in bytes, for nodes 1..=`last` of the dev
/// cluster under `data`: the most its process has held since it started.
pub fn peak_rss(data: &Path, last: u64) -> anyhow::Result<Vec<(u64, u64)>> {
    (1..=last)
        .map(|id| {
            let pid_file = data.join(id.to_string()).join("archipel.pid");
            let pid = std::fs::read_to_string(&pid_file)
                .with_context(|| format!("cannot read {}: is node {id} running?", pid_file.display()))?;
            let status = format!("/proc/{}/status", pid.trim());
            let text = std::fs::read_to_string(&status)
                .with_context(|| format!("cannot read {status}: node {id} has stopped"))?;
            let kib = vm_hwm_kib(&text).with_context(|| format!("no VmHWM line in {status}"))?;
            Ok((id, kib * 1024))
        })
        .collect()
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The largest snapshot file (`meta/snapshots/*.snap`) of nodes 1..=`nodes`, if the nodes keep
/// their snapshots as files.
pub fn snapshot_bytes(data: &Path, nodes: u64) -> Option<u64> {
    (1..=nodes)
        .filter_map(|id| {
            let dir = data.join(id.to_string()).join("meta").join("snapshots");
            std::fs::read_dir(dir)
                .ok()?
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "snap"))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .max()
        })
        .max()
}

/// The largest metadata store on disk (`meta/`, RocksDB and snapshots) of nodes 1..=`nodes`.
pub fn meta_bytes(data: &Path, nodes: u64) -> u64 {
    (1..=nodes)
        .map(|id| dir_bytes(&data.join(id.to_string()).join("meta")))
        .max()
        .unwrap_or(0)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_comes_from_the_vmhwm_line() {
        let status = "Name:\tarchipel\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t  100000 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(123_456));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
    }
}
