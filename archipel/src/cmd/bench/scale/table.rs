//! The scale benchmark's table: each step at N/10 and at N, its growth, the figure
//! extrapolated to 10 M objects, and the target's verdict (pass / short).

use serde::Serialize;

/// What the issue asks of a 10x larger catalog: each step at most 12x slower.
const MAX_GROWTH: f64 = 12.0;
const RSS_LIMIT_MIB: f64 = 1024.0;
const RSS_AT: f64 = 1_000_000.0;
/// The catalog size the table extrapolates to.
const PROJECT_TO: f64 = 10_000_000.0;
const MIB: f64 = (1u64 << 20) as f64;

/// One run's figures (one cluster, one number of objects).
#[derive(Default, Serialize, Clone)]
pub struct Measured {
    pub objects: u64,
    pub load_secs: f64,
    /// (node id, peak RSS in bytes), the newcomer included.
    pub rss_peak_bytes: Vec<(u64, u64)>,
    pub meta_bytes: u64,
    /// None when the nodes keep no snapshot files.
    pub snapshot_bytes: Option<u64>,
    pub snapshot_build_secs: f64,
    /// None when the new node caught up from the log alone.
    pub snapshot_install_secs: Option<f64>,
    pub catch_up_secs: f64,
    pub drain_secs: f64,
    pub scrub_cycle_secs: f64,
    pub missing_pass_secs: f64,
}

impl Measured {
    fn max_rss_mib(&self) -> f64 {
        self.rss_peak_bytes.iter().map(|(_, b)| *b).max().unwrap_or(0) as f64 / MIB
    }
}

#[derive(Serialize)]
pub struct Table {
    pub small: Measured,
    pub large: Measured,
    pub rows: Vec<Row>,
}

#[derive(Serialize, Debug)]
pub struct Row {
    pub step: &'static str,
    pub unit: &'static str,
    pub small: Option<f64>,
    pub large: Option<f64>,
    /// large / small.
    pub growth: Option<f64>,
    /// At 10 M objects, from the two runs.
    pub projected_10m: Option<f64>,
    pub target: Option<String>,
    pub pass: Option<bool>,
}

/// Reads one step's time from a run.
type Figure = fn(&Measured) -> Option<f64>;

/// How a figure is carried to 10 M objects.
#[derive(Clone, Copy)]
enum Fit {
    /// a + b·n through the two runs (memory, disk).
    Linear,
    /// The larger of the linear fit and the power law through the two runs (times: the power
    /// law follows a step that grows faster than the catalog, the line one with a fixed cost).
    Time,
}

impl Table {
    pub fn of(small: &Measured, large: &Measured) -> Self {
        let (ns, nl) = (small.objects as f64, large.objects as f64);
        let row = |step, unit, s: Option<f64>, l: Option<f64>, fit: Fit, growth_target: bool| {
            let growth = match (s, l) {
                (Some(s), Some(l)) if s > 0.0 => Some(l / s),
                _ => None,
            };
            let projected_10m = match (s, l) {
                (Some(s), Some(l)) => Some(project(fit, (ns, s), (nl, l), PROJECT_TO)),
                _ => None,
            };
            let (target, pass) = if growth_target {
                (
                    Some(format!("≤ {MAX_GROWTH}x for {:.0}x objects", nl / ns.max(1.0))),
                    Some(growth.is_some_and(|g| g <= MAX_GROWTH)),
                )
            } else {
                (None, None)
            };
            Row {
                step,
                unit,
                small: s,
                large: l,
                growth,
                projected_10m,
                target,
                pass,
            }
        };
        let mut rows = vec![
            row(
                "load: PUT of every object",
                "s",
                Some(small.load_secs),
                Some(large.load_secs),
                Fit::Time,
                false,
            ),
            rss_row(small, large),
            row(
                "metadata store on disk, largest node",
                "MiB",
                Some(small.meta_bytes as f64 / MIB),
                Some(large.meta_bytes as f64 / MIB),
                Fit::Linear,
                false,
            ),
            row(
                "snapshot file, largest",
                "MiB",
                small.snapshot_bytes.map(|b| b as f64 / MIB),
                large.snapshot_bytes.map(|b| b as f64 / MIB),
                Fit::Linear,
                false,
            ),
        ];
        let timed: [(&'static str, Figure); 6] = [
            ("snapshot build, slowest node", |m| Some(m.snapshot_build_secs)),
            ("snapshot sent to a new node and installed", |m| m.snapshot_install_secs),
            ("new node caught up", |m| Some(m.catch_up_secs)),
            ("drain of one node", |m| Some(m.drain_secs)),
            ("scrub cycle, slowest node", |m| Some(m.scrub_cycle_secs)),
            ("missing-shard pass, slowest node", |m| Some(m.missing_pass_secs)),
        ];
        for (step, get) in timed {
            rows.push(row(step, "s", get(small), get(large), Fit::Time, true));
        }
        Self {
            small: small.clone(),
            large: large.clone(),
            rows,
        }
    }

    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            crate::output::print_json(self)?;
            return Ok(());
        }
        outln!(
            "scale: {} and {} objects; GROWTH = figure at {} / figure at {}; AT 10 M extrapolated from the two",
            self.small.objects,
            self.large.objects,
            self.large.objects,
            self.small.objects
        );
        outln!(
            "{:<44} {:>10} {:>10} {:<4} {:>7} {:>10}  TARGET",
            "STEP",
            format!("N={}", self.small.objects),
            format!("N={}", self.large.objects),
            "UNIT",
            "GROWTH",
            "AT 10 M"
        );
        let num = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "—".into());
        for r in &self.rows {
            let verdict = match (&r.target, r.pass) {
                (Some(t), Some(true)) => format!("{t}: pass"),
                (Some(t), _) => format!("{t}: SHORT"),
                _ => String::new(),
            };
            outln!(
                "{:<44} {:>10} {:>10} {:<4} {:>7} {:>10}  {verdict}",
                r.step,
                num(r.small),
                num(r.large),
                r.unit,
                r.growth.map(|g| format!("{g:.2}x")).unwrap_or_else(|| "—".into()),
                num(r.projected_10m),
            );
        }
        let each = |m: &Measured| {
            m.rss_peak_bytes
                .iter()
                .map(|(id, b)| format!("{id}: {:.0}", *b as f64 / MIB))
                .collect::<Vec<_>>()
                .join(", ")
        };
        outln!(
            "peak RSS per node, MiB, at {}: {}",
            self.small.objects,
            each(&self.small)
        );
        outln!(
            "peak RSS per node, MiB, at {}: {}",
            self.large.objects,
            each(&self.large)
        );
        if self.large.snapshot_bytes.is_none() {
            outln!("(no snapshot file: these nodes keep their snapshot inside RocksDB)");
        }
        if self.large.snapshot_install_secs.is_none() {
            outln!("(the new node caught up from the log alone: no snapshot was sent)");
        }
        Ok(())
    }
}

