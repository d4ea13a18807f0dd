//! A background task that seals every tenant's logbook periodically.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::book::Logbook;

/// What the sealer did so far, for status pages.
#[derive(Debug, Default)]
pub struct SealerStats {
    pub rounds: AtomicU64,
    pub seals: AtomicU64,
    pub errors: AtomicU64,
}

pub struct Sealer {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    pub stats: Arc<SealerStats>,
}

impl Sealer {
    /// Stops after the current round and waits for it.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Every `interval`, seals each tenant returned by `tenants`. A tenant with no new entry costs two store reads.
/// Several fronts may run one: conditional seal writes keep the seal chain single.
pub fn spawn_sealer<F, Fut>(logbook: Arc<Logbook>, tenants: F, interval: Duration) -> Sealer
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<String>> + Send,
{
    let (stop, mut stopped) = watch::channel(false);
    let stats = Arc::new(SealerStats::default());
    let task_stats = stats.clone();
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stopped.changed() => return,
            }
            for tenant in tenants().await {
                match logbook.seal(&tenant).await {
                    Ok(Some(_)) => {
                        task_stats.seals.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        task_stats.errors.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(tenant = %tenant, error = %e, "logbook seal failed; will retry next round");
                    }
                }
            }
            task_stats.rounds.fetch_add(1, Ordering::Relaxed);
        }
    });
    Sealer { stop, task, stats }
}
