//! DIP builds whose front stopped are taken over: a front that dies while building leaves its
//! delivery `building`, with no DIP (the record never named a plan). Every front
//! watches the building deliveries; one whose record has not changed for
//! `dip_stale_after` (a live build writes its progress every second) is claimed by a
//! conditional write raising its `attempt`, and rebuilt from the start under a new object key.
//! The stopped build, if it was only cut off, finds the record no longer its own and leaves
//! nothing behind. Staleness is judged by the record's revision seen twice on this front's
//! monotonic clock, so fronts' wall clocks do not matter.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use serde_json::json;

use super::{Delivery, DeliveryStatus, Progress};
use crate::error::Result;
use crate::service::Archive;

/// What this front saw of each building delivery: its revision and since when.
#[derive(Default)]
pub struct Watch {
    seen: HashMap<(String, String), (u64, Instant)>,
}

/// Watches building deliveries for as long as the front runs.
pub fn spawn(a: Arc<Archive>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = (a.config.dip_stale_after / 3).max(std::time::Duration::from_millis(200));
        let mut tick = tokio::time::interval(period);
        let mut watch = Watch::default();
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&a, &mut watch, Instant::now()).await {
                tracing::warn!("looking for interrupted DIP builds failed: {e}");
            }
        }
    })
}

/// One look at every tenant's building deliveries, at `now`; returns the ids taken over.
pub async fn sweep(a: &Arc<Archive>, watch: &mut Watch, now: Instant) -> Result<Vec<String>> {
    let mut building = Vec::new();
    for t in a.refs.tenants().await? {
        for d in super::list(a, &t.id).await? {
            if d.status == DeliveryStatus::Building {
                building.push((t.id.clone(), d.id));
            }
        }
    }
    watch.seen.retain(|k, _| building.contains(k));
    let mut taken = Vec::new();
    for (tenant, id) in building {
        let current = match super::load(a, &tenant, &id).await {
            Ok(c) => c,
            Err(crate::ArchiveError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let key = (tenant.clone(), id.clone());
        match watch.seen.get(&key) {
            Some((rev, since)) if *rev == current.revision => {
                if now.duration_since(*since) >= a.config.dip_stale_after
                    && current.value.status == DeliveryStatus::Building
                    && take_over(a, current.value, current.revision).await?
                {
                    watch.seen.remove(&key);
                    taken.push(id);
                }
            }
            _ => {
                watch.seen.insert(key, (current.revision, now));
            }
        }
    }
    Ok(taken)
}

/// Claims the build under the next attempt and starts it; `false` when another front was first.
async fn take_over(a: &Arc<Archive>, stopped: Delivery, revision: u64) -> Result<bool> {
    let mut d = stopped.clone();
    d.attempt = stopped.attempt.saturating_add(1);
    d.progress = Progress::default();
    d.error = None;
    d.dip_plan = None;
    d.updated_at = Utc::now();
    if !super::save_if(a, &d, revision, vec![]).await? {
        return Ok(false);
    }
    // A stopped build may have stored its plan just before it died: it is no one's now.
    let ns = crate::keys::object_namespace(&d.tenant);
    let old = crate::keys::dip_plan(&d.id, stopped.attempt);
    match a.store.client().delete_object(&ns, &old).await {
        Ok(_) | Err(archipel_client::ClientError::NotFound(_)) => {}
        Err(e) => tracing::warn!("the stopped DIP build's object {ns}/{old} could not be removed: {e}"),
    }
    a.journal
        .record(
            &d.tenant,
            "delivery.resumed",
            "OK",
            "archive",
            Some(&d.id),
            json!({
                "attempt": d.attempt,
                "stopped_at": stopped.progress,
                "last_update": stopped.updated_at,
            }),
        )
        .await?;
    tracing::info!(
        tenant = d.tenant,
        delivery = d.id,
        attempt = d.attempt,
        "interrupted DIP build taken over"
    );
    super::dip::spawn(Arc::clone(a), d.tenant, d.id);
    Ok(true)
}
