//! One object worker: puts, gets and deletes on the keys it owns (`w<worker>/k<n>`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use archipel_client::proto::object::ObjectInfo;
use archipel_client::ClientError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{payload, Shared, KEYS_PER_WORKER, NAMESPACE, OP_LIMIT};
use crate::history::{Hash, OnlineRead, State};

pub fn key_name(worker: u64, n: u64) -> String {
    format!("w{worker}/k{n}")
}

/// By the retry contract (docs/ARCHITECTURE.md) only `Indeterminate` leaves a write's outcome
/// open; any other error says nothing was applied, and the checks hold the cluster to it (a
/// timeout of our own is open too, and never reaches here).
pub fn is_refusal(e: &ClientError) -> bool {
    !matches!(e, ClientError::Indeterminate(_))
}

pub fn hash_of(info: &ObjectInfo) -> Option<Hash> {
    info.blake3.as_slice().try_into().ok()
}

pub async fn worker(shared: Arc<Shared>, worker: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(shared.seed.wrapping_add(1000 + worker));
    let mut op_seq = 0u64;
    while Instant::now() < shared.deadline && shared.ops_started.fetch_add(1, Ordering::Relaxed) < shared.ops_limit {
        let key = key_name(worker, rng.gen_range(0..KEYS_PER_WORKER));
        op_seq += 1;
        let roll: f64 = rng.gen();
        if roll < 0.55 {
            let size = payload::size(&mut rng);
            put(&shared, &key, (worker << 32) | op_seq, size).await;
        } else if roll < 0.85 {
            get(&shared, &key).await;
        } else {
            delete(&shared, &key).await;
        }
    }
}

async fn put(shared: &Shared, key: &str, op: u64, size: u64) {
    let body = payload::bytes(shared.seed, op, size);
    let sent = *blake3::hash(&body).as_bytes();
    let reply = tokio::time::timeout(
        OP_LIMIT,
        shared
            .client
            .put_object(NAMESPACE, key, body.as_slice(), Some(size), None),
    )
    .await;
    let Ok(mut guard) = shared.objects.lock() else { return };
    let h = &mut *guard;
    let rec = h.keys.entry(key.to_owned()).or_default();
    rec.attempted.insert(sent, size);
    match reply {
        Ok(Ok(info)) => {
            rec.put_acked(sent, size);
            h.counts.puts_acked += 1;
            h.counts.bytes_put += size;
            if hash_of(&info) != Some(sent) || info.size != size {
                h.bad_acks.push(format!(
                    "put {key}: sent {} ({size} B), acknowledged with {} ({} B)",
                    hex::encode(&sent[..8]),
                    hex::encode(info.blake3.get(..8).unwrap_or_default()),
                    info.size
                ));
            }
        }
        Ok(Err(e)) if is_refusal(&e) => {
            h.counts.puts_failed += 1;
            h.counts.puts_refused += 1;
        }
        Ok(Err(_)) | Err(_) => {
            rec.put_unknown(sent, size);
            h.counts.puts_failed += 1;
        }
    }
}

async fn get(shared: &Shared, key: &str) {
    let mut sink = tokio::io::sink();
    let reply = tokio::time::timeout(
        OP_LIMIT,
        shared.client.get_object(NAMESPACE, key, 0, None, &mut sink, None),
    )
    .await;
    let at = shared.since_start();
    let Ok(mut guard) = shared.objects.lock() else { return };
    let h = &mut *guard;
    let rec = h.keys.entry(key.to_owned()).or_default().clone();
    let seen = match reply {
        Ok(Ok(info)) => match hash_of(&info) {
            Some(blake3) => State::Present {
                blake3,
                size: info.size,
            },
            None => {
                h.counts.gets_failed += 1;
                return;
            }
        },
        Ok(Err(ClientError::NotFound(_))) => State::Absent,
        Ok(Err(ClientError::DataLoss(m))) => {
            h.counts.gets_failed += 1;
            h.warnings
                .push(format!("t+{:.1}s get {key}: data loss: {m}", at.as_secs_f64()));
            return;
        }
        Ok(Err(_)) | Err(_) => {
            h.counts.gets_failed += 1;
            return;
        }
    };
    h.counts.gets_ok += 1;
    if !rec.possible.contains(&seen) {
        h.bad_reads.push(OnlineRead {
            at,
            key: key.to_owned(),
            seen,
            expected: rec.describe_possible(),
            had_to_exist: rec.must_exist(),
        });
    }
}

async fn delete(shared: &Shared, key: &str) {
    let reply = tokio::time::timeout(OP_LIMIT, shared.client.delete_object(NAMESPACE, key)).await;
    let Ok(mut guard) = shared.objects.lock() else { return };
    let h = &mut *guard;
    let rec = h.keys.entry(key.to_owned()).or_default();
    match reply {
        Ok(Ok(_)) => {
            rec.delete_acked();
            h.counts.deletes_acked += 1;
        }
        Ok(Err(ClientError::NotFound(_))) => {
            // Deleting an absent key: nothing to do, the key is absent.
            rec.delete_acked();
            h.counts.deletes_acked += 1;
        }
        Ok(Err(e)) if is_refusal(&e) => {
            // The key keeps the states it had.
            h.counts.deletes_failed += 1;
            h.counts.deletes_refused += 1;
        }
        Ok(Err(_)) | Err(_) => {
            rec.delete_unknown();
            h.counts.deletes_failed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_indeterminate_error_leaves_a_write_open() {
        assert!(!is_refusal(&ClientError::Indeterminate("connection reset".into())));
        assert!(is_refusal(&ClientError::Unavailable("no quorum".into())));
        assert!(is_refusal(&ClientError::FailedPrecondition("WORM".into())));
    }
}
