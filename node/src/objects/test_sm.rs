//! A state machine on a temporary RocksDB, applying commands at a chosen leader time: what the
//! retention and lock tests decide on.

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload};

use crate::raft::{Command, CommandResult, Entry, LogId};
use crate::store::{open_db, StateMachineStore};

pub struct Sm {
    _dir: tempfile::TempDir,
    pub sm: StateMachineStore,
    index: u64,
}

impl Sm {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sm = StateMachineStore::open(open_db(dir.path()).unwrap()).unwrap();
        Self {
            _dir: dir,
            sm,
            index: 0,
        }
    }

    /// Closes the store and hands back its directory, to reopen or edit it.
    pub fn close(self) -> tempfile::TempDir {
        let Sm { _dir, sm, .. } = self;
        drop(sm);
        _dir
    }

    /// Applies `cmd` as the leader appended it at `leader_ms`.
    pub async fn apply(&mut self, leader_ms: u64, cmd: Command) -> CommandResult {
        self.index += 1;
        let entry = Entry {
            log_id: LogId::new(CommittedLeaderId::new(1, 1), self.index),
            payload: EntryPayload::Normal(cmd.stamped(leader_ms)),
        };
        self.sm.apply(vec![entry]).await.unwrap().remove(0)
    }
}

/// The index of the condition a transaction failed on; None when it succeeded.
pub fn failed(result: &CommandResult) -> Option<usize> {
    match result {
        CommandResult::Txn {
            succeeded: false,
            failed_condition,
            ..
        } => *failed_condition,
        _ => None,
    }
}

/// The revision a successful commit gave its first write.
pub fn committed_revision(result: &CommandResult) -> u64 {
    match result {
        CommandResult::Txn {
            succeeded: true,
            results,
            ..
        } => match results.first() {
            Some(CommandResult::Put { revision }) => *revision,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}
