//! Prometheus metrics of a node: Raft progress and RPC latencies, served at `/metrics`.

use std::sync::atomic::Ordering;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::time::Duration;

use tokio::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RpcLabels {
    pub method: String,
    pub status: u16,
}

pub struct Metrics {
    registry: Registry,
    pub rpc_seconds: Family<RpcLabels, Histogram>,
    pub raft_term: Gauge<i64, AtomicI64>,
    pub raft_is_leader: Gauge<i64, AtomicI64>,
    pub raft_last_log_index: Gauge<i64, AtomicI64>,
    pub raft_commit_index: Gauge<i64, AtomicI64>,
    pub raft_last_applied: Gauge<i64, AtomicI64>,
    pub raft_apply_lag: Gauge<i64, AtomicI64>,
    pub raft_voters: Gauge<i64, AtomicI64>,
    pub cluster_layout_version: Gauge<i64, AtomicI64>,
    pub cluster_nodes: Gauge<f64, AtomicU64>,
    /// Object and shard requests being served: background work yields while this is non-zero.
    pub foreground_inflight: Gauge<i64, AtomicI64>,
    /// When the last object or shard request ended, in ms since `born`: not exported.
    foreground_last_end_ms: AtomicU64,
    born: Instant,
    pub scrub_shards_verified: prometheus_client::metrics::counter::Counter,
    pub scrub_bytes_verified: prometheus_client::metrics::counter::Counter,
    pub scrub_errors: prometheus_client::metrics::counter::Counter,
    pub repairs_done: prometheus_client::metrics::counter::Counter,
    pub repair_failures: prometheus_client::metrics::counter::Counter,
    pub objects_degraded: Gauge<i64, AtomicI64>,
    pub read_rounds: crate::read_rounds::RoundCounts,
}

impl Metrics {
    pub fn foreground_started(&self) {
        self.foreground_inflight.inc();
    }

    pub fn foreground_ended(&self) {
        self.foreground_inflight.dec();
        // 0 means "never": a request ending in the first millisecond counts as 1.
        let now = (self.born.elapsed().as_millis() as u64).max(1);
        self.foreground_last_end_ms.store(now, Ordering::Relaxed);
    }

    /// A request is in flight, or one ended less than `window` ago: a client issuing requests
    /// one after another is busy between them too.
    pub fn foreground_busy(&self, window: Duration) -> bool {
        if self.foreground_inflight.get() > 0 {
            return true;
        }
        let last = self.foreground_last_end_ms.load(Ordering::Relaxed);
        let now = self.born.elapsed().as_millis() as u64;
        last > 0 && now.saturating_sub(last) < window.as_millis() as u64
    }

    pub fn new(node_id: u64, site: &str) -> Self {
        let mut registry = Registry::with_prefix_and_labels(
            "archipel",
            [
                ("node".into(), node_id.to_string().into()),
                ("site".into(), site.to_owned().into()),
            ]
            .into_iter(),
        );
        // 100 µs .. ~100 s: loopback RPCs up to a slow snapshot transfer.
        let rpc_seconds = Family::<RpcLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 20))
        });
        registry.register(
            "rpc_duration_seconds",
            "RPC handling time by method and HTTP status",
            rpc_seconds.clone(),
        );
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::<i64, AtomicI64>::default();
            registry.register(name, help, g.clone());
            g
        };
        let raft_term = gauge(&mut registry, "raft_term", "Current Raft term");
        let raft_is_leader = gauge(&mut registry, "raft_is_leader", "1 if this node is the Raft leader");
        let raft_last_log_index = gauge(
            &mut registry,
            "raft_last_log_index",
            "Index of the last entry in the local log",
        );
        let raft_commit_index = gauge(&mut registry, "raft_commit_index", "Highest index known committed");
        let raft_last_applied = gauge(
            &mut registry,
            "raft_last_applied",
            "Highest index applied to the state machine",
        );
        let raft_apply_lag = gauge(&mut registry, "raft_apply_lag", "Committed entries not yet applied");
        let raft_voters = gauge(
            &mut registry,
            "raft_voters",
            "Number of Raft voters in the current membership",
        );
        let cluster_layout_version = gauge(
            &mut registry,
            "cluster_layout_version",
            "Version of the placement layout",
        );
        let cluster_nodes = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "cluster_nodes",
            "Nodes in the cluster map that are not gone",
            cluster_nodes.clone(),
        );
        let foreground_inflight = gauge(
            &mut registry,
            "foreground_inflight",
            "Object and shard requests in flight",
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = prometheus_client::metrics::counter::Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let scrub_shards_verified = counter(
            &mut registry,
            "scrub_shards_verified",
            "Shards verified by the scrubber",
        );
        let scrub_bytes_verified = counter(
            &mut registry,
            "scrub_bytes_verified",
            "Shard bytes verified by the scrubber",
        );
        let scrub_errors = counter(
            &mut registry,
            "scrub_errors",
            "Corrupt or missing shards found by the scrubber",
        );
        let repairs_done = counter(&mut registry, "repairs_done", "Shards rebuilt by the repairer");
        let repair_failures = counter(
            &mut registry,
            "repair_failures",
            "Repair attempts that failed (retried later)",
        );
        let objects_degraded = gauge(
            &mut registry,
            "shards_awaiting_repair",
            "Shards awaiting repair (sys.damaged entries), as seen by the repairer",
        );
        let read_rounds = crate::read_rounds::RoundCounts {
            reads: counter(
                &mut registry,
                "raft_linearizable_reads",
                "Linearizable reads that asked this node's Raft for a read index",
            ),
            rounds: counter(
                &mut registry,
                "raft_read_rounds",
                "Read-index rounds those reads shared (on the leader, one AppendEntries per voter each)",
            ),
        };
        Self {
            read_rounds,
            foreground_inflight,
            foreground_last_end_ms: AtomicU64::new(0),
            born: Instant::now(),
            scrub_shards_verified,
            scrub_bytes_verified,
            scrub_errors,
            repairs_done,
            repair_failures,
            objects_degraded,
            registry,
            rpc_seconds,
            raft_term,
            raft_is_leader,
            raft_last_log_index,
            raft_commit_index,
            raft_last_applied,
            raft_apply_lag,
            raft_voters,
            cluster_layout_version,
            cluster_nodes,
        }
    }

    pub fn observe_rpc(&self, method: &str, status: u16, elapsed: Duration) {
        self.rpc_seconds
            .get_or_create(&RpcLabels {
                method: method.to_owned(),
                status,
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreground_stays_busy_for_the_window_after_a_request() {
        let m = Metrics::new(1, "a");
        let window = Duration::from_millis(200);
        assert!(!m.foreground_busy(window), "a fresh node has served nothing");
        m.foreground_started();
        assert!(m.foreground_busy(window));
        std::thread::sleep(Duration::from_millis(5));
        m.foreground_ended();
        assert!(m.foreground_busy(window), "just after a request the node is still busy");
        std::thread::sleep(Duration::from_millis(300));
        assert!(!m.foreground_busy(window), "the window has passed");
    }
}
