//! Network namespaces for the process backend: each node runs in its own namespace, which holds
//! only a loopback interface, so that it reaches its peers only through the harness's link
//! proxies (`links.rs`). Needs root (CAP_SYS_ADMIN) and `ip` (iproute2); nothing is changed in the
//! host's own namespace.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::shell;

/// A named namespace (`ip netns add`), deleted on `remove` or drop.
pub struct Netns {
    pub name: String,
    file: File,
}

impl Netns {
    /// Creates `name` afresh (a namespace left by an interrupted campaign is deleted first) and
    /// brings its loopback up.
    pub async fn create(name: &str) -> Result<Self> {
        shell::run_quiet("ip", &["netns", "del", name], Duration::from_secs(10)).await;
        shell::run("ip", &["netns", "add", name], Duration::from_secs(10)).await?;
        shell::run("ip", &["-n", name, "link", "set", "lo", "up"], Duration::from_secs(10)).await?;
        let path = PathBuf::from("/run/netns").join(name);
        let file = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Self {
            name: name.to_owned(),
            file,
        })
    }

    pub fn fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    /// Runs `f` on a fresh thread that entered this namespace: sockets it creates live there.
    /// A fresh thread, never a pooled one, since the namespace sticks to the thread.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> Result<T> {
        let fd = self.file.try_clone().context("cannot duplicate a namespace handle")?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("chaos-netns".into())
            .spawn(move || {
                let out = enter(fd.as_raw_fd()).and_then(|()| f());
                let _ = tx.send(out);
            })
            .context("cannot start a thread")?;
        Ok(rx.await.context("the namespace thread died")??)
    }
}

/// setns(2) into a network namespace, for the calling thread only.
pub fn enter(fd: i32) -> std::io::Result<()> {
    // SAFETY: setns on a valid namespace descriptor; it changes only this thread's namespace.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Best effort: a lingering namespace is deleted by the next campaign's `create`.
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether namespaces can be made here (root, `ip` present): probed once with a throwaway one.
pub async fn available(probe_name: &str) -> Result<()> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("network namespaces need root");
    }
    Netns::create(probe_name).await.map(drop)
}
