//! Every tenant's index, created on first use and shared between request handlers.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tantivy::directory::{Directory, DirectoryLock, Lock, MmapDirectory};

use super::{SearchError, TenantIndex};

const MAX_TENANT_BYTES: usize = 64;
/// Held by the front using a cache root, so a second front pointed at it by mistake refuses to start instead of
/// fighting over the same indexes. An OS file lock: released when the front exits, even by a crash.
const FRONT_LOCK: &str = ".archipel-front.lock";

/// The archive front's set of per-tenant indexes. Cheap to share (`Arc<Indexes>`); reads never wait on each other.
pub struct Indexes {
    /// Cache root, one subdirectory per tenant; `None` keeps every index in RAM.
    root: Option<PathBuf>,
    _lock: Option<DirectoryLock>,
    tenants: RwLock<HashMap<String, Arc<TenantIndex>>>,
}

impl Indexes {
    pub fn in_ram() -> Self {
        Indexes {
            root: None,
            _lock: None,
            tenants: RwLock::default(),
        }
    }

    /// Indexes cached under `root/<tenant>/`, a directory the front may throw away at any time (it then rebuilds
    /// them from the catalog). Fails if another front, in this process or another, already uses `root`.
    pub fn on_disk(root: impl Into<PathBuf>) -> Result<Self, SearchError> {
        let root = root.into();
        let io = |source| SearchError::CacheDir {
            path: root.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&root).map_err(io)?;
        let directory = MmapDirectory::open(&root).map_err(|e| SearchError::Index {
            action: "opening the search directory",
            source: e.into(),
        })?;
        let lock = directory
            .acquire_lock(&Lock {
                filepath: PathBuf::from(FRONT_LOCK),
                is_blocking: false,
            })
            .map_err(|e| match e {
                tantivy::directory::error::LockError::LockBusy => SearchError::CacheInUse {
                    path: root.display().to_string(),
                },
                tantivy::directory::error::LockError::IoError(source) => SearchError::CacheDir {
                    path: root.display().to_string(),
                    source: std::io::Error::new(source.kind(), source.to_string()),
                },
            })?;
        Ok(Indexes {
            root: Some(root),
            _lock: Some(lock),
            tenants: RwLock::default(),
        })
    }

    /// Where the indexes are cached, if on disk.
    pub fn root(&self) -> Option<&std::path::Path> {
        self.root.as_deref()
    }

    /// The tenant's index, opened or created on first use. `tenant` must come from the caller's credential.
    pub fn get(&self, tenant: &str) -> Result<Arc<TenantIndex>, SearchError> {
        check_tenant(tenant)?;
        // The map is only ever changed by a single insert or remove, so a poisoned lock still holds a sound map.
        if let Some(index) = self.tenants.read().unwrap_or_else(|p| p.into_inner()).get(tenant) {
            return Ok(index.clone());
        }
        let mut tenants = self.tenants.write().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = tenants.get(tenant) {
            return Ok(index.clone());
        }
        let index = Arc::new(match &self.root {
            Some(root) => {
                let index = TenantIndex::open_or_create(&root.join(tenant))?;
                tracing::info!(tenant, outcome = ?index.outcome(), count = index.count(), "search index opened");
                index
            }
            None => TenantIndex::in_ram()?,
        });
        tenants.insert(tenant.to_string(), index.clone());
        Ok(index)
    }

    /// Forgets the tenant's index (its on-disk cache stays until reopened or deleted).
    pub fn remove(&self, tenant: &str) -> Option<Arc<TenantIndex>> {
        self.tenants.write().unwrap_or_else(|p| p.into_inner()).remove(tenant)
    }

    /// Tenants with an open index.
    pub fn tenants(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tenants
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }
}

/// A tenant name becomes a directory name: keep it to a safe alphabet.
fn check_tenant(tenant: &str) -> Result<(), SearchError> {
    let invalid = |reason: &str| SearchError::InvalidTenant {
        tenant: tenant.to_string(),
        reason: reason.to_string(),
    };
    if tenant.is_empty() || tenant.len() > MAX_TENANT_BYTES {
        return Err(invalid("a tenant name is 1 to 64 characters"));
    }
    if !tenant
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || tenant.starts_with('-')
    {
        return Err(invalid(
            "a tenant name uses only ASCII letters, digits, `-` and `_`, and does not start with `-`",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_that_could_escape_the_cache_root_are_refused() {
        for bad in ["", "..", "a/b", "a\\b", "-x", "é", &"a".repeat(65)] {
            assert!(
                matches!(check_tenant(bad), Err(SearchError::InvalidTenant { .. })),
                "{bad:?}"
            );
        }
        for good in ["mairie-lyon", "CD_69", "t1"] {
            assert!(check_tenant(good).is_ok(), "{good}");
        }
    }
}
