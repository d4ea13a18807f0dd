//! Serving the REST API, with the background work of a front (logbook sealing, taking over
//! interrupted DIP builds).

use std::sync::Arc;

use crate::service::Archive;

/// How often the front retries the legal holds that failed at commit: soon enough that an AIP
/// stays unprotected minutes, not days, after a cluster hiccup.
const HOLD_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Retries every tenant's pending legal holds.
pub async fn sweep_holds(a: &Archive) -> crate::Result<crate::disposal::locks::SweepReport> {
    let tenants: Vec<String> = a.refs.tenants().await?.into_iter().map(|t| t.id).collect();
    crate::disposal::locks::sweep(&a.store, &tenants).await
}

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
    // Holds that failed at commit (`disposal::locks::sweep`).
    let hold_sweeper = {
        let a = Arc::clone(&archive);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HOLD_SWEEP_EVERY);
            loop {
                tick.tick().await;
                match sweep_holds(&a).await {
                    Ok(r) if !r.failing.is_empty() => tracing::warn!("legal holds still failing: {:?}", r.failing),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("the legal-hold sweep failed: {e}"),
                }
            }
        })
    };
    let resumer = crate::delivery::resume::spawn(Arc::clone(&archive));
    let limits = archive.config.http.clone();
    let result = crate::http::serve(extra.merge(crate::api::router(archive)), listener, limits).await;
    sealer.abort();
    hold_sweeper.abort();
    resumer.abort();
    result
}
