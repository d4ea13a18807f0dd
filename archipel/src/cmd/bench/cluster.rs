//! A local cluster for the benchmark: `archipel dev` as a child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};

pub struct LocalCluster {
    child: Child,
    data: PathBuf,
    pub addrs: String,
    /// Node i listens on base_port + i - 1; the ten ports from base_port are this run's.
    pub base_port: u16,
}

impl LocalCluster {
    pub async fn start(data: &Path) -> anyhow::Result<Self> {
        Self::start_with(data, &[]).await
    }

    /// With more `archipel dev` arguments.
    pub async fn start_with(data: &Path, extra: &[String]) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the archipel executable")?;
        let base_port = free_window()?;
        let mut child = Command::new(exe)
            .args(["dev", "--data"])
            .arg(data)
            .args(["--base-port", &base_port.to_string(), "--archive-port", "0"])
            .args(["--vitam-port", "0"])
            .args(extra)
            // What repair can do, not what the default limit lets it.
            .args(["--repair-rate", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start `archipel dev`")?;
        let stdout = child.stdout.take().context("no stdout from archipel dev")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let Some(addrs) = line.trim().strip_prefix("ARCHIPEL_CLUSTER=") else {
            let _ = child.kill();
            bail!(
                "`archipel dev` did not start a cluster (see {}/*/archipel.log)",
                data.display()
            );
        };
        Ok(Self {
            addrs: addrs.to_owned(),
            child,
            data: data.to_owned(),
            base_port,
        })
    }

    /// The cluster's processes: `archipel dev` (it also hosts the archive front and the S3
    /// gateway, idle during the bench) and each node, from the pid file it writes on start.
    pub fn pids(&self) -> anyhow::Result<Vec<u32>> {
        let nodes = self.addrs.split(',').count();
        let mut pids = vec![self.child.id()];
        for id in 1..=nodes {
            let file = self.data.join(id.to_string()).join("archipel.pid");
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}: is node {id} running?", file.display()))?;
            let pid = text
                .trim()
                .parse()
                .with_context(|| format!("{} does not hold a process id", file.display()))?;
            pids.push(pid);
        }
        Ok(pids)
    }

    /// Stops the cluster (also done on drop, so a failed run leaves no nodes behind).
    pub fn stop(self) {
        drop(self);
    }
}

/// Ten free ports in a row, below Linux's ephemeral range (32768+), starting from a window
/// picked by the process id so that concurrent benches rarely try the same one.
fn free_window() -> anyhow::Result<u16> {
    let first = std::process::id() % 500;
    for step in 0..500 {
        let base = 27_400 + ((first + step) % 500) as u16 * 10;
        if (base..base + 10).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no ten free ports in a row between 27400 and 32400 for the local cluster")
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        // SIGTERM lets `archipel dev` stop its nodes; a kill would leave them running.
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
