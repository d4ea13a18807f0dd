//! AIP files and packs sit under the cluster's per-object legal hold (`objects/lock.rs` on the
//! nodes): no delete or overwrite goes through while it is set, whoever asks, and clearing it
//! needs a privileged (operator or control-authority) certificate and a reason that the cluster
//! keeps. The archive sets it once an AIP is committed, and clears it only in an elimination's
//! execution, for exactly the objects it deletes, with the visa's identifier as the reason.

use std::collections::BTreeSet;

use archipel_client::proto::object::{LockMode, ObjectLockSpec};

use crate::error::Result;
use crate::model::UnitRecord;
use crate::store::Store;

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

/// Sets the hold on a committed AIP's data; a failure is logged (the AIP stays committed and
/// readable, only unprotected), never turned into a failed transfer.
pub async fn hold_committed(store: &Store, namespace: &str, units: &[UnitRecord]) {
    if let Err(e) = hold(store, namespace, data_keys(units)).await {
        tracing::warn!("the legal hold on the objects of a committed AIP in {namespace} could not be set: {e}");
    }
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
