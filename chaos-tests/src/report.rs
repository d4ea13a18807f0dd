//! What a campaign prints: each failing run in full (seed, schedule, violations, replay
//! command), and a summary at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::history::OpCounts;
use crate::run::RunOutcome;

#[derive(Default)]
pub struct Summary {
    pub runs: u64,
    pub passed: u64,
    pub failed_seeds: Vec<u64>,
    pub errored: Vec<(u64, String)>,
    pub faults: BTreeMap<&'static str, u64>,
    pub fault_errors: BTreeMap<&'static str, u64>,
    pub objects_checked: u64,
    pub violations: BTreeMap<&'static str, u64>,
    pub ops: OpCounts,
    pub redundancy_max: Duration,
    pub warnings: u64,
    pub scrub_errors: u64,
    pub self_test_passed: u64,
}

impl Summary {
    pub fn add(&mut self, o: &RunOutcome) {
        self.runs += 1;
        if o.report.violations.is_empty() {
            self.passed += 1;
        } else {
            self.failed_seeds.push(o.seed);
        }
        for e in &o.log {
            if e.ok() {
                *self.faults.entry(e.planned.kind.name()).or_default() += 1;
            } else {
                *self.fault_errors.entry(e.planned.kind.name()).or_default() += 1;
            }
        }
        for v in &o.report.violations {
            *self.violations.entry(v.invariant).or_default() += 1;
        }
        self.objects_checked += o.report.objects_checked;
        if let Some(r) = o.report.redundancy_after {
            self.redundancy_max = self.redundancy_max.max(r);
        }
        self.warnings += o.warnings.len() as u64;
        self.scrub_errors += o.report.scrub_errors;
        let c = &o.counts;
        let s = &mut self.ops;
        s.puts_acked += c.puts_acked;
        s.puts_failed += c.puts_failed;
        s.puts_refused += c.puts_refused;
        s.deletes_refused += c.deletes_refused;
        s.gets_ok += c.gets_ok;
        s.gets_failed += c.gets_failed;
        s.deletes_acked += c.deletes_acked;
        s.deletes_failed += c.deletes_failed;
        s.cas_acked += c.cas_acked;
        s.cas_rejected += c.cas_rejected;
        s.cas_indeterminate += c.cas_indeterminate;
        s.cas_failed += c.cas_failed;
        s.bytes_put += c.bytes_put;
    }

    pub fn error(&mut self, seed: u64, e: String) {
        self.runs += 1;
        self.errored.push((seed, e));
    }

    pub fn ok(&self) -> bool {
        self.failed_seeds.is_empty() && self.errored.is_empty()
    }

    pub fn print(&self, backend: &str) {
        let list = |m: &BTreeMap<&str, u64>| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
            }
        };
        let o = &self.ops;
        println!("== chaos summary ({backend} backend) ==");
        println!(
            "runs: {} (passed {}, with violations {}, errors {})",
            self.runs,
            self.passed,
            self.failed_seeds.len(),
            self.errored.len()
        );
        println!("faults injected: {}", list(&self.faults));
        if !self.fault_errors.is_empty() {
            println!("faults that could not be injected: {}", list(&self.fault_errors));
        }
        println!(
            "operations: puts {} acked / {} failed ({} refused, held to it) ({} MiB acked), gets {} ok / {} failed, deletes {} acked / {} failed ({} refused), CAS {} acked / {} rejected / {} indeterminate / {} failed",
            o.puts_acked,
            o.puts_failed,
            o.puts_refused,
            o.bytes_put >> 20,
            o.gets_ok,
            o.gets_failed,
            o.deletes_acked,
            o.deletes_failed,
            o.deletes_refused,
            o.cas_acked,
            o.cas_rejected,
            o.cas_indeterminate,
            o.cas_failed
        );
        println!("objects checked: {}", self.objects_checked);
        println!(
            "full redundancy back after healing: at most {:.1} s",
            self.redundancy_max.as_secs_f64()
        );
        println!(
            "damaged shards found by the post-heal scrubs (then repaired): {}",
            self.scrub_errors
        );
        println!("violations: {}", list(&self.violations));
        if !self.failed_seeds.is_empty() {
            println!("failing seeds: {:?}", self.failed_seeds);
        }
        for (seed, e) in &self.errored {
            println!("run seed={seed} could not complete: {e}");
        }
        println!("warnings (not violations): {}", self.warnings);
    }
}

pub fn print_failure(o: &RunOutcome, replay: &str, hint: &str) {
    println!(
        "!! run seed={} VIOLATED {} invariant check(s)",
        o.seed,
        o.report.violations.len()
    );
    for v in &o.report.violations {
        println!("   [{}] {}", v.invariant, v.detail);
    }
    print_schedule(o);
    println!("   replay: {replay}");
    println!("   {hint}");
}

pub fn print_schedule(o: &RunOutcome) {
    println!("   planned schedule (seed {}):", o.seed);
    for p in &o.plan {
        println!("     {p}");
    }
    println!("   executed:");
    for e in &o.log {
        println!("     {e}");
    }
    for w in &o.warnings {
        println!("   warning: {w}");
    }
}
