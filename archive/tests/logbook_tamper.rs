//! Every kind of tampering an attacker with write access to the store could do is found, at the right place.

#[path = "logbook_util.rs"]
mod util;

use archipel_archive::logbook::{
    verify, Break, BreakAt, BreakKind, Hash32, MemoryTenant, Outcome, SealKey, SealToken, VerifyKeys,
};
use serde_json::json;
use util::{filled, Fixture};

const TENANT: &str = "ville";

/// 40 entries with seals after roughly every 10; 3 entries left unsealed.
async fn log() -> Fixture {
    let f = filled(TENANT, 40, 10).await;
    f.logbook
        .append_many(TENANT, (40..43).map(util::step).collect())
        .await
        .unwrap();
    let report = verify(f.store.as_ref(), TENANT, &f.keys).await.unwrap();
    assert!(report.is_intact(), "untampered log must verify: {report:?}");
    assert_eq!(report.entries_checked, 43);
    assert!(report.seals_checked >= 3 && report.last_sealed_seq < 43, "{report:?}");
    f
}

async fn first_break(f: &Fixture, tamper: impl FnOnce(&mut MemoryTenant)) -> Break {
    f.store.edit(TENANT, tamper);
    let report = verify(f.store.as_ref(), TENANT, &f.keys).await.unwrap();
    report
        .first_break
        .clone()
        .unwrap_or_else(|| panic!("tampering went unnoticed: {report:?}"))
}

type EntryEdit = dyn Fn(&mut archipel_archive::logbook::Entry);

#[tokio::test]
async fn altering_any_field_of_an_entry_is_found_at_that_entry() {
    let edits: Vec<(&str, Box<EntryEdit>)> = vec![
        ("time", Box::new(|e| e.time += chrono::Duration::microseconds(1))),
        ("operation_id", Box::new(|e| e.operation_id.push('x'))),
        ("event_type", Box::new(|e| e.event_type = "access.denied".into())),
        ("outcome", Box::new(|e| e.outcome = Outcome::Ko)),
        ("actor", Box::new(|e| e.actor = "someone-else".into())),
        ("subject", Box::new(|e| e.subject = None)),
        ("detail", Box::new(|e| e.detail["i"] = json!(999))),
        (
            "detail-key",
            Box::new(|e| e.detail = json!({"I": e.detail["i"].clone()})),
        ),
        ("prev_hash", Box::new(|e| e.prev_hash.0[31] ^= 1)),
        ("hash", Box::new(|e| e.hash.0[0] ^= 0x80)),
        ("tenant", Box::new(|e| e.tenant = "other".into())),
    ];
    for (name, edit) in edits {
        for seq in [1u64, 17, 43] {
            let f = log().await;
            let b = first_break(&f, |t| edit(t.entries.get_mut(&seq).unwrap())).await;
            assert_eq!(b.at, BreakAt::Entry { seq }, "field {name} at seq {seq}: {b}");
            let kinds = [BreakKind::EntryHash, BreakKind::WrongTenant];
            assert!(kinds.contains(&b.kind), "field {name} at seq {seq}: {b}");
        }
    }
}

#[tokio::test]
async fn rewriting_an_entry_with_a_fresh_hash_breaks_the_next_link() {
    let f = log().await;
    let b = first_break(&f, |t| {
        let e = t.entries.get_mut(&5).unwrap();
        e.outcome = Outcome::Ko;
        e.hash = e.compute_hash().unwrap();
    })
    .await;
    assert_eq!(
        (b.at, b.kind),
        (BreakAt::Entry { seq: 6 }, BreakKind::PrevHashLink),
        "{b}"
    );
}

#[tokio::test]
async fn rewriting_the_whole_chain_after_an_entry_is_caught_by_the_seal_root() {
    let f = log().await;
    let b = first_break(&f, |t| {
        // The attacker alters entry 3 and re-hashes everything after it, head included.
        let mut prev = t.entries[&2].hash;
        for e in t.entries.values_mut().filter(|e| e.seq >= 3) {
            if e.seq == 3 {
                e.detail = json!({"forged": true});
            }
            e.prev_hash = prev;
            e.hash = e.compute_hash().unwrap();
            prev = e.hash;
        }
        let head = &mut t.head.as_mut().unwrap().0;
        head.hash = prev;
    })
    .await;
    assert_eq!((b.at, b.kind), (BreakAt::Seal { index: 1 }, BreakKind::SealRoot), "{b}");
}

#[tokio::test]
async fn deleting_an_entry_is_a_gap_at_its_seq() {
    for seq in [1u64, 20] {
        let f = log().await;
        let b = first_break(&f, |t| {
            t.entries.remove(&seq);
        })
        .await;
        assert_eq!((b.at, b.kind), (BreakAt::Entry { seq }, BreakKind::SeqGap), "{b}");
        assert_eq!(
            (b.expected.as_str(), b.found.as_str()),
            (format!("seq {seq}").as_str(), format!("seq {}", seq + 1).as_str())
        );
    }
}

#[tokio::test]
async fn deleting_the_last_entries_is_found_by_the_head() {
    let f = log().await;
    let b = first_break(&f, |t| {
        t.entries.remove(&43);
        t.entries.remove(&42);
    })
    .await;
    assert_eq!((b.at, b.kind), (BreakAt::Head, BreakKind::HeadMismatch), "{b}");
    assert!(b.expected.contains("seq 43") && b.found.contains("seq 41"), "{b}");
}

