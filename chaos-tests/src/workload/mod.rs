//! The seeded workload: object workers (put, get, delete on keys they own) and CAS workers
//! (increments of shared counters), recording every outcome.

mod cas;
mod objects;
pub mod payload;
pub mod worm;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archipel_client::Client;

use crate::history::{CasHistory, ObjectHistory};

pub const NAMESPACE: &str = "chaos";
pub const META_NAMESPACE: &str = "chaos.counters";
pub const OBJECT_WORKERS: u64 = 4;
pub const KEYS_PER_WORKER: u64 = 8;
pub const CAS_WORKERS: u64 = 3;
pub const COUNTERS: u64 = 2;
/// One operation may not take longer than this (then it counts as failed, outcome unknown).
pub const OP_LIMIT: Duration = Duration::from_secs(60);

pub struct Shared {
    pub client: Client,
    pub seed: u64,
    pub start: Instant,
    pub deadline: Instant,
    pub ops_limit: u64,
    pub ops_started: AtomicU64,
    pub objects: Mutex<ObjectHistory>,
    pub cas: Mutex<CasHistory>,
    /// Locked objects and the deletes tried on them (with the clock faults only).
    pub worm: Mutex<worm::WormHistory>,
    pub worm_enabled: bool,
}

impl Shared {
    pub fn since_start(&self) -> Duration {
        self.start.elapsed()
    }
}

pub fn counter_key(c: u64) -> String {
    format!("c{c}")
}

/// Runs every worker until the deadline or the operation budget, whichever comes first.
pub async fn run(shared: Arc<Shared>) {
    let mut tasks = Vec::new();
    for w in 0..OBJECT_WORKERS {
        tasks.push(tokio::spawn(objects::worker(shared.clone(), w)));
    }
    for w in 0..CAS_WORKERS {
        tasks.push(tokio::spawn(cas::worker(shared.clone(), w)));
    }
    if shared.worm_enabled {
        tasks.push(tokio::spawn(worm::worker(shared.clone())));
    }
    for t in tasks {
        if let Err(e) = t.await {
            if let Ok(mut h) = shared.objects.lock() {
                h.warnings.push(format!("a workload task ended abnormally: {e}"));
            }
        }
    }
}
