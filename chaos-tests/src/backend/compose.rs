//! The 4-site x 2-node docker-compose cluster of deploy/: faults through docker (kill, stop/cont
//! signals, restart), deploy/wan.sh (cut a site off), tc netem entered with nsenter (latency),
//! the nodes' named volumes (shard damage) and a compose override with a tiny `capacity`
//! (disk full).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::latency::{self, Delayed, Method};
use super::shell::{run, run_quiet};
use super::{wait_listening, wait_ready, Backend, NodeRef};
use crate::schedule::FaultKind;

/// Services in node id order (ids 1..=8), with their site.
const SERVICES: [(&str, &str); 8] = [
    ("region-1", "region"),
    ("region-2", "region"),
    ("departement-1", "departement"),
    ("departement-2", "departement"),
    ("metropole-1", "metropole"),
    ("metropole-2", "metropole"),
    ("ville-1", "ville"),
    ("ville-2", "ville"),
];
const HOST_PORT_BASE: u16 = 17400;
const SHORT: Duration = Duration::from_secs(30);
const LONG: Duration = Duration::from_secs(300);
const LATENCY_MS: u32 = 200;
const FULL_CAPACITY: &str = "4KiB";
/// Debian's libfaketime on the host (apt-get install faketime), bind-mounted for clock skew.
const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

pub struct ComposeBackend {
    deploy: PathBuf,
    work: PathBuf,
    compose: Vec<String>,
    volumes: BTreeMap<u64, PathBuf>,
    paused: BTreeSet<u64>,
    killed: BTreeSet<u64>,
    full: BTreeSet<u64>,
    skewed: BTreeMap<u64, i64>,
    cut: BTreeSet<String>,
    /// Containers whose WAN traffic is delayed now.
    delayed: Vec<Delayed>,
    /// How latency is added here (netem, else NFQUEUE), if at all.
    latency: Option<Method>,
}

fn service(id: u64) -> Result<&'static str> {
    usize::try_from(id)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| SERVICES.get(i))
        .map(|(s, _)| *s)
        .with_context(|| format!("no node {id}"))
}

fn container(id: u64) -> Result<String> {
    Ok(format!("archipel-{}", service(id)?))
}

fn host_addr(id: u64) -> String {
    format!("127.0.0.1:{}", u64::from(HOST_PORT_BASE) + id)
}

impl ComposeBackend {
    pub async fn new(deploy: PathBuf, work_dir: &Path) -> Result<Self> {
        let file = deploy.join("docker-compose.yml");
        if !file.is_file() {
            bail!("no {}; pass --deploy-dir", file.display());
        }
        run("docker", &["info", "--format", "{{.ServerVersion}}"], SHORT)
            .await
            .context("docker does not answer")?;
        let file = file.display().to_string();
        let compose = if run("docker", &["compose", "version"], SHORT).await.is_ok() {
            vec!["docker".into(), "compose".into(), "-f".into(), file]
        } else if run("docker-compose", &["version"], SHORT).await.is_ok() {
            vec!["docker-compose".into(), "-f".into(), file]
        } else {
            bail!("neither `docker compose` nor `docker-compose` works");
        };
        let latency = latency::detect().await;
        match latency {
            Some(Method::Netem) => {}
            Some(Method::NfQueue) => {
                eprintln!("chaos: no netem qdisc in this kernel (CONFIG_NET_SCH_NETEM); latency goes through NFQUEUE")
            }
            None => eprintln!("chaos: neither netem nor NFQUEUE works here; the latency fault is off"),
        }
        Ok(Self {
            latency,
            delayed: Vec::new(),
            deploy,
            work: work_dir.join("compose"),
            compose,
            volumes: BTreeMap::new(),
            paused: BTreeSet::new(),
            killed: BTreeSet::new(),
            full: BTreeSet::new(),
            skewed: BTreeMap::new(),
            cut: BTreeSet::new(),
        })
    }

    async fn compose(&self, extra_files: &[&Path], args: &[&str], limit: Duration) -> Result<String> {
        let mut all: Vec<String> = self.compose[1..].to_vec();
        for f in extra_files {
            all.push("-f".into());
            all.push(f.display().to_string());
        }
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run(&self.compose[0], &refs, limit).await
    }

    async fn ensure_image(&self) -> Result<()> {
        if run("docker", &["image", "inspect", "archipel:latest"], SHORT)
            .await
            .is_ok()
        {
            return Ok(());
        }
        eprintln!("chaos: no archipel:latest image; building it with deploy/build-image.sh");
        let script = self.deploy.join("build-image.sh").display().to_string();
        run("bash", &[&script], Duration::from_secs(3600)).await.map(|_| ())
    }

    async fn wait_node(&self, id: u64) -> Result<()> {
        wait_listening(&host_addr(id), Duration::from_secs(60)).await
    }

