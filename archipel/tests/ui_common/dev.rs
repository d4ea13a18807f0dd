//! `archipel dev` in a temporary directory, read as `scripts/dev.sh` users read it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::common::bin;

pub struct Dev {
    pub dir: tempfile::TempDir,
    /// `ARCHIPEL_…` lines printed on start.
    pub printed: HashMap<String, String>,
    child: Child,
}

impl Drop for Dev {
    fn drop(&mut self) {
        // SIGTERM lets `dev` stop its nodes.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

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

impl Dev {
    /// Starts a 3-site cluster of 2 nodes each with its front; `extra` goes to `archipel dev`.
    pub fn start(extra: &[&str]) -> Dev {
        let dir = tempfile::tempdir().unwrap();
        let base = free_base_port(6).to_string();
        let mut child = Command::new(bin())
            .args(["dev", "--data"])
            .arg(dir.path())
            .args([
                "--sites",
                "3",
                "--nodes-per-site",
                "2",
                "--base-port",
                &base,
                "--archive-port",
                "0",
                // Any free port: another `archipel dev` may hold the default 8443.
                "--vitam-port",
                "0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("dev.stderr")).unwrap())
            .spawn()
            .unwrap();
        let mut printed = HashMap::new();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        while !printed.contains_key("ARCHIPEL_UI_TOKEN") {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap_or(0) == 0 {
                panic!(
                    "archipel dev stopped before printing ARCHIPEL_UI_TOKEN; stderr:\n{}",
                    std::fs::read_to_string(dir.path().join("dev.stderr")).unwrap_or_default()
                );
            }
            if let Some((k, v)) = line.trim().split_once('=') {
                printed.insert(k.to_owned(), v.to_owned());
            }
        }
        // Keep reading stdout so `dev` never blocks on a full pipe.
        std::thread::spawn(move || for _ in out.lines() {});
        Dev { dir, printed, child }
    }

    pub fn ui(&self) -> &str {
        self.printed["ARCHIPEL_UI"].trim_end_matches('/')
    }

    /// `archipel archive ARGS` against the dev front, as the local CLI (trusted on loopback).
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut full = vec!["archive"];
        full.extend_from_slice(args);
        Command::new(bin())
            .args(&full)
            .env("ARCHIPEL_ARCHIVE", &self.printed["ARCHIPEL_ARCHIVE"])
            .env_remove("ARCHIPEL_TOKEN")
            .output()
            .unwrap()
    }

    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "archipel archive {args:?}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub fn token(&self, tenant: Option<&str>, role: &str, agency: Option<&str>) -> String {
        let mut args = vec!["token", "create", "--role", role, "--json"];
        if let Some(t) = tenant {
            args.extend_from_slice(&["--tenant", t]);
        }
        if let Some(a) = agency {
            args.extend_from_slice(&["--agency", a]);
        }
        self.cli_json(&args)["token"].as_str().unwrap().to_owned()
    }

    pub fn write(&self, name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dev.stderr")).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
