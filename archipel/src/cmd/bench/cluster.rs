//! A local cluster for the benchmark: `archipel dev` as a child process.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};

pub struct LocalCluster {
    child: Child,
    pub addrs: String,
}

impl LocalCluster {
    pub async fn start(data: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the archipel executable")?;
        let base_port = 27_400 + (std::process::id() % 500) as u16 * 10;
        let mut child = Command::new(exe)
            .args(["dev", "--data"])
            .arg(data)
            .args(["--base-port", &base_port.to_string(), "--archive-port", "0"])
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
        })
    }

    /// Stops the cluster (also done on drop, so a failed run leaves no nodes behind).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        // SIGTERM lets `archipel dev` stop its nodes; a kill would leave them running.
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
