//! `archipel dev`: a local multi-site cluster, one OS process per node, in the foreground.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use archipel_client::Client;
use serde::{Deserialize, Serialize};

use crate::cli::DevArgs;

/// Partner sites of the pilot, then generic names.
const SITE_NAMES: [&str; 4] = ["region", "departement", "metropole", "ville"];
const NODE_START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_GRACE: Duration = Duration::from_secs(15);

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Layout {
    sites: usize,
    nodes_per_site: usize,
    base_port: u16,
}

struct DevNode {
    id: u64,
    site: String,
    addr: String,
    dir: PathBuf,
}

pub fn site_name(index: usize) -> String {
    SITE_NAMES
        .get(index)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("site{}", index + 1))
}

pub async fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    if args.sites == 0 || args.nodes_per_site == 0 {
        bail!("--sites and --nodes-per-site must be at least 1");
    }
    let repair_rate = archipel_node::size::parse_size(&args.repair_rate)
        .map_err(|e| anyhow::anyhow!("--repair-rate {}: {e}", args.repair_rate))?;
    let total = args.sites * args.nodes_per_site;
    if total > 64 || args.base_port as usize + total > 65535 {
        bail!(
            "{total} nodes from port {} do not fit: use fewer nodes or a lower --base-port",
            args.base_port
        );
    }
    std::fs::create_dir_all(&args.data).with_context(|| format!("cannot create {}", args.data.display()))?;
    let data = args.data.canonicalize()?;
    check_layout(&data, &args)?;

    let nodes: Vec<DevNode> = (0..total)
        .map(|i| DevNode {
            id: i as u64 + 1,
            site: site_name(i / args.nodes_per_site),
            addr: format!("127.0.0.1:{}", args.base_port as usize + i),
            dir: data.join((i + 1).to_string()),
        })
        .collect();
    let tls_dir = dev_pki(&data, &nodes)?;
    let addrs: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    super::cert::register_dev_cluster(&addrs, &tls_dir)?;
    let exe = std::env::current_exe().context("cannot find the archipel executable")?;
    let mut children: Vec<(u64, Child)> = Vec::new();
    let tuning = NodeTuning {
        repair_rate,
        snapshot_after_logs: args.snapshot_after_logs,
    };
    let started = start_all(&exe, &nodes, &mut children, &tls_dir, tuning).await;
    let outcome = match started {
        Ok(()) => {
            match start_archive_front(&nodes, &data, (args.archive_port, args.vitam_port), &tls_dir, &args.ui).await {
                Ok(front) => match super::s3::start_dev(&addrs, &tls_dir, &data, args.s3_port).await {
                    Ok(s3_lines) => serve(&nodes, &mut children, &tls_dir, front, &s3_lines).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    stop_all(&mut children);
    super::cert::unregister_dev_cluster(&addrs);
    outcome.map(|()| ExitCode::SUCCESS)
}

fn check_layout(data: &Path, args: &DevArgs) -> anyhow::Result<()> {
    let path = data.join("dev.json");
    let wanted = Layout {
        sites: args.sites,
        nodes_per_site: args.nodes_per_site,
        base_port: args.base_port,
    };
    if let Ok(text) = std::fs::read_to_string(&path) {
        let existing: Layout = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged; remove the directory", path.display()))?;
        if existing != wanted {
            bail!(
                "{} was created with --sites {} --nodes-per-site {} --base-port {}; pass the same flags or use another --data",
                data.display(),
                existing.sites,
                existing.nodes_per_site,
                existing.base_port
            );
        }
        return Ok(());
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&wanted)?)?;
    Ok(())
}

/// The dev cluster's PKI under `data/pki`, made on first start: a CA, one certificate per node
/// and an operator client certificate. Returns the client's TLS directory.
fn dev_pki(data: &Path, nodes: &[DevNode]) -> anyhow::Result<PathBuf> {
    use archipel_node::tls::{issue, Ca, Role, Validity};
    let pki = data.join("pki");
    let ca = if pki.join(issue::CA_KEY).exists() {
        Ca::load(&pki)?
    } else {
        let ca = Ca::generate("Archipel dev CA", Validity::days(issue::CA_DAYS))?;
        ca.save(&pki)?;
        ca
    };
    // Encryption at rest: one master key for the dev cluster, in each node's TLS dir (also added
    // to a dev cluster made before it existed).
    let (master_key, _) = archipel_node::crypto::ensure_master_key(&pki)?;
    for node in nodes {
        let dir = node.dir.join("tls");
        if !dir.join(issue::NODE_KEY).exists() {
            let cert = ca.issue_node(
                node.id,
                &node.site,
                std::slice::from_ref(&node.addr),
                Validity::days(issue::LEAF_DAYS),
            )?;
            issue::write_bundle(&dir, &ca.cert_pem(), &cert)?;
        }
        archipel_node::crypto::install_master_key(&master_key, &dir)?;
    }
    let client_dir = pki.join("clients").join("dev-operator");
    if !client_dir.join(issue::CLIENT_KEY).exists() {
        let cert = ca.issue_client("dev-operator", Role::Operator, Validity::days(issue::LEAF_DAYS))?;
        issue::write_bundle(&client_dir, &ca.cert_pem(), &cert)?;
    }
    Ok(client_dir)
}

/// Per-node settings `archipel dev` writes into each node's config.
#[derive(Clone, Copy)]
pub(crate) struct NodeTuning {
    pub repair_rate: u64,
    /// `[raft] snapshot_after_logs`, when not the node's default.
    pub snapshot_after_logs: Option<u64>,
}

fn write_node_config(node: &DevNode, tuning: NodeTuning) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(&node.dir)?;
    let path = node.dir.join("node.toml");
    let snapshots = tuning
        .snapshot_after_logs
        // Keeps the nodes' default ratio (10 000 and 1 000), so a newcomer still gets a snapshot.
        .map(|n| format!("snapshot_after_logs = {n}\nkeep_logs_after_snapshot = {}\n", n / 10))
        .unwrap_or_default();
    // Short timeouts: loopback latency, and newcomers should see failover within seconds.
    let text = format!(
        "node_id = {}\nsite = \"{}\"\nlisten = \"{}\"\ndata_dir = \"{}\"\ncapacity = \"100GiB\"\n\n[raft]\nheartbeat_ms = 100\nelection_timeout_min_ms = 800\nelection_timeout_max_ms = 1600\n{snapshots}\n[repair]\nmax_bytes_per_sec = {}\n\n[tls]\ndir = \"{}\"\n",
        node.id,
        node.site,
        node.addr,
        node.dir.display(),
        tuning.repair_rate,
        node.dir.join("tls").display()
    );
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A node to add to a running dev cluster later (`archipel bench scale` times its catch-up):
/// its certificate from the dev CA, the master key and its config under `data/<id>`. Returns
/// the config's path, for `archipel server --config`.
pub(crate) fn prepare_extra_node(
    data: &Path,
    id: u64,
    site: &str,
    addr: &str,
    tuning: NodeTuning,
) -> anyhow::Result<PathBuf> {
    let node = DevNode {
        id,
        site: site.to_owned(),
        addr: addr.to_owned(),
        dir: data.join(id.to_string()),
    };
    dev_pki(data, std::slice::from_ref(&node))?;
    write_node_config(&node, tuning)
}

fn check_not_running(node: &DevNode) -> anyhow::Result<()> {
    let pid_file = node.dir.join("archipel.pid");
    if let Ok(text) = std::fs::read_to_string(&pid_file) {
        if let Ok(pid) = text.trim().parse::<i32>() {
            // Signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid, 0) } == 0 {
                bail!(
                    "node {} is already running (pid {pid}, {}); is another `archipel dev` using this directory?",
                    node.id,
                    pid_file.display()
                );
            }
        }
    }
    Ok(())
}

async fn start_all(
    exe: &Path,
    nodes: &[DevNode],
    children: &mut Vec<(u64, Child)>,
    tls_dir: &Path,
    tuning: NodeTuning,
) -> anyhow::Result<()> {
    for node in nodes {
        check_not_running(node)?;
        let config = write_node_config(node, tuning)?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(node.dir.join("archipel.log"))?;
        let child = std::process::Command::new(exe)
            .arg("server")
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start node {}", node.id))?;
        children.push((node.id, child));
    }
    let list = nodes.iter().map(|n| n.addr.clone()).collect::<Vec<_>>().join(",");
    let client = Client::from_list_with_tls(&list, Some(archipel_client::TlsFiles::from_dir(tls_dir)))?;
    for node in nodes {
        wait_until_answering(&client, node, children).await?;
    }
    let first = &nodes[0];
    let info = client.node_info(&first.addr).await?;
    if info.cluster_id.is_empty() {
        eprintln!("initialising a new cluster on node {} ({})", first.id, first.addr);
        client.init_cluster(&first.addr).await?;
    }
    for node in &nodes[1..] {
        if client.node_info(&node.addr).await?.cluster_id.is_empty() {
            eprintln!("adding node {} (site {}, {})", node.id, node.site, node.addr);
            client.add_node(&node.addr, &node.site).await.with_context(|| {
                format!(
                    "adding node {} failed; see {}",
                    node.id,
                    node.dir.join("archipel.log").display()
                )
            })?;
        }
    }
    wait_for_leader(&client).await
}

async fn wait_until_answering(client: &Client, node: &DevNode, children: &mut [(u64, Child)]) -> anyhow::Result<()> {
    let deadline = Instant::now() + NODE_START_TIMEOUT;
    loop {
        if client.node_info(&node.addr).await.is_ok() {
            return Ok(());
        }
        if let Some((_, child)) = children.iter_mut().find(|(id, _)| *id == node.id) {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "node {} exited ({status}) during start-up:\n{}",
                    node.id,
                    log_tail(&node.dir.join("archipel.log"))
                );
            }
        }
        if Instant::now() > deadline {
            bail!(
                "node {} did not answer within {NODE_START_TIMEOUT:?}; see {}",
                node.id,
                node.dir.join("archipel.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_leader(client: &Client) -> anyhow::Result<()> {
    let deadline = Instant::now() + NODE_START_TIMEOUT;
    loop {
        if let Ok(status) = client.status(1000).await {
            if status.leader_id.is_some() && status.nodes.iter().all(|n| n.reachable) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the cluster elected no leader within {NODE_START_TIMEOUT:?}; see the nodes' archipel.log files");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// The front as `serve` announces it: its address, its Vitam door's, and the web interface's
/// sign-in if it has one.
struct DevFront {
    addr: std::net::SocketAddr,
    vitam: std::net::SocketAddr,
    ui_token: Option<String>,
}

/// The archive front of the dev cluster, in this process. It trusts calls from this machine
/// without a token, so the local CLI needs no set-up.
async fn start_archive_front(
    nodes: &[DevNode],
    data: &Path,
    (port, vitam_port): (u16, u16),
    tls_dir: &Path,
    ui: &super::archive::ui::UiArgs,
) -> anyhow::Result<DevFront> {
    let list: Vec<String> = nodes.iter().map(|n| n.addr.clone()).collect();
    let client = super::cert::client_for(&list.join(","), Some(tls_dir))?;
    let mut config = archipel_archive::service::ArchiveConfig::new(data.join("archive-spool"));
    config.dev_trust_loopback = true;
    config.search_dir = Some(data.join("archive-search"));
    config.seal_interval = Duration::from_secs(60);
    config.seda_schemas = super::archive::seda_schemas(None)?;
    let listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let archive = super::archive::open_archive(client, config, None).await?;
    // The Vitam door accepts client certificates of the dev CA (`archipel cert issue --dir
    // <data>/pki --client NAME --role tenant --tenant T`).
    let doors = super::archive::VitamArgs {
        vitam_listen: Some(std::net::SocketAddr::from(([127, 0, 0, 1], vitam_port))),
        vitam_client_ca: Some(data.join("pki").join("ca.pem")),
        ..Default::default()
    };
    let vitam = super::archive::start_vitam(
        std::sync::Arc::clone(&archive),
        &doors,
        &data.join("archive-spool"),
        None,
    )
    .await
    .with_context(|| format!("the Vitam door could not start on port {vitam_port}; pass --vitam-port"))?
    .context("the Vitam door did not start")?;
    let ui_config = ui.config()?;
    let with_ui = ui_config.is_some();
    let (addr, _handle) = super::archive::serve_front(std::sync::Arc::clone(&archive), listen, ui_config)
        .await
        .with_context(|| format!("the archive front could not start on port {port}; pass --archive-port"))?;
    let ui_token = if with_ui {
        Some(
            super::archive::ui::dev_sign_in(&archive, data)
                .await
                .context("cannot prepare the web interface's dev sign-in")?,
        )
    } else {
        None
    };
    Ok(DevFront { addr, vitam, ui_token })
}

async fn serve(
    nodes: &[DevNode],
    children: &mut [(u64, Child)],
    tls_dir: &Path,
    front: DevFront,
    s3_lines: &[String],
) -> anyhow::Result<()> {
    use std::io::Write;
    use tokio::signal::unix::{signal, SignalKind};
    // Handlers first: whoever reads the lines below may signal us at once.
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let list: Vec<&str> = nodes.iter().map(|n| n.addr.as_str()).collect();
    // A reader may stop after the first line: a closed stdout must not stop the cluster.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ARCHIPEL_CLUSTER={}", list.join(","));
    let _ = writeln!(out, "ARCHIPEL_ARCHIVE=http://{}", front.addr);
    let _ = writeln!(out, "ARCHIPEL_ASALAE=http://{}/asalae", front.addr);
    let _ = writeln!(out, "ARCHIPEL_VITAM=https://{}", front.vitam);
    for line in s3_lines {
        let _ = writeln!(out, "{line}");
    }
    // The CLI also finds this directory by itself for a running dev cluster (cmd/cert/locate.rs).
    let _ = writeln!(out, "ARCHIPEL_TLS_DIR={}", tls_dir.display());
    if let Some(token) = &front.ui_token {
        let _ = writeln!(out, "ARCHIPEL_UI=http://{}/ui/", front.addr);
        let _ = writeln!(out, "ARCHIPEL_UI_TOKEN={token}");
    }
    let _ = out.flush();
    let sites = nodes
        .iter()
        .map(|n| n.site.as_str())
        .collect::<std::collections::BTreeSet<_>>();
    eprintln!(
        "archipel dev: {} nodes across {} sites ({}) are up; logs in {}/<node-id>/archipel.log",
        nodes.len(),
        sites.len(),
        sites.into_iter().collect::<Vec<_>>().join(", "),
        nodes[0]
            .dir
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    eprintln!(
        "try: ARCHIPEL_CLUSTER={} archipel status   (mutual TLS is on; the CLI finds the dev certificates by itself, or export ARCHIPEL_TLS_DIR={}; Ctrl-C stops every node)",
        list.join(","),
        tls_dir.display()
    );
    if front.ui_token.is_some() {
        eprintln!(
            "web interface: open http://{}/ui/ and sign in with ARCHIPEL_UI_TOKEN (an archivist of tenant `{}`); other roles: archipel archive token create --tenant {} --role …",
            front.addr,
            super::archive::ui::DEV_TENANT,
            super::archive::ui::DEV_TENANT
        );
    }
    let stop = async {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    tokio::pin!(stop);
    let mut reported = std::collections::BTreeSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                for (id, child) in children.iter_mut() {
                    if reported.contains(id) { continue; }
                    if let Ok(Some(status)) = child.try_wait() {
                        eprintln!("archipel dev: node {id} exited ({status}); the others carry on");
                        reported.insert(*id);
                    }
                }
            }
        }
    }
    eprintln!("archipel dev: stopping every node");
    Ok(())
}

fn stop_all(children: &mut [(u64, Child)]) {
    for (_, child) in children.iter_mut() {
        if let Ok(None) = child.try_wait() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
    }
    let deadline = Instant::now() + STOP_GRACE;
    for (id, child) in children.iter_mut() {
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    eprintln!("archipel dev: node {id} did not stop in {STOP_GRACE:?}; killing it");
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}
