//! The WORM worker (runs with the clock faults): locks a few objects under a COMPLIANCE
//! retention far longer than any clock jump of the run, then keeps trying to delete them. Every
//! delete must be refused, whichever node's clock has jumped; the check (`check/worm.rs`) reads
//! them back after healing.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use archipel_client::proto::object::{LockMode, ObjectLockSpec};
use archipel_client::ClientError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{payload, Shared};

pub const WORM_NAMESPACE: &str = "chaos.worm";
const LOCKED: u64 = 4;
/// 30 days: beyond the largest clock jump the schedule draws (2 days) plus a long partition's
/// 25 h.
const RETENTION_MS: u64 = 30 * 86_400_000;

#[derive(Debug, Default)]
pub struct WormHistory {
    /// Acknowledged locked puts: key, BLAKE3, size.
    pub locked: Vec<(String, [u8; 32], u64)>,
    pub deletes_refused: u64,
    /// Deletes of a locked object the cluster acknowledged.
    pub deletes_applied: Vec<String>,
    /// Deletes whose outcome is unknown: the final read judges them.
    pub deletes_unknown: u64,
    pub setup_errors: Vec<String>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub async fn worker(shared: Arc<Shared>) {
    let mut rng = ChaCha8Rng::seed_from_u64(shared.seed.wrapping_add(3000));
    if let Err(e) = shared.client.create_namespace(WORM_NAMESPACE, None, 0).await {
        record(&shared, |h| {
            h.setup_errors.push(format!("creating {WORM_NAMESPACE}: {e}"))
        });
        return;
    }
    for i in 0..LOCKED {
        let key = format!("locked{i}");
        let size = rng.gen_range(100..200_000u64);
        let data = payload::bytes(shared.seed, 0x5157_0000 + i, size);
        let lock = ObjectLockSpec {
            mode: LockMode::Compliance as i32,
            retain_until_ms: now_ms() + RETENTION_MS,
            legal_hold: false,
        };
        match shared
            .client
            .put_object_locked(WORM_NAMESPACE, &key, data.as_slice(), Some(size), Some(lock), None)
            .await
        {
            Ok(info) => match <[u8; 32]>::try_from(info.blake3.as_slice()) {
                Ok(b) => record(&shared, |h| h.locked.push((key.clone(), b, info.size))),
                Err(_) => record(&shared, |h| {
                    h.setup_errors.push(format!("{key}: no BLAKE3 in the reply"))
                }),
            },
            Err(e) => record(&shared, |h| h.setup_errors.push(format!("locked put {key}: {e}"))),
        }
    }
    while Instant::now() < shared.deadline {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1200))).await;
        let key = format!("locked{}", rng.gen_range(0..LOCKED));
        let locked = record(&shared, |h| h.locked.iter().any(|(k, _, _)| *k == key));
        if !locked {
            continue;
        }
        match shared.client.delete_object(WORM_NAMESPACE, &key).await {
            Err(ClientError::Indeterminate(_)) => record(&shared, |h| h.deletes_unknown += 1),
            // Refused (retention), or not reachable now: either way nothing was applied.
            Err(_) => record(&shared, |h| h.deletes_refused += 1),
            Ok(_) => record(&shared, |h| {
                h.deletes_applied.push(format!("{key}: delete acknowledged"))
            }),
        }
    }
}

fn record<T>(shared: &Shared, f: impl FnOnce(&mut WormHistory) -> T) -> T {
    let mut guard = shared.worm.lock().unwrap_or_else(|p| p.into_inner());
    f(&mut guard)
}
