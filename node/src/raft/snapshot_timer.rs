//! Builds a snapshot when entries have been applied since the last one and `snapshot_every`
//! has passed, so a quiet cluster's log is compacted too (the log-count trigger alone would
//! let a few thousand entries wait for weeks) and a node that joins copies a recent state.

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;

pub async fn run(node: Arc<Node>, every: Duration) {
    let mut timer = tokio::time::interval(every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    timer.tick().await;
    loop {
        timer.tick().await;
        let (applied, snapshot) = {
            let m = node.raft.metrics();
            let m = m.borrow();
            (m.last_applied.map(|l| l.index), m.snapshot.map(|l| l.index))
        };
        if !due(applied, snapshot) {
            continue;
        }
        if let Err(e) = node.raft.trigger().snapshot().await {
            tracing::warn!("periodic snapshot not triggered: {e}");
        }
    }
}

/// Due when something was applied after the last snapshot (or there is none yet).
fn due(applied: Option<u64>, snapshot: Option<u64>) -> bool {
    match (applied, snapshot) {
        (Some(a), Some(s)) => a > s,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::due;

    #[test]
    fn only_new_entries_make_a_snapshot_due() {
        assert!(!due(None, None));
        assert!(due(Some(3), None));
        assert!(!due(Some(7), Some(7)));
        assert!(due(Some(8), Some(7)));
    }
}
