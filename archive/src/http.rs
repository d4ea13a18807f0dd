//! The front's HTTP/1 connections, with limits axum's own `serve` does not offer: a deadline for
//! a request's headers (a client that opens a connection and trickles a header, or sends none,
//! is cut off), and a cap on connections open at once. Request bodies are bounded per route
//! (`DefaultBodyLimit` for JSON, the SIP size and idle limits for uploads).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// What one front accepts from the network.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// A request's headers must arrive whole within this, from the connection's start or the end
    /// of the previous request.
    pub header_read_timeout: Duration,
    /// Connections open at once; more wait in the kernel backlog.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener`; runs until the task is dropped.
pub async fn serve(app: Router, listener: TcpListener, limits: HttpLimits) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                app.clone().oneshot(request)
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(tcp), service)
                .await;
            if let Err(e) = served {
                // Header timeouts land here too: routine, not worth more than debug.
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}
