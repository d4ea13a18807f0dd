//! Invariant: the metadata CAS history is linearizable. Each counter goes 1, 2, 3… by CAS on its
//! exact value, every step tagged with its operation's token, so:
//! - no two acknowledged CAS wrote the same step (two winners from one value);
//! - every value ever seen was written by an operation that was acknowledged or indeterminate,
//!   never by one the cluster said failed (the retry contract);
//! - the final value is at least every acknowledged step, and at most the number of
//!   operations that may have applied;
//! - a read that starts after an acknowledged step ends sees that step or a later one.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Violation;
use crate::history::{CasHistory, CasOp, CasResult, Step};

pub const NAME: &str = "cas-linearizable";

struct Seen<'a> {
    start: Duration,
    what: &'a str,
    /// None: the counter was absent (step 0).
    value: Option<&'a Step>,
}

impl Seen<'_> {
    fn step(&self) -> u64 {
        self.value.map_or(0, |v| v.step)
    }
}

pub fn check(cas: &CasHistory, finals: &BTreeMap<String, Option<Step>>) -> Vec<Violation> {
    let mut out = Vec::new();
    let counters: std::collections::BTreeSet<&String> = cas.ops.iter().map(|o| &o.counter).collect();
    for counter in counters {
        let ops: Vec<&CasOp> = cas.ops.iter().filter(|o| &o.counter == counter).collect();
        let by_token: BTreeMap<&str, &CasOp> = ops.iter().map(|o| (o.new.token.as_str(), *o)).collect();
        let mut acked: Vec<&CasOp> = ops
            .iter()
            .copied()
            .filter(|o| matches!(o.result, CasResult::Acked))
            .collect();

        let mut steps: BTreeMap<u64, &str> = BTreeMap::new();
        for a in &acked {
            if let Some(other) = steps.insert(a.new.step, &a.new.token) {
                out.push(Violation::new(
                    NAME,
                    format!(
                        "{counter}: step {} acknowledged twice ({other} and {})",
                        a.new.step, a.new.token
                    ),
                ));
            }
        }

        let mut seen: Vec<Seen> = Vec::new();
        for r in cas.reads.iter().filter(|r| &r.counter == counter) {
            seen.push(Seen {
                start: r.start,
                what: "read",
                value: r.seen.as_ref(),
            });
        }
        for o in &ops {
            if let CasResult::Rejected(Some(s)) = &o.result {
                seen.push(Seen {
                    start: o.start,
                    what: "failed CAS",
                    value: Some(s),
                });
            }
        }
        let final_value = finals.get(counter.as_str()).cloned().flatten();
        let mut all_values: Vec<(&str, &Step)> = seen.iter().filter_map(|s| s.value.map(|v| (s.what, v))).collect();
        if let Some(f) = &final_value {
            all_values.push(("final read", f));
        }
        for (what, v) in all_values {
            match by_token.get(v.token.as_str()) {
                None => out.push(Violation::new(
                    NAME,
                    format!("{counter}: {what} saw {}:{} that no operation wrote", v.step, v.token),
                )),
                Some(op) if op.new != *v => out.push(Violation::new(
                    NAME,
                    format!(
                        "{counter}: {what} saw {}:{}, but that op wrote step {}",
                        v.step, v.token, op.new.step
                    ),
                )),
                Some(op) => match &op.result {
                    CasResult::Acked | CasResult::Indeterminate => {}
                    CasResult::Rejected(_) => out.push(Violation::new(
                        NAME,
                        format!(
                            "{counter}: step {}:{} is visible but its CAS was answered `failed`",
                            v.step, v.token
                        ),
                    )),
                    CasResult::Failed(e) => out.push(Violation::new(
                        NAME,
                        format!(
                            "{counter}: step {}:{} is visible but its CAS returned a retry-safe error: {e}",
                            v.step, v.token
                        ),
                    )),
                },
            }
        }

        let max_acked = acked.iter().map(|a| a.new.step).max().unwrap_or(0);
        let final_step = final_value.as_ref().map_or(0, |f| f.step);
        if final_step < max_acked {
            out.push(Violation::new(
                NAME,
                format!("{counter}: final step {final_step} is below the acknowledged step {max_acked}"),
            ));
        }
        let may_apply = ops
            .iter()
            .filter(|o| matches!(o.result, CasResult::Acked | CasResult::Indeterminate))
            .count() as u64;
        if final_step > may_apply {
            out.push(Violation::new(
                NAME,
                format!("{counter}: final step {final_step} but only {may_apply} operations may have applied"),
            ));
        }

        // Real time: after an acknowledged step ends, nobody sees an older step.
        acked.sort_by_key(|a| a.end);
        let mut prefix_max = Vec::with_capacity(acked.len());
        let mut m = 0;
        for a in &acked {
            m = m.max(a.new.step);
            prefix_max.push(m);
        }
        for s in &seen {
            let before = acked.partition_point(|a| a.end < s.start);
            if before > 0 && s.step() < prefix_max[before - 1] {
                out.push(Violation::new(
                    NAME,
                    format!(
                        "{counter}: a {} starting at t+{:.3}s saw step {} after step {} had been acknowledged",
                        s.what,
                        s.start.as_secs_f64(),
                        s.step(),
                        prefix_max[before - 1]
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::CounterRead;

    fn op(step: u64, token: &str, start: u64, end: u64, result: CasResult) -> CasOp {
        CasOp {
            counter: "c0".into(),
            new: Step {
                step,
                token: token.into(),
            },
            start: Duration::from_millis(start),
            end: Duration::from_millis(end),
            result,
        }
    }

    fn finals(step: u64, token: &str) -> BTreeMap<String, Option<Step>> {
        BTreeMap::from([(
            "c0".to_owned(),
            Some(Step {
                step,
                token: token.into(),
            }),
        )])
    }

    #[test]
    fn a_clean_history_passes() {
        let h = CasHistory {
            ops: vec![
                op(1, "a", 0, 10, CasResult::Acked),
                op(2, "b", 20, 30, CasResult::Indeterminate),
                op(2, "c", 40, 50, CasResult::Rejected(None)),
            ],
            reads: vec![],
        };
        assert!(check(&h, &finals(2, "b")).is_empty());
    }

    #[test]
    fn double_winners_stale_reads_and_applied_failures_are_caught() {
        let h = CasHistory {
            ops: vec![
                op(1, "a", 0, 10, CasResult::Acked),
                op(1, "b", 0, 12, CasResult::Acked),
                op(2, "c", 20, 30, CasResult::Failed("unavailable".into())),
            ],
            reads: vec![CounterRead {
                counter: "c0".into(),
                start: Duration::from_millis(40),
                seen: None,
            }],
        };
        let v = check(&h, &finals(2, "c"));
        let text = format!("{v:?}");
        assert!(text.contains("acknowledged twice"), "{text}");
        assert!(text.contains("retry-safe error"), "{text}");
        let stale = CasHistory {
            ops: vec![
                op(1, "a", 0, 10, CasResult::Acked),
                op(2, "b", 20, 30, CasResult::Acked),
            ],
            reads: vec![CounterRead {
                counter: "c0".into(),
                start: Duration::from_millis(40),
                seen: Some(Step {
                    step: 1,
                    token: "a".into(),
                }),
            }],
        };
        assert!(format!("{:?}", check(&stale, &finals(2, "b"))).contains("after step 2"));
    }
}