/// Peak RSS of the largest node, judged at 1 M objects on the line through the two runs.
fn rss_row(small: &Measured, large: &Measured) -> Row {
    let (s, l) = (small.max_rss_mib(), large.max_rss_mib());
    let (ns, nl) = (small.objects as f64, large.objects as f64);
    let at_1m = project(Fit::Linear, (ns, s), (nl, l), RSS_AT);
    Row {
        step: "peak RSS, largest node",
        unit: "MiB",
        small: Some(s),
        large: Some(l),
        growth: (s > 0.0).then(|| l / s),
        projected_10m: Some(project(Fit::Linear, (ns, s), (nl, l), PROJECT_TO)),
        target: Some(format!("≤ {RSS_LIMIT_MIB:.0} MiB at 1 M (line: {at_1m:.0})")),
        pass: Some(at_1m <= RSS_LIMIT_MIB),
    }
}

/// The figure at `n` objects from the runs `(n1, y1)` and `(n2, y2)`.
fn project(fit: Fit, (n1, y1): (f64, f64), (n2, y2): (f64, f64), n: f64) -> f64 {
    if n2 <= n1 {
        return y2;
    }
    let linear = y1 + (y2 - y1) / (n2 - n1) * (n - n1);
    match fit {
        Fit::Linear => linear,
        Fit::Time if y1 > 0.0 && y2 > 0.0 => {
            let exponent = (y2 / y1).ln() / (n2 / n1).ln();
            linear.max(y2 * (n / n2).powf(exponent))
        }
        Fit::Time => linear,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(objects: u64, secs: f64, rss_mib: u64) -> Measured {
        Measured {
            objects,
            load_secs: secs,
            rss_peak_bytes: vec![(1, rss_mib << 20), (2, (rss_mib / 2) << 20)],
            meta_bytes: objects * 1000,
            snapshot_bytes: None,
            snapshot_build_secs: secs,
            snapshot_install_secs: Some(secs),
            catch_up_secs: secs,
            drain_secs: secs * 2.0,
            scrub_cycle_secs: secs,
            missing_pass_secs: secs,
        }
    }

    #[test]
    fn growth_is_the_ratio_and_only_steps_past_twelve_times_are_short() {
        let mut large = run(1000, 11.0, 300);
        large.drain_secs = 26.0; // 13x the small run's 2 s
        let t = Table::of(&run(100, 1.0, 200), &large);
        let get = |name: &str| t.rows.iter().find(|r| r.step == name).expect(name);
        let build = get("snapshot build, slowest node");
        assert_eq!((build.growth, build.pass), (Some(11.0), Some(true)));
        assert_eq!(get("drain of one node").pass, Some(false));
        let snap = get("snapshot file, largest");
        assert_eq!((snap.small, snap.growth, snap.projected_10m), (None, None, None));
        assert_eq!(get("load: PUT of every object").pass, None);
    }

    #[test]
    fn rss_is_judged_at_one_million_on_the_line_through_both_runs() {
        // 200 MiB at 10 k, 300 MiB at 100 k: 1300 MiB at 1 M on the line.
        let t = Table::of(&run(10_000, 1.0, 200), &run(100_000, 2.0, 300));
        let rss = &t.rows[1];
        assert_eq!(rss.pass, Some(false));
        assert!(rss.target.as_deref().is_some_and(|s| s.contains("1300")), "{rss:?}");
        let t = Table::of(&run(10_000, 1.0, 200), &run(100_000, 2.0, 210));
        assert_eq!(t.rows[1].pass, Some(true));
    }

    #[test]
    fn times_extrapolate_by_the_steeper_of_the_line_and_the_power_law() {
        // Linear: 1 s + 0.1 s per 1000 → 1000 s at 10 M (the line through (1e4, 1), (1e5, 10)).
        assert!((project(Fit::Time, (1e4, 1.0), (1e5, 10.0), 1e7) - 1000.0).abs() < 1e-6);
        // 12x per 10x: the power law gives 12 · 144 = 1728 s, above the line's 1222 s.
        assert!((project(Fit::Time, (1e4, 1.0), (1e5, 12.0), 1e7) - 1728.0).abs() < 1e-6);
        // A fixed cost (5 s → 6 s): the line, 116 s, is above the power law.
        let line = project(Fit::Linear, (1e4, 5.0), (1e5, 6.0), 1e7);
        assert!((project(Fit::Time, (1e4, 5.0), (1e5, 6.0), 1e7) - line).abs() < 1e-9);
    }
}
