//! Importing a tenant's rules referential as its archivists do it, whatever the door (REST API,
//! web interface): store the CSV, log it, and move the end dates of the units whose rules
//! changed duration (as Vitam does).

use std::collections::HashSet;
use std::sync::Arc;

use crate::auth::Principal;
use crate::error::Result;
use crate::model::Rule;
use crate::service::Archive;

/// Imports `csv` into `tenant`'s referential for `who` (already authorized); returns the rules
/// as stored.
pub async fn import_rules(a: &Arc<Archive>, who: &Principal, tenant: &str, csv: &str) -> Result<Vec<Rule>> {
    let (rules, previous) = a.refs.import_rules_versioned(tenant, csv).await?;
    a.journal
        .record(
            tenant,
            "rules.imported",
            "OK",
            &who.id,
            None,
            serde_json::json!({"count": rules.len(), "changed": previous.iter().map(|r| &r.id).collect::<Vec<_>>()}),
        )
        .await?;
    let moved: HashSet<String> = previous
        .iter()
        .filter(|old| {
            rules.iter().any(|new| {
                new.id == old.id
                    && (new.duration, new.measurement, new.no_duration)
                        != (old.duration, old.measurement, old.no_duration)
            })
        })
        .map(|r| r.id.clone())
        .collect();
    if !moved.is_empty() {
        let changed = a.catalog.recompute_rules(tenant, &moved).await?;
        // This front's index sees the new end dates at once; the search filters on them.
        crate::searching::index_units(a, tenant, &changed).await;
        let units: Vec<String> = changed.into_iter().map(|u| u.id).collect();
        a.journal
            .record(
                tenant,
                "rules.recomputed",
                "OK",
                &who.id,
                None,
                serde_json::json!({"rules": moved, "units": units.len(), "first_units": units.iter().take(10).collect::<Vec<_>>()}),
            )
            .await?;
    }
    Ok(rules)
}
