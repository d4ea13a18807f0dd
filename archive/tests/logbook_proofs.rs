//! Inclusion proofs, the Merkle tree under proptest, and the periodic sealer.

#[path = "logbook_util.rs"]
mod util;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use archipel_archive::logbook::{merkle, spawn_sealer, verify, verify_inclusion, Hash32, InclusionProof, LogbookError};
use proptest::prelude::*;
use util::{filled, fixture, step};

#[tokio::test]
async fn every_sealed_entry_proves_and_tampered_proofs_fail() {
    let f = filled("t1", 57, 9).await;
    let last_sealed = f.logbook.seal("t1").await.unwrap().unwrap().last_seq;
    assert_eq!(last_sealed, 57);
    for seq in 1..=57 {
        let proof = f.logbook.prove("t1", seq).await.unwrap();
        assert_eq!(proof.entry.seq, seq);
        verify_inclusion(&proof, &f.keys).unwrap();
        // The proof survives a JSON round trip: it is what a third party receives.
        let back: InclusionProof = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
        verify_inclusion(&back, &f.keys).unwrap();

        let mut forged = proof.clone();
        forged.entry.actor = "mallory".into();
        forged.entry.hash = forged.entry.compute_hash().unwrap();
        assert!(
            verify_inclusion(&forged, &f.keys).is_err(),
            "altered entry {seq} still proves"
        );
        if let Some(p) = proof.path.first() {
            let mut forged = proof.clone();
            forged.path[0] = Hash32::of(&p.0);
            assert!(
                verify_inclusion(&forged, &f.keys).is_err(),
                "altered path of {seq} still proves"
            );
        }
    }
}

#[tokio::test]
async fn proving_unsealed_or_missing_entries_says_why() {
    let f = filled("t1", 5, 0).await;
    assert!(matches!(
        f.logbook.prove("t1", 3).await,
        Err(LogbookError::NotSealed {
            seq: 3,
            last_sealed: 0,
            ..
        })
    ));
    f.logbook.seal("t1").await.unwrap();
    f.logbook.append("t1", step(5)).await.unwrap();
    assert!(matches!(
        f.logbook.prove("t1", 6).await,
        Err(LogbookError::NotSealed { last_sealed: 5, .. })
    ));
    assert!(matches!(
        f.logbook.prove("t1", 0).await,
        Err(LogbookError::NoSuchEntry { .. })
    ));
    assert!(matches!(
        f.logbook.prove("t1", 99).await,
        Err(LogbookError::NoSuchEntry { head: 6, .. })
    ));
    // A proof refuses to vouch for a tampered stored seal range.
    f.store
        .edit("t1", |t| t.entries.get_mut(&2).unwrap().actor = "x".into());
    assert!(matches!(
        f.logbook.prove("t1", 4).await,
        Err(LogbookError::Broken { seq: 2, .. })
    ));
}

#[tokio::test]
async fn sealer_seals_new_entries_and_is_idle_otherwise() {
    let f = fixture();
    let logbook = Arc::new(f.logbook);
    logbook.append_many("a", (0..5).map(step).collect()).await.unwrap();
    logbook.append("b", step(0)).await.unwrap();
    let sealer = spawn_sealer(
        logbook.clone(),
        || async { vec!["a".to_string(), "b".to_string(), "c".to_string()] },
        Duration::from_millis(5),
    );
    let stats = sealer.stats.clone();
    let get = move |c: &str| {
        let s = &stats;
        match c {
            "seals" => s.seals.load(Ordering::Relaxed),
            "rounds" => s.rounds.load(Ordering::Relaxed),
            _ => s.errors.load(Ordering::Relaxed),
        }
    };
    // One seal per tenant with entries, then idle rounds that seal nothing.
    wait_until(|| get("rounds") >= 1).await;
    let rounds = get("rounds");
    wait_until(|| get("rounds") >= rounds + 3).await;
    assert_eq!(get("seals"), 2);
    logbook.append("a", step(6)).await.unwrap();
    wait_until(|| get("seals") >= 3).await;
    let rounds = get("rounds");
    wait_until(|| get("rounds") >= rounds + 3).await;
    assert_eq!(get("seals"), 3);
    assert_eq!(get("errors"), 0);
    sealer.shutdown().await;
    let report = verify(f.store.as_ref(), "a", &f.keys).await.unwrap();
    assert!(
        report.is_intact() && report.seals_checked == 2 && report.last_sealed_seq == 6,
        "{report:?}"
    );
}

/// Polls `cond` for up to 10 s, so a slow machine does not fail the test.
async fn wait_until(cond: impl Fn() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached in 10 s");
}

fn leaves(seed: u64, n: usize) -> Vec<Hash32> {
    (0..n).map(|i| Hash32::of(format!("{seed}/{i}").as_bytes())).collect()
}

// The tree size is not bound by the path alone (leaf 11 has the same path shape in trees of 13 and 14 leaves):
// it comes from the seal's range, and the seal's root binds it.
proptest! {
    #[test]
    fn every_leaf_proves(seed in any::<u64>(), n in 1usize..130) {
        let hs = leaves(seed, n);
        let root = merkle::root(&hs).unwrap();
        for (i, h) in hs.iter().enumerate() {
            let path = merkle::audit_path(&hs, i).unwrap();
            prop_assert_eq!(merkle::root_from_path(h, i as u64, n as u64, &path), Some(root));
        }
    }

    #[test]
    fn any_flipped_bit_fails(seed in any::<u64>(), n in 1usize..200, pick in any::<usize>(), bit in 0usize..256, target in 0u8..4) {
        let hs = leaves(seed, n);
        let root = merkle::root(&hs).unwrap();
        let i = pick % n;
        let mut leaf = hs[i];
        let mut path = merkle::audit_path(&hs, i).unwrap();
        let mut expected_root = root;
        match target {
            0 => leaf.0[bit / 8] ^= 1 << (bit % 8),
            1 if !path.is_empty() => { let k = pick % path.len(); path[k].0[bit / 8] ^= 1 << (bit % 8); }
            2 => expected_root.0[bit / 8] ^= 1 << (bit % 8),
            _ => {
                // A flipped bit in any leaf changes the root.
                let mut other = hs.clone();
                other[i].0[bit / 8] ^= 1 << (bit % 8);
                prop_assert_ne!(merkle::root(&other), Some(root));
                return Ok(());
            }
        }
        if target == 1 && path.is_empty() {
            return Ok(());
        }
        prop_assert_ne!(merkle::root_from_path(&leaf, i as u64, n as u64, &path), Some(expected_root));
    }

    #[test]
    fn a_path_proves_only_its_own_position(seed in any::<u64>(), n in 2usize..200, pick in any::<usize>(), other in any::<usize>()) {
        let hs = leaves(seed, n);
        let root = merkle::root(&hs).unwrap();
        let i = pick % n;
        let j = other % n;
        let path = merkle::audit_path(&hs, i).unwrap();
        if j != i {
            prop_assert_ne!(merkle::root_from_path(&hs[i], j as u64, n as u64, &path), Some(root));
        }
    }
}
