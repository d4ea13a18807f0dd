//! `archipel bench scale` on a hundred objects, so that CI goes through every step of it.
//! It checks the report's shape and that each step produced a measurement, never a time.

mod common;

use std::process::Command;

use common::{bin, serial};

const TIMED_STEPS: [&str; 6] = [
    "snapshot build, slowest node",
    "snapshot sent to a new node and installed",
    "new node caught up",
    "drain of one node",
    "scrub cycle, slowest node",
    "missing-shard pass, slowest node",
];

#[test]
fn bench_scale_measures_every_step_at_both_sizes() {
    let _g = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["bench", "scale", "--objects", "100", "--concurrency", "16"])
        // Snapshots every 50 entries (5 kept after): both runs build one and send it.
        .args(["--snapshot-after-logs", "50", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench scale failed: {stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(report["small"]["objects"], 10);
    assert_eq!(report["large"]["objects"], 100);
    for run in ["small", "large"] {
        // Six nodes and the newcomer, each with its peak from /proc.
        let rss = report[run]["rss_peak_bytes"].as_array().unwrap();
        let ids: Vec<u64> = rss.iter().map(|p| p[0].as_u64().unwrap()).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7], "{run}: {rss:?}");
        assert!(rss.iter().all(|p| p[1].as_u64().unwrap() > 0), "{run}: {rss:?}");
        assert!(report[run]["meta_bytes"].as_u64().unwrap() > 0);
    }
    let rows = report["rows"].as_array().unwrap();
    let row = |step: &str| {
        rows.iter()
            .find(|r| r["step"] == step)
            .unwrap_or_else(|| panic!("no row {step:?} in {rows:?}"))
    };
    for step in TIMED_STEPS {
        let r = row(step);
        assert!(r["small"].is_f64() && r["large"].is_f64(), "{step} not measured: {r}");
        // A step quicker than the bench's sampling (20 ms) at N/10 reads 0 there, and has no growth.
        assert!(r["growth"].is_f64() || r["small"] == 0.0, "{step}: {r}");
        assert!(r["projected_10m"].is_f64(), "{step}: {r}");
        assert!(r["pass"].is_boolean() && r["target"].is_string(), "{step}: {r}");
    }
    let rss = row("peak RSS, largest node");
    assert!(
        rss["pass"].is_boolean() && rss["large"].as_f64().unwrap() > 0.0,
        "{rss}"
    );
    row("load: PUT of every object");
    row("metadata store on disk, largest node");
    // Null only on nodes that keep their snapshot inside RocksDB rather than as a file.
    row("snapshot file, largest");
}
