//! CPU time spent by the processes of a run: the local cluster's (its nodes and `archipel dev`)
//! and this bench's own, read from `/proc/<pid>/stat` before and after each workload. CPU per
//! byte and per request is what carries over to a deployment where each node has its own cores.

use std::collections::BTreeMap;

/// Which processes a [`Meter`] counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    /// Every process of the local cluster and this client.
    Cluster,
    /// This client only: an external cluster's node pids are unknown (`--cluster`).
    ClientOnly,
}

/// CPU seconds spent over one workload.
#[derive(Clone, Copy, Debug)]
pub struct Spent {
    pub scope: Scope,
    /// Every counted process, this client included.
    pub secs: f64,
    pub client_secs: f64,
    /// Processes that exited meanwhile: their CPU is missing from `secs`.
    pub exited: usize,
}

const GIB: f64 = (1u64 << 30) as f64;

impl Spent {
    /// CPU seconds per GiB of `bytes`.
    pub fn per_gib(secs: f64, bytes: u64) -> f64 {
        secs / (bytes as f64 / GIB).max(f64::MIN_POSITIVE)
    }

    /// CPU milliseconds per object, which is also CPU seconds per 1 000 objects.
    pub fn ms_per_object(secs: f64, objects: usize) -> f64 {
        secs * 1000.0 / objects.max(1) as f64
    }
}

/// utime + stime of each readable process, in clock ticks.
#[derive(Clone, Debug, Default)]
pub struct Sample(BTreeMap<u32, u64>);

pub struct Meter {
    scope: Scope,
    client: u32,
    /// The cluster's processes (empty for [`Scope::ClientOnly`]).
    others: Vec<u32>,
    ticks_per_sec: f64,
}

impl Meter {
    /// Counts `cluster_pids` and this process.
    pub fn cluster(cluster_pids: Vec<u32>) -> Self {
        Self::new(Scope::Cluster, cluster_pids)
    }

    pub fn client_only() -> Self {
        Self::new(Scope::ClientOnly, Vec::new())
    }

    fn new(scope: Scope, others: Vec<u32>) -> Self {
        // SAFETY: sysconf reads a constant of the system.
        let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Self {
            scope,
            client: std::process::id(),
            others,
            // 100 is Linux's USER_HZ everywhere, if sysconf fails.
            ticks_per_sec: if tck > 0 { tck as f64 } else { 100.0 },
        }
    }

    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// A process that cannot be read (it exited) is left out; the sample never fails.
    pub fn sample(&self) -> Sample {
        let pids = std::iter::once(self.client).chain(self.others.iter().copied());
        Sample(pids.filter_map(|pid| Some((pid, read_ticks(pid)?))).collect())
    }

    /// CPU spent since `start`, by the processes readable at both ends.
    pub fn since(&self, start: &Sample) -> Spent {
        self.between(start, &self.sample())
    }

    fn between(&self, start: &Sample, end: &Sample) -> Spent {
        let (ticks, exited) = ticks_between(start, end);
        let client = match (start.0.get(&self.client), end.0.get(&self.client)) {
            (Some(a), Some(b)) => b.saturating_sub(*a),
            _ => 0,
        };
        Spent {
            scope: self.scope,
            secs: ticks as f64 / self.ticks_per_sec,
            client_secs: client as f64 / self.ticks_per_sec,
            exited,
        }
    }
}

/// Ticks spent between two samples, summed over the processes in both, and how many processes
/// of `start` are missing from `end`.
fn ticks_between(start: &Sample, end: &Sample) -> (u64, usize) {
    let mut ticks = 0;
    let mut exited = 0;
    for (pid, before) in &start.0 {
        match end.0.get(pid) {
            Some(after) => ticks += after.saturating_sub(*before),
            None => exited += 1,
        }
    }
    (ticks, exited)
}

fn read_ticks(pid: u32) -> Option<u64> {
    parse_stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line. The command name (field 2)
/// is in parentheses and may itself hold spaces and parentheses, so the fields are counted from
/// the last `)`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state): utime is field 14.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU seconds this process has used so far, all threads, with getrusage's microseconds (finer
/// than `/proc`'s ticks, for the limit's short steps).
pub fn own_secs() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() {
        let stat = "123 (a (b) c) S 1 123 123 0 -1 4194560 100 0 0 0 250 40 0 0 20 0 3 0 900 1000 200";
        assert_eq!(parse_stat_ticks(stat), Some(290));
        let plain = "7 (archipel) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 1 1\n";
        assert_eq!(parse_stat_ticks(plain), Some(11));
    }

    #[test]
    fn a_truncated_or_garbled_stat_line_gives_nothing() {
        assert_eq!(parse_stat_ticks("123 (x) S 1 2 3"), None);
        assert_eq!(parse_stat_ticks("no parenthesis at all"), None);
        assert_eq!(parse_stat_ticks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 6"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        assert!(read_ticks(std::process::id()).is_some());
    }

    #[test]
    fn a_process_that_exited_is_left_out_and_counted_as_exited() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let meter = Meter::cluster(vec![gone]);
        let end = meter.sample();
        assert!(end.0.contains_key(&std::process::id()));
        assert!(!end.0.contains_key(&gone));
        // As if it had been read before it exited.
        let mut start = end.clone();
        start.0.insert(gone, 500);
        *start.0.get_mut(&std::process::id()).unwrap() -= 3.min(end.0[&std::process::id()]);
        let spent = meter.between(&start, &end);
        assert_eq!(spent.exited, 1);
        assert_eq!(spent.secs, spent.client_secs);
    }

    #[test]
    fn ticks_are_summed_over_the_processes_present_at_both_ends() {
        let start = Sample([(1, 100), (2, 50), (3, 10)].into());
        let end = Sample([(1, 130), (3, 15), (4, 999)].into());
        assert_eq!(ticks_between(&start, &end), (35, 1));
    }

    #[test]
    fn per_gib_and_per_object_scale_the_seconds() {
        assert_eq!(Spent::per_gib(3.0, 512 << 20), 6.0);
        assert_eq!(Spent::per_gib(1.5, 3 << 30), 0.5);
        // 2.4 CPU-seconds for 2000 objects: 1.2 ms each, 1.2 s per 1 000.
        assert!((Spent::ms_per_object(2.4, 2000) - 1.2).abs() < 1e-12);
        assert_eq!(Spent::ms_per_object(1.0, 0), 1000.0);
    }
}
