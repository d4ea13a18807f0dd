//! A cluster of real `archipel server` processes on loopback, for integration tests.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use archipel_client::Client;

/// Clusters share two cores: run one test cluster at a time so elections stay timely.
static SERIAL: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The binary under test. `ARCHIPEL_TEST_BIN` overrides it: with a target dir shared by several
/// branches, a private copy keeps another build from replacing it mid-run.
pub fn bin() -> PathBuf {
    std::env::var_os("ARCHIPEL_TEST_BIN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_archipel")))
}

/// A free port below Linux's ephemeral range (32768+): a port taken from that range could be
/// grabbed by an outgoing connection before the node binds it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        rand::random::<u16>() % 8_000 + 20_000,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        if port >= 32_000 {
            NEXT.store(20_000, Ordering::SeqCst);
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

#[derive(Clone)]
pub struct Tuning {
    pub snapshot_after_logs: u64,
    pub keep_logs_after_snapshot: u64,
    pub capacity: String,
    pub stripe_size: String,
    pub gc_interval_secs: u64,
    pub orphan_grace_secs: u64,
    pub scrub_interval_secs: u64,
    pub repair_poll_secs: u64,
    pub node_down_timeout_secs: u64,
    pub repair_max_bytes_per_sec: u64,
    pub scrub_max_bytes_per_sec: u64,
    pub stream_idle_timeout_secs: u64,
    pub shard_idle_timeout_secs: u64,
    /// Every node's wall clock is shifted by the milliseconds this file holds (node/src/time_offset.rs).
    pub clock_offset_file: Option<PathBuf>,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            snapshot_after_logs: 10_000,
            keep_logs_after_snapshot: 1_000,
            capacity: "10GiB".into(),
            stripe_size: "1MiB".into(),
            gc_interval_secs: 600,
            orphan_grace_secs: 3600,
            scrub_interval_secs: 7 * 86_400,
            repair_poll_secs: 1,
            node_down_timeout_secs: 3600,
            repair_max_bytes_per_sec: 0,
            scrub_max_bytes_per_sec: 0,
            stream_idle_timeout_secs: 60,
            shard_idle_timeout_secs: 600,
            clock_offset_file: None,
        }
    }
}

pub struct TestNode {
    pub id: u64,
    pub site: String,
    pub addr: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    child: Option<Child>,
}

impl TestNode {
    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

pub struct TestCluster {
    pub root: tempfile::TempDir,
    pub nodes: Vec<TestNode>,
    pub tuning: Tuning,
}

/// The test process's PKI: one CA for every test cluster of this process, and an operator client
/// certificate that `ARCHIPEL_TLS_DIR` points at, so `Client::from_list` and child `archipel`
/// commands use mutual TLS like a real deployment.
pub struct TestPki {
    pub dir: PathBuf,
    pub ca: archipel_node::tls::Ca,
    pub operator_dir: PathBuf,
}

pub fn pki() -> &'static TestPki {
    use archipel_node::tls::{issue, Ca, Role, Validity};
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(|| {
        // Kept for the whole process: every test cluster's nodes read their files from it.
        let dir = tempfile::Builder::new()
            .prefix("archipel-test-pki")
            .tempdir()
            .unwrap()
            .keep();
        let ca = Ca::generate("Archipel test CA", Validity::days(2)).unwrap();
        ca.save(&dir).unwrap();
        // Encryption at rest: every test node gets the master key in its TLS dir, as in a deployment.
        archipel_node::crypto::ensure_master_key(&dir).unwrap();
        let operator = ca
            .issue_client("test-operator", Role::Operator, Validity::days(2))
            .unwrap();
        let operator_dir = issue::bundle_dir(&dir, &operator.subject);
        issue::write_bundle(&operator_dir, &ca.cert_pem(), &operator).unwrap();
        std::env::set_var(archipel_client::TLS_DIR_ENV, &operator_dir);
        TestPki { dir, ca, operator_dir }
    })
}

