//! A liveness check that touches the disk: a node whose shard disk hangs still answers RPCs from
//! memory, so a probe that only asks for its Raft view calls it alive while every read and write
//! to it stalls. This one writes, syncs and reads back a small file under the shard directory,
//! within a deadline.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

const PROBE_FILE: &str = ".liveness-probe";
const PROBE_BYTES: usize = 4096;

pub struct DiskProbe {
    path: PathBuf,
    /// When the check still running started: a stuck one blocks a thread, so no second one is
    /// started while it lasts, and every probe meanwhile fails at once.
    running_since: Arc<Mutex<Option<Instant>>>,
    #[cfg(test)]
    pub(crate) gate: Arc<Mutex<()>>,
}

impl DiskProbe {
    pub(super) fn new(shard_root: &std::path::Path) -> Self {
        Self {
            path: shard_root.join(PROBE_FILE),
            running_since: Default::default(),
            #[cfg(test)]
            gate: Default::default(),
        }
    }

    /// Writes, fsyncs and reads back 4 KiB (from the disk, not the page cache) within `deadline`.
    pub async fn check(&self, deadline: Duration) -> Result<(), String> {
        {
            let mut since = self.running_since.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(started) = *since {
                return Err(format!(
                    "the shard disk has not completed a 4 KiB write and read for {} s: it is stalled",
                    started.elapsed().as_secs()
                ));
            }
            *since = Some(Instant::now());
        }
        let (path, running) = (self.path.clone(), self.running_since.clone());
        #[cfg(test)]
        let gate = self.gate.clone();
        let task = tokio::task::spawn_blocking(move || {
            #[cfg(test)]
            drop(gate.lock().unwrap_or_else(|p| p.into_inner()));
            let outcome = write_and_read(&path);
            *running.lock().unwrap_or_else(|p| p.into_inner()) = None;
            outcome
        });
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("the shard disk failed a 4 KiB write and read: {e}")),
            Ok(Err(e)) => Err(format!("the disk check did not run: {e}")),
            Err(_) => Err(format!(
                "the shard disk did not complete a 4 KiB write and read within {deadline:?}: it is stalled"
            )),
        }
    }
}

fn write_and_read(path: &std::path::Path) -> std::io::Result<()> {
    let written: Vec<u8> = (0..PROBE_BYTES).map(|_| rand::random::<u8>()).collect();
    let mut file = std::fs::File::options()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(path)?;
    file.write_all(&written)?;
    file.sync_data()?;
    super::reader::drop_cached(&file, 0, 0);
    let mut read = vec![0u8; PROBE_BYTES];
    file.read_exact_at(&mut read, 0)?;
    if read != written {
        return Err(std::io::Error::other("read back other bytes than written"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The lock is the hung disk, held across the probes on purpose.
    #[allow(clippy::await_holding_lock)]
    #[tokio::test]
    async fn a_stalled_disk_fails_the_probe_within_its_deadline_and_then_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let probe = DiskProbe::new(dir.path());
        probe.check(Duration::from_secs(10)).await.unwrap();

        let held = probe.gate.lock().unwrap(); // the disk hangs
        let err = probe.check(Duration::from_millis(100)).await.unwrap_err();
        assert!(err.contains("within"), "{err}");
        let err = probe.check(Duration::from_secs(10)).await.unwrap_err();
        assert!(
            err.contains("has not completed"),
            "no second check while one is stuck: {err}"
        );
        drop(held); // the disk answers again
        let deadline = Instant::now() + Duration::from_secs(10);
        while probe.check(Duration::from_secs(10)).await.is_err() {
            assert!(Instant::now() < deadline, "the probe never recovered");
            tokio::task::yield_now().await;
        }
    }
}
