//! `archipel archive serve`, and the front `archipel dev` starts in-process.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use archipel_archive::server;
use archipel_archive::service::{Archive, ArchiveConfig};
use archipel_client::Client;

use crate::cli::ClusterArgs;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub listen: SocketAddr,
    /// Scratch directory for SIPs being checked (local; may be wiped when the front is stopped).
    #[arg(long, default_value = "/var/tmp/archipel-archive")]
    pub spool: PathBuf,
    /// Directory caching this front's search indexes, one subdirectory per tenant (default: <spool>/search).
    /// Disposable: deleting it costs a rebuild from the catalog. One front per directory (it is locked).
    #[arg(long)]
    pub search_dir: Option<PathBuf>,
    /// Directory holding the PRONOM signature files (DROID_SignatureFile_V*.xml and
    /// container-signature-*.xml). Without it formats are taken as the SIPs declare them.
    #[arg(long, env = "ARCHIPEL_PRONOM_DIR")]
    pub pronom_dir: Option<PathBuf>,
    /// RFC 3161 time-stamping authority for logbook seals.
    #[arg(long)]
    pub tsa_url: Option<String>,
    /// PEM file of the TSA's trust anchors (and intermediates): seal tokens are then verified in
    /// full (signature, signing certificate, chain) when made and by `logbook verify`.
    #[arg(long, env = "ARCHIPEL_TSA_CA")]
    pub tsa_ca: Option<PathBuf>,
    /// Largest SIP accepted, in bytes.
    #[arg(long, default_value_t = 64 << 30)]
    pub max_sip_bytes: u64,
    /// A request's headers must arrive within this many seconds, or the connection is closed.
    #[arg(long, default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// An upload that sends nothing for this many seconds is dropped.
    #[arg(long, default_value_t = 60)]
    pub body_idle_timeout_secs: u64,
    /// Largest JSON request body, in bytes (SIPs have --max-sip-bytes).
    #[arg(long, default_value_t = 2 << 20)]
    pub max_body_bytes: usize,
    /// HTTP connections open at once; more wait in the kernel backlog.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Create new tenants' namespaces unencrypted. By default they are encrypted at rest, which
    /// needs the cluster master key on every node (docs/encryption.md).
    #[arg(long)]
    pub no_tenant_encryption: bool,
    /// Files up to this size are stored in tar packs of up to 16 MiB rather than one object
    /// each (docs/archive.md, "The AIP"); 0 stores every file alone. At most 16MiB.
    #[arg(long, default_value = "1MiB")]
    pub pack_files_up_to: String,
    #[command(flatten)]
    pub vitam: super::doors::VitamArgs,
    /// Most units one communication request (DIP) may name.
    #[arg(long, default_value_t = 10_000)]
    pub max_delivery_units: usize,
    /// How long a built DIP stays downloadable, in hours.
    #[arg(long, default_value_t = 168)]
    pub dip_ttl_hours: u64,
    /// Tests only: take access decisions (communicability) on the day written in this file
    /// (`2070-01-01`) instead of today.
    #[arg(long, hide = true)]
    pub access_clock_file: Option<PathBuf>,
    /// Directory of the official SEDA schemas (2.1/, 2.2/, 2.3/, xml.xsd, xlink.xsd) incoming SEDA
    /// messages are checked against; default ../shared/seda/xsd when it exists. Without them SEDA
    /// communication requests and authorisation replies are refused (JSON still works).
    #[arg(long, env = "ARCHIPEL_SEDA_XSD_DIR")]
    pub seda_xsd_dir: Option<PathBuf>,
    /// A DIP build that shows no progress for this many seconds (its front stopped) is rebuilt
    /// by a running front.
    #[arg(long, default_value_t = 60)]
    pub dip_stale_secs: u64,
    /// Tests only: DIP builds pause after each object while this file exists.
    #[arg(long, hide = true)]
    pub dip_pause_file: Option<PathBuf>,
    /// Tests only: transfers pause before their catalog commit while this file exists.
    #[arg(long, hide = true)]
    pub ingest_pause_file: Option<PathBuf>,
    #[command(flatten)]
    pub ui: super::ui::UiArgs,
}

/// The SEDA schemas for incoming messages: an explicit directory must hold them; none found is
/// a warning (SEDA messages are then refused).
pub fn seda_schemas(dir: Option<&std::path::Path>) -> anyhow::Result<Option<archipel_archive::seda_xsd::SedaSchemas>> {
    let found =
        archipel_archive::seda_xsd::SedaSchemas::discover(dir).map_err(|e| anyhow::anyhow!("--seda-xsd-dir: {e}"))?;
    match &found {
        Some(s) => tracing::info!(
            "incoming SEDA messages are checked against the schemas in {}",
            s.dir().display()
        ),
        None => tracing::warn!(
            "no SEDA schemas (--seda-xsd-dir): SEDA communication requests and authorisation replies will be refused"
        ),
    }
    Ok(found)
}

