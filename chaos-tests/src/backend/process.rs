//! A local cluster of `archipel server` processes on loopback ports: 3 sites x 2 nodes, with
//! short repair timings so that a run heals within seconds.
//!
//! Opt-in extras (`Extras`), each needing root: every node in its own network namespace behind
//! per-link proxies (partitions, one-way ones included), every data directory on its own small
//! ext4 (real ENOSPC and EIO), and a clock offset file per node (clock jumps without a restart).

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::disk::{self, LoopDisk};
use super::links::{Links, Member};
use super::netns::{self, Netns};
use super::{client_for, wait_listening, wait_ready, Backend, NodeRef};
use crate::schedule::FaultKind;

/// The placement checker's period in the nodes' configs: the checker waits for its report.
const PLACEMENT_CHECK_SECS: u64 = 5;
/// Size of each node's filesystem with `Extras::disk` (sparse: only what is written is used).
const DISK_MIB: u64 = 3072;

/// What the process backend sets up beyond plain processes (each needs root).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extras {
    /// A network namespace per node, links through the harness's proxies.
    pub net: bool,
    /// A loop-mounted ext4 data directory per node.
    pub disk: bool,
    /// A clock offset file per node (`test_clock_offset_file`).
    pub clock: bool,
}

impl Extras {
    /// What the named kinds need.
    pub fn for_kinds(kinds: &[FaultKind]) -> Self {
        use FaultKind::*;
        let net = kinds
            .iter()
            .any(|k| matches!(k, CutSite | OneWayLeader | OneWayLink | LongPartition | CutSiteRestart));
        let disk = kinds.iter().any(|k| matches!(k, Enospc | Eio));
        let clock = kinds
            .iter()
            .any(|k| matches!(k, ClockJump | ClockJumpLeader | LongPartition));
        Self { net, disk, clock }
    }

    /// Everything this machine allows (for `--faults all`), saying what it leaves out.
    pub async fn probe(base_port: u16) -> Self {
        let net = match netns::available(&format!("chaos{base_port}-probe")).await {
            Ok(()) => true,
            Err(e) => {
                eprintln!("chaos: partitions left out: {e:#}");
                false
            }
        };
        let disk = match disk::available() {
            Ok(()) => true,
            Err(e) => {
                eprintln!("chaos: ENOSPC and EIO left out: {e:#}");
                false
            }
        };
        Self { net, disk, clock: true }
    }
}

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
    /// Config, TLS, log.
    dir: PathBuf,
    /// The node's data_dir: `dir` itself, or on its own filesystem with `Extras::disk`.
    data: PathBuf,
    disk: Option<LoopDisk>,
    /// The filesystem was shut down (EIO) and not yet brought back.
    disk_failed: bool,
    ns: Option<Arc<Netns>>,
    clock_offset_ms: i64,
    child: Option<Child>,
    capacity: &'static str,
    skew_secs: Option<i64>,
    paused: bool,
}

pub struct ProcessBackend {
    bin: PathBuf,
    root: PathBuf,
    base_port: u16,
    extras: Extras,
    procs: Vec<Proc>,
    links: Option<Links>,
}

