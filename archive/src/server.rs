//! Serving the REST API, with the background work of a front (logbook sealing, taking over
//! interrupted DIP builds).

use std::sync::Arc;

use crate::service::Archive;

/// Serves until the listener fails. Seals every tenant's logbook on the configured interval.
pub async fn serve(archive: Arc<Archive>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(archive, listener, axum::Router::new()).await
}

/// [`serve`], with more routes beside the REST API's (the web interface, which sits on this
/// crate and so cannot be named here). `extra` must not claim `/v1/…` nor set a fallback.
pub async fn serve_with(
    archive: Arc<Archive>,
    listener: tokio::net::TcpListener,
    extra: axum::Router,
) -> std::io::Result<()> {
    let sealer = {
        let a = Arc::clone(&archive);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(a.config.seal_interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                a.journal.seal_all(&a).await;
            }
        })
    };
    let resumer = crate::delivery::resume::spawn(Arc::clone(&archive));
    let limits = archive.config.http.clone();
    let result = crate::http::serve(extra.merge(crate::api::router(archive)), listener, limits).await;
    sealer.abort();
    resumer.abort();
    result
}
