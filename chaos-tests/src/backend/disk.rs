//! A node's data directory on its own small filesystem (ext4 on a loop device, from a sparse
//! image), so that disk faults are real ones the kernel returns:
//! - ENOSPC: a ballast file takes every free block (`fallocate`, then writes until the kernel says
//!   no); removing it is the heal.
//! - EIO: the ext4 shutdown ioctl (`EXT4_IOC_SHUTDOWN`, as xfstests' `godown`) without flushing
//!   the journal, the closest to a disk dying: from then on every read and write on it fails with
//!   EIO, and what was not fsynced is gone. The heal is what an operator does: stop the node,
//!   unmount, mount again (the journal replays), start the node.
//!
//! Needs root, `mkfs.ext4` and loop devices; no device-mapper (this kernel has none).

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::shell;

const BALLAST: &str = "chaos-ballast";
/// `_IOR('X', 125, __u32)`.
const EXT4_IOC_SHUTDOWN: u64 = (2 << 30) | (4 << 16) | ((b'X' as u64) << 8) | 125;
/// Shut down without flushing the log: unsynced writes are lost, as on a dead disk.
const EXT4_GOING_FLAGS_NOLOGFLUSH: u32 = 2;

pub struct LoopDisk {
    image: PathBuf,
    pub mount: PathBuf,
}

impl LoopDisk {
    /// A fresh sparse image of `size_mib`, formatted and mounted at `mount`.
    pub async fn create(image: &Path, mount: &Path, size_mib: u64) -> Result<Self> {
        let disk = Self {
            image: image.to_owned(),
            mount: mount.to_owned(),
        };
        std::fs::create_dir_all(mount).with_context(|| format!("cannot create {}", mount.display()))?;
        let f = std::fs::File::create(image).with_context(|| format!("cannot create {}", image.display()))?;
        f.set_len(size_mib << 20)?;
        drop(f);
        let img = image.to_string_lossy();
        // -m 0: no blocks reserved for root (the node runs as root here and would use them).
        shell::run("mkfs.ext4", &["-q", "-F", "-m", "0", &img], Duration::from_secs(60)).await?;
        disk.mount_it().await?;
        Ok(disk)
    }

    async fn mount_it(&self) -> Result<()> {
        let (img, mnt) = (self.image.to_string_lossy(), self.mount.to_string_lossy());
        shell::run("mount", &["-o", "loop", &img, &mnt], Duration::from_secs(30)).await?;
        Ok(())
    }

    /// Takes every free block: the next allocation on this filesystem fails with ENOSPC.
    pub fn fill(&self) -> Result<u64> {
        let path = self.mount.join(BALLAST);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let mut taken = 0u64;
        // Big preallocations first, halving when metadata leaves less than asked for.
        let mut ask = free_bytes(&self.mount)?;
        while ask >= 1 << 20 {
            // SAFETY: fallocate on a file we own, past its end.
            let rc = unsafe { libc::fallocate(f.as_raw_fd(), 0, taken as libc::off_t, ask as libc::off_t) };
            if rc == 0 {
                taken += ask;
                ask = free_bytes(&self.mount)?;
            } else {
                ask /= 2;
            }
        }
        // What fallocate left (metadata rounding, a failed call): write until the kernel refuses.
        let chunk = vec![0u8; 64 * 1024];
        loop {
            match f.write(&chunk) {
                Ok(0) => break,
                Ok(n) => taken += n as u64,
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => return Err(e).with_context(|| format!("cannot fill {}", path.display())),
            }
        }
        let _ = f.sync_all();
        Ok(taken)
    }

    pub fn unfill(&self) -> Result<()> {
        let path = self.mount.join(BALLAST);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }

    /// From now on every I/O on this filesystem fails with EIO.
    pub fn shut_down(&self) -> Result<()> {
        let dir = std::fs::File::open(&self.mount).with_context(|| format!("cannot open {}", self.mount.display()))?;
        let flags = EXT4_GOING_FLAGS_NOLOGFLUSH;
        // SAFETY: the ext4 shutdown ioctl on a directory of that filesystem, reading one u32.
        let rc = unsafe { libc::ioctl(dir.as_raw_fd(), EXT4_IOC_SHUTDOWN as _, &flags as *const u32) };
        if rc != 0 {
            bail!(
                "EXT4_IOC_SHUTDOWN on {} failed: {}",
                self.mount.display(),
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// Unmount and mount again (the node using it must be stopped): a shut-down filesystem
    /// comes back with its journal replayed.
    pub async fn remount(&self) -> Result<()> {
        self.unmount().await?;
        self.mount_it().await
    }

    pub async fn unmount(&self) -> Result<()> {
        let mnt = self.mount.to_string_lossy().into_owned();
        let mut last = None;
        for _ in 0..50 {
            if !is_mounted(&self.mount) {
                return Ok(());
            }
            match shell::run("umount", &[&mnt], Duration::from_secs(30)).await {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("cannot unmount {mnt}")))
    }
}

fn free_bytes(path: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs on a NUL-terminated path into a zeroed struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        bail!("statvfs {}: {}", path.display(), std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

/// Whether `path` is a mount point now (/proc/self/mounts).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    let want = path.to_string_lossy();
    text.lines().any(|l| l.split_whitespace().nth(1) == Some(&*want))
}

/// Every mount point under `root` (to unmount before its tree is removed), deepest first.
pub fn mounts_under(root: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mounts") else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(PathBuf::from)
        .filter(|p| p.starts_with(root))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// Unmounts every filesystem under `root` (left by an interrupted campaign), synchronously.
pub fn unmount_all_under(root: &Path) {
    for m in mounts_under(root) {
        let _ = std::process::Command::new("umount")
            .arg(&m)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether loop-mounted filesystems can be made here.
pub fn available() -> Result<()> {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("loop-mounted data directories need root");
    }
    if !Path::new("/dev/loop-control").exists() {
        bail!("no /dev/loop-control: loop devices are not available");
    }
    if which("mkfs.ext4").is_none() {
        bail!("mkfs.ext4 not found (e2fsprogs)");
    }
    Ok(())
}

fn which(prog: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| Path::new(d).join(prog))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn enospc_then_eio_then_back_with_what_was_synced() {
        if let Err(e) = available() {
            eprintln!("skipped: {e:#}");
            return;
        }
        let root = std::env::temp_dir().join(format!("chaos-disk-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        let disk = LoopDisk::create(&root.join("img"), &root.join("mnt"), 64)
            .await
            .unwrap();
        let synced = disk.mount.join("synced");
        let mut f = std::fs::File::create(&synced).unwrap();
        f.write_all(b"kept").unwrap();
        f.sync_all().unwrap();
        drop(f);

        disk.fill().unwrap();
        let err = std::fs::write(disk.mount.join("more"), vec![0u8; 1 << 20]).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC), "{err}");
        disk.unfill().unwrap();
        std::fs::write(disk.mount.join("more"), vec![0u8; 1 << 20]).unwrap();

        disk.shut_down().unwrap();
        let err = std::fs::read(&synced).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
        disk.remount().await.unwrap();
        assert_eq!(std::fs::read(&synced).unwrap(), b"kept");
        disk.unmount().await.unwrap();
        std::fs::remove_dir_all(&root).unwrap();
    }
}
