//! The DIP plans this front prepared lately, kept in memory so that the first downloads (most
//! often from the front that built the DIP, moments later) do not read back from the cluster
//! what was just written there. A stored plan never changes (its key names its build), so a
//! kept copy is always the stored one; other fronts, and this one once the plan is evicted,
//! read it from the cluster.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::dip_zip::DipPlan;

/// Stored bytes of the plans kept at most (a plan of 1 000 units is a few MiB).
const BUDGET: usize = 64 << 20;

pub struct Plans {
    kept: Mutex<VecDeque<Kept>>,
    budget: usize,
}

struct Kept {
    key: String,
    plan: Arc<DipPlan>,
    bytes: usize,
}

impl Default for Plans {
    fn default() -> Self {
        Plans::with_budget(BUDGET)
    }
}

impl Plans {
    fn with_budget(budget: usize) -> Self {
        Plans {
            kept: Mutex::new(VecDeque::new()),
            budget,
        }
    }

    /// Keeps `plan`, stored as `plan_key` in namespace `ns` in `bytes`, dropping the oldest kept
    /// plans to make room; a plan larger than the whole budget is not kept.
    pub fn keep(&self, ns: &str, plan_key: &str, plan: Arc<DipPlan>, bytes: usize) {
        self.keep_as(format!("{ns}/{plan_key}"), plan, bytes)
    }

    /// The plan stored as `plan_key` in namespace `ns`, if kept.
    pub fn get(&self, ns: &str, plan_key: &str) -> Option<Arc<DipPlan>> {
        self.get_as(&format!("{ns}/{plan_key}"))
    }

    fn keep_as(&self, key: String, plan: Arc<DipPlan>, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.retain(|k| k.key != key);
        let mut used: usize = kept.iter().map(|k| k.bytes).sum();
        while used + bytes > self.budget {
            match kept.pop_front() {
                Some(oldest) => used -= oldest.bytes,
                None => break,
            }
        }
        kept.push_back(Kept { key, plan, bytes });
    }

    fn get_as(&self, key: &str) -> Option<Arc<DipPlan>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().find(|k| k.key == key).map(|k| k.plan.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(manifest: &str) -> Arc<DipPlan> {
        Arc::new(DipPlan {
            prepared_at: "2026-12-07T10:00:00Z".parse().unwrap(),
            entries: Vec::new(),
            metadata: Vec::new(),
            manifest: manifest.into(),
        })
    }

    #[test]
    fn the_oldest_plans_make_room_and_a_plan_above_the_budget_is_not_kept() {
        let plans = Plans::with_budget(100);
        plans.keep("ns", "a", plan("A"), 40);
        plans.keep("ns", "b", plan("B"), 40);
        assert_eq!(plans.get("ns", "a").unwrap().manifest, "A");
        plans.keep("ns", "c", plan("C"), 40);
        assert!(plans.get("ns", "a").is_none(), "the oldest went to make room");
        assert_eq!(plans.get("ns", "b").unwrap().manifest, "B");
        assert_eq!(plans.get("ns", "c").unwrap().manifest, "C");
        plans.keep("ns", "huge", plan("H"), 101);
        assert!(plans.get("ns", "huge").is_none());
        assert!(
            plans.get("ns", "b").is_some() && plans.get("ns", "c").is_some(),
            "nothing dropped for it"
        );
    }

    #[test]
    fn keeping_a_key_again_replaces_it() {
        let plans = Plans::with_budget(100);
        plans.keep("ns", "a", plan("first"), 60);
        plans.keep("ns", "a", plan("second"), 60);
        assert_eq!(plans.get("ns", "a").unwrap().manifest, "second");
    }
}
