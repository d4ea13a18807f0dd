//! Disposal: elimination analysis, holds and management-rule modification of stored units
//! (docs/archive.md, "Elimination" and "Holds and rule modification").
//!
//! Pure decisions live in their own files (`analysis`, `modify`); this module reads the
//! catalog and writes through the store.

pub mod analysis;
pub mod analysis_cache;
pub mod audit;
pub mod execute;
pub mod lease;
pub mod locks;
pub mod modification;
pub mod modify;
pub mod outgoing;
pub mod outpackage;
pub mod persist;
pub mod probative;
pub mod proposal;
pub mod register;
pub mod reinherit;
pub mod usage;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::Result;
use crate::model::UnitRecord;
use crate::service::Archive;

/// The result of an elimination analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub tenant: String,
    pub at: NaiveDate,
    /// Units considered (every visible unit of the tenant).
    pub considered: usize,
    pub destroy: usize,
    pub conflict: usize,
    /// One entry per DESTROY or CONFLICT unit; KEEP units are not listed.
    pub units: Vec<analysis::Entry>,
}

/// Every visible unit of the tenant, by id (the whole catalog: the analysis and rule changes
/// need the unit graph).
pub async fn all_units(a: &Archive, tenant: &str) -> Result<crate::catalog_copy::Units> {
    a.catalog.units(tenant).await
}

/// Units a search finds, all pages (`query`: the parameters of `GET …/units`, as JSON).
pub async fn units_matching(a: &Archive, tenant: &str, query: &serde_json::Value) -> Result<Vec<String>> {
    let mut params: crate::api::units::SearchParams = serde_json::from_value(query.clone()).map_err(|e| {
        crate::error::ArchiveError::Invalid(format!(
            "the query is not a unit search (the parameters of GET …/units): {e}"
        ))
    })?;
    params.facets = Some(false);
    params.limit = Some(QUERY_PAGE);
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        params.offset = Some(offset);
        let page = crate::searching::search_page(a, tenant, params.clone()).await?;
        let n = page.hits.len();
        out.extend(page.hits.into_iter().map(|h| h.unit_id));
        offset += n;
        if n == 0 || offset >= page.total {
            return Ok(out);
        }
    }
}

/// Units one search page brings when a disposal operation selects by query.
const QUERY_PAGE: usize = 500;

/// Units held by a communication that is still open, with the communications' ids.
///
/// Seam with the access issue (communications, DIPs), read by shape so that neither side
/// depends on the other's types: each communication is a record under `t/<tenant>/delivery/<id>`
/// with its `id`, `status` and `units`. It is open until refused, failed or expired (a ready DIP
/// is still being communicated). Before that issue is merged, none exists and none blocks.
pub async fn pending_communications(a: &Archive, tenant: &str) -> Result<HashMap<String, Vec<String>>> {
    #[derive(serde::Deserialize)]
    struct Communication {
        id: String,
        #[serde(default)]
        status: String,
        #[serde(default)]
        units: Vec<String>,
    }
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let prefix = format!("{}delivery/", crate::keys::tenant_prefix(tenant));
    let records = a.store.scan::<serde_json::Value>(&prefix).await?;
    for (_, v) in records {
        // A record of another shape is the access issue's own business, not ours to fail on.
        let Ok(c) = serde_json::from_value::<Communication>(v) else {
            continue;
        };
        let closed = matches!(c.status.as_str(), "refused" | "failed" | "expired");
        if !closed {
            for u in c.units {
                out.entry(u).or_default().push(c.id.clone());
            }
        }
    }
    Ok(out)
}

/// The elimination analysis of every visible unit of `tenant` at `at` (the last one again when
/// neither the catalog nor the open communications changed).
pub async fn analyse(a: &Archive, tenant: &str, at: NaiveDate) -> Result<Arc<Analysis>> {
    let units = all_units(a, tenant).await?;
    let communications = pending_communications(a, tenant).await?;
    if let Some(done) = a.analyses.get(tenant, &units, &communications, at) {
        return Ok(done);
    }
    let analysis = Arc::new(analyse_units(tenant, &units, &communications, at));
    a.analyses.keep(tenant, units, communications, at, analysis.clone());
    Ok(analysis)
}

pub fn analyse_units(
    tenant: &str,
    units: &HashMap<String, UnitRecord>,
    communications: &HashMap<String, Vec<String>>,
    at: NaiveDate,
) -> Analysis {
    let agency_of = |id: &str| units.get(id).and_then(|u| u.originating_agency.clone());
    let mut ordered: Vec<&UnitRecord> = units.values().collect();
    ordered.sort_by(|x, y| (&x.aip_id, &x.id).cmp(&(&y.aip_id, &y.id)));
    let analysed = ordered
        .into_iter()
        .map(|u| analysis::Analysed::new(u, analysis::analyse_unit(u, at, &agency_of)))
        .collect();
    let entries = analysis::finish(analysed, communications);
    Analysis {
        tenant: tenant.into(),
        at,
        considered: units.len(),
        destroy: entries.iter().filter(|e| e.status == analysis::Status::Destroy).count(),
        conflict: entries
            .iter()
            .filter(|e| e.status == analysis::Status::Conflict)
            .count(),
        units: entries,
    }
}

#[cfg(test)]
mod tests;
