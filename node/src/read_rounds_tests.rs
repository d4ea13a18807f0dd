use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::*;

/// A round that numbers itself in start order and finishes when the test releases it.
struct GatedRound {
    started: Arc<AtomicU64>,
    gate: Arc<Semaphore>,
    fail_first: bool,
    panic_first: bool,
}

fn gated(fail_first: bool, panic_first: bool) -> (ReadRounds, Arc<AtomicU64>, Arc<Semaphore>) {
    let started = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Semaphore::new(0));
    let round = GatedRound {
        started: started.clone(),
        gate: gate.clone(),
        fail_first,
        panic_first,
    };
    (ReadRounds::new(round, RoundCounts::default()), started, gate)
}

impl Round for GatedRound {
    fn run(&self) -> RoundFuture {
        let n = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let gate = self.gate.clone();
        let (fail, panic) = (self.fail_first && n == 1, self.panic_first && n == 1);
        Box::pin(async move {
            gate.acquire().await.expect("gate open").forget();
            if panic {
                panic!("round {n} breaks");
            }
            if fail {
                return Err(RaftOpError::NoQuorum(format!("round {n} lost its quorum")));
            }
            Ok(Some(n))
        })
    }
}

/// A reader on its own task, as concurrent requests are.
fn spawn_read(rounds: &Arc<ReadRounds>) -> tokio::task::JoinHandle<Outcome> {
    let r = rounds.clone();
    tokio::spawn(async move { r.read_index().await })
}

async fn until(what: impl Fn() -> bool) {
    while !what() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn reads_arriving_during_a_round_share_the_next_one() {
    let (rounds, started, gate) = gated(false, false);
    let rounds = Arc::new(rounds);
    let first = spawn_read(&rounds);
    until(|| started.load(Ordering::SeqCst) == 1).await;
    let later: Vec<_> = (0..20).map(|_| spawn_read(&rounds)).collect();
    until(|| rounds.counts().reads.get() == 21).await;

    gate.add_permits(1);
    // The first read gets round 1; the twenty that arrived while it ran must not (it may have
    // started before a write they depend on) and all share round 2.
    assert_eq!(first.await.expect("reader").expect("round 1"), Some(1));
    until(|| started.load(Ordering::SeqCst) == 2).await;
    gate.add_permits(1);
    for reader in later {
        assert_eq!(reader.await.expect("reader").expect("round 2"), Some(2));
    }
    assert_eq!(rounds.counts().rounds.get(), 2);
    assert_eq!(rounds.counts().reads.get(), 21);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_round_fails_its_readers_only() {
    let (rounds, started, gate) = gated(true, false);
    let rounds = Arc::new(rounds);
    let readers: Vec<_> = (0..3).map(|_| spawn_read(&rounds)).collect();
    until(|| rounds.counts().reads.get() == 3).await;
    gate.add_permits(2);
    let outcomes: Vec<_> = futures::future::join_all(readers).await;
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Err(RaftOpError::NoQuorum(m))) if m.contains("round 1")))
        .count();
    assert!(failed >= 1, "the first round's readers see its error: {outcomes:?}");
    assert_eq!(
        rounds.read_index().await.expect("fresh round"),
        Some(started.load(Ordering::SeqCst))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_broken_round_releases_its_readers_and_the_next_read_starts_anew() {
    let (rounds, started, gate) = gated(false, true);
    let rounds = Arc::new(rounds);
    let reader = spawn_read(&rounds);
    until(|| started.load(Ordering::SeqCst) == 1).await;
    gate.add_permits(1);
    match reader.await.expect("reader") {
        Err(RaftOpError::NoQuorum(m)) => assert!(m.contains("retry"), "{m}"),
        other => panic!("a broken round must fail its reader, not hang: {other:?}"),
    }
    gate.add_permits(1);
    assert_eq!(rounds.read_index().await.expect("a new driver"), Some(2));
}

#[tokio::test(flavor = "current_thread")]
async fn a_reader_giving_up_does_not_stop_the_round() {
    let (rounds, started, gate) = gated(false, false);
    let rounds = Arc::new(rounds);
    let quitter = spawn_read(&rounds);
    until(|| started.load(Ordering::SeqCst) == 1).await;
    let patient = spawn_read(&rounds);
    until(|| rounds.counts().reads.get() == 2).await;
    quitter.abort();
    gate.add_permits(2);
    assert_eq!(patient.await.expect("reader").expect("round 2"), Some(2));
}
