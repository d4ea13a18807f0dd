//! Keeps the state machine's time moving while the cluster is idle: the leader appends a
//! stamped no-op when no entry has moved the time for a tick interval. Coordinators read that
//! time from their applied state (a retention start, an intent's age), so it must never be more
//! than about one interval behind the clock the leader stamps with (`Node::stamp_clock`).

use std::sync::Arc;
use std::time::Duration;

use crate::node::Node;
use crate::raft::Command;

/// How stale the state machine's time may get while nothing else is written.
pub const TICK_INTERVAL: Duration = Duration::from_secs(5);

/// Runs for the node's lifetime; does nothing while the node is not the leader.
pub async fn run(node: Arc<Node>) {
    let mut tick = tokio::time::interval(TICK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Read the stamping clock on the leader only: elsewhere it has no voters' readings.
        let leader = node.is_leader();
        let stamp_ms = if leader { node.stamp_clock.now_ms() } else { 0 };
        if !due(leader, stamp_ms, node.state_time_ms()) {
            continue;
        }
        if let Err(e) = node.write(Command::tick()).await {
            tracing::debug!("time tick not appended: {e}");
        }
    }
}

/// A tick is due on the leader when the state time lags its stamping clock by an interval or
/// more. A stamping clock behind the state time appends none: the time waits for it.
fn due(is_leader: bool, clock_ms: u64, state_time_ms: u64) -> bool {
    is_leader && clock_ms.saturating_sub(state_time_ms) >= TICK_INTERVAL.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_only_on_a_leader_whose_clock_is_ahead() {
        let interval = TICK_INTERVAL.as_millis() as u64;
        assert!(due(true, 1_000_000 + interval, 1_000_000));
        assert!(!due(true, 1_000_000 + interval - 1, 1_000_000));
        assert!(!due(false, 1_000_000 + interval, 1_000_000));
        assert!(!due(true, 1_000_000, 1_000_000 + interval));
    }
}
