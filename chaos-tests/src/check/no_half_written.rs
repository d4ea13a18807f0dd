//! Invariant: no object is visible half-written. Everything listed in the namespace is a key
//! of the workload, holds content that was sent for it in full (BLAKE3 and size), and reads
//! back completely with a verified BLAKE3; what reads back is also listed.

use super::final_state::{FinalRead, FinalState};
use super::Violation;
use crate::history::{short, ObjectHistory, State};

pub const NAME: &str = "no-half-written";

pub fn check(objects: &ObjectHistory, state: &FinalState) -> Vec<Violation> {
    let mut out = Vec::new();
    for info in &state.listed {
        let key = &info.key;
        let Some(rec) = objects.keys.get(key) else {
            out.push(Violation::new(
                NAME,
                format!("{key}: listed but never written by the workload"),
            ));
            continue;
        };
        let Ok(blake3) = <[u8; 32]>::try_from(info.blake3.as_slice()) else {
            out.push(Violation::new(NAME, format!("{key}: listed without a 32-byte BLAKE3")));
            continue;
        };
        match rec.attempted.get(&blake3) {
            Some(size) if *size == info.size => {}
            Some(size) => out.push(Violation::new(
                NAME,
                format!(
                    "{key}: listed with {} B, content {} was sent with {size} B",
                    info.size,
                    short(&blake3)
                ),
            )),
            None => out.push(Violation::new(
                NAME,
                format!("{key}: listed with content {} that was never sent", short(&blake3)),
            )),
        }
        match state.reads.get(key) {
            Some(FinalRead::Read(State::Present { blake3: read, size })) if *read == blake3 && *size == info.size => {}
            Some(FinalRead::Read(seen)) => out.push(Violation::new(
                NAME,
                format!("{key}: listed as {} but read as {}", short(&blake3), seen.describe()),
            )),
            Some(FinalRead::Error(e)) => out.push(Violation::new(NAME, format!("{key}: listed but unreadable: {e}"))),
            None => {}
        }
    }
    for (key, read) in &state.reads {
        if let FinalRead::Read(State::Present { .. }) = read {
            if !state.listed.iter().any(|o| &o.key == key) {
                out.push(Violation::new(NAME, format!("{key}: readable but not listed")));
            }
        }
    }
    out
}