    /// Recreates the node's container with the stock config, or with a smaller `capacity`
    /// and/or a wall clock shifted through libfaketime, by a compose override file.
    async fn recreate(&self, id: u64, capacity: Option<&str>, skew: Option<i64>) -> Result<()> {
        let svc = service(id)?;
        if capacity.is_none() && skew.is_none() {
            self.compose(&[], &["up", "-d", "--no-deps", svc], LONG).await?;
            return self.wait_node(id).await;
        }
        std::fs::create_dir_all(&self.work).with_context(|| format!("cannot create {}", self.work.display()))?;
        let mut yaml = format!("services:\n  {svc}:\n    volumes:\n");
        if let Some(cap) = capacity {
            let stock = self.deploy.join("config").join(format!("{svc}.toml"));
            let text = std::fs::read_to_string(&stock).with_context(|| format!("cannot read {}", stock.display()))?;
            let text: String = text
                .lines()
                .map(|l| {
                    if l.starts_with("capacity") {
                        format!("capacity = \"{cap}\"\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            let config = self.work.join(format!("{svc}.toml"));
            std::fs::write(&config, text).with_context(|| format!("cannot write {}", config.display()))?;
            yaml.push_str(&format!("      - {}:/etc/archipel/node.toml:ro\n", config.display()));
        }
        if let Some(secs) = skew {
            // The image is FROM scratch but has libc and libm, all libfaketime needs.
            yaml.push_str(&format!(
                "      - {FAKETIME_LIB}:/usr/lib/faketime/libfaketime.so.1:ro\n"
            ));
            yaml.push_str(&format!(
                "    environment:\n      LD_PRELOAD: /usr/lib/faketime/libfaketime.so.1\n      FAKETIME: \"{secs:+}s\"\n      FAKETIME_DONT_FAKE_MONOTONIC: \"1\"\n      FAKETIME_DONT_RESET: \"1\"\n"
            ));
        }
        let over = self.work.join(format!("{svc}.override.yml"));
        std::fs::write(&over, yaml).with_context(|| format!("cannot write {}", over.display()))?;
        self.compose(&[&over], &["up", "-d", "--no-deps", svc], LONG).await?;
        self.wait_node(id).await
    }
}

impl Backend for ComposeBackend {
    fn name(&self) -> &'static str {
        "compose"
    }

    fn supported(&self) -> Vec<FaultKind> {
        let mut kinds = vec![
            FaultKind::KillNode,
            FaultKind::KillLeader,
            FaultKind::Pause,
            FaultKind::PauseLeader,
            FaultKind::CutSite,
            FaultKind::FlipBytes,
            FaultKind::DeleteShard,
            FaultKind::DiskFull,
            FaultKind::RollingRestart,
        ];
        if self.latency.is_some() {
            kinds.push(FaultKind::Latency);
        }
        if Path::new(FAKETIME_LIB).is_file() {
            kinds.push(FaultKind::ClockSkew);
        }
        kinds
    }

    async fn start(&mut self) -> Result<()> {
        self.ensure_image().await?;
        self.compose(&[], &["down", "-v", "--remove-orphans"], LONG).await?;
        self.paused.clear();
        self.killed.clear();
        self.full.clear();
        self.skewed.clear();
        self.cut.clear();
        self.remove_latency().await?;
        // The nodes require mutual TLS: certificates first (kept across runs), then the checker
        // connects with the operator's.
        let pki = self.deploy.join("pki.sh").display().to_string();
        run("bash", &[&pki], LONG).await.context("deploy/pki.sh failed")?;
        super::set_tls_dir(Some(self.deploy.join("pki").join("clients").join("operator")));
        self.compose(&[], &["up", "-d"], LONG).await?;
        let script = self.deploy.join("bootstrap.sh").display().to_string();
        let out = tokio::time::timeout(LONG, tokio::process::Command::new("bash").arg(&script).output())
            .await
            .context("bootstrap.sh took too long")??;
        // bootstrap.sh exits with `archipel status`'s code: 0 ok, 3 degraded (still settling).
        if !matches!(out.status.code(), Some(0) | Some(3)) {
            bail!(
                "bootstrap.sh failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        self.volumes.clear();
        for id in 1..=SERVICES.len() as u64 {
            let volume = format!("archipel_{}", service(id)?);
            let mount = run(
                "docker",
                &["volume", "inspect", "-f", "{{.Mountpoint}}", &volume],
                SHORT,
            )
            .await?;
            self.volumes.insert(id, PathBuf::from(mount.trim()));
        }
        wait_ready(&self.nodes(), Duration::from_secs(60)).await
    }

    fn nodes(&self) -> Vec<NodeRef> {
        SERVICES
            .iter()
            .enumerate()
            .map(|(i, (_, site))| NodeRef {
                id: i as u64 + 1,
                site: (*site).to_owned(),
                addr: host_addr(i as u64 + 1),
            })
            .collect()
    }

    async fn kill(&mut self, node: u64) -> Result<()> {
        let c = container(node)?;
        // Otherwise `restart: unless-stopped` brings it back at once.
        run("docker", &["update", "--restart=no", &c], SHORT).await?;
        run("docker", &["kill", "-s", "KILL", &c], SHORT).await?;
        self.killed.insert(node);
        self.paused.remove(&node);
        Ok(())
    }

    async fn revive(&mut self, node: u64) -> Result<()> {
        let c = container(node)?;
        run("docker", &["start", &c], SHORT).await?;
        run("docker", &["update", "--restart=unless-stopped", &c], SHORT).await?;
        self.killed.remove(&node);
        self.wait_node(node).await
    }

    async fn pause(&mut self, node: u64) -> Result<()> {
        run("docker", &["kill", "-s", "STOP", &container(node)?], SHORT).await?;
        self.paused.insert(node);
        Ok(())
    }

    async fn resume(&mut self, node: u64) -> Result<()> {
        run("docker", &["kill", "-s", "CONT", &container(node)?], SHORT).await?;
        self.paused.remove(&node);
        Ok(())
    }

    async fn restart(&mut self, node: u64) -> Result<()> {
        run(
            "docker",
            &["restart", "-t", "30", &container(node)?],
            Duration::from_secs(90),
        )
        .await?;
        self.paused.remove(&node);
        self.wait_node(node).await
    }

    async fn fill_disk(&mut self, node: u64) -> Result<()> {
        let skew = self.skewed.get(&node).copied();
        self.recreate(node, Some(FULL_CAPACITY), skew).await?;
        self.full.insert(node);
        self.killed.remove(&node);
        self.paused.remove(&node);
        Ok(())
    }

    async fn unfill_disk(&mut self, node: u64) -> Result<()> {
        let skew = self.skewed.get(&node).copied();
        self.recreate(node, None, skew).await?;
        self.full.remove(&node);
        Ok(())
    }

    async fn skew_clock(&mut self, node: u64, secs: i64) -> Result<()> {
        let cap = self.full.contains(&node).then_some(FULL_CAPACITY);
        self.recreate(node, cap, Some(secs)).await?;
        self.skewed.insert(node, secs);
        self.killed.remove(&node);
        self.paused.remove(&node);
        Ok(())
    }

    async fn unskew_clock(&mut self, node: u64) -> Result<()> {
        let cap = self.full.contains(&node).then_some(FULL_CAPACITY);
        self.recreate(node, cap, None).await?;
        self.skewed.remove(&node);
        Ok(())
    }

    fn data_dir(&self, node: u64) -> Result<PathBuf> {
        self.volumes
            .get(&node)
            .cloned()
            .with_context(|| format!("no volume known for node {node}"))
    }

    async fn cut_site(&mut self, site: &str) -> Result<()> {
        let script = self.deploy.join("wan.sh").display().to_string();
        run("bash", &[&script, "cut", site], SHORT).await?;
        self.cut.insert(site.to_owned());
        Ok(())
    }

    async fn heal_site(&mut self, site: &str) -> Result<()> {
        let script = self.deploy.join("wan.sh").display().to_string();
        run("bash", &[&script, "heal", site], SHORT).await?;
        self.cut.remove(site);
        Ok(())
    }

    async fn add_latency(&mut self) -> Result<()> {
        let method = self.latency.context("no way to add latency here")?;
        for id in 1..=SERVICES.len() as u64 {
            let d = latency::add(&container(id)?, LATENCY_MS, method).await?;
            self.delayed.push(d);
        }
        Ok(())
    }

    async fn remove_latency(&mut self) -> Result<()> {
        for d in self.delayed.drain(..) {
            latency::remove(d).await;
        }
        Ok(())
    }

    async fn heal_all(&mut self) -> Result<()> {
        for site in self.cut.clone() {
            self.heal_site(&site).await?;
        }
        self.remove_latency().await?;
        for id in self.paused.clone() {
            self.resume(id).await?;
        }
        let changed: BTreeSet<u64> = self.full.iter().chain(self.skewed.keys()).copied().collect();
        for id in changed {
            self.recreate(id, None, None).await?;
            self.full.remove(&id);
            self.skewed.remove(&id);
        }
        for id in 1..=SERVICES.len() as u64 {
            let c = container(id)?;
            run("docker", &["start", &c], SHORT).await?;
            run_quiet("docker", &["update", "--restart=unless-stopped", &c], SHORT).await;
            self.killed.remove(&id);
            self.wait_node(id).await?;
        }
        Ok(())
    }

    async fn stop(&mut self, keep: bool) -> Result<()> {
        if !keep {
            self.compose(&[], &["down", "-v", "--remove-orphans"], LONG).await?;
        }
        Ok(())
    }

    fn debug_hint(&self) -> String {
        "node logs: docker logs archipel-<service> (e.g. archipel-region-1); data: docker volumes archipel_<service>"
            .into()
    }
}
