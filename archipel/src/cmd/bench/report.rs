//! The benchmark's table: each figure, its ratio to the limit, and the target (pass / short).
//! Over several runs, each figure is the median of its runs, with every run kept beside it.

mod cpu;

use serde::Serialize;

use super::healing::Healing;
use super::limit::Limit;
use super::workload::{Large, Small};

/// One run's figures, in the order they were measured.
#[derive(Default)]
pub struct Report {
    rows: Vec<Row>,
    /// Said once under the table (what was counted, what is missing).
    notes: Vec<String>,
}

struct Row {
    name: String,
    value: f64,
    unit: &'static str,
    /// Figure divided by the limit it is compared with, when there is one.
    ratio: Option<f64>,
    target: Option<Target>,
}

/// A pass/short verdict on the ratio (or, without one or when `on_value`, the value).
#[derive(Clone, Copy)]
struct Target {
    text: &'static str,
    bound: f64,
    at_least: bool,
    on_value: bool,
}

impl Target {
    const fn at_least(text: &'static str, bound: f64) -> Self {
        Self {
            text,
            bound,
            at_least: true,
            on_value: false,
        }
    }
    const fn at_most(text: &'static str, bound: f64) -> Self {
        Self {
            text,
            bound,
            at_least: false,
            on_value: false,
        }
    }
    /// On the value even when the row has a ratio.
    const fn value_at_most(text: &'static str, bound: f64) -> Self {
        Self {
            on_value: true,
            ..Self::at_most(text, bound)
        }
    }
    /// The figure this target judges.
    fn judged(&self, value: f64, ratio: Option<f64>) -> f64 {
        match ratio {
            Some(r) if !self.on_value => r,
            _ => value,
        }
    }
    fn pass(&self, x: f64) -> bool {
        if self.at_least {
            x >= self.bound
        } else {
            x <= self.bound
        }
    }
}

impl Report {
    fn push(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        ratio: Option<f64>,
        target: Option<Target>,
    ) {
        self.rows.push(Row {
            name: name.into(),
            value,
            unit,
            ratio,
            target,
        });
    }

    fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.notes.contains(&text) {
            self.notes.push(text);
        }
    }

    pub fn limit(&mut self, l: &Limit) {
        self.push(
            format!("limit: hash + {} encode + fsync'd shards", l.profile),
            l.pipeline_mbps,
            "MB/s",
            None,
            None,
        );
        self.push(
            "limit: uncached shard reads + verify + reassemble + hash",
            l.read_pipeline_mbps,
            "MB/s",
            None,
            None,
        );
        self.cpu_limit(l);
        self.push("limit: raw disk write (fsync'd)", l.disk_write_mbps, "MB/s", None, None);
        self.push("limit: raw disk read (uncached)", l.disk_read_mbps, "MB/s", None, None);
    }

    pub fn large(&mut self, r: &Large, l: &Limit) {
        self.push(
            format!("large PUT ({} MiB)", r.bytes >> 20),
            r.put_mbps,
            "MB/s",
            Some(r.put_mbps / l.pipeline_mbps),
            Some(Target::at_least("≥ 0.80 of the limit", 0.8)),
        );
        self.push(
            format!("large GET ({} MiB)", r.bytes >> 20),
            r.get_mbps,
            "MB/s",
            Some(r.get_mbps / l.read_pipeline_mbps),
            Some(Target::at_least("≥ 0.90 of the read limit", 0.9)),
        );
        self.cpu_large(r, l);
    }

    pub fn small(&mut self, size: usize, s: &Small, l: &Limit) {
        let kib = size >> 10;
        let target = (kib == 64).then_some(Target::at_least("≥ 2000/s", 2000.0));
        self.push(format!("{kib} KiB PUT"), s.put_per_sec, "obj/s", None, target);
        self.push(format!("{kib} KiB PUT p50"), s.put_p50_ms, "ms", None, None);
        self.push(format!("{kib} KiB PUT p99"), s.put_p99_ms, "ms", None, None);
        self.push(format!("{kib} KiB GET"), s.get_per_sec, "obj/s", None, None);
        self.push(format!("{kib} KiB GET p50"), s.get_p50_ms, "ms", None, None);
        self.push(format!("{kib} KiB GET p99"), s.get_p99_ms, "ms", None, None);
        self.cpu_small(size, s, l);
    }

    /// The gateway's large-object figures as ratios to the client crate's, measured just before.
    pub fn s3_large(&mut self, gateway: &Large, direct: &Large) {
        let mib = gateway.bytes >> 20;
        self.push(
            format!("client crate: large PUT ({mib} MiB)"),
            direct.put_mbps,
            "MB/s",
            None,
            None,
        );
        self.push(
            format!("S3 gateway: large PUT ({mib} MiB)"),
            gateway.put_mbps,
            "MB/s",
            Some(gateway.put_mbps / direct.put_mbps),
            Some(Target::at_least("≥ 0.90 of the client crate", 0.9)),
        );
        self.push(
            format!("client crate: large GET ({mib} MiB)"),
            direct.get_mbps,
            "MB/s",
            None,
            None,
        );
        self.push(
            format!("S3 gateway: large GET ({mib} MiB)"),
            gateway.get_mbps,
            "MB/s",
            Some(gateway.get_mbps / direct.get_mbps),
            Some(Target::at_least("≥ 0.90 of the client crate", 0.9)),
        );
    }

    /// The gateway's 64 KiB figures as ratios to the client crate's.
    pub fn s3_small(&mut self, gateway: &Small, direct: &Small) {
        let target = Some(Target::at_least("≥ 0.80 of the client crate", 0.8));
        self.push("client crate: 64 KiB PUT", direct.put_per_sec, "obj/s", None, None);
        self.push(
            "S3 gateway: 64 KiB PUT",
            gateway.put_per_sec,
            "obj/s",
            Some(gateway.put_per_sec / direct.put_per_sec),
            target,
        );
        self.push("client crate: 64 KiB PUT p50", direct.put_p50_ms, "ms", None, None);
        self.push("S3 gateway: 64 KiB PUT p50", gateway.put_p50_ms, "ms", None, None);
        self.push("client crate: 64 KiB GET", direct.get_per_sec, "obj/s", None, None);
        self.push(
            "S3 gateway: 64 KiB GET",
            gateway.get_per_sec,
            "obj/s",
            Some(gateway.get_per_sec / direct.get_per_sec),
            target,
        );
        self.push("client crate: 64 KiB GET p50", direct.get_p50_ms, "ms", None, None);
        self.push("S3 gateway: 64 KiB GET p50", gateway.get_p50_ms, "ms", None, None);
    }

    pub fn healing(&mut self, h: &Healing, l: &Limit) {
        self.push(
            format!("repair (drain of {} MiB)", h.repair_bytes >> 20),
            h.repair_mbps,
            "MB/s",
            Some(h.repair_mbps / l.disk_write_mbps),
            Some(Target::at_least("≥ 0.50 of disk write", 0.5)),
        );
        self.cpu_repair(h, l);
        self.push(
            "scrub (cluster, while measured)",
            h.scrub_mbps,
            "MB/s",
            Some(h.scrub_mbps / l.disk_read_mbps),
            None,
        );
        self.push("GET p99 without scrub", h.p99_idle_ms, "ms", None, None);
        self.push(
            "GET p99 with scrub",
            h.p99_scrubbing_ms,
            "ms",
            Some(h.p99_scrubbing_ms / h.p99_idle_ms.max(1e-9)),
            Some(Target::at_most("cost ≤ 20 %", 1.2)),
        );
    }
}

/// Every run's figures, summarised row by row.
#[derive(Serialize)]
pub struct Summary {
    runs: usize,
    rows: Vec<SummaryRow>,
    /// Every run's notes, each once.
    notes: Vec<String>,
}

#[derive(Serialize)]
struct SummaryRow {
    name: String,
    unit: &'static str,
    /// Median over the runs.
    value: f64,
    ratio: Option<f64>,
    target: Option<&'static str>,
    /// The median's verdict.
    pass: Option<bool>,
    /// How many runs met the target on their own.
    runs_passed: Option<usize>,
    values: Vec<f64>,
    ratios: Vec<f64>,
}

