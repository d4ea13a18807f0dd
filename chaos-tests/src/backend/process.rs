//! A local cluster of `archipel server` processes on loopback ports: 3 sites x 2 nodes, with
//! short repair timings so that a run heals within seconds.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::{client_for, wait_listening, wait_ready, Backend, NodeRef};
use crate::schedule::FaultKind;

const SITES: [&str; 3] = ["region", "departement", "metropole"];
const PER_SITE: usize = 2;
const NORMAL_CAPACITY: &str = "20GiB";
/// Smaller than any shard: the node refuses every reservation.
const FULL_CAPACITY: &str = "4KiB";
const START_LIMIT: Duration = Duration::from_secs(30);
const STOP_GRACE: Duration = Duration::from_secs(20);
/// Debian's libfaketime, for clock skew (apt-get install faketime).
const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

struct Proc {
    node: NodeRef,
    dir: PathBuf,
    child: Option<Child>,
    capacity: &'static str,
    skew_secs: Option<i64>,
    paused: bool,
}

pub struct ProcessBackend {
    bin: PathBuf,
    root: PathBuf,
    base_port: u16,
    procs: Vec<Proc>,
}

impl ProcessBackend {
    pub fn new(bin: PathBuf, work_dir: &Path, base_port: u16) -> Result<Self> {
        if !bin.is_file() {
            bail!(
                "no archipel binary at {}; build it (cargo build -p archipel) or pass --archipel-bin",
                bin.display()
            );
        }
        // A private copy: the shared target dir may be rebuilt by others during a campaign.
        std::fs::create_dir_all(work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;
        let copy = work_dir.join("archipel");
        std::fs::copy(&bin, &copy).with_context(|| format!("cannot copy {} to {}", bin.display(), copy.display()))?;
        Ok(Self {
            bin: copy,
            root: work_dir.join("process"),
            base_port,
            procs: Vec::new(),
        })
    }

    /// A fresh cluster CA per run, a certificate per node and an operator certificate for the
    /// checker, made with the binary under test (`archipel cert`).
    fn issue_certificates(&self) -> Result<()> {
        let pki = self.root.join("pki");
        let run = |args: &[&str]| -> Result<()> {
            let out = Command::new(&self.bin)
                .args(["cert"])
                .args(args)
                .arg("--dir")
                .arg(&pki)
                .output()
                .context("cannot run `archipel cert`")?;
            if !out.status.success() {
                bail!(
                    "archipel cert {args:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(())
        };
        run(&["init"])?;
        for p in &self.procs {
            let (id, out) = (p.node.id.to_string(), p.dir.join("tls"));
            let out = out.to_string_lossy();
            run(&[
                "issue",
                "--node",
                &id,
                "--site",
                &p.node.site,
                "--addr",
                &p.node.addr,
                "--out",
                &out,
            ])?;
        }
        run(&["issue", "--client", "chaos", "--role", "operator"])?;
        super::set_tls_dir(Some(pki.join("clients").join("chaos")));
        Ok(())
    }

    fn find(&mut self, id: u64) -> Result<&mut Proc> {
        self.procs
            .iter_mut()
            .find(|p| p.node.id == id)
            .with_context(|| format!("no node {id}"))
    }

    fn write_config(p: &Proc) -> Result<PathBuf> {
        let path = p.dir.join("node.toml");
        let text = format!(
            "node_id = {id}\nsite = \"{site}\"\nlisten = \"{addr}\"\ndata_dir = \"{dir}\"\ncapacity = \"{cap}\"\n\n\
             [raft]\nheartbeat_ms = 100\nelection_timeout_min_ms = 800\nelection_timeout_max_ms = 1600\n\n\
             [log]\nlevel = \"info\"\n\n\
             [objects]\nstripe_size = \"1MiB\"\ngc_interval_secs = 60\norphan_grace_secs = 600\n\n\
             [scrub]\ninterval_secs = 86400\n\n\
             [repair]\npoll_secs = 1\nnode_down_timeout_secs = 10\n\n\
             [tls]\ndir = \"{dir}/tls\"\n",
            id = p.node.id,
            site = p.node.site,
            addr = p.node.addr,
            dir = p.dir.display(),
            cap = p.capacity,
        );
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    async fn spawn(&mut self, id: u64) -> Result<()> {
        let bin = self.bin.clone();
        let p = self.find(id)?;
        if let Some(child) = p.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return Ok(());
            }
        }
        let config = Self::write_config(p)?;
        let log_path = p.dir.join("archipel.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let mut cmd = Command::new(&bin);
        cmd.arg("server")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(secs) = p.skew_secs {
            cmd.env("LD_PRELOAD", FAKETIME_LIB)
                .env("FAKETIME", format!("{secs:+}s"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
                .env("FAKETIME_DONT_RESET", "1");
        }
        let child = cmd.spawn().with_context(|| format!("cannot start node {id}"))?;
        p.child = Some(child);
        p.paused = false;
        let addr = p.node.addr.clone();
        wait_listening(&addr, START_LIMIT)
            .await
            .with_context(|| format!("node {id} did not come back; see {}", log_path.display()))
    }

    fn signal(p: &mut Proc, sig: i32) -> Result<()> {
        let Some(child) = p.child.as_ref() else {
            bail!("node {} is not running", p.node.id);
        };
        let pid = i32::try_from(child.id()).context("pid out of range")?;
        // SAFETY: kill(2) on a child process we spawned and have not reaped.
        if unsafe { libc::kill(pid, sig) } != 0 {
            bail!("kill({pid}, {sig}) failed: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    fn hard_kill(p: &mut Proc) {
        if let Some(mut c) = p.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        p.paused = false;
    }

    async fn graceful_stop(p: &mut Proc) -> Result<()> {
        if p.paused {
            Self::signal(p, libc::SIGCONT)?;
            p.paused = false;
        }
        if p.child.is_none() {
            return Ok(());
        }
        Self::signal(p, libc::SIGTERM)?;
        let deadline = Instant::now() + STOP_GRACE;
        while let Some(c) = p.child.as_mut() {
            if !matches!(c.try_wait(), Ok(None)) {
                p.child = None;
                break;
            }
            if Instant::now() > deadline {
                Self::hard_kill(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    async fn restart_with(&mut self, id: u64, capacity: &'static str, skew: Option<i64>) -> Result<()> {
        let p = self.find(id)?;
        Self::graceful_stop(p).await?;
        p.capacity = capacity;
        p.skew_secs = skew;
        self.spawn(id).await
    }

    fn kill_everything(&mut self) {
        for p in &mut self.procs {
            Self::hard_kill(p);
        }
    }
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        self.kill_everything();
    }
}

impl Backend for ProcessBackend {
    fn name(&self) -> &'static str {
        "process"
    }

    fn supported(&self) -> Vec<FaultKind> {
        let mut kinds = vec![
            FaultKind::KillNode,
            FaultKind::KillLeader,
            FaultKind::KillSite,
            FaultKind::Pause,
            FaultKind::PauseLeader,
            FaultKind::FlipBytes,
            FaultKind::DeleteShard,
            FaultKind::DiskFull,
            FaultKind::RollingRestart,
        ];
        if Path::new(FAKETIME_LIB).is_file() {
            kinds.push(FaultKind::ClockSkew);
        }
        kinds
    }

    async fn start(&mut self) -> Result<()> {
        self.kill_everything();
        self.procs.clear();
        if self.root.exists() {
            std::fs::remove_dir_all(&self.root).with_context(|| format!("cannot remove {}", self.root.display()))?;
        }
        for (i, site) in SITES.iter().flat_map(|s| std::iter::repeat_n(*s, PER_SITE)).enumerate() {
            let id = i as u64 + 1;
            let port = usize::from(self.base_port) + i;
            let dir = self.root.join(id.to_string());
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            self.procs.push(Proc {
                node: NodeRef {
                    id,
                    site: site.to_owned(),
                    addr: format!("127.0.0.1:{port}"),
                },
                dir,
                child: None,
                capacity: NORMAL_CAPACITY,
                skew_secs: None,
                paused: false,
            });
        }
        self.issue_certificates()?;
        for id in 1..=self.procs.len() as u64 {
            self.spawn(id).await?;
        }
        let nodes = self.nodes();
        let client = client_for(&nodes)?;
        client.init_cluster(&nodes[0].addr).await.context("cluster init")?;
        for n in &nodes[1..] {
            client
                .add_node(&n.addr, &n.site)
                .await
                .with_context(|| format!("node add {}", n.id))?;
        }
        wait_ready(&nodes, Duration::from_secs(60)).await
    }

    fn nodes(&self) -> Vec<NodeRef> {
        self.procs.iter().map(|p| p.node.clone()).collect()
    }

    async fn kill(&mut self, node: u64) -> Result<()> {
        Self::hard_kill(self.find(node)?);
        Ok(())
    }

    async fn revive(&mut self, node: u64) -> Result<()> {
        self.spawn(node).await
    }

    async fn pause(&mut self, node: u64) -> Result<()> {
        let p = self.find(node)?;
        Self::signal(p, libc::SIGSTOP)?;
        p.paused = true;
        Ok(())
    }

    async fn resume(&mut self, node: u64) -> Result<()> {
        let p = self.find(node)?;
        Self::signal(p, libc::SIGCONT)?;
        p.paused = false;
        Ok(())
    }

    async fn restart(&mut self, node: u64) -> Result<()> {
        let p = self.find(node)?;
        let (cap, skew) = (p.capacity, p.skew_secs);
        self.restart_with(node, cap, skew).await
    }

    async fn fill_disk(&mut self, node: u64) -> Result<()> {
        let skew = self.find(node)?.skew_secs;
        self.restart_with(node, FULL_CAPACITY, skew).await
    }

    async fn unfill_disk(&mut self, node: u64) -> Result<()> {
        let skew = self.find(node)?.skew_secs;
        self.restart_with(node, NORMAL_CAPACITY, skew).await
    }

    fn data_dir(&self, node: u64) -> Result<PathBuf> {
        let p = self
            .procs
            .iter()
            .find(|p| p.node.id == node)
            .with_context(|| format!("no node {node}"))?;
        Ok(p.dir.clone())
    }

    async fn skew_clock(&mut self, node: u64, secs: i64) -> Result<()> {
        let cap = self.find(node)?.capacity;
        self.restart_with(node, cap, Some(secs)).await
    }

    async fn unskew_clock(&mut self, node: u64) -> Result<()> {
        let cap = self.find(node)?.capacity;
        self.restart_with(node, cap, None).await
    }

    async fn heal_all(&mut self) -> Result<()> {
        let ids: Vec<u64> = self.procs.iter().map(|p| p.node.id).collect();
        for id in ids {
            let p = self.find(id)?;
            if p.paused {
                Self::signal(p, libc::SIGCONT)?;
                p.paused = false;
            }
            let running = p.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            if p.capacity != NORMAL_CAPACITY || p.skew_secs.is_some() {
                self.restart_with(id, NORMAL_CAPACITY, None).await?;
            } else if !running {
                self.spawn(id).await?;
            }
        }
        Ok(())
    }

    async fn stop(&mut self, keep: bool) -> Result<()> {
        let ids: Vec<u64> = self.procs.iter().map(|p| p.node.id).collect();
        for id in ids {
            let p = self.find(id)?;
            if keep {
                Self::graceful_stop(p).await?;
            } else {
                Self::hard_kill(p);
            }
        }
        if !keep && self.root.exists() {
            std::fs::remove_dir_all(&self.root).with_context(|| format!("cannot remove {}", self.root.display()))?;
        }
        Ok(())
    }

    fn debug_hint(&self) -> String {
        format!("node data and logs: {}/<node-id>/ (archipel.log)", self.root.display())
    }
}
