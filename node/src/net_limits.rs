//! `[network]` in node.toml: how long a peer may stay silent and how much it may hold open, so a
//! slow or malicious client cannot pin a node's connections, tasks, memory or temp files.
//! The defaults suit WAN links; docs/security.md ("Timeouts and limits") explains each.
//! Plain data (serde and std only): the config fuzz target compiles this file in place.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkLimits {
    /// A client-streaming RPC (object upload, shard write) that sends nothing for this long is
    /// dropped with DEADLINE_EXCEEDED and its temp files removed; a download or shard read whose
    /// reader takes nothing for this long is ended.
    pub stream_idle_timeout_secs: u64,
    /// The same for node-to-node shard writes and reads. Longer: a coordinator sends a stripe only
    /// once the client has sent a whole stripe, each of whose chunks may take up to
    /// `stream_idle_timeout_secs`; keep it above that times stripe_size / 1 MiB.
    pub shard_idle_timeout_secs: u64,
    /// Deadline of unary metadata and object RPCs (get, put, scan, stat, list, delete, namespaces).
    /// Past it the caller gets DEADLINE_EXCEEDED, and a write's outcome is unknown.
    pub request_timeout_secs: u64,
    /// HTTP/2 PING interval on idle connections, and how long to wait for the answer before the
    /// connection is closed as dead.
    pub keepalive_interval_secs: u64,
    pub keepalive_timeout_secs: u64,
    /// Concurrent RPCs on one connection.
    pub max_concurrent_streams: u32,
    /// TLS connections held open at once; further ones wait in the kernel backlog.
    pub max_connections: usize,
}

impl Default for NetworkLimits {
    fn default() -> Self {
        Self {
            stream_idle_timeout_secs: 60,
            shard_idle_timeout_secs: 600,
            request_timeout_secs: 60,
            keepalive_interval_secs: 10,
            keepalive_timeout_secs: 20,
            max_concurrent_streams: 256,
            max_connections: 4096,
        }
    }
}

impl NetworkLimits {
    /// The name of the first key that is out of range, and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let zero = |key: &'static str| Err((key, "must be 1 or more".to_owned()));
        if self.stream_idle_timeout_secs == 0 {
            return zero("network.stream_idle_timeout_secs");
        }
        if self.shard_idle_timeout_secs == 0 {
            return zero("network.shard_idle_timeout_secs");
        }
        if self.request_timeout_secs == 0 {
            return zero("network.request_timeout_secs");
        }
        if self.keepalive_interval_secs == 0 {
            return zero("network.keepalive_interval_secs");
        }
        if self.keepalive_timeout_secs == 0 {
            return zero("network.keepalive_timeout_secs");
        }
        if self.max_concurrent_streams == 0 {
            return zero("network.max_concurrent_streams");
        }
        if self.max_connections == 0 {
            return zero("network.max_connections");
        }
        Ok(())
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
}
