//! The CPU-cost rows: each workload's CPU per GiB (large objects, repair) or per object (small
//! ones), its ratio to the limit's CPU for the same bytes, and the targets on them.

use super::{Report, Target};
use crate::cmd::bench::cpu::{Scope, Spent};
use crate::cmd::bench::healing::Healing;
use crate::cmd::bench::limit::Limit;
use crate::cmd::bench::workload::{Large, Small};

/// The cluster may spend at most twice the limit's CPU per GiB stored.
const LARGE_PUT: Target = Target::at_most("≤ 2× the limit's CPU", 2.0);
/// 2000 PUT/s on two cores leave 1 ms of CPU per object for the whole cluster.
const SMALL_PUT: Target = Target::value_at_most("≤ 1 ms per object", 1.0);

/// What a workload's CPU is divided by.
#[derive(Clone, Copy)]
enum Amount {
    Bytes(u64),
    Objects { count: usize, size: usize },
}

impl Amount {
    fn per(self) -> &'static str {
        match self {
            Amount::Bytes(_) => "per GiB",
            Amount::Objects { .. } => "per object (= s/1000 obj)",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Amount::Bytes(_) => "s/GiB",
            Amount::Objects { .. } => "ms/obj",
        }
    }

    /// `secs` of CPU per unit of this amount.
    fn cost(self, secs: f64) -> f64 {
        match self {
            Amount::Bytes(bytes) => Spent::per_gib(secs, bytes),
            Amount::Objects { count, .. } => Spent::ms_per_object(secs, count),
        }
    }

    /// The limit's CPU for the same bytes, in this amount's unit.
    fn limit_cost(self, limit_per_gib: f64) -> f64 {
        match self {
            Amount::Bytes(_) => limit_per_gib,
            Amount::Objects { size, .. } => limit_per_gib * size as f64 / (1u64 << 30) as f64 * 1000.0,
        }
    }
}

impl Report {
    /// Says which processes the CPU rows count.
    pub fn cpu_scope(&mut self, scope: Scope) {
        self.note(match scope {
            Scope::Cluster => {
                "CPU: utime + stime of every node of the local cluster, of `archipel dev` (archive \
                 front and S3 gateway, idle) and of this client; RATIO is to the limit's CPU for \
                 the same bytes"
            }
            Scope::ClientOnly => {
                "CPU: external cluster (--cluster), whose node processes are unknown: only this \
                 client's CPU is counted, with no ratio and no target"
            }
        });
    }

    pub(super) fn cpu_limit(&mut self, l: &Limit) {
        let write = format!("limit: CPU per GiB, hash + {} encode + shards", l.profile);
        self.push(write, l.write_cpu_per_gib, "s/GiB", None, None);
        let read = "limit: CPU per GiB, reads + verify + reassemble";
        self.push(read, l.read_cpu_per_gib, "s/GiB", None, None);
    }

    pub(super) fn cpu_large(&mut self, r: &Large, l: &Limit) {
        let Some(cpu) = r.cpu else { return };
        let amount = Amount::Bytes(r.bytes);
        self.cpu_rows("large PUT", amount, &cpu.put, l.write_cpu_per_gib, Some(LARGE_PUT));
        self.cpu_rows("large GET", amount, &cpu.get, l.read_cpu_per_gib, None);
    }

    pub(super) fn cpu_small(&mut self, size: usize, s: &Small, l: &Limit) {
        let Some(cpu) = s.cpu else { return };
        let kib = size >> 10;
        let amount = Amount::Objects { count: s.count, size };
        let target = (kib == 64).then_some(SMALL_PUT);
        self.cpu_rows(&format!("{kib} KiB PUT"), amount, &cpu.put, l.write_cpu_per_gib, target);
        self.cpu_rows(&format!("{kib} KiB GET"), amount, &cpu.get, l.read_cpu_per_gib, None);
    }

    /// Per GiB of rebuilt shards, against the write limit's CPU per GiB of object.
    pub(super) fn cpu_repair(&mut self, h: &Healing, l: &Limit) {
        let amount = Amount::Bytes(h.repair_bytes);
        self.cpu_rows("repair", amount, &h.repair_cpu, l.write_cpu_per_gib, None);
    }

