//! Shared setup for the logbook tests (included with `#[path]`; as its own test target it has no tests).
#![allow(dead_code)]

use std::sync::Arc;

use archipel_archive::logbook::{Logbook, MemoryStore, NewEntry, Outcome, SealKey, VerifyKeys};
use serde_json::json;

pub struct Fixture {
    pub store: Arc<MemoryStore>,
    pub logbook: Logbook,
    pub keys: VerifyKeys,
}

pub fn fixture() -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let key = SealKey::from_seed(&[7; 32]);
    let keys = VerifyKeys::new().with(&key.public()).unwrap();
    let logbook = Logbook::new(store.clone(), Arc::new(key));
    Fixture { store, logbook, keys }
}

pub fn step(i: u64) -> NewEntry {
    let outcome = if i.is_multiple_of(7) {
        Outcome::Warning
    } else {
        Outcome::Ok
    };
    NewEntry::new(format!("op-{}", i / 3), "transfer.digest-check", outcome, "cred-42")
        .subject(format!("obj-{i}"))
        .detail(json!({"i": i, "algo": "SHA-512", "note": "é \"q\"\n"}))
}

/// `n` entries in batches of 1-3, sealed every `seal_every` entries (0 = never).
pub async fn filled(tenant: &str, n: u64, seal_every: u64) -> Fixture {
    let f = fixture();
    let (mut i, mut sealed) = (0, 0);
    while i < n {
        let batch: Vec<NewEntry> = (i..n.min(i + 1 + i % 3)).map(step).collect();
        i += batch.len() as u64;
        f.logbook.append_many(tenant, batch).await.unwrap();
        if seal_every > 0 && i - sealed >= seal_every {
            f.logbook.seal(tenant).await.unwrap();
            sealed = i;
        }
    }
    f
}