impl Summary {
    /// `runs` were made with the same arguments, so their rows line up.
    pub fn of(runs: &[Report]) -> Self {
        let first = runs.first().map(|r| r.rows.as_slice()).unwrap_or_default();
        let rows = first
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let same: Vec<&Row> = runs.iter().filter_map(|r| r.rows.get(i)).collect();
                let values: Vec<f64> = same.iter().map(|r| r.value).collect();
                let ratios: Vec<f64> = same.iter().filter_map(|r| r.ratio).collect();
                let ratio = (!ratios.is_empty()).then(|| median(&ratios));
                SummaryRow {
                    name: row.name.clone(),
                    unit: row.unit,
                    value: median(&values),
                    ratio,
                    target: row.target.map(|t| t.text),
                    pass: row.target.map(|t| t.pass(t.judged(median(&values), ratio))),
                    runs_passed: row
                        .target
                        .map(|t| same.iter().filter(|r| t.pass(t.judged(r.value, r.ratio))).count()),
                    values,
                    ratios,
                }
            })
            .collect();
        let mut notes: Vec<String> = Vec::new();
        for note in runs.iter().flat_map(|r| &r.notes) {
            if !notes.contains(note) {
                notes.push(note.clone());
            }
        }
        Self {
            runs: runs.len(),
            rows,
            notes,
        }
    }

    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            crate::output::print_json(self)?;
            return Ok(());
        }
        if self.runs > 1 {
            outln!("median of {} runs; RUNS lists each run's value", self.runs);
        }
        outln!(
            "{:<52} {:>10} {:<6} {:>6}  {:<30} RUNS",
            "MEASURE",
            "VALUE",
            "UNIT",
            "RATIO",
            "TARGET"
        );
        for r in &self.rows {
            let ratio = r.ratio.map(|x| format!("{x:.2}")).unwrap_or_default();
            let target = match (r.target, r.pass, r.runs_passed) {
                (Some(t), Some(pass), Some(n)) => {
                    let verdict = if pass { "pass" } else { "SHORT" };
                    if self.runs > 1 {
                        format!("{t}: {verdict} ({n}/{})", self.runs)
                    } else {
                        format!("{t}: {verdict}")
                    }
                }
                _ => String::new(),
            };
            let each = if self.runs > 1 {
                r.values.iter().map(|v| format!("{v:.1}")).collect::<Vec<_>>().join(" ")
            } else {
                String::new()
            };
            outln!(
                "{:<52} {:>10.1} {:<6} {:>6}  {:<30} {each}",
                r.name,
                r.value,
                r.unit,
                ratio,
                target
            );
        }
        for note in &self.notes {
            outln!("note: {note}");
        }
        Ok(())
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(put: f64, limit: f64) -> Report {
        let mut r = Report::default();
        r.push("limit", limit, "MB/s", None, None);
        r.push(
            "large PUT",
            put,
            "MB/s",
            Some(put / limit),
            Some(Target::at_least("≥ 0.80", 0.8)),
        );
        r.push("p99", 5.0, "ms", Some(1.1), Some(Target::at_most("≤ 1.2", 1.2)));
        r
    }

    #[test]
    fn the_summary_takes_each_rows_median_and_counts_the_runs_that_passed() {
        let s = Summary::of(&[run(90.0, 100.0), run(70.0, 100.0), run(85.0, 100.0)]);
        assert_eq!(s.runs, 3);
        let put = &s.rows[1];
        assert_eq!(put.value, 85.0);
        assert_eq!(put.ratio, Some(0.85));
        assert_eq!((put.pass, put.runs_passed), (Some(true), Some(2)));
        assert_eq!(put.values, [90.0, 70.0, 85.0]);
        assert_eq!((s.rows[2].pass, s.rows[2].runs_passed), (Some(true), Some(3)));
        assert_eq!((s.rows[0].pass, s.rows[0].runs_passed), (None, None));
    }

    #[test]
    fn an_even_number_of_runs_averages_the_middle_two() {
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