    fn cpu_rows(&mut self, what: &str, amount: Amount, spent: &Spent, limit_per_gib: f64, target: Option<Target>) {
        if spent.exited > 0 {
            self.note(format!(
                "{what}: {} process(es) exited during the measure; their CPU is not counted",
                spent.exited
            ));
        }
        let unit = amount.unit();
        match spent.scope {
            Scope::Cluster => {
                let cluster = amount.cost(spent.secs);
                let ratio = cluster / amount.limit_cost(limit_per_gib).max(f64::MIN_POSITIVE);
                let name = format!("{what}: cluster CPU {}", amount.per());
                self.push(name, cluster, unit, Some(ratio), target);
                let client = amount.cost(spent.client_secs);
                self.push(format!("{what}: CPU of which this client"), client, unit, None, None);
            }
            Scope::ClientOnly => {
                let name = format!("{what}: client CPU only {}", amount.per());
                self.push(name, amount.cost(spent.client_secs), unit, None, None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Summary;
    use super::*;
    use crate::cmd::bench::workload::PutGetCpu;

    fn spent(scope: Scope, secs: f64, client_secs: f64) -> Spent {
        Spent {
            scope,
            secs,
            client_secs,
            exited: 0,
        }
    }

    fn large(put: Spent, get: Spent) -> Large {
        Large {
            bytes: 512 << 20,
            put_mbps: 100.0,
            get_mbps: 100.0,
            cpu: Some(PutGetCpu { put, get }),
        }
    }

    fn small(put: Spent, get: Spent) -> Small {
        Small {
            count: 2000,
            put_per_sec: 1.0,
            get_per_sec: 1.0,
            put_p50_ms: 1.0,
            put_p99_ms: 1.0,
            get_p50_ms: 1.0,
            get_p99_ms: 1.0,
            cpu: Some(PutGetCpu { put, get }),
        }
    }

    /// 4 CPU-seconds per GiB to write through the limit, 2 to read; its rows go first in `r`.
    fn limit_report(r: &mut Report) -> Limit {
        let l = Limit {
            profile: archipel_node::ec_profile::EcProfile::new(3, 3).unwrap(),
            pipeline_mbps: 100.0,
            read_pipeline_mbps: 100.0,
            write_cpu_per_gib: 4.0,
            read_cpu_per_gib: 2.0,
            disk_write_mbps: 100.0,
            disk_read_mbps: 100.0,
        };
        r.cpu_limit(&l);
        l
    }

    fn row<'a>(s: &'a Summary, name: &str) -> &'a super::super::SummaryRow {
        s.rows
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no row {name}"))
    }

    #[test]
    fn large_objects_cost_per_gib_and_their_ratio_to_the_limit_decides() {
        let mut r = Report::default();
        let l = limit_report(&mut r);
        // Half a GiB: 6 s of PUT is 12 s/GiB, 3 times the limit's 4; 1.5 s of GET is 3 s/GiB.
        r.cpu_large(
            &large(spent(Scope::Cluster, 6.0, 1.0), spent(Scope::Cluster, 1.5, 0.5)),
            &l,
        );
        let s = Summary::of(&[r]);
        let put = row(&s, "large PUT: cluster CPU per GiB");
        assert_eq!((put.value, put.ratio, put.unit), (12.0, Some(3.0), "s/GiB"));
        assert_eq!(put.pass, Some(false));
        assert_eq!(row(&s, "large PUT: CPU of which this client").value, 2.0);
        let get = row(&s, "large GET: cluster CPU per GiB");
        assert_eq!((get.value, get.ratio, get.pass), (3.0, Some(1.5), None));
    }

    #[test]
    fn twice_the_limit_per_gib_still_passes() {
        let mut r = Report::default();
        let l = limit_report(&mut r);
        let put = spent(Scope::Cluster, 4.0, 0.0);
        r.cpu_large(&large(put, put), &l);
        let s = Summary::of(&[r]);
        assert_eq!(row(&s, "large PUT: cluster CPU per GiB").ratio, Some(2.0));
        assert_eq!(row(&s, "large PUT: cluster CPU per GiB").pass, Some(true));
    }

    #[test]
    fn small_objects_are_judged_on_milliseconds_per_object_not_on_the_ratio() {
        let name = "64 KiB PUT: cluster CPU per object (= s/1000 obj)";
        let verdict = |secs: f64| {
            let mut r = Report::default();
            let l = limit_report(&mut r);
            let put = spent(Scope::Cluster, secs, 0.2);
            r.cpu_small(64 << 10, &small(put, put), &l);
            let s = Summary::of(&[r]);
            let row = row(&s, name);
            (row.value, row.ratio.unwrap(), row.pass)
        };
        // 1.6 s for 2000 objects: 0.8 ms each. The limit writes 64 KiB with 4 s/GiB / 16384
        // = 0.244 ms, so the ratio is 3.28, yet the 1 ms target is met.
        let (ms, ratio, pass) = verdict(1.6);
        assert!((ms - 0.8).abs() < 1e-12);
        assert!((ratio - 0.8 / (4.0 / 16384.0 * 1000.0)).abs() < 1e-9);
        assert_eq!(pass, Some(true));
        assert_eq!(verdict(2.4).2, Some(false));
    }

    #[test]
    fn only_64_kib_puts_have_a_target() {
        let mut r = Report::default();
        let l = limit_report(&mut r);
        let put = spent(Scope::Cluster, 1.0, 0.1);
        r.cpu_small(4 << 10, &small(put, put), &l);
        r.cpu_small(64 << 10, &small(put, put), &l);
        let s = Summary::of(&[r]);
        assert_eq!(row(&s, "4 KiB PUT: cluster CPU per object (= s/1000 obj)").pass, None);
        assert_eq!(row(&s, "64 KiB GET: cluster CPU per object (= s/1000 obj)").pass, None);
        assert_eq!(row(&s, "64 KiB PUT: CPU of which this client").value, 0.05);
    }

    #[test]
    fn an_external_cluster_shows_the_clients_cpu_without_ratio_or_target() {
        let mut r = Report::default();
        r.cpu_scope(Scope::ClientOnly);
        let l = limit_report(&mut r);
        let put = spent(Scope::ClientOnly, 0.5, 0.5);
        r.cpu_large(&large(put, put), &l);
        let s = Summary::of(&[r]);
        let row = row(&s, "large PUT: client CPU only per GiB");
        assert_eq!((row.value, row.ratio, row.pass), (1.0, None, None));
        assert!(s.rows.iter().all(|r| !r.name.contains("cluster CPU")));
        assert!(s.notes[0].contains("only this client's CPU is counted"));
    }

    #[test]
    fn a_process_that_exited_is_noted_once_over_the_runs() {
        let run = || {
            let mut r = Report::default();
            let l = limit_report(&mut r);
            let mut put = spent(Scope::Cluster, 1.0, 0.1);
            put.exited = 1;
            r.cpu_large(&large(put, spent(Scope::Cluster, 1.0, 0.1)), &l);
            r
        };
        let s = Summary::of(&[run(), run()]);
        assert_eq!(s.notes.len(), 1);
        assert!(s.notes[0].starts_with("large PUT: 1 process(es) exited"));
        assert_eq!(row(&s, "large PUT: cluster CPU per GiB").values, [2.0, 2.0]);
    }
}
