//! Starting and stopping a node: storage, Raft, the gRPC and metrics endpoint, the pid file.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use archipel_proto::cluster::cluster_server::ClusterServer;
use archipel_proto::meta::meta_server::MetaServer;
use archipel_proto::object::objects_server::ObjectsServer;
use archipel_proto::pki::pki_server::PkiServer;
use archipel_proto::raft::raft_server::RaftServer;
use archipel_proto::shard::shard_server::ShardServer;
use archipel_proto::worker::workers_server::WorkersServer;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::config::NodeConfig;
use crate::grpc::cluster_service::ClusterService;
use crate::grpc::meta_service::MetaService;
use crate::grpc::object_service::ObjectService;
use crate::grpc::pki_service::PkiService;
use crate::grpc::raft_service::RaftService;
use crate::grpc::shard_service::ShardService;
use crate::grpc::worker_service::WorkerService;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::peers::Peers;
use crate::raft::codec::MAX_RAFT_MESSAGE_BYTES;
use crate::raft::network::NetworkFactory;
use crate::raft::quorum_clock::{ClockSamples, QuorumClock};
use crate::shards::{ShardError, ShardStore};
use crate::store::{open_db_with, LocalIdentity, LogStore, StateMachineStore, StoreError};

/// Largest client request a node decodes: a metadata value plus its envelope.
const MAX_CLIENT_MESSAGE_BYTES: usize = 8 << 20;
/// A stripe's shard (up to 64 MiB stripes over one data shard) plus its envelope.
const MAX_SHARD_MESSAGE_BYTES: usize = 65 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shards(#[from] ShardError),
    #[error("cannot listen on {addr}: {source}; is another process using the port?")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot write the pid file {path}: {source}")]
    PidFile { path: PathBuf, source: std::io::Error },
    #[error("Raft failed to start: {0}")]
    Raft(String),
    #[error("the RPC server failed: {0}")]
    Serve(String),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::PkiError),
    #[error("encryption at rest: {0}")]
    MasterKey(#[from] crate::crypto::CryptoError),
}

/// Runs a node until `shutdown` resolves, then stops Raft and removes the pid file.
pub async fn run(config: NodeConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
    let meta_dir = config.data_dir.join("meta");
    // One budget for the metadata store's and the packed shards' RocksDB memory.
    let rocks_memory = crate::rocks_memory::RocksMemory::new(config.rocksdb_memory_bytes);
    let db = open_db_with(&meta_dir, &rocks_memory)?;
    let identity = LocalIdentity::bind(db.clone(), &meta_dir, config.node_id)?;
    let pid_path = config.data_dir.join("archipel.pid");
    write_pid_file(&pid_path)?;

    let log_store = LogStore::new(db.clone())?;
    let committed_index = log_store.committed_index();
    let sm = StateMachineStore::open(db.clone()).map_err(|e| ServerError::Raft(e.to_string()))?;
    let state = sm.view();
    let tls = load_tls(&config, &state)?;
    let master_key = load_master_key(&config)?;
    let new_peers = || match &tls {
        Some(tls) => Peers::with_tls(tls.client.clone(), expected_peer(state.clone())),
        None => Peers::default(),
    };
    let peers = new_peers();
    let clocks = ClockSamples::default();
    let network = NetworkFactory {
        self_id: config.node_id,
        // Connections of their own: Raft's heartbeats never queue behind shard streams.
        peers: new_peers(),
        identity: identity.clone(),
        clocks: clocks.clone(),
    };
    let raft_config = openraft::Config {
        cluster_name: "archipel".into(),
        heartbeat_interval: config.raft.heartbeat_ms,
        election_timeout_min: config.raft.election_timeout_min_ms,
        election_timeout_max: config.raft.election_timeout_max_ms,
        install_snapshot_timeout: 30_000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(config.raft.snapshot_after_logs),
        max_in_snapshot_log_to_keep: config.raft.keep_logs_after_snapshot,
        snapshot_max_chunk_size: 4 << 20,
        // Entry count only; the network bounds each AppendEntries by bytes (raft/network.rs).
        max_payload_entries: crate::raft::codec::MAX_RAFT_MESSAGE_BYTES / (crate::kv::MAX_VALUE_BYTES as u64 + 4096)
            - 1,
        ..Default::default()
    }
    .validate()
    .map_err(|e| ServerError::Raft(e.to_string()))?;
    let raft = openraft::Raft::new(config.node_id, Arc::new(raft_config), network, log_store, sm)
        .await
        .map_err(|e| ServerError::Raft(e.to_string()))?;

    let clock = crate::time_offset::clock_for(&config);
    let stamp_clock = Arc::new(QuorumClock::new(
        config.node_id,
        clock.clone(),
        clocks,
        raft.clone(),
        state.clone(),
    ));
    let shards = ShardStore::open_with(
        &config.data_dir,
        config.capacity_bytes,
        config.objects.pack_shards_up_to,
        &rocks_memory,
    )?
    .with_clock(clock.clone());
    let metrics = Arc::new(Metrics::new(config.node_id, &config.site));
    let (commits, commit_queue) = crate::group_commit::CommitQueue::new();
    let read_rounds = crate::forward::leadership_rounds(raft.clone(), config.node_id, metrics.read_rounds.clone());
    let node = Arc::new(Node {
        config: config.clone(),
        raft,
        state,
        identity,
        peers,
        metrics: metrics.clone(),
        committed_index,
        admin_lock: tokio::sync::Mutex::new(()),
        shards,
        workers: Default::default(),
        tls,
        free_space: Default::default(),
        small_writes: Default::default(),
        commits,
        master_key,
        clock,
        stamp_clock,
        read_rounds,
    });
    let gauges = tokio::spawn(update_raft_gauges(node.clone()));
    let grouper = tokio::spawn(crate::group_commit::run(node.clone(), commit_queue));
    let ticker = tokio::spawn(crate::raft::tick::run(node.clone()));
    let snapshot_timer = tokio::spawn(crate::raft::snapshot_timer::run(
        node.clone(),
        Duration::from_secs(config.raft.snapshot_every_secs),
    ));
    let collector = tokio::spawn(crate::objects::run_orphan_collector(node.clone()));
    let scrub_handle = crate::workers::WorkerHandle::new(crate::scrub::WORKER_NAME);
    node.workers.register(scrub_handle.clone());
    let scrubber = tokio::spawn(crate::scrub::run_scrubber(node.clone(), scrub_handle));
    let repair_handle = crate::workers::WorkerHandle::new(crate::repair::WORKER_NAME);
    node.workers.register(repair_handle.clone());
    let repairer = tokio::spawn(crate::repair::run_repairer(node.clone(), repair_handle));

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    tracing::info!(node = config.node_id, site = %config.site, listen = %config.listen, advertise = %config.advertise, "node started");

    let served = serve(node.clone(), listener, shutdown).await;
    gauges.abort();
    grouper.abort();
    ticker.abort();
    snapshot_timer.abort();
    collector.abort();
    scrubber.abort();
    repairer.abort();
    tracing::info!("shutting down Raft");
    if let Err(e) = node.raft.shutdown().await {
        tracing::warn!("Raft shutdown: {e}");
    }
    let _ = std::fs::remove_file(&pid_path);
    served
}