impl ProcessBackend {
    pub fn new(bin: PathBuf, work_dir: &Path, base_port: u16, extras: Extras) -> Result<Self> {
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
            extras,
            procs: Vec::new(),
            links: None,
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

    fn write_config(p: &Proc, extras: Extras) -> Result<PathBuf> {
        let path = p.dir.join("node.toml");
        let clock_file = if extras.clock {
            format!("test_clock_offset_file = \"{}\"\n", Self::clock_file(p).display())
        } else {
            String::new()
        };
        // Long partitions must outlast the orphan grace: shortened when partitions run.
        let (grace, gc) = if extras.net { (15, 3) } else { (600, 60) };
        let text = format!(
            "node_id = {id}\nsite = \"{site}\"\nlisten = \"{addr}\"\ndata_dir = \"{data}\"\ncapacity = \"{cap}\"\n{clock_file}\n\
             [raft]\nheartbeat_ms = 100\nelection_timeout_min_ms = 800\nelection_timeout_max_ms = 1600\n\n\
             [log]\nlevel = \"info\"\n\n\
             [objects]\nstripe_size = \"1MiB\"\ngc_interval_secs = {gc}\norphan_grace_secs = {grace}\n\n\
             [scrub]\ninterval_secs = 86400\n\n\
             [repair]\npoll_secs = 1\nnode_down_timeout_secs = 10\nplacement_check_secs = {placement}\n\n\
             [tls]\ndir = \"{dir}/tls\"\n",
            id = p.node.id,
            site = p.node.site,
            addr = p.node.addr,
            dir = p.dir.display(),
            data = p.data.display(),
            placement = PLACEMENT_CHECK_SECS,
            cap = p.capacity,
        );
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    fn clock_file(p: &Proc) -> PathBuf {
        p.dir.join("clock-offset-ms")
    }

    async fn spawn(&mut self, id: u64) -> Result<()> {
        let bin = self.bin.clone();
        let extras = self.extras;
        let p = self.find(id)?;
        if let Some(child) = p.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return Ok(());
            }
        }
        let config = Self::write_config(p, extras)?;
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
        if let Some(ns) = &p.ns {
            let fd = ns.fd();
            // SAFETY: between fork and exec only setns(2), which is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || netns::enter(fd));
            }
        }
        let child = cmd.spawn().with_context(|| format!("cannot start node {id}"))?;
        p.child = Some(child);
        p.paused = false;
        let addr = p.node.addr.clone();
        let waited = match p.ns.clone() {
            // The host side always listens (the client's proxy): ask inside the namespace.
            Some(ns) => wait_listening_in(&ns, &addr, START_LIMIT).await,
            None => wait_listening(&addr, START_LIMIT).await,
        };
        waited.with_context(|| format!("node {id} did not come back; see {}", log_path.display()))
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

    /// Kills every node and undoes the extras (proxies, namespaces, mounts) of the last cluster.
    fn tear_down(&mut self) {
        self.kill_everything();
        self.links = None;
        self.procs.clear();
        disk::unmount_all_under(&self.root);
    }

    fn links(&self) -> Result<&Links> {
        self.links
            .as_ref()
            .context("partitions need the nodes in network namespaces (an opt-in fault kind)")
    }

    /// Cuts (or heals) every link between the site's nodes and the others, both ways.
    fn set_site(&self, site: &str, open: bool) -> Result<()> {
        let links = self.links()?;
        let (inside, outside): (Vec<&Proc>, Vec<&Proc>) = self.procs.iter().partition(|p| p.node.site == site);
        if inside.is_empty() {
            bail!("no site {site}");
        }
        for a in &inside {
            for b in &outside {
                links.set(a.node.id, b.node.id, open);
                links.set(b.node.id, a.node.id, open);
            }
        }
        Ok(())
    }

    fn loop_disk(&mut self, id: u64) -> Result<&mut Proc> {
        let p = self.find(id)?;
        if p.disk.is_none() {
            bail!("node {id} has no filesystem of its own (an opt-in fault kind)");
        }
        Ok(p)
    }
}

async fn wait_listening_in(ns: &Netns, addr: &str, limit: Duration) -> Result<()> {
    let sock: std::net::SocketAddr = addr.parse().with_context(|| format!("bad address {addr}"))?;
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let probe = ns
            .run(move || std::net::TcpStream::connect_timeout(&sock, Duration::from_millis(500)).map(drop))
            .await;
        if probe.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{addr} did not accept connections within {limit:?}")
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        self.tear_down();
    }
}

