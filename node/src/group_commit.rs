//! Group commit of object manifests. PUTs (and repairs) that finish while earlier commits are
//! in flight share one Raft entry, a `Command::Batch` of their transactions: one log append, one
//! replication round and one apply for all of them. Each transaction is still evaluated on its
//! own when applied, and gets its own revision (`store::apply`), so one whose conditions fail
//! fails alone and one that succeeds reads as if proposed by itself. A failed entry's outcome is
//! every member's, and none is proposed again (`Node::propose`).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::node::{Node, RaftOpError};
use crate::raft::{Command, CommandResult};

/// Batches in flight at once: Raft pipelines them, and the next one fills meanwhile.
const IN_FLIGHT: usize = 4;
const MAX_COMMANDS: usize = 512;
/// A batch stays a normal-sized log entry (`kv::MAX_VALUE_BYTES`), so the bound on entries per
/// AppendEntries keeps holding.
const MAX_BYTES: u64 = crate::kv::MAX_VALUE_BYTES as u64;

pub struct Pending {
    cmd: Command,
    bytes: u64,
    done: oneshot::Sender<Result<CommandResult, RaftOpError>>,
}

/// The queue of commands waiting to be grouped; [`run`] drains it.
pub struct CommitQueue {
    tx: mpsc::UnboundedSender<Pending>,
}

impl CommitQueue {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Pending>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }
}

impl Node {
    /// Proposes `cmd` in one entry with the other grouped commands waiting, and returns its own
    /// result. A failure of the whole entry (no leader, unknown outcome) is every member's.
    pub async fn propose_grouped(&self, cmd: Command) -> Result<CommandResult, RaftOpError> {
        let bytes = bincode::serialized_size(&cmd).unwrap_or(u64::MAX);
        if bytes > MAX_BYTES {
            return self.propose(cmd).await;
        }
        let (done, result) = oneshot::channel();
        if let Err(mpsc::error::SendError(p)) = self.commits.tx.send(Pending { cmd, bytes, done }) {
            return self.propose(p.cmd).await; // the group task has stopped (shutdown)
        }
        result
            .await
            .unwrap_or_else(|_| Err(RaftOpError::Indeterminate("the grouped commit was dropped".into())))
    }
}

/// Drains the queue for the node's lifetime.
pub async fn run(node: Arc<Node>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut carried: Option<Pending> = None;
    loop {
        let first = match carried.take() {
            Some(p) => p,
            None => match rx.recv().await {
                Some(p) => p,
                None => return,
            },
        };
        // Waiting for a slot is what lets the next batch fill.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut bytes = first.bytes;
        let mut batch = vec![first];
        while batch.len() < MAX_COMMANDS {
            match rx.try_recv() {
                Ok(p) if bytes + p.bytes <= MAX_BYTES => {
                    bytes += p.bytes;
                    batch.push(p);
                }
                Ok(p) => {
                    carried = Some(p);
                    break;
                }
                Err(_) => break,
            }
        }
        tokio::spawn(commit(node.clone(), batch, slot));
    }
}

async fn commit(node: Arc<Node>, mut batch: Vec<Pending>, _slot: OwnedSemaphorePermit) {
    if batch.len() == 1 {
        if let Some(p) = batch.pop() {
            let _ = p.done.send(node.propose(p.cmd).await);
        }
        return;
    }
    let (cmds, dones): (Vec<Command>, Vec<_>) = batch.into_iter().map(|p| (p.cmd, p.done)).unzip();
    let count = cmds.len();
    match node.propose(Command::Batch(cmds)).await {
        Ok(CommandResult::Batch(results)) if results.len() == count => {
            for (done, r) in dones.into_iter().zip(results) {
                let _ = done.send(Ok(r));
            }
        }
        Ok(other) => {
            // Applied, but not as a batch of `count`: nothing tells which member did what.
            let why = format!("a grouped commit of {count} returned {other:?}");
            tracing::error!("{why}");
            for done in dones {
                let _ = done.send(Err(RaftOpError::Indeterminate(why.clone())));
            }
        }
        Err(e) => {
            for done in dones {
                let _ = done.send(Err(e.clone()));
            }
        }
    }
}
