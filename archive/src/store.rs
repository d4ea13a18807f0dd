//! The archive's records in the cluster's metadata keyspace, as JSON values under string keys.
//!
//! Everything lives in the meta namespace [`META_NS`]; keys of a tenant start with `t/{tenant}/`,
//! so a prefix scan can never cross tenants.

use archipel_client::{CasExpect, Client, Consistency, MetaEntry, TxnOp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ArchiveError, Result};

pub const META_NS: &str = "archive";
const PAGE: u32 = 1000;

/// A record and the revision that wrote it (for conditional updates).
pub struct Versioned<T> {
    pub value: T,
    pub revision: u64,
}

#[derive(Clone)]
pub struct Store {
    client: std::sync::Arc<Client>,
}

/// One write of an atomic batch.
pub enum Write {
    Put(String, Vec<u8>),
    Delete(String),
}

impl Write {
    pub fn put<T: Serialize>(key: String, value: &T) -> Result<Self> {
        Ok(Self::Put(key, serde_json::to_vec(value)?))
    }

    fn key(&self) -> &str {
        match self {
            Self::Put(k, _) | Self::Delete(k) => k,
        }
    }
}

/// The writes plus a new catalog token for each tenant whose catalog they touch, so that a
/// copy of the catalog keyed by the token can never outlive a change (`catalog::Catalog::units`).
fn with_catalog_tokens(mut writes: Vec<Write>) -> Result<Vec<Write>> {
    let tenants: std::collections::BTreeSet<String> = writes
        .iter()
        .filter_map(|w| crate::keys::catalog_tenant(w.key()).map(str::to_owned))
        .collect();
    for t in tenants {
        let token = uuid::Uuid::new_v4().simple().to_string();
        writes.push(Write::put(crate::keys::catalog_token(&t), &token)?);
    }
    Ok(writes)
}

/// A condition of an atomic batch.
#[derive(Debug, Clone)]
pub enum Expect {
    Absent(String),
    Revision(String, u64),
}

/// A record read at `key`, with the revision that wrote it.
fn decode<T: DeserializeOwned>(key: &str, e: &MetaEntry) -> Result<Versioned<T>> {
    let value = serde_json::from_slice(&e.value)
        .map_err(|err| ArchiveError::Internal(format!("record `{key}` is unreadable ({err})")))?;
    Ok(Versioned {
        value,
        revision: e.revision,
    })
}

impl Store {
    pub fn new(client: Client) -> Self {
        Self {
            client: std::sync::Arc::new(client),
        }
    }

    pub fn client(&self) -> &std::sync::Arc<Client> {
        &self.client
    }

    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Versioned<T>>> {
        self.client
            .meta_get(META_NS, key.as_bytes(), Consistency::Linearizable)
            .await?
            .map(|e| decode(key, &e))
            .transpose()
    }

    /// The records at `keys`, in their order (`None` where absent), read many per call.
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[String]) -> Result<Vec<Option<Versioned<T>>>> {
        let raw: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let entries = self
            .client
            .meta_get_many(META_NS, &raw, Consistency::Linearizable)
            .await?;
        keys.iter()
            .zip(entries)
            .map(|(key, e)| e.map(|e| decode(key, &e)).transpose())
            .collect()
    }

    /// Creates `key`; false when it already exists.
    pub async fn create<T: Serialize>(&self, key: &str, value: &T) -> Result<bool> {
        if crate::keys::catalog_tenant(key).is_some() {
            let writes = vec![Write::put(key.to_owned(), value)?];
            return self.atomically(&[Expect::Absent(key.to_owned())], writes).await;
        }
        let bytes = serde_json::to_vec(value)?;
        let out = self
            .client
            .meta_cas(META_NS, key.as_bytes(), CasExpect::Absent, Some(&bytes))
            .await?;
        Ok(out.succeeded)
    }

    /// Writes `key` unconditionally (for records only one writer updates).
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<()> {
        if crate::keys::catalog_tenant(key).is_some() {
            self.atomically(&[], vec![Write::put(key.to_owned(), value)?]).await?;
            return Ok(());
        }
        self.client
            .meta_put(META_NS, key.as_bytes(), &serde_json::to_vec(value)?)
            .await?;
        Ok(())
    }

    /// Applies `writes` atomically if every condition holds; returns whether it did.
    pub async fn atomically(&self, expect: &[Expect], writes: Vec<Write>) -> Result<bool> {
        let conditions: Vec<(&str, &[u8], CasExpect)> = expect
            .iter()
            .map(|e| match e {
                Expect::Absent(k) => (META_NS, k.as_bytes(), CasExpect::Absent),
                Expect::Revision(k, r) => (META_NS, k.as_bytes(), CasExpect::Revision(*r)),
            })
            .collect();
        let ops = with_catalog_tokens(writes)?
            .into_iter()
            .map(|w| match w {
                Write::Put(k, v) => TxnOp {
                    namespace: META_NS.into(),
                    key: k.into_bytes(),
                    value: Some(v),
                },
                Write::Delete(k) => TxnOp {
                    namespace: META_NS.into(),
                    key: k.into_bytes(),
                    value: None,
                },
            })
            .collect();
        Ok(self.client.meta_txn(&conditions, ops).await?.succeeded)
    }

    /// Every record under `prefix`, in key order, page by page.
    pub async fn scan<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<(String, T)>> {
        let mut out = Vec::new();
        self.scan_each(prefix, |k, v| {
            out.push((k, v));
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Calls `f` on every record under `prefix` without holding them all.
    pub async fn scan_each<T: DeserializeOwned>(
        &self,
        prefix: &str,
        mut f: impl FnMut(String, T) -> Result<()>,
    ) -> Result<()> {
        let mut after = Vec::new();
        loop {
            let (page, more) = self
                .client
                .meta_scan(META_NS, prefix.as_bytes(), &after, PAGE, Consistency::Linearizable)
                .await?;
            for e in &page {
                let key = String::from_utf8_lossy(&e.key).into_owned();
                let value = serde_json::from_slice(&e.value)
                    .map_err(|err| ArchiveError::Internal(format!("record `{key}` is unreadable ({err})")))?;
                f(key, value)?;
            }
            match page.last() {
                Some(last) if more => after = last.key.clone(),
                _ => return Ok(()),
            }
        }
    }
}
