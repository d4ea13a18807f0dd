//! One CAS worker: increments shared counters by compare-and-swap on their exact value, each
//! step tagged with a token unique to the operation.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use archipel_client::{CasExpect, ClientError, Consistency};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{counter_key, Shared, COUNTERS, META_NAMESPACE, OP_LIMIT};
use crate::history::{CasOp, CasResult, CounterRead, Step};

pub async fn worker(shared: Arc<Shared>, worker: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(shared.seed.wrapping_add(2000 + worker));
    let mut seq = 0u64;
    // CAS steps are cheap: they do not count against the object budget, but stop with it.
    while Instant::now() < shared.deadline && shared.ops_started.load(Ordering::Relaxed) < shared.ops_limit {
        seq += 1;
        let counter = counter_key(rng.gen_range(0..COUNTERS));
        let Some(current) = read(&shared, &counter).await else {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            continue;
        };
        let new = Step {
            step: current.as_ref().map_or(1, |s| s.step + 1),
            token: format!("w{worker}-{seq}"),
        };
        let expect = match &current {
            None => CasExpect::Absent,
            Some(s) => CasExpect::Value(s.encode()),
        };
        let start = shared.since_start();
        let reply = tokio::time::timeout(
            OP_LIMIT,
            shared
                .client
                .meta_cas(META_NAMESPACE, counter.as_bytes(), expect, Some(&new.encode())),
        )
        .await;
        let end = shared.since_start();
        let result = match reply {
            Ok(Ok(o)) if o.succeeded => CasResult::Acked,
            Ok(Ok(o)) => CasResult::Rejected(o.current.and_then(|e| Step::decode(&e.value))),
            Ok(Err(ClientError::Indeterminate(_))) => CasResult::Indeterminate,
            Ok(Err(e)) => CasResult::Failed(e.to_string()),
            Err(_) => CasResult::Indeterminate,
        };
        let Ok(mut guard) = shared.objects.lock() else { return };
        let counts = &mut guard.counts;
        match &result {
            CasResult::Acked => counts.cas_acked += 1,
            CasResult::Rejected(_) => counts.cas_rejected += 1,
            CasResult::Indeterminate => counts.cas_indeterminate += 1,
            CasResult::Failed(_) => counts.cas_failed += 1,
        }
        drop(guard);
        if let Ok(mut h) = shared.cas.lock() {
            h.ops.push(CasOp {
                counter,
                new,
                start,
                end,
                result,
            });
        }
    }
}

/// A linearizable read; None when it failed (the worker tries again later).
async fn read(shared: &Shared, counter: &str) -> Option<Option<Step>> {
    let start = shared.since_start();
    let reply = tokio::time::timeout(
        OP_LIMIT,
        shared
            .client
            .meta_get(META_NAMESPACE, counter.as_bytes(), Consistency::Linearizable),
    )
    .await;
    let seen = match reply {
        Ok(Ok(entry)) => entry.and_then(|e| Step::decode(&e.value)),
        _ => return None,
    };
    if let Ok(mut h) = shared.cas.lock() {
        h.reads.push(CounterRead {
            counter: counter.to_owned(),
            start,
            seen: seen.clone(),
        });
    }
    Some(seen)
}
