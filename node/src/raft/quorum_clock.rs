//! The time a leader stamps entries with: the latest time a majority of the voters' clocks have
//! all reached, so no single node's clock, the leader's included, moves the state machine's time.
//!
//! Every Raft reply carries the replier's wall clock (`RaftReply.now_ms`). The leader's network
//! records it per peer with the round trip and when it arrived ([`ClockSamples`]); heartbeats
//! keep it fresh. A peer's clock now is estimated as what it said, plus half the round trip, plus
//! the (monotonic) time since. [`StampRule`] takes the voters' estimates, this node's own clock
//! among them, and picks the stamp (docs/durability.md, "Time, late commits and retention").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{NodeId, Raft};
use crate::store::StateView;
use crate::time::Clock;

/// How old a peer's reading may be and still count. Heartbeats refresh it many times a second;
/// an older one belongs to a peer that stopped answering, whose clock is then unknown.
pub const FRESH: Duration = Duration::from_secs(30);

/// One reading of a peer's wall clock.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub reported_ms: u64,
    pub rtt: Duration,
    /// When the reply arrived, on this node's monotonic clock.
    pub received: Instant,
}

impl Sample {
    /// The peer's clock at `now`, or None once the reading is too old to count.
    fn estimate_at(&self, now: Instant) -> Option<u64> {
        let age = now.saturating_duration_since(self.received);
        if age >= FRESH {
            return None;
        }
        // The peer read its clock somewhere within the round trip: on average halfway.
        Some(self.reported_ms.saturating_add((age + self.rtt / 2).as_millis() as u64))
    }
}

/// The peers' latest clock readings: written by the Raft network as replies arrive, read when
/// stamping.
#[derive(Debug, Clone, Default)]
pub struct ClockSamples(Arc<Mutex<HashMap<NodeId, Sample>>>);

impl ClockSamples {
    /// Records `peer`'s clock from a reply to a request sent at `sent`. A zero is no reading (a
    /// node older than the field).
    pub fn record(&self, peer: NodeId, reported_ms: u64, sent: Instant, received: Instant) {
        if reported_ms == 0 {
            return;
        }
        let sample = Sample {
            reported_ms,
            rtt: received.saturating_duration_since(sent),
            received,
        };
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(peer, sample);
    }

    pub fn get(&self, peer: NodeId) -> Option<Sample> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&peer).copied()
    }
}

/// The latest time at least `majority` of `estimates` have reached: its `majority`-th largest.
/// For it to be ahead of real time, `majority` clocks must be ahead; with every voter answering
/// in an odd-sized cluster it is the median.
pub fn quorum_time(estimates: &mut [u64], majority: usize) -> Option<u64> {
    if majority == 0 || estimates.len() < majority {
        return None;
    }
    estimates.sort_unstable();
    Some(estimates[estimates.len() - majority])
}

/// Chooses each stamp. Remembers the last stamp a majority vouched for (`anchor`), to bound the
/// stamps made while no majority answers.
#[derive(Debug, Default)]
pub struct StampRule {
    anchor: Option<(u64, Instant)>,
}

impl StampRule {
    /// The stamp at `now` for a leader `self_id` whose clock reads `own_ms`.
    ///
    /// With fresh estimates from a majority of `voters` (this node's own clock is its estimate),
    /// [`quorum_time`] of them. Otherwise this node's clock may not push time forward faster
    /// than real time: the stamp is at most the anchor plus the monotonic time since, the anchor
    /// being the last quorum stamp or, before any, the applied state time.
    pub fn stamp(
        &mut self,
        self_id: NodeId,
        own_ms: u64,
        voters: &[NodeId],
        sample: impl Fn(NodeId) -> Option<Sample>,
        state_time_ms: u64,
        now: Instant,
    ) -> u64 {
        let mut estimates: Vec<u64> = voters
            .iter()
            .filter_map(|&v| {
                if v == self_id {
                    Some(own_ms)
                } else {
                    sample(v)?.estimate_at(now)
                }
            })
            .collect();
        if let Some(t) = quorum_time(&mut estimates, voters.len() / 2 + 1) {
            self.anchor = Some((t, now));
            return t;
        }
        let (anchor_ms, at) = *self.anchor.get_or_insert((state_time_ms, now));
        let bound = anchor_ms.saturating_add(now.saturating_duration_since(at).as_millis() as u64);
        own_ms.min(bound)
    }
}

/// The clock a leader stamps with (`Node::write`, the tick): [`StampRule`] over this node's
/// voters, its own clock and the readings its Raft network records.
pub struct QuorumClock {
    id: NodeId,
    own: Arc<dyn Clock>,
    samples: ClockSamples,
    raft: Raft,
    state: Arc<StateView>,
    rule: Mutex<StampRule>,
}

impl QuorumClock {
    pub fn new(id: NodeId, own: Arc<dyn Clock>, samples: ClockSamples, raft: Raft, state: Arc<StateView>) -> Self {
        Self {
            id,
            own,
            samples,
            raft,
            state,
            rule: Mutex::default(),
        }
    }
}