impl Backend for ProcessBackend {
    fn name(&self) -> &'static str {
        "process"
    }

    fn is_running(&mut self, node: u64) -> Option<bool> {
        let p = self.find(node).ok()?;
        Some(p.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None))))
    }

    fn placement_check_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs(PLACEMENT_CHECK_SECS))
    }

    fn default_kinds(&self) -> Vec<FaultKind> {
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

    fn supported(&self) -> Vec<FaultKind> {
        let mut kinds = self.default_kinds();
        if self.extras.net {
            kinds.extend([
                FaultKind::CutSite,
                FaultKind::OneWayLeader,
                FaultKind::OneWayLink,
                FaultKind::CutSiteRestart,
            ]);
            if self.extras.clock {
                kinds.push(FaultKind::LongPartition);
            }
        }
        if self.extras.clock {
            kinds.extend([FaultKind::ClockJump, FaultKind::ClockJumpLeader]);
        }
        if self.extras.disk {
            kinds.extend([FaultKind::Enospc, FaultKind::Eio]);
        }
        kinds
    }

    async fn start(&mut self) -> Result<()> {
        self.tear_down();
        if self.root.exists() {
            std::fs::remove_dir_all(&self.root).with_context(|| format!("cannot remove {}", self.root.display()))?;
        }
        for (i, site) in SITES.iter().flat_map(|s| std::iter::repeat_n(*s, PER_SITE)).enumerate() {
            let id = i as u64 + 1;
            let port = usize::from(self.base_port) + i;
            let dir = self.root.join(id.to_string());
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let (data, loop_disk) = if self.extras.disk {
                let d = LoopDisk::create(&dir.join("disk.img"), &dir.join("disk"), DISK_MIB)
                    .await
                    .with_context(|| format!("node {id}: cannot make its filesystem"))?;
                let data = d.mount.join("data");
                std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
                (data, Some(d))
            } else {
                (dir.clone(), None)
            };
            let ns = if self.extras.net {
                Some(Arc::new(Netns::create(&format!("chaos{}-{id}", self.base_port)).await?))
            } else {
                None
            };
            self.procs.push(Proc {
                data,
                disk: loop_disk,
                disk_failed: false,
                ns,
                clock_offset_ms: 0,
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
        if self.extras.net {
            let members = self
                .procs
                .iter()
                .filter_map(|p| {
                    Some(Member {
                        id: p.node.id,
                        addr: p.node.addr.parse().ok()?,
                        ns: p.ns.clone()?,
                    })
                })
                .collect::<Vec<_>>();
            self.links = Some(Links::start(&members).await.context("starting the link proxies")?);
        }
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
        Ok(p.data.clone())
    }

    async fn cut_site(&mut self, site: &str) -> Result<()> {
        self.set_site(site, false)
    }

    async fn heal_site(&mut self, site: &str) -> Result<()> {
        self.set_site(site, true)
    }

    async fn set_link(&mut self, from: u64, to: u64, open: bool) -> Result<()> {
        if !self.links()?.set(from, to, open) {
            bail!("no link {from}→{to}");
        }
        Ok(())
    }

    async fn set_clock_offset(&mut self, node: u64, offset_ms: i64) -> Result<()> {
        if !self.extras.clock {
            bail!("clock jumps need the nodes' clock files (an opt-in fault kind)");
        }
        let p = self.find(node)?;
        let path = Self::clock_file(p);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{offset_ms}\n")).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot rename to {}", path.display()))?;
        p.clock_offset_ms = offset_ms;
        Ok(())
    }

    async fn fill_fs(&mut self, node: u64) -> Result<u64> {
        let p = self.loop_disk(node)?;
        match &p.disk {
            Some(d) => d.fill(),
            None => bail!("node {node} has no filesystem of its own"),
        }
    }

    async fn unfill_fs(&mut self, node: u64) -> Result<()> {
        let p = self.loop_disk(node)?;
        match &p.disk {
            Some(d) => d.unfill(),
            None => Ok(()),
        }
    }

    async fn fail_disk(&mut self, node: u64) -> Result<()> {
        let p = self.loop_disk(node)?;
        if let Some(d) = &p.disk {
            d.shut_down()?;
            p.disk_failed = true;
        }
        Ok(())
    }

    async fn repair_disk(&mut self, node: u64) -> Result<()> {
        let p = self.loop_disk(node)?;
        Self::hard_kill(p);
        if let Some(d) = &p.disk {
            d.remount()
                .await
                .with_context(|| format!("node {node}: cannot bring its filesystem back"))?;
        }
        p.disk_failed = false;
        self.spawn(node).await
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
        if let Some(links) = &self.links {
            links.heal_all();
        }
        let ids: Vec<u64> = self.procs.iter().map(|p| p.node.id).collect();
        for id in ids {
            if self.find(id)?.clock_offset_ms != 0 {
                self.set_clock_offset(id, 0).await?;
            }
            let p = self.find(id)?;
            if let Some(d) = &p.disk {
                d.unfill()?;
            }
            if p.disk_failed {
                self.repair_disk(id).await?;
            }
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
        if !keep {
            self.tear_down();
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