/// Issues node `id`'s certificate for `addr` into `dir/tls`, and returns that directory.
pub fn issue_node_cert(dir: &Path, id: u64, site: &str, addr: &str) -> PathBuf {
    use archipel_node::tls::{issue, Validity};
    let pki = pki();
    let cert = pki
        .ca
        .issue_node(id, site, &[addr.to_owned()], Validity::days(2))
        .unwrap();
    let tls = dir.join("tls");
    issue::write_bundle(&tls, &pki.ca.cert_pem(), &cert).unwrap();
    let (key, _) = archipel_node::crypto::ensure_master_key(&pki.dir).unwrap();
    archipel_node::crypto::install_master_key(&key, &tls).unwrap();
    tls
}

pub fn write_config(dir: &Path, id: u64, site: &str, addr: &str, tuning: &Tuning) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let tls = issue_node_cert(dir, id, site, addr);
    let path = dir.join("node.toml");
    let text = format!(
        "node_id = {id}\nsite = \"{site}\"\nlisten = \"{addr}\"\ndata_dir = \"{}\"\ncapacity = \"{}\"\n\n[raft]\nheartbeat_ms = 100\nelection_timeout_min_ms = 800\nelection_timeout_max_ms = 1600\nsnapshot_after_logs = {}\nkeep_logs_after_snapshot = {}\n\n[objects]\nstripe_size = \"{}\"\ngc_interval_secs = {}\norphan_grace_secs = {}\n\n[scrub]\ninterval_secs = {}\nevidence_batch = 4\nmax_bytes_per_sec = {}\n\n[repair]\npoll_secs = {}\nnode_down_timeout_secs = {}\nmax_bytes_per_sec = {}\n\n[network]\nstream_idle_timeout_secs = {}\nshard_idle_timeout_secs = {}\n\n[tls]\ndir = \"{}\"\n# Tests read /metrics with a bare HTTP request.\nplaintext_metrics = true\n",
        dir.display(),
        tuning.capacity,
        tuning.snapshot_after_logs,
        tuning.keep_logs_after_snapshot,
        tuning.stripe_size,
        tuning.gc_interval_secs,
        tuning.orphan_grace_secs,
        tuning.scrub_interval_secs,
        tuning.scrub_max_bytes_per_sec,
        tuning.repair_poll_secs,
        tuning.node_down_timeout_secs,
        tuning.repair_max_bytes_per_sec,
        tuning.stream_idle_timeout_secs,
        tuning.shard_idle_timeout_secs,
        tls.display(),
    );
    let text = match &tuning.clock_offset_file {
        Some(f) => format!("test_clock_offset_file = \"{}\"\n{text}", f.display()),
        None => text,
    };
    std::fs::write(&path, text).unwrap();
    path
}

impl TestCluster {
    /// Starts `per_site` nodes at each site, initialises the cluster on the first and adds the rest.
    pub fn start(sites: &[&str], per_site: usize, tuning: Tuning) -> Self {
        let cluster = Self::spawn_only(sites, per_site, tuning);
        let first = cluster.nodes[0].addr.clone();
        cluster.cli_ok(&["cluster", "init", "--node", &first]);
        for i in 1..cluster.nodes.len() {
            let (addr, site) = (cluster.nodes[i].addr.clone(), cluster.nodes[i].site.clone());
            cluster.cli_ok(&["node", "add", &addr, "--site", &site]);
        }
        cluster.wait_ready(Duration::from_secs(30));
        cluster
    }

    /// Starts the processes without forming a cluster.
    pub fn spawn_only(sites: &[&str], per_site: usize, tuning: Tuning) -> Self {
        let root = tempfile::tempdir().unwrap();
        let mut cluster = Self {
            root,
            nodes: vec![],
            tuning,
        };
        for site in sites {
            for _ in 0..per_site {
                cluster.spawn_node(site);
            }
        }
        cluster
    }

    /// Starts one more node process (not yet in the cluster) and returns its index.
    pub fn spawn_node(&mut self, site: &str) -> usize {
        let id = self.nodes.len() as u64 + 1;
        let addr = format!("127.0.0.1:{}", free_port());
        let dir = self.root.path().join(id.to_string());
        let config = write_config(&dir, id, site, &addr, &self.tuning);
        self.nodes.push(TestNode {
            id,
            site: site.into(),
            addr,
            dir,
            config,
            child: None,
        });
        let idx = self.nodes.len() - 1;
        self.restart(idx);
        idx
    }

