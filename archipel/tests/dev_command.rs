//! `archipel dev`: one command, a multi-site cluster of separate processes, clean shutdown.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, serial};

/// A run of free ports below Linux's ephemeral range (32768+), where outgoing connections
/// would otherwise take them.
fn free_base_port(count: u16) -> u16 {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    loop {
        let base: u16 = rng.gen_range(20_000..30_000);
        if (base..base + count).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
}

#[test]
fn dev_starts_a_cluster_reuses_its_dir_and_stops_cleanly() {
    let _g = serial();
    let data = tempfile::tempdir().unwrap();
    let base = free_base_port(6);
    let port_arg = base.to_string();
    let stderr_path = data.path().join("dev.stderr");
    for round in 0..2 {
        let mut dev = Command::new(bin())
            .args(["dev", "--data"])
            .arg(data.path())
            .args([
                "--sites",
                "3",
                "--nodes-per-site",
                "2",
                "--base-port",
                &port_arg,
                "--archive-port",
                "0",
                "--vitam-port",
                "0",
            ])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(dev.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let cluster = line
            .trim()
            .strip_prefix("ARCHIPEL_CLUSTER=")
            .unwrap_or_else(|| {
                panic!(
                    "got {line:?}; stderr: {}",
                    std::fs::read_to_string(&stderr_path).unwrap_or_default()
                )
            })
            .to_owned();
        assert_eq!(cluster.split(',').count(), 6);
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let archive = line
            .trim()
            .strip_prefix("ARCHIPEL_ARCHIVE=")
            .unwrap_or_else(|| panic!("dev must print the archive front next: {line:?}"))
            .to_owned();
        // Then the doors (docs/connectors.md).
        for prefix in ["ARCHIPEL_ASALAE=http://", "ARCHIPEL_VITAM=https://"] {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            assert!(line.starts_with(prefix), "dev must print {prefix}…: {line:?}");
        }
        // The local CLI needs no credential against the dev front, and its state outlives a restart.
        let args: &[&str] = if round == 0 {
            &["archive", "tenant", "add", "devtest", "--json"]
        } else {
            &["archive", "tenant", "list", "--json"]
        };
        let out = Command::new(bin())
            .args(args)
            .env("ARCHIPEL_ARCHIVE", &archive)
            .env_remove("ARCHIPEL_TOKEN")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("devtest"));

        let mut pids = Vec::new();
        for id in 1..=6 {
            let pid: i32 = std::fs::read_to_string(data.path().join(id.to_string()).join("archipel.pid"))
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            assert_eq!(unsafe { libc::kill(pid, 0) }, 0, "node {id} runs as its own process");
            pids.push(pid);
        }
        assert_eq!(pids.iter().collect::<std::collections::BTreeSet<_>>().len(), 6);

        let status = Command::new(bin())
            .args(["status", "--json", "--cluster", &cluster])
            .output()
            .unwrap();
        let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
        assert_eq!(s["nodes"].as_array().unwrap().len(), 6, "{s:#}");
        if round == 0 {
            let out = Command::new(bin())
                .args(["meta", "put", "dev", "marker", "kept", "--cluster", &cluster])
                .output()
                .unwrap();
            assert!(out.status.success());
        } else {
            let out = Command::new(bin())
                .args(["meta", "get", "dev", "marker", "--cluster", &cluster])
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "kept",
                "the second start reuses the data"
            );
        }

        unsafe { libc::kill(dev.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(code) = dev.try_wait().unwrap() {
                assert!(code.success(), "dev exits cleanly: {code}");
                break;
            }
            assert!(Instant::now() < deadline, "dev did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
        for pid in pids {
            assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "node pid {pid} stopped with dev");
        }
    }
}
