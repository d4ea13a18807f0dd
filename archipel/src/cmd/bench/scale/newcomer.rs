//! A node added to the loaded cluster: how long it takes to receive the snapshot and catch up.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use archipel_client::Client;

use super::probe::RaftWatch;
use crate::cmd::dev::NodeTuning;

const START_LIMIT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(15);

pub struct Newcomer {
    child: Child,
    addr: String,
    site: String,
}

pub struct Joined {
    /// From the add request until the node has applied what was committed when it was made.
    pub catch_up_secs: f64,
    /// From the add request until the node reports an installed snapshot (None: it caught up
    /// from the log alone).
    pub snapshot_install_secs: Option<f64>,
}

impl Newcomer {
    /// Starts `archipel server` for node `id` of the dev cluster under `data`, not yet a member.
    pub async fn start(
        client: &Client,
        data: &Path,
        id: u64,
        site: &str,
        addr: &str,
        tuning: NodeTuning,
    ) -> anyhow::Result<Self> {
        let config = crate::cmd::dev::prepare_extra_node(data, id, site, addr, tuning)?;
        let log_path = data.join(id.to_string()).join("archipel.log");
        let log = OpenOptions::new().create(true).append(true).open(&log_path)?;
        let exe = std::env::current_exe().context("cannot find the archipel executable")?;
        let child = Command::new(exe)
            .arg("server")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start node {id}"))?;
        let mut node = Self {
            child,
            addr: addr.to_owned(),
            site: site.to_owned(),
        };
        let start = Instant::now();
        while client.node_info(addr).await.is_err() {
            if let Some(status) = node.child.try_wait()? {
                bail!(
                    "node {id} exited ({status}) during start-up; see {}",
                    log_path.display()
                );
            }
            if start.elapsed() > START_LIMIT {
                bail!(
                    "node {id} did not answer within {START_LIMIT:?}; see {}",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(node)
    }

    /// Adds the node to the cluster of `members` and times its catch-up.
    pub async fn join(&self, client: &Client, members: &[String]) -> anyhow::Result<Joined> {
        let mut target = 0;
        for addr in members {
            let info = client.node_info(addr).await?;
            target = target.max(info.raft.map(|r| r.committed).unwrap_or(0));
        }
        let start = Instant::now();
        let own = [self.addr.clone()];
        let watch = RaftWatch::new(&own);
        let (added, samples) = tokio::join!(
            client.add_node(&self.addr, &self.site),
            watch.until(client, |latest| latest[0].last_applied >= target)
        );
        // `node add` gives up waiting after a while, but the node goes on catching up: the
        // watch decides.
        if let Err(e) = added {
            eprintln!("bench scale: adding the node reported: {e}");
        }
        let samples = samples?.pop().unwrap_or_default();
        let caught_up = samples
            .iter()
            .find(|s| s.last_applied >= target)
            .context("the new node never caught up")?;
        let installed = samples.iter().find(|s| s.snapshot_index.is_some());
        Ok(Joined {
            catch_up_secs: caught_up.at.saturating_duration_since(start).as_secs_f64(),
            snapshot_install_secs: installed.map(|s| s.at.saturating_duration_since(start).as_secs_f64()),
        })
    }

    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Newcomer {
    fn drop(&mut self) {
        // SIGTERM lets the node stop Raft and remove its pid file.
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_GRACE;
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
