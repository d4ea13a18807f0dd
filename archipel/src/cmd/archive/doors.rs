//! Starting the doors of a front (docs/connectors.md): the as@lae door is part of the front's
//! own router; the Vitam door needs a TLS listener of its own, started here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use archipel_archive::doors::vitam;
use archipel_archive::service::Archive;

#[derive(clap::Args, Clone, Default)]
pub struct VitamArgs {
    /// Serve the Vitam door (ingest-external, admin-external) with mutual TLS on this address.
    #[arg(long)]
    pub vitam_listen: Option<SocketAddr>,
    /// The Vitam door's server certificate (PEM). Default: a self-signed one, made once in
    /// <spool>/vitam-door/ (give your own for clients that check the server).
    #[arg(long, requires = "vitam_key")]
    pub vitam_cert: Option<PathBuf>,
    /// The private key of --vitam-cert (PEM).
    #[arg(long, requires = "vitam_cert")]
    pub vitam_key: Option<PathBuf>,
    /// CA of the client certificates the Vitam door accepts. Default: the cluster CA (ca.pem in
    /// --tls-dir / ARCHIPEL_TLS_DIR), which `archipel cert issue --client NAME --role tenant
    /// --tenant T` issues from.
    #[arg(long)]
    pub vitam_client_ca: Option<PathBuf>,
}

/// Starts the Vitam door if asked; returns its address.
pub async fn start_vitam(
    archive: Arc<Archive>,
    args: &VitamArgs,
    spool: &Path,
    tls_dir: Option<&Path>,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(listen) = args.vitam_listen else {
        return Ok(None);
    };
    let (cert, key) = match (&args.vitam_cert, &args.vitam_key) {
        (Some(c), Some(k)) => (c.clone(), k.clone()),
        _ => self_signed(&spool.join("vitam-door"))?,
    };
    let client_ca = match &args.vitam_client_ca {
        Some(p) => p.clone(),
        None => {
            let dir = tls_dir
                .map(Path::to_path_buf)
                .or_else(|| std::env::var_os(archipel_client::TLS_DIR_ENV).map(PathBuf::from))
                .context(
                    "the Vitam door needs the CA of its clients' certificates: pass --vitam-client-ca or --tls-dir",
                )?;
            dir.join("ca.pem")
        }
    };
    let files = vitam::tls::DoorTls { cert, key, client_ca };
    let config = vitam::tls::server_config(&files)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("the Vitam door cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    let limits = archive.config.http.clone();
    let app = vitam::router(Arc::clone(&archive));
    tokio::spawn(async move {
        if let Err(e) = vitam::tls::serve(archive, app, listener, config, limits).await {
            tracing::error!("the Vitam door stopped: {e}");
        }
    });
    Ok(Some(addr))
}

/// A self-signed server certificate for localhost, made once in `dir`.
fn self_signed(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join("door.pem"), dir.join("door.key"));
    if cert.is_file() && key.is_file() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .context("cannot make the Vitam door's certificate")?;
    archipel_node::tls::files::write_private(&key, made.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem()).with_context(|| format!("cannot write {}", cert.display()))?;
    Ok((cert, key))
}
