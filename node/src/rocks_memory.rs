//! One memory budget for a node's RocksDB instances (the metadata store and the packed shards).
//! RocksDB's defaults give every column family its own memtables (up to 2 × 64 MiB each, seven
//! column families here) and keep every table's index and filter blocks in memory outside any
//! cache, so a node's memory grew with its catalog. Here the memtables of every column family
//! and both databases are charged to one LRU cache (at most half of it), and the index and
//! filter blocks live in that cache too: RocksDB's memory stays near the budget, whatever the
//! number of objects. `[rocksdb] memory` in the node's configuration sets it.

use rocksdb::{BlockBasedOptions, Cache, Options, WriteBufferManager};

use crate::config::{DEFAULT_ROCKSDB_MEMORY, MIN_ROCKSDB_MEMORY};
/// RocksDB's own default for one memtable.
const MAX_MEMTABLE: u64 = 64 << 20;

/// The cache and the memtable accounting shared by every RocksDB instance of a node.
#[derive(Clone)]
pub struct RocksMemory {
    cache: Cache,
    write_buffers: WriteBufferManager,
    memtable: usize,
}

impl RocksMemory {
    pub fn new(budget: u64) -> Self {
        let budget = budget.max(MIN_ROCKSDB_MEMORY);
        let cache = Cache::new_lru_cache(to_usize(budget));
        // No stall: past the limit the largest memtable is flushed, and each column family's
        // own limit (two memtables) holds writers back.
        let write_buffers =
            WriteBufferManager::new_write_buffer_manager_with_cache(to_usize(budget / 2), false, cache.clone());
        Self {
            cache,
            write_buffers,
            memtable: to_usize((budget / 8).min(MAX_MEMTABLE)),
        }
    }

    /// Options for a database: its memtables are counted in the shared budget.
    pub fn db_options(&self) -> Options {
        let mut opts = Options::default();
        opts.set_write_buffer_manager(&self.write_buffers);
        opts
    }

    /// Options for a column family: its blocks, index and filters in the shared cache.
    pub fn cf_options(&self) -> Options {
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&self.cache);
        table.set_cache_index_and_filter_blocks(true);
        // The newest tables' index and filters are read on every lookup: never evicted.
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        let mut opts = Options::default();
        opts.set_block_based_table_factory(&table);
        opts.set_write_buffer_size(self.memtable);
        opts
    }

    /// Bytes held in the shared cache, memtables included.
    #[cfg(test)]
    fn usage(&self) -> u64 {
        self.cache.get_usage() as u64
    }
}

impl Default for RocksMemory {
    fn default() -> Self {
        Self::new(DEFAULT_ROCKSDB_MEMORY)
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::open_db_with;

    /// Three of the metadata store's column families.
    const WRITTEN: [&str; 3] = ["sm_kv", "sm_state", "local"];

    /// RocksDB's defaults let each of three column families hold its 24 MiB in memtables
    /// (72 MiB); within a 16 MiB budget each flushes at 2 MiB and keeps at most two.
    #[test]
    fn every_column_familys_memtables_count_in_one_budget() {
        let dir = tempfile::tempdir().unwrap();
        let memory = RocksMemory::new(16 << 20);
        let db = open_db_with(dir.path(), &memory).unwrap();
        let value = vec![7u8; 4096];
        let count = (24u32 << 20) / 4096;
        for name in WRITTEN {
            let cf = db.cf_handle(name).unwrap();
            for i in 0..count {
                db.put_cf(cf, i.to_be_bytes(), &value).unwrap();
            }
        }
        let held: u64 = WRITTEN
            .iter()
            .map(|name| {
                db.property_int_value_cf(db.cf_handle(name).unwrap(), "rocksdb.cur-size-all-mem-tables")
                    .unwrap()
                    .unwrap()
            })
            .sum();
        assert!(held <= 3 * 2 * (2 << 20) + (1 << 20), "memtables hold {held} bytes");
        assert!(memory.usage() > 0, "the memtables are charged to the cache");
        // Everything written is still there, from the tables.
        for name in WRITTEN {
            let cf = db.cf_handle(name).unwrap();
            assert_eq!(
                db.get_cf(cf, (count - 1).to_be_bytes()).unwrap().as_deref(),
                Some(&value[..])
            );
            assert_eq!(db.get_cf(cf, 0u32.to_be_bytes()).unwrap().as_deref(), Some(&value[..]));
        }
    }
}