    pub fn restart(&mut self, idx: usize) {
        let node = &mut self.nodes[idx];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("archipel.log"))
            .unwrap();
        let child = Command::new(bin())
            .args(["server", "--config"])
            .arg(&node.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        node.child = Some(child);
        let addr = node.addr.clone();
        wait_answering(&addr, Duration::from_secs(30));
    }

    /// Rewrites one node's config (takes effect at its next restart).
    pub fn reconfigure(&mut self, idx: usize, tuning: &Tuning) {
        let n = &self.nodes[idx];
        write_config(&n.dir, n.id, &n.site, &n.addr, tuning);
    }

    pub fn kill(&mut self, idx: usize) {
        if let Some(mut c) = self.nodes[idx].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Graceful stop (SIGTERM), as an operator or `archipel dev` does.
    pub fn stop(&mut self, idx: usize) {
        if let Some(mut c) = self.nodes[idx].child.take() {
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    pub fn addrs(&self) -> String {
        self.nodes.iter().map(|n| n.addr.clone()).collect::<Vec<_>>().join(",")
    }

    pub fn live_addrs(&mut self) -> String {
        let mut out = vec![];
        for n in self.nodes.iter_mut() {
            if n.is_running() {
                out.push(n.addr.clone());
            }
        }
        out.join(",")
    }

    pub fn client(&self) -> Client {
        Client::from_list(&self.addrs()).unwrap()
    }

    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .env(archipel_client::TLS_DIR_ENV, &pki().operator_dir)
            .args(args)
            .env("ARCHIPEL_CLUSTER", self.addrs())
            .output()
            .unwrap()
    }

    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "archipel {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn status_json(&self) -> serde_json::Value {
        let out = self.cli(&["status", "--json"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status --json is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    pub fn wait_healthy(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.status_json();
            if s["health"] == "ok" {
                return;
            }
            assert!(Instant::now() < deadline, "cluster not healthy within {limit:?}: {s:#}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A leader is elected and every node answers (health may be degraded by design, e.g. one site).
    pub fn wait_ready(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.status_json();
            let all_reachable = s["nodes"]
                .as_array()
                .is_some_and(|n| n.iter().all(|n| n["reachable"] == true));
            if s["leader"].is_u64() && all_reachable {
                return;
            }
            assert!(Instant::now() < deadline, "cluster not ready within {limit:?}: {s:#}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    pub fn leader_idx(&self) -> Option<usize> {
        let s = self.status_json();
        let leader = s["leader"].as_u64()?;
        self.nodes.iter().position(|n| n.id == leader)
    }

    pub fn wait_leader_change(&self, old: u64, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) = self.leader_idx() {
                if self.nodes[i].id != old {
                    return i;
                }
            }
            assert!(Instant::now() < deadline, "no new leader within {limit:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log_of(&self, idx: usize) -> String {
        std::fs::read_to_string(self.nodes[idx].dir.join("archipel.log")).unwrap_or_default()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

pub fn wait_answering(addr: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{addr} did not listen within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Polls `f` every 300 ms until it yields a value; fails the test after `limit`.
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {limit:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Writes `key` as the client's contract asks of a caller: after an unknown outcome, read the key
/// back and send the write again only if it is not there. A node killed while the client held an
/// idle connection to it can break a request after it was written, and then nobody can know.
pub async fn meta_put_checked(
    client: &Client,
    ns: &str,
    key: &[u8],
    value: &[u8],
) -> Result<(), archipel_client::ClientError> {
    use archipel_client::{ClientError, Consistency};
    let mut last = None;
    for _ in 0..3 {
        match client.meta_put(ns, key, value).await {
            Ok(_) => return Ok(()),
            Err(ClientError::Indeterminate(why)) => {
                let now = client.meta_get(ns, key, Consistency::Linearizable).await?;
                if now.is_some_and(|e| e.value == value) {
                    return Ok(());
                }
                last = Some(ClientError::Indeterminate(why));
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or(ClientError::NoEndpoints))
}
