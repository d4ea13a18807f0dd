//! When the repairer walks a draining or removed node's shard index again. Each walk reads every
//! row the node still holds; walking it before every pass, while a drain takes a hundred passes
//! of at most 1 000 repairs, made the walks cost the square of the node's shards (at 100 000
//! objects the drain's time was still per-shard work: docs/performance.md, "Scale"). A node is
//! walked again once ten times its last walk's duration has passed, or its own duration when the
//! last pass repaired nothing (the queue ran dry: the node may be empty, or a late write placed a
//! shard there), so walks take a bounded share of the drain whatever its size.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// Time between walks, in walk durations, while repairs are going on.
const WHILE_BUSY: u32 = 10;

#[derive(Default)]
pub(super) struct DrainWalks {
    /// Each node's last walk: when it started and how long it took.
    last: HashMap<u64, (Instant, Duration)>,
}

impl DrainWalks {
    /// Whether `node`'s shards should be walked at `now`; `idle`: the last pass repaired nothing.
    pub fn due(&self, node: u64, now: Instant, idle: bool) -> bool {
        let Some((started, took)) = self.last.get(&node) else {
            return true;
        };
        let wait = if idle { *took } else { *took * WHILE_BUSY };
        now.saturating_duration_since(*started) >= wait
    }

    pub fn walked(&mut self, node: u64, started: Instant, took: Duration) {
        self.last.insert(node, (started, took));
    }

    /// The node is empty: nothing more to walk.
    pub fn forget(&mut self, node: u64) {
        self.last.remove(&node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_is_walked_first_at_once() {
        let walks = DrainWalks::default();
        assert!(walks.due(6, Instant::now(), false));
    }

    #[test]
    fn while_repairs_go_on_a_walk_waits_ten_of_its_durations() {
        let mut walks = DrainWalks::default();
        let t0 = Instant::now();
        walks.walked(6, t0, Duration::from_secs(2));
        // The pass right after a walk, and every pass for the next 20 s, does not walk again.
        for s in [0, 2, 5, 19] {
            assert!(!walks.due(6, t0 + Duration::from_secs(s), false), "at {s} s");
        }
        assert!(walks.due(6, t0 + Duration::from_secs(20), false));
        assert!(walks.due(7, t0, false), "another node has its own schedule");
    }

    #[test]
    fn once_the_queue_runs_dry_a_walk_comes_sooner() {
        let mut walks = DrainWalks::default();
        let t0 = Instant::now();
        walks.walked(6, t0, Duration::from_secs(2));
        assert!(!walks.due(6, t0 + Duration::from_secs(1), true));
        assert!(walks.due(6, t0 + Duration::from_secs(2), true));
        walks.forget(6);
        assert!(walks.due(6, t0, false), "a forgotten node is walked as new");
    }
}
