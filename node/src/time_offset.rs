//! A wall clock shifted by an offset read from a file, for chaos campaigns: they move a running
//! node's clock (a leader's stamps included) without restarting it. Used only when the node config
//! names `test_clock_offset_file`; otherwise the node reads the system clock.
//!
//! The file holds a signed number of milliseconds (`-3600000`, `90000000`); it is re-read at
//! most every [`REREAD`], and a missing or unreadable file means no offset.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::time::{Clock, SystemClock};

const REREAD: Duration = Duration::from_millis(100);

pub struct OffsetFileClock {
    path: PathBuf,
    /// When the offset was last read, and what it was.
    cached: Mutex<Option<(Instant, i64)>>,
}

impl OffsetFileClock {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            cached: Mutex::new(None),
        }
    }

    fn offset_ms(&self) -> i64 {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        match *cached {
            Some((at, off)) if at.elapsed() < REREAD => off,
            _ => {
                let off = read_offset(&self.path);
                *cached = Some((Instant::now(), off));
                off
            }
        }
    }
}

fn read_offset(path: &Path) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .unwrap_or(0)
}

impl Clock for OffsetFileClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.offset_ms())
    }
}

/// The clock a node stamps with: the system's, or the offset one when its config asks.
pub fn clock_for(config: &crate::config::NodeConfig) -> Arc<dyn Clock> {
    match &config.test_clock_offset_file {
        Some(path) => {
            tracing::warn!(
                file = %path.display(),
                "TEST RIG: this node's stamping clock is shifted by the offset in this file \
                 (test_clock_offset_file); never use this in production"
            );
            Arc::new(OffsetFileClock::new(path.clone()))
        }
        None => Arc::new(SystemClock),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_in_the_file_moves_the_clock_and_a_bad_file_means_none() {
        let dir = std::env::temp_dir().join(format!("archipel-offset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("offset");
        let clock = OffsetFileClock::new(path.clone());
        let before = SystemClock.now_ms();
        assert!(clock.now_ms().abs_diff(before) < 60_000, "no file: no offset");
        std::fs::write(&path, "-86400000\n").unwrap();
        std::thread::sleep(REREAD + Duration::from_millis(20));
        let day_back = clock.now_ms();
        assert!(day_back + 86_400_000 >= before && day_back + 86_400_000 - before < 60_000);
        std::fs::write(&path, "not a number").unwrap();
        std::thread::sleep(REREAD + Duration::from_millis(20));
        assert!(clock.now_ms().abs_diff(SystemClock.now_ms()) < 60_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
