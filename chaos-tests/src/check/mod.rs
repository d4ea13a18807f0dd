//! The invariant checker, run once every fault is healed. One invariant per file; each takes the
//! recorded history and the final state read from the cluster and returns its violations.

mod acked_readable;
mod cas_linearizable;
mod final_state;
pub mod harness;
mod no_half_written;
mod no_lost;
mod no_resurrection;
mod placement;
mod redundancy;
pub mod worm;

use std::time::Duration;

use archipel_client::Client;

use crate::backend::NodeRef;
use crate::history::{CasHistory, ObjectHistory};

/// Every invariant's name, as violations carry it (for `--tolerate`).
pub const INVARIANTS: [&str; 11] = [
    "acked-put-readable",
    "cas-linearizable",
    "final-state",
    "full-redundancy",
    "no-half-written",
    "no-lost-object",
    "no-resurrection",
    "placement-site-bound",
    harness::FAULTS,
    harness::PUTS,
    worm::NAME,
];

#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

impl Violation {
    pub fn new(invariant: &'static str, detail: impl Into<String>) -> Self {
        Self {
            invariant,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Default)]
pub struct CheckReport {
    pub violations: Vec<Violation>,
    pub objects_checked: u64,
    pub redundancy_after: Option<Duration>,
    /// Damaged shards the post-heal scrub found (then repaired).
    pub scrub_errors: u64,
}

pub async fn check_all(
    client: &Client,
    nodes: &[NodeRef],
    objects: &ObjectHistory,
    cas: &CasHistory,
    healed_at_ms: u64,
    bound: Duration,
    placement_check: Option<Duration>,
) -> CheckReport {
    let mut report = CheckReport::default();
    match redundancy::wait_full_redundancy(client, nodes, healed_at_ms, bound, placement_check).await {
        Ok((after, errors)) => {
            report.redundancy_after = Some(after);
            report.scrub_errors = errors;
        }
        Err(what) => report.violations.push(Violation::new(redundancy::NAME, what)),
    }
    let state = final_state::read(client, objects).await;
    report.objects_checked = state.reads.len() as u64 + state.listed.len() as u64;
    report.violations.extend(acked_readable::check(objects, &state));
    report.violations.extend(no_resurrection::check(objects, &state));
    report.violations.extend(no_half_written::check(objects, &state));
    report.violations.extend(cas_linearizable::check(cas, &state.counters));
    report.violations.extend(no_lost::check(client).await);
    let sites = nodes
        .iter()
        .map(|n| n.site.as_str())
        .collect::<std::collections::BTreeSet<_>>();
    report.violations.extend(placement::check(client, sites.len()).await);
    report
        .violations
        .extend(state.errors.into_iter().map(|e| Violation::new("final-state", e)));
    report
}
