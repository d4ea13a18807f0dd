//! What each node recently said it could take. A PUT skips the Reserve round trip to a node
//! whose last answer, a moment ago, left ample room; the node still refuses a stripe it cannot
//! hold, so a stale entry costs a failed PUT, never an overfull disk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long an answer is trusted.
const FRESH_FOR: Duration = Duration::from_secs(2);
/// Ample: this many times the bytes asked for…
const AMPLE_FACTOR: u64 = 64;
/// …and at least this much.
const AMPLE_MIN: u64 = 256 << 20;

#[derive(Default)]
pub struct FreeSpaceCache {
    answers: Mutex<HashMap<u64, (Instant, u64)>>,
}

impl FreeSpaceCache {
    /// True when `node` said recently it has far more than `bytes` free.
    pub fn has_ample(&self, node: u64, bytes: u64) -> bool {
        let Ok(answers) = self.answers.lock() else {
            return false;
        };
        answers.get(&node).is_some_and(|(at, free)| {
            at.elapsed() < FRESH_FOR && *free >= bytes.saturating_mul(AMPLE_FACTOR).max(AMPLE_MIN)
        })
    }

    pub fn record(&self, node: u64, free: u64) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.insert(node, (Instant::now(), free));
        }
    }

    /// Forgets a node that refused or failed, so the next PUT asks it again.
    pub fn forget(&self, node: u64) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.remove(&node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recent_ample_answers_skip_the_reserve() {
        let cache = FreeSpaceCache::default();
        assert!(!cache.has_ample(1, 10), "no answer yet");
        cache.record(1, 1 << 30);
        assert!(cache.has_ample(1, 1 << 20));
        assert!(!cache.has_ample(1, 1 << 26), "64 x 64 MiB exceeds 1 GiB");
        cache.record(2, 100 << 20);
        assert!(!cache.has_ample(2, 1), "below the 256 MiB floor");
        cache.forget(1);
        assert!(!cache.has_ample(1, 1 << 20));
    }
}