/// Parses `--pack-files-up-to`: a size within what one pack holds.
pub fn pack_limit(text: &str) -> anyhow::Result<u64> {
    let bytes = archipel_node::size::parse_size(text).map_err(|e| anyhow::anyhow!("--pack-files-up-to {text}: {e}"))?;
    let max = archipel_archive::ingest::pack::PACK_TARGET;
    if bytes > max {
        anyhow::bail!(
            "--pack-files-up-to {text} is more than a pack holds ({} MiB): give at most {}MiB, or 0 to store every file alone",
            max >> 20,
            max >> 20
        );
    }
    Ok(bytes)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::server::init_logging(archipel_node::config::LogFormat::Human, "info");
    let client = crate::cmd::connect(&args.cluster)?;
    let mut config = ArchiveConfig::new(args.spool.clone());
    if let Some(dir) = &args.search_dir {
        config.search_dir = Some(dir.clone());
    }
    config.max_sip_bytes = args.max_sip_bytes;
    config.tsa_url = args.tsa_url.clone();
    config.tsa_ca = args.tsa_ca.clone();
    if args.header_read_timeout_secs == 0 || args.body_idle_timeout_secs == 0 || args.max_connections == 0 {
        anyhow::bail!("--header-read-timeout-secs, --body-idle-timeout-secs and --max-connections must be 1 or more");
    }
    config.http.header_read_timeout = std::time::Duration::from_secs(args.header_read_timeout_secs);
    config.http.max_connections = args.max_connections;
    config.body_idle_timeout = std::time::Duration::from_secs(args.body_idle_timeout_secs);
    config.max_request_body_bytes = args.max_body_bytes;
    config.encrypt_tenant_namespaces = !args.no_tenant_encryption;
    config.pack_files_up_to = pack_limit(&args.pack_files_up_to)?;
    if args.max_delivery_units == 0 || args.dip_ttl_hours == 0 {
        anyhow::bail!("--max-delivery-units and --dip-ttl-hours must be at least 1");
    }
    config.max_delivery_units = args.max_delivery_units;
    config.dip_ttl = std::time::Duration::from_secs(args.dip_ttl_hours * 3600);
    if let Some(path) = &args.access_clock_file {
        tracing::warn!(
            "access decisions use the day in {} instead of today: a test setting, never for production",
            path.display()
        );
        config.access_clock = archipel_archive::access::AccessClock::File(path.clone());
    }
    config.seda_schemas = seda_schemas(args.seda_xsd_dir.as_deref())?;
    if args.dip_stale_secs < 2 {
        anyhow::bail!("--dip-stale-secs must be at least 2: a live build shows progress every second");
    }
    config.dip_stale_after = std::time::Duration::from_secs(args.dip_stale_secs);
    config.dip_pause_file = args.dip_pause_file.clone();
    config.ingest_pause_file = args.ingest_pause_file.clone();
    let archive = open_archive(client, config, args.pronom_dir.as_deref()).await?;
    let vitam = super::doors::start_vitam(
        Arc::clone(&archive),
        &args.vitam,
        &args.spool,
        args.cluster.tls_dir.as_deref(),
    )
    .await?;
    let ui = args.ui.config()?;
    let with_ui = ui.is_some();
    let (addr, handle) = serve_front(archive, args.listen, ui).await?;
    // A reader may stop after the first line: a closed stdout must not stop the front.
    let mut out = std::io::stdout();
    let _ = writeln!(out, "ARCHIPEL_ARCHIVE=http://{addr}");
    let _ = writeln!(out, "ARCHIPEL_ASALAE=http://{addr}/asalae");
    if let Some(v) = vitam {
        let _ = writeln!(out, "ARCHIPEL_VITAM=https://{v}");
    }
    if with_ui {
        let _ = writeln!(out, "ARCHIPEL_UI=http://{addr}/ui/");
    }
    let _ = out.flush();
    tokio::select! {
        r = handle => r.context("the archive front stopped")??,
        _ = crate::cmd::server::shutdown_signal() => eprintln!("archipel archive: stopping"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The archive service of a front, with format identification when signature files are found.
pub async fn open_archive(
    client: Client,
    config: ArchiveConfig,
    pronom_dir: Option<&std::path::Path>,
) -> anyhow::Result<Arc<Archive>> {
    let identifier = match archipel_pronom::SignatureFiles::discover(pronom_dir) {
        Ok(files) => {
            let id =
                tokio::task::spawn_blocking(move || archipel_pronom::Identifier::load(&files.droid, &files.container))
                    .await??;
            Some(Arc::new(id))
        }
        Err(e) => {
            tracing::warn!("format identification is off ({e}); formats are taken as declared");
            eprintln!("archipel archive: format identification is off: {e}");
            None
        }
    };
    Ok(Archive::new(client, config, identifier).await?)
}

/// Serves the front's REST API (with the as@lae door), and the web interface under /ui/ unless
/// `ui` is None, on `listen`.
pub async fn serve_front(
    archive: Arc<Archive>,
    listen: SocketAddr,
    ui: Option<archipel_ui::UiConfig>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let extra = match ui {
        Some(config) => archipel_ui::router(Arc::clone(&archive), config),
        None => axum::Router::new(),
    };
    let handle = tokio::spawn(server::serve_with(archive, listener, extra));
    Ok((addr, handle))
}