async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let raft_svc = RaftServer::new(RaftService { node: node.clone() })
        .max_decoding_message_size(MAX_RAFT_MESSAGE_BYTES as usize)
        .max_encoding_message_size(MAX_RAFT_MESSAGE_BYTES as usize);
    let cluster_svc = ClusterServer::new(ClusterService { node: node.clone() });
    let meta_svc = MetaServer::new(MetaService { node: node.clone() })
        .max_decoding_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_CLIENT_MESSAGE_BYTES);
    let shard_svc = ShardServer::new(ShardService { node: node.clone() })
        .max_decoding_message_size(MAX_SHARD_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_SHARD_MESSAGE_BYTES);
    let object_svc = ObjectsServer::new(ObjectService { node: node.clone() })
        .max_decoding_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_SHARD_MESSAGE_BYTES);
    let routes = tonic::service::Routes::new(raft_svc)
        .add_service(cluster_svc)
        .add_service(meta_svc)
        .add_service(shard_svc)
        .add_service(object_svc)
        .add_service(WorkersServer::new(WorkerService { node: node.clone() }))
        .add_service(PkiServer::new(PkiService { node: node.clone() }))
        .into_axum_router()
        .route(
            "/metrics",
            axum::routing::get(metrics_page).with_state(node.metrics.clone()),
        )
        .route("/health", axum::routing::get(|| async { "ok\n" }))
        .layer(axum::middleware::from_fn_with_state(
            node.config.network.request_timeout(),
            crate::deadline::unary_deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(node.metrics.clone(), time_rpc));
    let routes = routes.layer(axum::middleware::from_fn_with_state(
        node.clone(),
        crate::tls::authz::authorize,
    ));
    let limits = &node.config.network;
    // Dead peers are found by keepalive pings; HTTP/1 header reads are bounded by tonic (30 s).
    let server = tonic::transport::Server::builder()
        .accept_http1(true)
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(limits.keepalive_interval_secs)))
        .http2_keepalive_timeout(Some(Duration::from_secs(limits.keepalive_timeout_secs)))
        .max_concurrent_streams(limits.max_concurrent_streams)
        .add_routes(tonic::service::Routes::from(routes));
    let Some(tls) = node.tls.clone() else {
        return server
            .serve_with_incoming_shutdown(incoming(listener), shutdown)
            .await
            .map_err(|e| ServerError::Serve(e.to_string()));
    };
    let (tls_incoming, plain_incoming, acceptor) =
        crate::tls::accept::split_incoming(listener, tls.server.clone(), limits.max_connections);
    let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
    // Plaintext callers get a refusal that tells them how to connect, never the services.
    let refusals = tonic::transport::Server::builder()
        .accept_http1(true)
        .add_routes(tonic::service::Routes::from(crate::tls::authz::plaintext_router(
            node.config.plaintext_metrics.then(|| {
                axum::Router::new().route(
                    "/metrics",
                    axum::routing::get(metrics_page).with_state(node.metrics.clone()),
                )
            }),
        )))
        .serve_with_incoming_shutdown(plain_incoming, shutdown.clone());
    let served = server.serve_with_incoming_shutdown(tls_incoming, shutdown);
    let (served, refused) = tokio::join!(served, refusals);
    acceptor.abort();
    if let Err(e) = refused {
        tracing::warn!("the plaintext refusal endpoint failed: {e}");
    }
    served.map_err(|e| ServerError::Serve(e.to_string()))
}

