//! `archipel s3`: the S3 gateway (`serve`), its access keys (`key create|list|revoke`) and its
//! clean-up (`sweep`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use archipel_s3::{default_seal_key_path, GatewayConfig, Keys, SealKey};
use clap::{Args, Subcommand};

use crate::cli::ClusterArgs;

#[derive(Subcommand)]
pub enum S3Command {
    /// Serve the S3 API over the cluster (buckets are tenants' namespaces).
    Serve(ServeArgs),
    /// Access keys: one per tool, bound to a tenant.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Finish interrupted clean-ups and delete data left by uploads that never committed
    /// (a gateway crash between data and record), once; `serve` does this every minute.
    Sweep {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Data announced longer than this (seconds, on the cluster's leader-stamped time)
        /// without a record is deleted.
        #[arg(long, default_value_t = archipel_s3::DEFAULT_INTENT_TTL.as_secs())]
        intent_ttl_secs: u64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct SealArgs {
    /// File holding the key that seals access-key secrets (64 hex digits; created if absent).
    /// The gateway and `archipel s3 key create` must use the same file. Default: s3-seal.key in
    /// the TLS directory.
    #[arg(long, env = "ARCHIPEL_S3_SEAL_KEY")]
    pub seal_key: Option<PathBuf>,
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub seal: SealArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8490")]
    pub listen: SocketAddr,
    /// Base domain for virtual-hosted-style URLs (https://BUCKET.DOMAIN/KEY); path-style URLs
    /// always work.
    #[arg(long)]
    pub domain: Option<String>,
    /// Data announced longer than this (seconds, leader-stamped time) without a record is
    /// deleted by the gateway's sweep.
    #[arg(long, default_value_t = archipel_s3::DEFAULT_INTENT_TTL.as_secs())]
    pub intent_ttl_secs: u64,
}

/// Fault injection for crash-recovery tests (`crash-after-data`); never set in service.
const FAULT_ENV: &str = "ARCHIPEL_S3_FAULT";

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create an access key for a tenant; prints the secret once.
    Create {
        #[arg(long)]
        tenant: String,
        /// The key may read and list, never write or delete.
        #[arg(long)]
        read_only: bool,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[command(flatten)]
        seal: SealArgs,
        #[arg(long)]
        json: bool,
    },
    /// List access keys (never their secrets).
    List {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// Revoke an access key: every gateway refuses it within seconds.
    Revoke {
        access_key: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: S3Command) -> anyhow::Result<ExitCode> {
    match command {
        S3Command::Serve(args) => serve(args).await,
        S3Command::Key { command } => key(command).await,
        S3Command::Sweep {
            cluster,
            intent_ttl_secs,
            json,
        } => sweep(cluster, intent_ttl_secs, json).await,
    }
}

async fn sweep(cluster: ClusterArgs, intent_ttl_secs: u64, json: bool) -> anyhow::Result<ExitCode> {
    let client = Arc::new(crate::cmd::connect(&cluster)?);
    let keys = Arc::new(Keys::without_seal(Arc::clone(&client)));
    let gateway = archipel_s3::Gateway::new(client, keys);
    let cleanups = gateway.sweep().await.context("finishing interrupted clean-ups")?;
    let orphans = gateway
        .sweep_intents(std::time::Duration::from_secs(intent_ttl_secs))
        .await
        .context("sweeping orphaned upload data")?;
    if json {
        crate::output::print_json(&serde_json::json!({
            "cleanups_finished": cleanups,
            "orphans_removed": orphans.removed,
            "intents_kept": orphans.kept,
            "orphans_locked": orphans.locked,
        }))?;
    } else {
        outln!("{cleanups} interrupted clean-ups finished");
        outln!(
            "{} orphaned data objects deleted, {} uploads still within their {intent_ttl_secs} s, {} locked orphans left until their lock ends",
            orphans.removed, orphans.kept, orphans.locked
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The seal key file: `--seal-key`, else s3-seal.key in the TLS directory used for `cluster`.
pub fn seal_key_path(seal: &SealArgs, cluster: &ClusterArgs) -> anyhow::Result<PathBuf> {
    if let Some(p) = &seal.seal_key {
        return Ok(p.clone());
    }
    let list = cluster.cluster.as_deref().unwrap_or_default();
    match super::cert::tls_dir_for(list, cluster.tls_dir.as_deref()) {
        Some(dir) => Ok(default_seal_key_path(Some(&dir))),
        None => anyhow::bail!(
            "no seal key: pass --seal-key FILE (or set ARCHIPEL_S3_SEAL_KEY); it is created on first use and must be the same for the gateway and `archipel s3 key create`"
        ),
    }
}

fn load_seal(path: &Path) -> anyhow::Result<SealKey> {
    Ok(SealKey::load_or_create(path)?)
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::server::init_logging(archipel_node::config::LogFormat::Human, "info");
    let client = Arc::new(crate::cmd::connect(&args.cluster)?);
    let seal = load_seal(&seal_key_path(&args.seal, &args.cluster)?)?;
    let faults = match std::env::var(FAULT_ENV).ok().as_deref() {
        None | Some("") => archipel_s3::Faults::default(),
        Some("crash-after-data") => archipel_s3::Faults { crash_after_data: true },
        Some(other) => anyhow::bail!("{FAULT_ENV}={other}: the only fault is crash-after-data"),
    };
    let config = GatewayConfig {
        domain: args.domain,
        intent_ttl: std::time::Duration::from_secs(args.intent_ttl_secs),
        faults,
    };
    let (addr, handle) = archipel_s3::start(client, seal, config, args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    outln!("ARCHIPEL_S3=http://{addr}");
    tokio::select! {
        r = handle => r.context("the S3 gateway stopped")?,
        _ = crate::cmd::server::shutdown_signal() => eprintln!("archipel s3: stopping"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn key(command: KeyCommand) -> anyhow::Result<ExitCode> {
    match command {
        KeyCommand::Create {
            tenant,
            read_only,
            cluster,
            seal,
            json,
        } => {
            let keys = keys(&cluster, &seal)?;
            let key = keys.create(&tenant, read_only).await?;
            if json {
                crate::output::print_json(&key)?;
            } else {
                outln!("access key: {}", key.access_key);
                outln!("secret key: {}", key.secret_key);
                outln!(
                    "tenant {}{}; the secret is shown only now",
                    key.tenant,
                    if read_only { " (read-only)" } else { "" }
                );
            }
        }
        KeyCommand::List { tenant, cluster, json } => {
            let keys = Keys::without_seal(Arc::new(crate::cmd::connect(&cluster)?));
            let list = keys.list(tenant.as_deref()).await?;
            if json {
                crate::output::print_json(&list)?;
            } else {
                for k in &list {
                    outln!(
                        "{}  tenant={}  {}{}",
                        k.access_key,
                        k.tenant,
                        if k.read_only { "read-only" } else { "read-write" },
                        if k.revoked_ms.is_some() { "  REVOKED" } else { "" }
                    );
                }
            }
        }
        KeyCommand::Revoke {
            access_key,
            cluster,
            json,
        } => {
            let keys = Keys::without_seal(Arc::new(crate::cmd::connect(&cluster)?));
            let revoked = keys.revoke(&access_key).await?;
            if json {
                crate::output::print_json(&serde_json::json!({ "access_key": access_key, "revoked": revoked }))?;
            } else if revoked {
                outln!("{access_key} revoked");
            } else {
                outln!("{access_key} was already revoked");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn keys(cluster: &ClusterArgs, seal: &SealArgs) -> anyhow::Result<Keys> {
    let client = Arc::new(crate::cmd::connect(cluster)?);
    Ok(Keys::new(client, load_seal(&seal_key_path(seal, cluster)?)?))
}

const DEV_PORT: u16 = 8490;

/// The dev cluster's gateway, in the `archipel dev` process, with one access key for tenant
/// `dev` kept in `data/s3-dev-key.json` (reused on later starts). Returns the lines to print.
pub async fn start_dev(
    addrs: &[String],
    tls_dir: &Path,
    data: &Path,
    port: Option<u16>,
) -> anyhow::Result<Vec<String>> {
    let client = Arc::new(super::cert::client_for(&addrs.join(","), Some(tls_dir))?);
    let seal = load_seal(&default_seal_key_path(Some(tls_dir)))?;
    let keys = Keys::new(Arc::clone(&client), seal.clone());
    let key_file = data.join("s3-dev-key.json");
    let saved: Option<archipel_s3::NewKey> = std::fs::read(&key_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let key = match saved {
        Some(k) if keys.lookup(&k.access_key).await?.is_some() => k,
        _ => {
            let k = keys.create("dev", false).await?;
            write_private(&key_file, &serde_json::to_vec_pretty(&k)?)
                .with_context(|| format!("cannot write {}", key_file.display()))?;
            k
        }
    };
    let wanted = port.unwrap_or(DEV_PORT);
    let listen = SocketAddr::from(([127, 0, 0, 1], wanted));
    let started = match archipel_s3::start(Arc::clone(&client), seal.clone(), GatewayConfig::default(), listen).await {
        Err(e) if port.is_none() && e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("archipel dev: port {DEV_PORT} is taken; the S3 gateway takes any free port");
            archipel_s3::start(
                client,
                seal,
                GatewayConfig::default(),
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await
        }
        other => other,
    };
    let (addr, _handle) =
        started.with_context(|| format!("the S3 gateway could not start on port {wanted}; pass --s3-port"))?;
    Ok(vec![
        format!("ARCHIPEL_S3=http://{addr}"),
        format!("ARCHIPEL_S3_ACCESS_KEY={}", key.access_key),
        format!("ARCHIPEL_S3_SECRET_KEY={}", key.secret_key),
    ])
}

/// The dev key file holds a secret: readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