impl Clock for QuorumClock {
    fn now_ms(&self) -> u64 {
        let voters: Vec<NodeId> = self
            .raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .collect();
        let own_ms = self.own.now_ms();
        let state_time_ms = self.state.state_time_ms();
        let mut rule = self.rule.lock().unwrap_or_else(|p| p.into_inner());
        rule.stamp(
            self.id,
            own_ms,
            &voters,
            |peer| self.samples.get(peer),
            state_time_ms,
            Instant::now(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;
    const YEAR_MS: u64 = 365 * 86_400_000;

    /// Samples read at `at`, each `(peer, reported, rtt ms)`.
    fn samples(at: Instant, readings: &[(NodeId, u64, u64)]) -> ClockSamples {
        let s = ClockSamples::default();
        for &(peer, reported, rtt) in readings {
            s.record(peer, reported, at - Duration::from_millis(rtt), at);
        }
        s
    }

    fn stamp(rule: &mut StampRule, own_ms: u64, voters: &[NodeId], s: &ClockSamples, state: u64, now: Instant) -> u64 {
        rule.stamp(1, own_ms, voters, |p| s.get(p), state, now)
    }

    #[test]
    fn quorum_time_is_the_time_a_majority_has_reached() {
        assert_eq!(quorum_time(&mut [30, 10, 20], 2), Some(20), "median of three");
        assert_eq!(quorum_time(&mut [50, 10, 40, 20, 30], 3), Some(30), "median of five");
        assert_eq!(
            quorum_time(&mut [40, 10, 30, 20], 3),
            Some(20),
            "four voters: three at 20 or later"
        );
        assert_eq!(
            quorum_time(&mut [10, 20, 30], 3),
            Some(10),
            "only a majority answers: its slowest"
        );
        assert_eq!(quorum_time(&mut [10], 1), Some(10));
        assert_eq!(quorum_time(&mut [10, 20], 3), None);
        assert_eq!(quorum_time(&mut [], 0), None);
    }

    #[test]
    fn a_single_node_stamps_with_its_own_clock() {
        let now = Instant::now();
        let mut rule = StampRule::default();
        let none = ClockSamples::default();
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1], &none, T, now), T + YEAR_MS);
    }

    #[test]
    fn a_leader_a_year_ahead_stamps_the_majoritys_time() {
        let now = Instant::now();
        let mut rule = StampRule::default();
        let s = samples(now, &[(2, T, 0), (3, T + 2_000, 0)]);
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &s, T, now), T + 2_000);
        // So does a follower a year ahead, and one a year behind.
        let s = samples(now, &[(2, T + YEAR_MS, 0), (3, T - YEAR_MS, 0)]);
        assert_eq!(stamp(&mut rule, T, &[1, 2, 3], &s, T, now), T);
    }

    #[test]
    fn two_clocks_ahead_among_five_need_a_third() {
        let now = Instant::now();
        let mut rule = StampRule::default();
        // Only the leader, node 2 (both a year ahead) and node 3 answer: the median of those three
        // would be a year ahead; the time a majority of five reached is node 3's.
        let s = samples(now, &[(2, T + YEAR_MS, 0), (3, T, 0)]);
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1, 2, 3, 4, 5], &s, T, now), T);
    }

    #[test]
    fn an_estimate_adds_half_the_round_trip_and_the_time_since_the_reading() {
        let read = Instant::now();
        let mut rule = StampRule::default();
        let s = samples(read, &[(2, T, 40), (3, T, 40)]);
        let later = read + Duration::from_millis(1_000);
        // Own clock far ahead: the stamp is the followers' estimate, T + 20 + 1000.
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &s, T, later), T + 1_020);
    }

    #[test]
    fn stale_or_missing_readings_do_not_count_and_the_own_clock_cannot_run_ahead() {
        let read = Instant::now();
        let mut rule = StampRule::default();
        let s = samples(read, &[(2, T, 0), (3, T, 0)]);
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &s, T, read), T);
        // Both followers stop answering: from the last quorum stamp, real time only.
        let stale = read + FRESH;
        assert_eq!(
            stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &s, T, stale),
            T + FRESH.as_millis() as u64
        );
        // An own clock behind that bound is used as is.
        assert_eq!(stamp(&mut rule, T + 5, &[1, 2, 3], &s, T, stale), T + 5);
        // A zero (a node older than the field) is no reading.
        let old = samples(read, &[(2, 0, 0), (3, 0, 0)]);
        let mut fresh_rule = StampRule::default();
        assert_eq!(
            stamp(&mut fresh_rule, T + YEAR_MS, &[1, 2, 3], &old, T - 3_000, read),
            T - 3_000
        );
    }

    #[test]
    fn before_any_quorum_the_bound_starts_at_the_state_time() {
        let start = Instant::now();
        let mut rule = StampRule::default();
        let none = ClockSamples::default();
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &none, T, start), T);
        let later = start + Duration::from_secs(7);
        // The state time given later does not move the anchor taken at the first stamp.
        assert_eq!(
            stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &none, T + 1, later),
            T + 7_000
        );
        // Once a majority answers, its time again, and the anchor follows it.
        let s = samples(later, &[(2, T + 9_000, 0)]);
        assert_eq!(stamp(&mut rule, T + 9_500, &[1, 2, 3], &s, T, later), T + 9_000);
        let s_gone = ClockSamples::default();
        let after = later + Duration::from_secs(1);
        assert_eq!(stamp(&mut rule, T + YEAR_MS, &[1, 2, 3], &s_gone, T, after), T + 10_000);
    }
}
