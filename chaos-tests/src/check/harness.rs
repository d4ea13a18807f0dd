//! The run did what it was meant to: every planned fault was injected, and enough puts were
//! acknowledged for the other checks to mean something. Without this, a run whose faults all
//! failed to inject, or whose workload never got a write through, would pass vacuously.

use super::Violation;
use crate::inject::Executed;

pub const FAULTS: &str = "faults-injected";
pub const PUTS: &str = "puts-acked-floor";

pub fn check(planned: usize, log: &[Executed], puts_acked: u64, min_puts_acked: u64) -> Vec<Violation> {
    let mut out = Vec::new();
    let injected = log.iter().filter(|e| e.ok()).count();
    if injected < planned {
        let failed: Vec<String> = log
            .iter()
            .filter_map(|e| Some(format!("{}: {}", e.planned.kind.name(), e.error.as_deref()?)))
            .collect();
        out.push(Violation::new(
            FAULTS,
            format!(
                "{injected} of {planned} planned faults were injected{}{}",
                if failed.is_empty() { "" } else { "; failed: " },
                failed.join("; ")
            ),
        ));
    }
    if puts_acked < min_puts_acked {
        out.push(Violation::new(
            PUTS,
            format!("{puts_acked} puts acknowledged, fewer than the floor of {min_puts_acked}: the checks saw too little to prove anything"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::schedule::{FaultKind, Planned};

    fn executed(error: Option<&str>) -> Executed {
        Executed {
            planned: Planned {
                at: Duration::ZERO,
                kind: FaultKind::FlipBytes,
                pick: 0,
                hold: Duration::ZERO,
            },
            injected_at: Duration::ZERO,
            healed_at: None,
            target: String::new(),
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn a_fault_that_failed_to_inject_fails_the_run() {
        let log = [executed(None), executed(Some("no leader within 15s"))];
        let v = check(2, &log, 100, 20);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].invariant, FAULTS);
        assert!(
            v[0].detail.contains("1 of 2") && v[0].detail.contains("no leader"),
            "{}",
            v[0].detail
        );
    }

    #[test]
    fn a_fault_never_reached_counts_as_missing() {
        assert_eq!(check(3, &[executed(None)], 100, 20)[0].invariant, FAULTS);
    }

    #[test]
    fn too_few_acknowledged_puts_fail_the_run() {
        let v = check(1, &[executed(None)], 19, 20);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].invariant, PUTS);
    }

    #[test]
    fn a_full_run_passes() {
        assert!(check(1, &[executed(None)], 20, 20).is_empty());
    }
}
