//! The HTTP side: one hyper HTTP/1.1 connection task per client, each request handed to s3s
//! (which checks signatures, parses the request and writes the XML answer).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use archipel_client::Client;
use hyper_util::rt::TokioIo;
use s3s::service::{S3Service, S3ServiceBuilder};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::access::Access;
use crate::gateway::{Faults, Gateway};
use crate::intents::DEFAULT_INTENT_TTL;
use crate::keys::{KeyAuth, Keys, SealKey};

/// How often leftover clean-up (interrupted deletes, aborted uploads) is retried.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Base domain for virtual-hosted-style requests (`bucket.DOMAIN`); path style always works.
    pub domain: Option<String>,
    /// Data announced longer than this without a record is deleted by the sweep.
    pub intent_ttl: Duration,
    pub faults: Faults,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            domain: None,
            intent_ttl: DEFAULT_INTENT_TTL,
            faults: Faults::default(),
        }
    }
}

/// The s3s service answering every request of the gateway.
pub fn service(
    client: Arc<Client>,
    seal: SealKey,
    config: &GatewayConfig,
) -> Result<(S3Service, Arc<Gateway>), String> {
    let keys = Arc::new(Keys::new(Arc::clone(&client), seal));
    let gateway = Arc::new(Gateway::new(client, Arc::clone(&keys)).with_faults(config.faults));
    let mut builder = S3ServiceBuilder::new(Gateway::clone(&gateway));
    builder.set_auth(KeyAuth(keys));
    builder.set_access(Access {
        client: Arc::clone(&gateway.client),
    });
    builder.set_validation(BucketNames);
    if let Some(domain) = &config.domain {
        let host = s3s::host::SingleDomain::new(domain).map_err(|e| format!("--domain {domain}: {e}"))?;
        builder.set_host(host);
    }
    Ok((builder.build(), gateway))
}

/// Binds `listen` and serves until the returned task is aborted. Returns the bound address.
pub async fn start(
    client: Arc<Client>,
    seal: SealKey,
    config: GatewayConfig,
    listen: SocketAddr,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let (service, gateway) = service(client, seal, &config).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let sweeper = tokio::spawn(sweep_forever(gateway, config.intent_ttl));
        accept_loop(listener, service).await;
        sweeper.abort();
    });
    Ok((addr, handle))
}

async fn sweep_forever(gateway: Arc<Gateway>, intent_ttl: Duration) {
    loop {
        match gateway.sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("s3 gateway: finished {n} interrupted clean-ups"),
            Err(e) => tracing::warn!("s3 gateway: clean-up sweep failed ({e}); retrying later"),
        }
        match gateway.sweep_intents(intent_ttl).await {
            Ok(r) if r.removed > 0 => tracing::info!("s3 gateway: deleted {} orphaned data objects", r.removed),
            Ok(_) => {}
            Err(e) => tracing::warn!("s3 gateway: orphan sweep failed ({e}); retrying later"),
        }
        tokio::time::sleep(SWEEP_EVERY).await;
    }
}

async fn accept_loop(listener: TcpListener, service: S3Service) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("s3 gateway: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let handler = hyper::service::service_fn(move |req| {
            let service = service.clone();
            async move {
                match crate::framing::prepare(req).await {
                    Ok(req) => service.call(req).await,
                    Err(refused) => Ok(refused),
                }
            }
        });
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), handler);
            if let Err(e) = conn.await {
                tracing::debug!("s3 gateway: connection from {peer} ended: {e}");
            }
        });
    }
}

/// AWS's bucket naming rules, with the ones s3s leaves out: no `-.` or `.-`.
struct BucketNames;

impl s3s::validation::NameValidation for BucketNames {
    fn validate_bucket_name(&self, name: &str) -> bool {
        s3s::path::check_bucket_name(name) && !name.contains("-.") && !name.contains(".-")
    }
}
