//! Invariant: every acknowledged put that was not later deleted or overwritten is readable,
//! with exactly the BLAKE3 it was acknowledged with (also for reads made while faults ran).

use super::final_state::{FinalRead, FinalState};
use super::Violation;
use crate::history::ObjectHistory;

pub const NAME: &str = "acked-put-readable";

pub fn check(objects: &ObjectHistory, state: &FinalState) -> Vec<Violation> {
    let mut out: Vec<Violation> = objects
        .bad_acks
        .iter()
        .map(|a| Violation::new(NAME, format!("wrong acknowledgement: {a}")))
        .collect();
    for r in objects.bad_reads.iter().filter(|r| r.had_to_exist) {
        out.push(Violation::new(
            NAME,
            format!(
                "during the run (t+{:.1}s) a read of {} saw {}, expected {}",
                r.at.as_secs_f64(),
                r.key,
                r.seen.describe(),
                r.expected
            ),
        ));
    }
    for (key, rec) in objects.keys.iter().filter(|(_, r)| r.must_exist()) {
        match state.reads.get(key) {
            Some(FinalRead::Read(seen)) if rec.possible.contains(seen) => {}
            Some(FinalRead::Read(seen)) => out.push(Violation::new(
                NAME,
                format!("{key}: expected {}, read {}", rec.describe_possible(), seen.describe()),
            )),
            Some(FinalRead::Error(e)) => out.push(Violation::new(
                NAME,
                format!("{key}: acknowledged as {} but unreadable: {e}", rec.describe_possible()),
            )),
            None => out.push(Violation::new(NAME, format!("{key}: never read back"))),
        }
    }
    out
}
