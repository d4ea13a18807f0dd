//! Group commit for the Raft log: appends are written to RocksDB without sync, and one thread
//! syncs the WAL for every append that arrived meanwhile, then reports them all persisted.
//!
//! openraft writes one log batch per client request and waits for nothing but the callback, so
//! a synced write per append would cap the cluster at one commit per fsync. Here concurrent
//! writes share one fsync. An append is still reported persisted only once it is on disk.

use std::sync::{mpsc, Arc, Weak};

use openraft::storage::LogFlushed;

use rocksdb::DB;

use super::db::Db;
use crate::raft::TypeConfig;

/// Sends append callbacks to the syncing thread.
#[derive(Clone)]
pub struct WalSyncer {
    tx: mpsc::Sender<LogFlushed<TypeConfig>>,
}

impl WalSyncer {
    pub fn start(db: &Db) -> std::io::Result<Self> {
        // Weak: the thread must not keep the DB (and its lock) open after the store is dropped.
        let db = Arc::downgrade(db);
        let (tx, rx) = mpsc::channel::<LogFlushed<TypeConfig>>();
        std::thread::Builder::new()
            .name("raft-wal-sync".into())
            .spawn(move || sync_loop(db, rx))?;
        Ok(Self { tx })
    }

    /// Reports `callback` persisted once the WAL holding its entries is synced.
    pub fn after_sync(&self, callback: LogFlushed<TypeConfig>) {
        if let Err(mpsc::SendError(callback)) = self.tx.send(callback) {
            callback.log_io_completed(Err(std::io::Error::other("the Raft WAL sync thread has stopped")));
        }
    }
}

fn sync_loop(db: Weak<DB>, rx: mpsc::Receiver<LogFlushed<TypeConfig>>) {
    while let Ok(first) = rx.recv() {
        let mut waiting = vec![first];
        waiting.extend(rx.try_iter());
        // Syncing the WAL makes every write issued before it durable, including these appends.
        let result = match db.upgrade() {
            Some(db) => db.flush_wal(true).map_err(|e| format!("syncing the Raft WAL: {e}")),
            None => Err("the metadata store is closed".to_owned()),
        };
        for callback in waiting {
            callback.log_io_completed(result.clone().map_err(std::io::Error::other));
        }
    }
}
