//! Where the cluster runs and how faults reach it: one small trait, two implementations.

pub mod compose;
pub mod delay_queue;
pub mod disk;
pub mod latency;
pub mod links;
pub mod netns;
pub mod process;
mod shell;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use archipel_client::{Client, ClientOptions};

use crate::schedule::FaultKind;

#[derive(Clone, Debug)]
pub struct NodeRef {
    pub id: u64,
    pub site: String,
    /// Address the chaos client uses (on this machine).
    pub addr: String,
}

/// A cluster the campaign can start fresh, hurt and heal. Every fault primitive has a matching
/// heal, and `heal_all` undoes whatever is still in force.
pub trait Backend {
    fn name(&self) -> &'static str;
    /// The fault kinds this backend can inject.
    fn supported(&self) -> Vec<FaultKind>;
    /// A fresh, initialised cluster (any previous one and its data are gone).
    async fn start(&mut self) -> Result<()>;
    fn nodes(&self) -> Vec<NodeRef>;
    /// SIGKILL, and keep it down until `revive`.
    async fn kill(&mut self, node: u64) -> Result<()>;
    async fn revive(&mut self, node: u64) -> Result<()>;
    async fn pause(&mut self, node: u64) -> Result<()>;
    async fn resume(&mut self, node: u64) -> Result<()>;
    /// A graceful stop and start (SIGTERM), waiting until the node answers again.
    async fn restart(&mut self, node: u64) -> Result<()>;
    /// Restart the node with a capacity so small it refuses every new shard.
    async fn fill_disk(&mut self, node: u64) -> Result<()>;
    async fn unfill_disk(&mut self, node: u64) -> Result<()>;
    /// The node's data directory, as a path on this machine.
    fn data_dir(&self, node: u64) -> Result<PathBuf>;
    /// Where this node keeps shard `index` of the object (hex id) when it is a file.
    fn shard_path(&self, node: u64, object_hex: &str, index: u32) -> Result<PathBuf> {
        Ok(self.data_dir(node)?.join(shard_rel_path(object_hex, index)))
    }
    async fn cut_site(&mut self, _site: &str) -> Result<()> {
        bail!("{}: cutting a site off is not supported", self.name())
    }
    async fn heal_site(&mut self, _site: &str) -> Result<()> {
        bail!("{}: cutting a site off is not supported", self.name())
    }
    async fn add_latency(&mut self) -> Result<()> {
        bail!("{}: latency is not supported", self.name())
    }
    async fn remove_latency(&mut self) -> Result<()> {
        bail!("{}: latency is not supported", self.name())
    }
    /// Restart the node with its wall clock shifted by `secs` (monotonic time unchanged).
    async fn skew_clock(&mut self, _node: u64, _secs: i64) -> Result<()> {
        bail!("{}: clock skew is not supported", self.name())
    }
    async fn unskew_clock(&mut self, _node: u64) -> Result<()> {
        bail!("{}: clock skew is not supported", self.name())
    }
    /// Whether the node's process is alive (None: the backend cannot tell).
    fn is_running(&mut self, _node: u64) -> Option<bool> {
        None
    }
    /// How often the cluster's placement check runs, when short enough for the checker to wait
    /// for a report after healing (None: stock configs, hourly).
    fn placement_check_interval(&self) -> Option<Duration> {
        None
    }
    /// The kinds a campaign runs when `--faults` names none (opt-in kinds left out).
    fn default_kinds(&self) -> Vec<FaultKind> {
        self.supported()
    }
    /// Cut (`open` false) or restore the one-way link `from`→`to`: connections `from` opens
    /// to `to` hang; `to` still reaches `from`.
    async fn set_link(&mut self, _from: u64, _to: u64, _open: bool) -> Result<()> {
        bail!("{}: cutting one link is not supported", self.name())
    }
    /// Shift a running node's stamping clock by `offset_ms` (0: none), without a restart.
    async fn set_clock_offset(&mut self, _node: u64, _offset_ms: i64) -> Result<()> {
        bail!("{}: moving a running node's clock is not supported", self.name())
    }
    /// Fill the node's filesystem (real ENOSPC); returns the bytes taken.
    async fn fill_fs(&mut self, _node: u64) -> Result<u64> {
        bail!("{}: filling a node's filesystem is not supported", self.name())
    }
    async fn unfill_fs(&mut self, _node: u64) -> Result<()> {
        bail!("{}: filling a node's filesystem is not supported", self.name())
    }
    /// Make every I/O on the node's filesystem fail with EIO, the node still running.
    async fn fail_disk(&mut self, _node: u64) -> Result<()> {
        bail!("{}: disk I/O errors are not supported", self.name())
    }
    /// Stop the node, bring its filesystem back, start the node.
    async fn repair_disk(&mut self, _node: u64) -> Result<()> {
        bail!("{}: disk I/O errors are not supported", self.name())
    }
    /// Undo every fault still in force: every node running, unpaused, connected, normal.
    async fn heal_all(&mut self) -> Result<()>;
    /// Stop the cluster; with `keep`, leave its data for inspection.
    async fn stop(&mut self, keep: bool) -> Result<()>;
    /// Where to look when a run fails (logs, data).
    fn debug_hint(&self) -> String;
}

/// The client TLS directory (ca.pem, client.pem, client.key) of the cluster under test, set by
/// the backend that started it.
static TLS_DIR: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);

pub fn set_tls_dir(dir: Option<std::path::PathBuf>) {
    *TLS_DIR.lock().unwrap_or_else(|p| p.into_inner()) = dir;
}

pub fn client_for(nodes: &[NodeRef]) -> Result<Client> {
    let endpoints: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    let tls = TLS_DIR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_deref()
        .map(archipel_client::TlsFiles::from_dir);
    let options = ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(30),
        retry_for: Duration::from_secs(20),
        tls,
    };
    Ok(Client::new(&endpoints, options)?)
}

/// Waits until one node reports a leader and every node reachable.
pub async fn wait_ready(nodes: &[NodeRef], limit: Duration) -> Result<()> {
    let client = client_for(nodes)?;
    let deadline = Instant::now() + limit;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match client.status(1000).await {
            Ok(s) if s.leader_id.is_some() && s.nodes.iter().all(|n| n.reachable || n.state == 3) => return Ok(()),
            Ok(s) => {
                let down: Vec<String> = s
                    .nodes
                    .iter()
                    .filter(|n| !n.reachable)
                    .map(|n| format!("{} ({})", n.node_id, n.error))
                    .collect();
                last = format!("leader {:?}, unreachable: {}", s.leader_id, down.join(", "));
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bail!("the cluster was not ready within {limit:?}: {last}")
}

/// Waits until `archipel status` would say OK (as the operations guide asks between the steps
/// of a rolling restart).
pub async fn wait_healthy(nodes: &[NodeRef], limit: Duration) -> Result<()> {
    let client = client_for(nodes)?;
    let deadline = Instant::now() + limit;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match client.status(1000).await {
            Ok(s) if s.health == archipel_client::proto::cluster::Health::Ok as i32 => return Ok(()),
            Ok(s) => last = s.reasons.join("; "),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    bail!("the cluster was not healthy within {limit:?}: {last}")
}

/// Waits until a TCP connection to `addr` succeeds.
pub async fn wait_listening(addr: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{addr} did not accept connections within {limit:?}")
}

pub fn shard_rel_path(object_hex: &str, index: u32) -> PathBuf {
    let prefix = object_hex.get(..2).unwrap_or("00");
    PathBuf::from("shards")
        .join(prefix)
        .join(format!("{object_hex}.{index}.shard"))
}
