//! Invariant: no object whose delete (or overwrite) was acknowledged comes back, and a key that
//! may be absent shows only a state some operation could have left.

use super::final_state::{FinalRead, FinalState};
use super::Violation;
use crate::history::{ObjectHistory, State};

pub const NAME: &str = "no-resurrection";

fn what(objects: &ObjectHistory, key: &str, seen: &State) -> &'static str {
    match seen {
        State::Present { blake3, .. } if objects.keys.get(key).is_some_and(|k| k.removed.contains(blake3)) => {
            "an acknowledged-removed version came back"
        }
        State::Present { .. } => "a version that was never the key's possible state",
        State::Absent => "absent",
    }
}

pub fn check(objects: &ObjectHistory, state: &FinalState) -> Vec<Violation> {
    let mut out = Vec::new();
    for r in objects.bad_reads.iter().filter(|r| !r.had_to_exist) {
        out.push(Violation::new(
            NAME,
            format!(
                "during the run (t+{:.1}s) a read of {} saw {} ({}), expected {}",
                r.at.as_secs_f64(),
                r.key,
                r.seen.describe(),
                what(objects, &r.key, &r.seen),
                r.expected
            ),
        ));
    }
    for (key, rec) in objects.keys.iter().filter(|(_, r)| !r.must_exist()) {
        if let Some(FinalRead::Read(seen)) = state.reads.get(key) {
            if !rec.possible.contains(seen) {
                out.push(Violation::new(
                    NAME,
                    format!(
                        "{key}: read {} ({}), expected {}",
                        seen.describe(),
                        what(objects, key, seen),
                        rec.describe_possible()
                    ),
                ));
            }
        }
        // A failed final read of a key that may be absent is reported by no-half-written
        // when the key is listed, and by final-state otherwise.
        if let Some(FinalRead::Error(e)) = state.reads.get(key) {
            if !state.listed.iter().any(|o| &o.key == key) {
                out.push(Violation::new("final-state", format!("{key}: unreadable: {e}")));
            }
        }
    }
    out
}
