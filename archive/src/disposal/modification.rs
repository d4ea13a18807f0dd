//! A mass modification of the management rules of stored units (holds included): checked whole
//! before anything is written, applied under the tenant's disposal lease, recorded in the AIP
//! descriptors then the catalog, one logbook entry per unit, and an
//! ArchiveModificationNotification per originating agency.

use std::collections::{BTreeMap, HashMap, HashSet};

use archipel_seda::notification::{write_modification_notification, ModificationNotification};
use archipel_seda::reply::SedaVersion;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::modify::{apply, Change};
use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{Rule, UnitRecord};
use crate::service::Archive;

/// Units per request: the whole change is checked and applied at once.
pub const MAX_UNITS: usize = 10_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModificationRequest {
    /// The units (system ids); or give `query`.
    #[serde(default)]
    pub unit_ids: Vec<String>,
    /// Instead of `unit_ids`: the units a search finds (the parameters of `GET …/units`).
    #[serde(default)]
    pub query: Option<serde_json::Value>,
    pub changes: Vec<Change>,
    /// Why (kept in the record, the logbook and the notification).
    #[serde(default)]
    pub comment: Option<String>,
    /// SEDA version of the notifications: "2.1", "2.2" (default) or "2.3".
    #[serde(default)]
    pub seda_version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NotificationRecord {
    pub originating_agency: String,
    pub message_identifier: String,
    /// Object key in the tenant's namespace.
    pub key: String,
    pub units: Vec<String>,
}

/// What was done, kept under `t/<tenant>/modification/<operation>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModificationRecord {
    pub operation: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The units named by the request.
    pub units: Vec<String>,
    /// Units below them whose inherited rules changed as a consequence.
    pub recomputed: Vec<String>,
    pub aips_rewritten: Vec<String>,
    pub notifications: Vec<NotificationRecord>,
}

pub fn record_key(tenant: &str, operation: &str) -> String {
    format!("t/{tenant}/modification/{operation}")
}

pub(crate) fn seda_version(v: Option<&str>) -> Result<SedaVersion> {
    match v.unwrap_or("2.2") {
        "2.1" => Ok(SedaVersion::V2_1),
        "2.2" => Ok(SedaVersion::V2_2),
        "2.3" => Ok(SedaVersion::V2_3),
        other => Err(ArchiveError::Invalid(format!(
            "SEDA version `{other}` is not supported: use 2.1, 2.2 or 2.3"
        ))),
    }
}

async fn referential(a: &Archive, tenant: &str) -> Result<HashMap<String, Rule>> {
    Ok(a.store
        .scan::<Rule>(&keys::referentials(tenant, crate::referentials::RULE))
        .await?
        .into_iter()
        .map(|(_, r)| (r.id.clone(), r))
        .collect())
}

