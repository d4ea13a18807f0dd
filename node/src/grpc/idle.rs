//! Idle limits on streams, so a peer that stops sending (or stops reading) frees what it holds:
//! its task, its buffers, and the temp file behind a shard or object upload.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tonic::{Status, Streaming};

use crate::net_limits::NetworkLimits;

/// How long a stream may stay silent, and what to call it in errors and logs.
#[derive(Debug, Clone, Copy)]
pub struct IdleLimit {
    pub after: Duration,
    /// The node.toml key that sets `after`, so the message says what to change.
    pub key: &'static str,
    pub what: &'static str,
}

impl IdleLimit {
    /// Client-facing streams (object uploads and downloads).
    pub fn client_stream(limits: &NetworkLimits, what: &'static str) -> IdleLimit {
        IdleLimit {
            after: Duration::from_secs(limits.stream_idle_timeout_secs),
            key: "network.stream_idle_timeout_secs",
            what,
        }
    }

    /// Node-to-node shard streams.
    pub fn shard_stream(limits: &NetworkLimits, what: &'static str) -> IdleLimit {
        IdleLimit {
            after: Duration::from_secs(limits.shard_idle_timeout_secs),
            key: "network.shard_idle_timeout_secs",
            what,
        }
    }

    /// The status a silent stream ends with.
    pub fn stalled(&self) -> Status {
        Status::deadline_exceeded(format!(
            "{}: nothing received for {}s ({}), so the stream was dropped and nothing kept; send it again",
            self.what,
            self.after.as_secs(),
            self.key
        ))
    }

    /// The next message of a client stream, or [`IdleLimit::stalled`] when none comes in time.
    pub async fn next_message<T>(&self, stream: &mut Streaming<T>) -> Result<Option<T>, Status> {
        match tokio::time::timeout(self.after, stream.message()).await {
            Ok(r) => r,
            Err(_) => {
                tracing::warn!("{} dropped: no message for {}s", self.what, self.after.as_secs());
                Err(self.stalled())
            }
        }
    }

    /// Sends to a server stream's channel; false when the reader went away or took nothing in
    /// time (the sending task then stops and drops what it holds).
    pub async fn send<T>(&self, tx: &tokio::sync::mpsc::Sender<T>, item: T) -> bool {
        match tokio::time::timeout(self.after, tx.send(item)).await {
            Ok(r) => r.is_ok(),
            Err(_) => {
                tracing::warn!(
                    "{} ended: the reader took nothing for {}s",
                    self.what,
                    self.after.as_secs()
                );
                false
            }
        }
    }

    /// A client stream that ends with [`IdleLimit::stalled`] after `after` without a message.
    /// The flag reads true once that happened, so the caller can tell a stall from a client that
    /// went away when the consumer reports both alike.
    pub fn guard<T: Send + 'static>(
        self,
        stream: Streaming<T>,
    ) -> (impl Stream<Item = Result<T, Status>> + Send, Arc<AtomicBool>) {
        let stalled = Arc::new(AtomicBool::new(false));
        let flag = stalled.clone();
        let guarded = futures::stream::unfold(Some(stream), move |state| {
            let flag = flag.clone();
            async move {
                let mut s = state?;
                match tokio::time::timeout(self.after, s.message()).await {
                    Ok(Ok(Some(m))) => Some((Ok(m), Some(s))),
                    Ok(Ok(None)) => None,
                    Ok(Err(e)) => Some((Err(e), None)),
                    Err(_) => {
                        flag.store(true, Ordering::Relaxed);
                        tracing::warn!("{} dropped: no message for {}s", self.what, self.after.as_secs());
                        Some((Err(self.stalled()), None))
                    }
                }
            }
        });
        (guarded, stalled)
    }
}