#[tokio::test]
async fn reordering_entries_is_found_at_the_first_moved_one() {
    let f = log().await;
    let b = first_break(&f, |t| {
        // Swap the contents of 12 and 13, keeping each under its old key and seq number.
        let (a, c) = (t.entries[&12].clone(), t.entries[&13].clone());
        t.entries.insert(12, c);
        t.entries.insert(13, a);
    })
    .await;
    assert_eq!((b.at, b.kind), (BreakAt::Entry { seq: 12 }, BreakKind::SeqGap), "{b}");
    // Renumbering the swapped entries too does not help: their hashes cover seq.
    let f = log().await;
    let b = first_break(&f, |t| {
        let (mut a, mut c) = (t.entries[&12].clone(), t.entries[&13].clone());
        (a.seq, c.seq) = (13, 12);
        t.entries.insert(12, c);
        t.entries.insert(13, a);
    })
    .await;
    assert_eq!(
        (b.at, b.kind),
        (BreakAt::Entry { seq: 12 }, BreakKind::EntryHash),
        "{b}"
    );
}

#[tokio::test]
async fn forging_a_seal_root_is_found_at_that_seal() {
    let f = log().await;
    let b = first_break(&f, |t| {
        let s = t.seals.get_mut(&2).unwrap();
        s.root.0[3] ^= 4;
        s.hash = s.compute_hash();
    })
    .await;
    assert_eq!((b.at, b.kind), (BreakAt::Seal { index: 2 }, BreakKind::SealRoot), "{b}");
    // Re-signing the forged seal needs the cluster key: any other key fails the token check.
    let f = log().await;
    let b = first_break(&f, |t| {
        let hashes: Vec<Hash32> = t.entries.range(1..=t.seals[&1].last_seq).map(|(_, e)| e.hash).collect();
        assert!(!hashes.is_empty());
        let s = t.seals.get_mut(&1).unwrap();
        s.root = Hash32::of(b"forged");
        let signature = SealKey::from_seed(&[9; 32]).sign(&s.statement().signed_bytes());
        s.token = SealToken::ClusterSigned {
            key_id: f_key_id(),
            signature: hex::encode(signature.to_bytes()),
        };
        s.hash = s.compute_hash();
    })
    .await;
    assert_eq!(b.at, BreakAt::Seal { index: 1 }, "{b}");
    assert!([BreakKind::SealRoot, BreakKind::SealToken].contains(&b.kind), "{b}");
}

fn f_key_id() -> String {
    SealKey::from_seed(&[7; 32]).key_id().to_string()
}

#[tokio::test]
async fn a_wrong_or_missing_key_fails_the_first_seal_token() {
    let f = log().await;
    let other = VerifyKeys::new().with(&SealKey::from_seed(&[8; 32]).public()).unwrap();
    for keys in [other, VerifyKeys::new()] {
        let report = verify(f.store.as_ref(), TENANT, &keys).await.unwrap();
        let b = report.first_break.unwrap();
        assert_eq!(
            (b.at, b.kind),
            (BreakAt::Seal { index: 1 }, BreakKind::SealToken),
            "{b}"
        );
        assert!(b.found.contains("not among the trusted keys"), "{b}");
    }
    // A key whose id is claimed by the token but which did not sign it.
    let f = log().await;
    let b = first_break(&f, |t| {
        let s = t.seals.get_mut(&3).unwrap();
        if let SealToken::ClusterSigned { signature, .. } = &mut s.token {
            let mut raw = hex::decode(&*signature).unwrap();
            raw[10] ^= 1;
            *signature = hex::encode(raw);
        }
        s.hash = s.compute_hash();
    })
    .await;
    assert_eq!(
        (b.at, b.kind),
        (BreakAt::Seal { index: 3 }, BreakKind::SealToken),
        "{b}"
    );
}

#[tokio::test]
async fn seal_chain_tampering_is_found() {
    // Deleting a seal.
    let f = log().await;
    let b = first_break(&f, |t| {
        t.seals.remove(&2);
    })
    .await;
    assert_eq!(
        (b.at, b.kind),
        (BreakAt::Seal { index: 2 }, BreakKind::SealIndex),
        "{b}"
    );
    // Changing a seal field without fixing its hash.
    let f = log().await;
    let b = first_break(&f, |t| {
        t.seals.get_mut(&1).unwrap().time += chrono::Duration::seconds(1)
    })
    .await;
    assert_eq!((b.at, b.kind), (BreakAt::Seal { index: 1 }, BreakKind::SealHash), "{b}");
    // Unlinking a seal from its predecessor.
    let f = log().await;
    let b = first_break(&f, |t| {
        let s = t.seals.get_mut(&3).unwrap();
        s.prev_seal_hash = Hash32::ZERO;
        s.hash = s.compute_hash();
    })
    .await;
    assert_eq!(
        (b.at, b.kind),
        (BreakAt::Seal { index: 3 }, BreakKind::SealPrevHash),
        "{b}"
    );
    // A seal claiming entries that do not exist.
    let f = log().await;
    let b = first_break(&f, |t| {
        let mut s = t.seals.values().next_back().unwrap().clone();
        s.index += 1;
        s.first_seq = s.last_seq + 1;
        s.last_seq += 100;
        t.seals.insert(s.index, s);
    })
    .await;
    assert_eq!(b.kind, BreakKind::SealRange, "{b}");
}