/// The node's TLS set-up, or None with a loud warning when the config asks for plaintext.
fn load_master_key(config: &NodeConfig) -> Result<Option<Arc<crate::crypto::MasterKey>>, ServerError> {
    use crate::config::MasterKeyFile;
    let path = match &config.master_key {
        MasterKeyFile::Required(path) => path,
        MasterKeyFile::IfPresent(path) if path.exists() => path,
        MasterKeyFile::IfPresent(_) | MasterKeyFile::None => {
            tracing::info!(
                "no master key: this node refuses to create, write or read encrypted namespaces (docs/encryption.md)"
            );
            return Ok(None);
        }
    };
    let key = crate::crypto::MasterKey::load(path)?;
    tracing::info!(key_id = %key.id(), path = %path.display(), "encryption at rest: master key loaded");
    Ok(Some(Arc::new(key)))
}

fn load_tls(
    config: &NodeConfig,
    state: &Arc<crate::store::StateView>,
) -> Result<Option<Arc<crate::tls::NodeTls>>, ServerError> {
    let Some(files) = &config.tls else {
        tracing::warn!(
            "INSECURE: insecure_plaintext = true, so this node accepts any peer and client without \
             authentication or encryption. Never run a real cluster like this (docs/security.md)."
        );
        return Ok(None);
    };
    let deny = crate::tls::DenyList::from_state(state.clone());
    let tls = crate::tls::NodeTls::load(files, config.node_id, &config.site, deny)?;
    tracing::info!(serial = %tls.own.serial, subject = %tls.own.subject, "mutual TLS on");
    Ok(Some(Arc::new(tls)))
}

/// Which node the cluster map has at an address, for checking the certificate found there.
fn expected_peer(state: Arc<crate::store::StateView>) -> crate::tls::connect::ExpectedPeer {
    Arc::new(move |addr: &str| {
        let map = state.cluster_map();
        let found = map
            .live_nodes()
            .find(|n| n.addr == addr)
            .map(|n| crate::tls::Subject::Node {
                id: n.id,
                site: n.site.clone(),
            });
        found
    })
}

/// Accepted connections with Nagle off: the builder's `tcp_nodelay` applies only to sockets
/// tonic binds itself, and small RPCs would otherwise wait for delayed ACKs (~40 ms).
fn incoming(listener: TcpListener) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        conn.inspect(|stream| {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!("cannot disable Nagle on an accepted socket: {e}");
            }
        })
    })
}

async fn metrics_page(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}

async fn time_rpc(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> axum::response::Response {
    // Only our own RPC paths become labels: arbitrary paths must not grow the series set.
    let path = request.uri().path();
    let method = if path.starts_with("/archipel.") || path == "/metrics" || path == "/health" {
        path.to_owned()
    } else {
        "other".to_owned()
    };
    let foreground = method.starts_with("/archipel.object.") || method.starts_with("/archipel.shard.");
    if foreground {
        metrics.foreground_started();
    }
    let start = tokio::time::Instant::now();
    let response = next.run(request).await;
    if foreground {
        metrics.foreground_ended();
    }
    metrics.observe_rpc(&method, response.status().as_u16(), start.elapsed());
    response
}

async fn update_raft_gauges(node: Arc<Node>) {
    let mut rx = node.raft.metrics();
    loop {
        let view = node.raft_view();
        let m = &node.metrics;
        m.raft_term.set(view.term as i64);
        m.raft_is_leader.set((view.role == "leader") as i64);
        m.raft_last_log_index.set(view.last_log_index as i64);
        m.raft_commit_index.set(view.committed as i64);
        m.raft_last_applied.set(view.last_applied as i64);
        m.raft_apply_lag
            .set(view.committed.saturating_sub(view.last_applied) as i64);
        m.raft_voters.set(view.voters.len() as i64);
        let map = node.state.cluster_map();
        m.cluster_layout_version.set(map.layout_version as i64);
        m.cluster_nodes.set(map.live_nodes().count() as f64);
        // Wake on Raft changes, and at least every second for the commit index.
        let _ = tokio::time::timeout(Duration::from_secs(1), rx.changed()).await;
    }
}

fn write_pid_file(path: &PathBuf) -> Result<(), ServerError> {
    let tmp = path.with_extension("pid.tmp");
    std::fs::write(&tmp, format!("{}\n", std::process::id()))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| ServerError::PidFile {
            path: path.clone(),
            source,
        })
}
