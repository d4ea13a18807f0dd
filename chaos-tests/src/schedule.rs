//! Fault kinds and the seeded fault schedule of a run.

use std::fmt;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    KillNode,
    KillLeader,
    KillSite,
    Pause,
    PauseLeader,
    CutSite,
    Latency,
    FlipBytes,
    DeleteShard,
    DiskFull,
    RollingRestart,
    ClockSkew,
    // Opt-in on the process backend (network namespaces, loop-mounted disks, clock file):
    OneWayLeader,
    OneWayLink,
    LongPartition,
    CutSiteRestart,
    ClockJump,
    ClockJumpLeader,
    Enospc,
    Eio,
}

pub const ALL: [FaultKind; 20] = [
    FaultKind::KillNode,
    FaultKind::KillLeader,
    FaultKind::KillSite,
    FaultKind::Pause,
    FaultKind::PauseLeader,
    FaultKind::CutSite,
    FaultKind::Latency,
    FaultKind::FlipBytes,
    FaultKind::DeleteShard,
    FaultKind::DiskFull,
    FaultKind::RollingRestart,
    FaultKind::ClockSkew,
    FaultKind::OneWayLeader,
    FaultKind::OneWayLink,
    FaultKind::LongPartition,
    FaultKind::CutSiteRestart,
    FaultKind::ClockJump,
    FaultKind::ClockJumpLeader,
    FaultKind::Enospc,
    FaultKind::Eio,
];

/// How long a long partition lasts: more than the chaos configs' orphan grace (15 s) and
/// node-down timeout (10 s) (`backend/process.rs`).
pub const LONG_PARTITION_MS: std::ops::Range<u64> = 22_000..32_000;

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::KillNode => "kill-node",
            Self::KillLeader => "kill-leader",
            Self::KillSite => "kill-site",
            Self::Pause => "pause",
            Self::PauseLeader => "pause-leader",
            Self::CutSite => "cut-site",
            Self::Latency => "latency",
            Self::FlipBytes => "flip-bytes",
            Self::DeleteShard => "delete-shard",
            Self::DiskFull => "disk-full",
            Self::RollingRestart => "rolling-restart",
            Self::ClockSkew => "clock-skew",
            Self::OneWayLeader => "one-way-leader",
            Self::OneWayLink => "one-way-link",
            Self::LongPartition => "long-partition",
            Self::CutSiteRestart => "cut-site-restart",
            Self::ClockJump => "clock-jump",
            Self::ClockJumpLeader => "clock-jump-leader",
            Self::Enospc => "enospc",
            Self::Eio => "eio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|k| k.name() == s.trim())
    }

    /// How long the fault stays before it is healed, drawn from the run's RNG.
    fn hold(self, rng: &mut ChaCha8Rng) -> Duration {
        let ms = match self {
            // Instant faults: the damage stays until scrub or a read finds it.
            Self::FlipBytes | Self::DeleteShard | Self::RollingRestart => 0,
            Self::KillNode | Self::KillLeader | Self::KillSite => rng.gen_range(2_000..12_000),
            Self::Pause | Self::PauseLeader => rng.gen_range(1_000..8_000),
            Self::CutSite | Self::Latency | Self::DiskFull | Self::ClockSkew => rng.gen_range(3_000..12_000),
            Self::OneWayLeader | Self::OneWayLink | Self::ClockJump | Self::ClockJumpLeader => {
                rng.gen_range(3_000..12_000)
            }
            Self::Enospc | Self::Eio => rng.gen_range(3_000..10_000),
            Self::CutSiteRestart => rng.gen_range(6_000..12_000),
            Self::LongPartition => rng.gen_range(LONG_PARTITION_MS),
        };
        Duration::from_millis(ms)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One planned fault. `pick` chooses the target (node, site, object) among those present when
/// the fault is injected; the target actually hit is recorded in the run's fault log.
#[derive(Clone, Debug)]
pub struct Planned {
    pub at: Duration,
    pub kind: FaultKind,
    pub pick: u64,
    pub hold: Duration,
}

impl fmt::Display for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "t+{:>6.1}s {:<16} pick={:<20} hold={:.1}s",
            self.at.as_secs_f64(),
            self.kind.name(),
            self.pick,
            self.hold.as_secs_f64()
        )
    }
}

/// Faults one after another (each healed before the next), from 3 s into the run until 8 s
/// before its end, so that at most one site plus one shard per object is out at any time.
pub fn plan(rng: &mut ChaCha8Rng, duration: Duration, kinds: &[FaultKind]) -> Vec<Planned> {
    let mut out = Vec::new();
    if kinds.is_empty() {
        return out;
    }
    let end = duration.saturating_sub(Duration::from_secs(8));
    let mut t = Duration::from_secs(3);
    while t < end && out.len() < 1000 {
        let kind = kinds[rng.gen_range(0..kinds.len())];
        let hold = kind.hold(rng);
        out.push(Planned {
            at: t,
            kind,
            pick: rng.gen(),
            hold,
        });
        // Rolling restarts take their own time (one node after the other).
        let busy = if kind == FaultKind::RollingRestart {
            Duration::from_secs(15)
        } else {
            hold
        };
        t += busy + Duration::from_millis(rng.gen_range(1_000..5_000));
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_schedule() {
        let a = plan(&mut ChaCha8Rng::seed_from_u64(7), Duration::from_secs(60), &ALL);
        let b = plan(&mut ChaCha8Rng::seed_from_u64(7), Duration::from_secs(60), &ALL);
        assert!(!a.is_empty());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn faults_are_sequential_and_inside_the_run() {
        let p = plan(&mut ChaCha8Rng::seed_from_u64(3), Duration::from_secs(60), &ALL);
        for w in p.windows(2) {
            assert!(w[0].at + w[0].hold < w[1].at);
        }
        assert!(p.iter().all(|f| f.at < Duration::from_secs(52)));
    }

    #[test]
    fn names_round_trip() {
        for k in ALL {
            assert_eq!(FaultKind::parse(k.name()), Some(k));
        }
    }
}
