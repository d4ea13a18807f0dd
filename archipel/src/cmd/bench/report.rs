//! The benchmark's table: each figure, its ratio to the limit, and the target (pass / short).

use serde::Serialize;

use super::healing::Healing;
use super::limit::Limit;
use super::workload::{Large, Small};

#[derive(Serialize, Default)]
pub struct Report {
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    name: String,
    value: f64,
    unit: &'static str,
    /// Figure divided by the limit it is compared with, when there is one.
    ratio: Option<f64>,
    target: Option<String>,
    pass: Option<bool>,
}

impl Report {
    fn push(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        ratio: Option<f64>,
        target: Option<(String, bool)>,
    ) {
        self.rows.push(Row {
            name: name.into(),
            value,
            unit,
            ratio,
            pass: target.as_ref().map(|t| t.1),
            target: target.map(|t| t.0),
        });
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
        self.push("limit: raw disk write (fsync'd)", l.disk_write_mbps, "MB/s", None, None);
        self.push("limit: raw disk read (uncached)", l.disk_read_mbps, "MB/s", None, None);
    }

    pub fn large(&mut self, r: &Large, l: &Limit) {
        let put = r.put_mbps / l.pipeline_mbps;
        let get = r.get_mbps / l.read_pipeline_mbps;
        self.push(
            format!("large PUT ({} MiB)", r.bytes >> 20),
            r.put_mbps,
            "MB/s",
            Some(put),
            Some(("≥ 0.80 of the limit".into(), put >= 0.8)),
        );
        self.push(
            format!("large GET ({} MiB)", r.bytes >> 20),
            r.get_mbps,
            "MB/s",
            Some(get),
            Some(("≥ 0.90 of the read limit".into(), get >= 0.9)),
        );
    }

    pub fn small(&mut self, size: usize, s: &Small) {
        let kib = size >> 10;
        let target = (kib == 64).then(|| ("≥ 2000/s".to_owned(), s.put_per_sec >= 2000.0));
        self.push(format!("{kib} KiB PUT"), s.put_per_sec, "obj/s", None, target);
        self.push(format!("{kib} KiB PUT p50"), s.put_p50_ms, "ms", None, None);
        self.push(format!("{kib} KiB PUT p99"), s.put_p99_ms, "ms", None, None);
        self.push(format!("{kib} KiB GET"), s.get_per_sec, "obj/s", None, None);
        self.push(format!("{kib} KiB GET p50"), s.get_p50_ms, "ms", None, None);
        self.push(format!("{kib} KiB GET p99"), s.get_p99_ms, "ms", None, None);
    }

    pub fn healing(&mut self, h: &Healing, l: &Limit) {
        let repair = h.repair_mbps / l.disk_write_mbps;
        self.push(
            format!("repair (drain of {} MiB)", h.repair_bytes >> 20),
            h.repair_mbps,
            "MB/s",
            Some(repair),
            Some(("≥ 0.50 of disk write".into(), repair >= 0.5)),
        );
        self.push(
            "scrub (cluster, while measured)",
            h.scrub_mbps,
            "MB/s",
            Some(h.scrub_mbps / l.disk_read_mbps),
            None,
        );
        let cost = h.p99_scrubbing_ms / h.p99_idle_ms.max(1e-9) - 1.0;
        self.push("GET p99 without scrub", h.p99_idle_ms, "ms", None, None);
        self.push(
            "GET p99 with scrub",
            h.p99_scrubbing_ms,
            "ms",
            Some(cost + 1.0),
            Some(("cost ≤ 20 %".into(), cost <= 0.2)),
        );
    }

    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            crate::output::print_json(self)?;
            return Ok(());
        }
        println!(
            "{:<44} {:>12} {:<6} {:>7}  {:<22}",
            "MEASURE", "VALUE", "UNIT", "RATIO", "TARGET"
        );
        for r in &self.rows {
            let ratio = r.ratio.map(|x| format!("{x:.2}")).unwrap_or_default();
            let target = match (&r.target, r.pass) {
                (Some(t), Some(true)) => format!("{t}: pass"),
                (Some(t), Some(false)) => format!("{t}: SHORT"),
                _ => String::new(),
            };
            println!(
                "{:<44} {:>12.1} {:<6} {:>7}  {:<22}",
                r.name, r.value, r.unit, ratio, target
            );
        }
        Ok(())
    }
}