/// Checks and applies `req`; nothing is written when any unit or change is refused.
pub async fn modify(
    a: &Archive,
    tenant: &str,
    who: &Principal,
    mut req: ModificationRequest,
) -> Result<ModificationRecord> {
    if let Some(q) = req.query.take() {
        if !req.unit_ids.is_empty() {
            return Err(ArchiveError::Invalid("give unit_ids or query, not both".into()));
        }
        req.unit_ids = super::units_matching(a, tenant, &q).await?;
        if req.unit_ids.is_empty() {
            return Err(ArchiveError::Invalid(
                "the query finds no unit: nothing was modified".into(),
            ));
        }
    }
    if req.unit_ids.is_empty() || req.changes.is_empty() {
        return Err(ArchiveError::Invalid(
            "name at least one unit (unit_ids) and one change (changes)".into(),
        ));
    }
    if req.unit_ids.len() > MAX_UNITS {
        return Err(ArchiveError::Invalid(format!(
            "{} units in one modification, more than {MAX_UNITS}: split it",
            req.unit_ids.len()
        )));
    }
    let version = seda_version(req.seda_version.as_deref())?;
    let t = a.refs.tenant(tenant).await?;
    let operation = uuid::Uuid::new_v4().simple().to_string();
    let lease = super::lease::Lease::take(&a.store, tenant, &operation, &who.id).await?;
    let result = modify_leased(a, tenant, &t, who, &req, version, &operation).await;
    lease.release().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn modify_leased(
    a: &Archive,
    tenant: &str,
    t: &crate::model::Tenant,
    who: &Principal,
    req: &ModificationRequest,
    version: SedaVersion,
    operation: &str,
) -> Result<ModificationRecord> {
    let referential = referential(a, tenant).await?;
    let mut units = std::sync::Arc::unwrap_or_clone(super::all_units(a, tenant).await?);
    let mut problems = Vec::new();
    let mut targets: Vec<String> = Vec::new();
    for id in &req.unit_ids {
        if targets.contains(id) {
            continue;
        }
        let Some(u) = units.get_mut(id) else {
            problems.push(format!("unit `{id}`: no such archive unit in this tenant"));
            continue;
        };
        for c in &req.changes {
            if let Err(e) = apply(u, c, &referential) {
                problems.push(format!("unit `{id}`: {e}"));
            }
        }
        targets.push(id.clone());
    }
    if !problems.is_empty() {
        return Err(ArchiveError::Invalid(format!(
            "nothing was changed: {}",
            problems.join("; ")
        )));
    }
    let changed = super::reinherit::reinherit(&mut units, &targets)?;
    let changed_units: Vec<&UnitRecord> = changed.iter().filter_map(|id| units.get(id)).collect();
    let aips = super::persist::write_units(&a.store, tenant, &t.namespace, &changed_units, &HashSet::new()).await?;
    let recomputed: Vec<String> = changed.iter().filter(|id| !targets.contains(id)).cloned().collect();
    // Notifications, one per originating agency of the units changed.
    let mut by_agency: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for u in &changed_units {
        let agency = u
            .originating_agency
            .clone()
            .unwrap_or_else(|| t.archival_agency.clone());
        by_agency.entry(agency).or_default().push(u.id.clone());
    }
    let mut comments: Vec<String> = req.changes.iter().map(Change::describe).collect();
    if let Some(c) = &req.comment {
        comments.insert(0, c.clone());
    }
    let mut notifications = Vec::new();
    for (n, (agency, mut ids)) in by_agency.into_iter().enumerate() {
        ids.sort();
        let message_identifier = format!("MOD-{operation}-{}", n + 1);
        let xml = write_modification_notification(&ModificationNotification {
            version,
            message_identifier: message_identifier.clone(),
            date: Utc::now(),
            comments: comments.clone(),
            archival_agreement: None,
            unit_identifiers: ids.clone(),
            archival_agency: t.archival_agency.clone(),
            originating_agency: agency.clone(),
        })
        .map_err(|e| ArchiveError::Internal(format!("ArchiveModificationNotification: {e}")))?;
        let key = format!("notifications/modification/{message_identifier}.xml");
        a.store
            .client()
            .put_object(&t.namespace, &key, xml.as_slice(), Some(xml.len() as u64), None)
            .await?;
        notifications.push(NotificationRecord {
            originating_agency: agency,
            message_identifier,
            key,
            units: ids,
        });
    }
    let record = ModificationRecord {
        operation: operation.into(),
        actor: who.id.clone(),
        at: Utc::now(),
        changes: req.changes.clone(),
        comment: req.comment.clone(),
        units: targets.clone(),
        recomputed: recomputed.clone(),
        aips_rewritten: aips,
        notifications,
    };
    a.store.put(&record_key(tenant, operation), &record).await?;
    let entries: Vec<(String, serde_json::Value)> = changed_units
        .iter()
        .map(|u| {
            let direct = targets.contains(&u.id);
            (
                u.id.clone(),
                serde_json::json!({
                    "operation": operation,
                    "direct": direct,
                    "changes": if direct { serde_json::to_value(&req.changes).unwrap_or_default() } else { serde_json::Value::Null },
                    "comment": req.comment,
                    "rules": u.rules.iter().map(|r| serde_json::json!({
                        "category": r.category, "rule_id": r.rule_id, "start_date": r.start_date,
                        "end_date": r.end_date, "inherited": r.inherited,
                    })).collect::<Vec<_>>(),
                }),
            )
        })
        .collect();
    a.journal
        .record_each(tenant, "unit.rules.modified", &who.id, operation, entries)
        .await?;
    Ok(record)
}

/// A stored modification record.
pub async fn get(a: &Archive, tenant: &str, operation: &str) -> Result<ModificationRecord> {
    a.store
        .get::<ModificationRecord>(&record_key(tenant, operation))
        .await?
        .map(|v| v.value)
        .ok_or_else(|| ArchiveError::NotFound(format!("modification `{operation}`")))
}
