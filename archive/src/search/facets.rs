//! Facet counts over the units a query matches: level, flow, originating agency and year.
//!
//! Counted by tantivy's terms aggregation over the fields' columns (FAST fields), in the same pass that collects
//! the hits; memory is bounded by the number of distinct values, never by the number of units.

use serde::{Deserialize, Serialize};
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggregationCollector, AggregationLimitsGuard};

use super::SearchError;

/// Values listed per facet, most frequent first; the rest are summed in `other`.
pub const FACET_VALUES: usize = 100;
/// Years are clamped to 0..=9999 at indexing, so this lists them all.
const YEAR_VALUES: usize = 10_000;
/// Aggregation memory per search: far above what four facets of bounded size need, far below a front's RAM.
const FACET_MEMORY_BYTES: u64 = 64 << 20;

/// One facet: the most frequent values and how many matching units each has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facet {
    pub buckets: Vec<Bucket>,
    /// Matching units whose value is not among `buckets`.
    pub other: u64,
    /// Matching units without a value (no flow, undated, …).
    pub missing: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub value: String,
    pub count: u64,
}

impl Facet {
    /// The count for `value`, 0 when it is not listed.
    pub fn count(&self, value: &str) -> u64 {
        self.buckets.iter().find(|b| b.value == value).map_or(0, |b| b.count)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    pub level: Facet,
    pub flow: Facet,
    pub originating_agency: Facet,
    /// By the year of the first day a unit covers, latest first.
    pub year: Facet,
}

pub(crate) fn collector() -> Result<AggregationCollector, SearchError> {
    let terms = |field: &str, size: usize| serde_json::json!({"terms": {"field": field, "size": size}});
    let request = serde_json::json!({
        "level": terms("level", FACET_VALUES),
        "flow": terms("flow", FACET_VALUES),
        "originating_agency": terms("originating_agency", FACET_VALUES),
        "year": terms("year", YEAR_VALUES),
    });
    let aggs: Aggregations = serde_json::from_value(request).map_err(|e| SearchError::Index {
        action: "preparing the facet counts",
        source: tantivy::TantivyError::InvalidArgument(e.to_string()),
    })?;
    let limits = AggregationLimitsGuard::new(Some(FACET_MEMORY_BYTES), None);
    Ok(AggregationCollector::from_aggs(aggs, limits))
}

/// Reads the aggregation results back into facets; `total` is the number of matching units.
pub(crate) fn from_results(results: &AggregationResults, total: usize) -> Result<Facets, SearchError> {
    let json = serde_json::to_value(results).map_err(|e| SearchError::Index {
        action: "reading the facet counts",
        source: tantivy::TantivyError::InternalError(e.to_string()),
    })?;
    let facet = |name: &str| facet(&json[name], total as u64);
    let mut year = facet("year");
    year.buckets.sort_by(|a, b| b.value.cmp(&a.value));
    Ok(Facets {
        level: facet("level"),
        flow: facet("flow"),
        originating_agency: facet("originating_agency"),
        year,
    })
}

fn facet(json: &serde_json::Value, total: u64) -> Facet {
    let buckets: Vec<Bucket> = json["buckets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| Bucket {
            value: match &b["key"] {
                serde_json::Value::String(s) => s.clone(),
                // Numeric keys come back as floats: print years without a fraction.
                serde_json::Value::Number(n) => n.as_f64().map_or_else(|| n.to_string(), |f| format!("{f:.0}")),
                other => other.to_string(),
            },
            count: b["doc_count"].as_u64().unwrap_or(0),
        })
        .collect();
    let other = json["sum_other_doc_count"].as_u64().unwrap_or(0);
    let listed: u64 = buckets.iter().map(|b| b.count).sum();
    Facet {
        missing: total.saturating_sub(listed + other),
        buckets,
        other,
    }
}
