//! Helpers for the disposal tests: a front over a cluster with chosen tuning and front flags,
//! unit ids from an ATR, and a search for bytes over the nodes' data directories.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::{front_log, shared, Front, SITES};
use crate::common::{bin, TestCluster, Tuning};

impl Front {
    /// A front over a cluster started with `tuning`, `archipel archive serve` given `args` too.
    pub fn start_with(tuning: Tuning, args: &[&str]) -> Self {
        let cluster = TestCluster::start(&SITES, 2, tuning);
        cluster.wait_healthy(Duration::from_secs(30));
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(["archive", "serve", "--listen", "127.0.0.1:0", "--spool"])
            .arg(dir.path().join("spool"))
            .args(args)
            .env("ARCHIPEL_CLUSTER", cluster.addrs())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(dir.path().join("front.log")).unwrap(),
            ));
        let pronom = shared().join("pronom");
        if pronom.is_dir() {
            cmd.arg("--pronom-dir").arg(&pronom);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("ARCHIPEL_ARCHIVE=")
            .unwrap_or_else(|| panic!("front did not start: {line:?}; log: {}", front_log(dir.path())))
            .to_owned();
        let out = cluster.cli(&["archive", "token", "bootstrap", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let operator = v["token"].as_str().unwrap().to_owned();
        Self {
            cluster,
            url,
            operator,
            dir,
            child,
        }
    }
}

/// Archipel's id of the unit the SIP calls `sip_id`, read from the ATR.
pub fn system_id(atr: &str, sip_id: &str) -> String {
    let at = atr
        .find(&format!("<ArchiveUnit id=\"{sip_id}\">"))
        .unwrap_or_else(|| panic!("unit {sip_id} not in the ATR:\n{atr}"));
    let rest = &atr[at..];
    let start = rest.find("<SystemId>").unwrap() + "<SystemId>".len();
    rest[start..start + rest[start..].find("</SystemId>").unwrap()].to_owned()
}

/// The files under `root` holding `needle`.
pub fn files_holding(root: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    found.push(path);
                }
            }
        }
    }
    found
}
