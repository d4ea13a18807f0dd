//! What the workload did and what the cluster answered: the input of the invariant checker.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub type Hash = [u8; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Absent,
    Present { blake3: Hash, size: u64 },
}

impl State {
    pub fn describe(&self) -> String {
        match self {
            Self::Absent => "absent".into(),
            Self::Present { blake3, size } => format!("{} ({size} B)", short(blake3)),
        }
    }
}

pub fn short(h: &Hash) -> String {
    hex::encode(&h[..8])
}

/// One key of the object workload. Keys belong to one worker, so operations on a key never
/// overlap in time and the set of states the key may be in is exact.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// States the key may be in now: one after an acknowledged put or delete; more after
    /// operations whose outcome is unknown (an Indeterminate put or delete may have been
    /// applied). A refused operation (any other error) adds nothing: its content must never show.
    pub possible: BTreeSet<State>,
    /// Every content ever sent for this key (acknowledged or not), by BLAKE3.
    pub attempted: BTreeMap<Hash, u64>,
    /// Contents whose removal (delete or overwrite) was acknowledged.
    pub removed: BTreeSet<Hash>,
}

impl Default for KeyRecord {
    fn default() -> Self {
        Self {
            possible: BTreeSet::from([State::Absent]),
            attempted: BTreeMap::new(),
            removed: BTreeSet::new(),
        }
    }
}

impl KeyRecord {
    pub fn put_acked(&mut self, blake3: Hash, size: u64) {
        let replaced: Vec<Hash> = self.present_hashes().filter(|h| *h != blake3).collect();
        self.removed.extend(replaced);
        self.possible = BTreeSet::from([State::Present { blake3, size }]);
    }

    pub fn put_unknown(&mut self, blake3: Hash, size: u64) {
        self.possible.insert(State::Present { blake3, size });
    }

    pub fn delete_acked(&mut self) {
        let gone: Vec<Hash> = self.present_hashes().collect();
        self.removed.extend(gone);
        self.possible = BTreeSet::from([State::Absent]);
    }

    pub fn delete_unknown(&mut self) {
        self.possible.insert(State::Absent);
    }

    fn present_hashes(&self) -> impl Iterator<Item = Hash> + '_ {
        self.possible.iter().filter_map(|s| match s {
            State::Present { blake3, .. } => Some(*blake3),
            State::Absent => None,
        })
    }

    /// The last acknowledged operation was a put, and nothing uncertain may have removed it.
    pub fn must_exist(&self) -> bool {
        !self.possible.contains(&State::Absent)
    }

    pub fn describe_possible(&self) -> String {
        self.possible
            .iter()
            .map(State::describe)
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

/// A read seen by the workload while faults ran.
#[derive(Debug, Clone)]
pub struct OnlineRead {
    pub at: Duration,
    pub key: String,
    pub seen: State,
    pub expected: String,
    /// The key's last certain operation was an acknowledged put.
    pub had_to_exist: bool,
}

#[derive(Debug, Default, Clone)]
pub struct OpCounts {
    pub puts_acked: u64,
    pub puts_failed: u64,
    /// Failed puts whose error, by the retry contract, means nothing was applied.
    pub puts_refused: u64,
    pub gets_ok: u64,
    pub gets_failed: u64,
    pub deletes_acked: u64,
    pub deletes_failed: u64,
    /// Failed deletes whose error means nothing was applied.
    pub deletes_refused: u64,
    pub cas_acked: u64,
    pub cas_rejected: u64,
    pub cas_indeterminate: u64,
    pub cas_failed: u64,
    pub bytes_put: u64,
}

#[derive(Debug, Default)]
pub struct ObjectHistory {
    pub keys: BTreeMap<String, KeyRecord>,
    pub counts: OpCounts,
    /// Reads during the run that saw a state the key could not be in.
    pub bad_reads: Vec<OnlineRead>,
    /// Acknowledgements whose BLAKE3 or size differ from what was sent.
    pub bad_acks: Vec<String>,
    /// Errors worth reporting that are not violations by themselves (e.g. data loss reported
    /// by a read while faults were in force).
    pub warnings: Vec<String>,
}

/// The counter value a CAS step writes: `step:token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub step: u64,
    pub token: String,
}

impl Step {
    pub fn encode(&self) -> Vec<u8> {
        format!("{}:{}", self.step, self.token).into_bytes()
    }

    pub fn decode(raw: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(raw).ok()?;
        let (step, token) = text.split_once(':')?;
        Some(Self {
            step: step.parse().ok()?,
            token: token.to_owned(),
        })
    }
}

#[derive(Debug, Clone)]
pub enum CasResult {
    /// The cluster said the swap happened.
    Acked,
    /// The cluster said it did not (the value had changed); what it saw instead.
    Rejected(Option<Step>),
    /// The outcome is unknown (connection broke after sending).
    Indeterminate,
    /// An error that, by the retry contract, means nothing was applied.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct CasOp {
    pub counter: String,
    /// The value this op tried to write.
    pub new: Step,
    pub start: Duration,
    pub end: Duration,
    pub result: CasResult,
}

/// A linearizable read of a counter.
#[derive(Debug, Clone)]
pub struct CounterRead {
    pub counter: String,
    pub start: Duration,
    pub seen: Option<Step>,
}

#[derive(Debug, Default)]
pub struct CasHistory {
    pub ops: Vec<CasOp>,
    pub reads: Vec<CounterRead>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_states_follow_acknowledgements() {
        let mut k = KeyRecord::default();
        k.put_acked([1; 32], 10);
        assert!(k.must_exist());
        k.put_unknown([2; 32], 20);
        assert_eq!(k.possible.len(), 2);
        k.delete_unknown();
        assert!(!k.must_exist());
        k.put_acked([3; 32], 30);
        assert_eq!(k.removed, BTreeSet::from([[1; 32], [2; 32]]));
        k.delete_acked();
        assert_eq!(k.possible, BTreeSet::from([State::Absent]));
        assert!(k.removed.contains(&[3; 32]));
    }

    #[test]
    fn steps_round_trip() {
        let s = Step {
            step: 42,
            token: "c1-w0-7".into(),
        };
        assert_eq!(Step::decode(&s.encode()), Some(s));
        assert_eq!(Step::decode(b"garbage"), None);
    }
}
