//! `MemoryStore`: the `LogbookStore` contract in a mutex, for tests and tools.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::entry::Entry;
use super::seal::Seal;
use super::store::{ChainHead, LogbookStore, StoreError};

/// One tenant's data. Public so tests can tamper with it the way an attacker with store access could.
#[derive(Debug, Default, Clone)]
pub struct MemoryTenant {
    pub head: Option<(ChainHead, u64)>,
    pub entries: BTreeMap<u64, Entry>,
    pub seals: BTreeMap<u64, Seal>,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    tenants: Mutex<HashMap<String, MemoryTenant>>,
    versions: Mutex<u64>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `f` on a tenant's raw data (created empty if absent).
    pub fn edit<R>(&self, tenant: &str, f: impl FnOnce(&mut MemoryTenant) -> R) -> R {
        let mut tenants = self.lock();
        f(tenants.entry(tenant.to_string()).or_default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, MemoryTenant>> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.tenants.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next_version(&self) -> u64 {
        let mut v = self.versions.lock().unwrap_or_else(|p| p.into_inner());
        *v += 1;
        *v
    }
}

#[async_trait]
impl LogbookStore for MemoryStore {
    async fn head(&self, tenant: &str) -> Result<Option<(ChainHead, u64)>, StoreError> {
        Ok(self.lock().get(tenant).and_then(|t| t.head.clone()))
    }

    async fn append(
        &self,
        tenant: &str,
        expected: Option<u64>,
        entries: &[Entry],
        new_head: &ChainHead,
    ) -> Result<bool, StoreError> {
        let version = self.next_version();
        let mut tenants = self.lock();
        let t = tenants.entry(tenant.to_string()).or_default();
        if t.head.as_ref().map(|(_, v)| *v) != expected {
            return Ok(false);
        }
        let first = t.head.as_ref().map_or(1, |(h, _)| h.seq + 1);
        for (next, e) in (first..).zip(entries) {
            if e.seq != next || t.entries.contains_key(&e.seq) {
                return Err(StoreError::Refused(format!(
                    "entry seq {} does not follow the head (expected {next})",
                    e.seq
                )));
            }
        }
        if entries.last().map(|e| (e.seq, e.hash)) != Some((new_head.seq, new_head.hash)) {
            return Err(StoreError::Refused(
                "the new head is not the last appended entry".into(),
            ));
        }
        for e in entries {
            t.entries.insert(e.seq, e.clone());
        }
        t.head = Some((new_head.clone(), version));
        Ok(true)
    }

    async fn entries(&self, tenant: &str, from_seq: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        Ok(self
            .lock()
            .get(tenant)
            .map(|t| {
                t.entries
                    .range(from_seq..)
                    .take(limit)
                    .map(|(_, e)| e.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn put_seal(&self, tenant: &str, seal: &Seal, expected_last_sealed: Option<u64>) -> Result<bool, StoreError> {
        let mut tenants = self.lock();
        let t = tenants.entry(tenant.to_string()).or_default();
        if t.seals.keys().next_back().copied() != expected_last_sealed {
            return Ok(false);
        }
        t.seals.insert(seal.index, seal.clone());
        Ok(true)
    }

    async fn seals(&self, tenant: &str, from_index: u64, limit: usize) -> Result<Vec<Seal>, StoreError> {
        Ok(self
            .lock()
            .get(tenant)
            .map(|t| {
                t.seals
                    .range(from_index..)
                    .take(limit)
                    .map(|(_, s)| s.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn last_seal(&self, tenant: &str) -> Result<Option<Seal>, StoreError> {
        Ok(self
            .lock()
            .get(tenant)
            .and_then(|t| t.seals.values().next_back().cloned()))
    }
}
