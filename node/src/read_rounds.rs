//! Linearizable reads share leadership confirmations. openraft confirms leadership with one
//! AppendEntries to every voter per read; under a burst of reads (every PUT, GET and catalog
//! scan starts with one) those rounds flood the followers and crowd out replication and
//! heartbeats. Here at most one round runs at a time, and every read that arrived while it ran
//! joins the next one.
//!
//! Safety: a read may only use a round that *started after* the read arrived (a round started
//! earlier could miss a write committed just before the read). Waiters are taken from the queue
//! before their round starts, so this holds by construction.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::counter::Counter;

use tokio::sync::oneshot;

use crate::node::RaftOpError;

/// What a round yields: the read index, or why leadership could not be confirmed.
pub type Outcome = Result<Option<u64>, RaftOpError>;
pub type RoundFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

/// Runs one leadership confirmation.
pub trait Round: Send + Sync + 'static {
    fn run(&self) -> RoundFuture;
}

impl<F> Round for F
where
    F: Fn() -> RoundFuture + Send + Sync + 'static,
{
    fn run(&self) -> RoundFuture {
        self()
    }
}

#[derive(Default)]
struct Queue {
    running: bool,
    waiters: Vec<oneshot::Sender<Outcome>>,
}

/// Counters, shared with `/metrics`.
#[derive(Default, Clone)]
pub struct RoundCounts {
    pub reads: Counter,
    pub rounds: Counter,
}

pub struct ReadRounds {
    round: Arc<dyn Round>,
    queue: Arc<Mutex<Queue>>,
    counts: RoundCounts,
}

impl ReadRounds {
    pub fn new(round: impl Round, counts: RoundCounts) -> Self {
        Self {
            round: Arc::new(round),
            queue: Default::default(),
            counts,
        }
    }

    pub fn counts(&self) -> &RoundCounts {
        &self.counts
    }

    /// The read index of a round started after this call. Must be called within a Tokio runtime.
    pub async fn read_index(&self) -> Outcome {
        self.counts.reads.inc();
        let (tx, rx) = oneshot::channel();
        let start_driver = {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.waiters.push(tx);
            !std::mem::replace(&mut q.running, true)
        };
        if start_driver {
            // A task of its own: a reader that gives up must not stop the others' round.
            let driver = Driver {
                round: self.round.clone(),
                queue: self.queue.clone(),
                counts: self.counts.clone(),
                armed: true,
            };
            tokio::spawn(driver.run());
        }
        rx.await.unwrap_or_else(|_| {
            Err(RaftOpError::NoQuorum(
                "the leadership confirmation was interrupted; retry the read".into(),
            ))
        })
    }
}

struct Driver {
    round: Arc<dyn Round>,
    queue: Arc<Mutex<Queue>>,
    counts: RoundCounts,
    /// Cleared on a normal exit; still set when the task panics or is dropped mid-round.
    armed: bool,
}

impl Driver {
    async fn run(mut self) {
        loop {
            let waiters = {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if q.waiters.is_empty() {
                    q.running = false;
                    self.armed = false;
                    return;
                }
                std::mem::take(&mut q.waiters)
            };
            self.counts.rounds.inc();
            let outcome = self.round.run().await;
            for w in waiters {
                let _ = w.send(outcome.clone());
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.armed {
            // Interrupted: queued readers get an error (their senders drop) and the next
            // reader starts a new driver.
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.waiters.clear();
            q.running = false;
        }
    }
}

#[cfg(test)]
#[path = "read_rounds_tests.rs"]
mod tests;
