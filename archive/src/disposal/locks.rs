//! AIP files and packs sit under the cluster's per-object legal hold (`objects/lock.rs` on the
//! nodes): no delete or overwrite goes through while it is set, whoever asks, and clearing it
//! needs a privileged (operator or control-authority) certificate and a reason that the cluster
//! keeps. The archive sets it once an AIP is committed, and clears it only in an elimination's
//! execution, for exactly the objects it deletes, with the visa's identifier as the reason.
//! A hold that could not be set at commit is recorded (`t/<tenant>/hold-pending/<aip>`) and
//! retried by the front's sweep until it holds.

use std::collections::BTreeSet;

use archipel_client::proto::object::{LockMode, ObjectLockSpec};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::UnitRecord;
use crate::store::{Store, Write};

fn spec(legal_hold: bool) -> ObjectLockSpec {
    ObjectLockSpec {
        mode: LockMode::None as i32,
        retain_until_ms: 0,
        legal_hold,
    }
}

/// The stored files and packs of `units` (not the descriptor and manifest, which rule
/// modification rewrites).
pub fn data_keys(units: &[UnitRecord]) -> BTreeSet<String> {
    units
        .iter()
        .flat_map(|u| u.objects.iter().map(|o| o.key.clone()))
        .collect()
}

/// Puts `keys` under legal hold.
pub async fn hold(store: &Store, namespace: &str, keys: impl IntoIterator<Item = String>) -> Result<()> {
    for key in keys {
        store
            .client()
            .set_object_lock(
                namespace,
                &key,
                spec(true),
                false,
                "archive AIP: kept until an approved elimination",
            )
            .await?;
    }
    Ok(())
}

/// A committed AIP whose objects could not all be put under hold: the sweep retries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingHold {
    pub namespace: String,
    pub aip: String,
    pub keys: Vec<String>,
    pub error: String,
    pub at: DateTime<Utc>,
}

pub fn pending_key(tenant: &str, aip: &str) -> String {
    format!("t/{tenant}/hold-pending/{aip}")
}

/// Sets the hold on a committed AIP's data. A failure never fails the transfer (the AIP stays
/// committed and readable, only unprotected for a while): it is recorded for [`sweep`].
pub async fn hold_committed(store: &Store, tenant: &str, namespace: &str, aip: &str, units: &[UnitRecord]) {
    let keys = data_keys(units);
    if let Err(e) = hold(store, namespace, keys.iter().cloned()).await {
        tracing::warn!(
            "the legal hold on the objects of AIP {aip} in {namespace} could not be set ({e}); the sweep retries it"
        );
        let pending = PendingHold {
            namespace: namespace.into(),
            aip: aip.into(),
            keys: keys.into_iter().collect(),
            error: e.to_string(),
            at: Utc::now(),
        };
        if let Err(e) = store.put(&pending_key(tenant, aip), &pending).await {
            tracing::error!(
                "AIP {aip} in {namespace} is not under legal hold and could not be recorded for a retry ({e}): run `archipel archive hold sweep` once the cluster is back"
            );
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SweepReport {
    /// AIPs whose objects are now all held.
    pub held_aips: Vec<String>,
    pub objects_held: usize,
    /// Objects gone since (an elimination took them): nothing to hold.
    pub objects_gone: usize,
    /// Still failing, with the reason; retried at the next sweep.
    pub failing: Vec<String>,
}

/// Retries every hold recorded as pending in `tenants`.
pub async fn sweep(store: &Store, tenants: &[String]) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    for tenant in tenants {
        let pending = store.scan::<PendingHold>(&format!("t/{tenant}/hold-pending/")).await?;
        'aips: for (key, p) in pending {
            for k in &p.keys {
                match hold(store, &p.namespace, [k.clone()]).await {
                    Ok(()) => report.objects_held += 1,
                    Err(crate::error::ArchiveError::NotFound(_)) => report.objects_gone += 1,
                    Err(e) => {
                        report.failing.push(format!("{tenant}/{}: {e}", p.aip));
                        continue 'aips;
                    }
                }
            }
            store.atomically(&[], vec![Write::Delete(key)]).await?;
            report.held_aips.push(p.aip.clone());
        }
    }
    Ok(report)
}

/// Clears the hold of `key` if it has one, with `reason` (the elimination and its visa).
pub async fn release(store: &Store, namespace: &str, key: &str, reason: &str) -> Result<()> {
    let current = store.client().object_lock(namespace, key).await?;
    if current.legal_hold {
        store
            .client()
            .set_object_lock(namespace, key, spec(false), false, reason)
            .await?;
    }
    Ok(())
}
