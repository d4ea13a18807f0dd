//! A peer that opens a write stream, sends its header and then nothing is dropped at the
//! configured idle limit (`[network]` in node.toml), and what it held is freed.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use archipel_client::proto::object::objects_client::ObjectsClient;
use archipel_client::proto::object::{put_object_chunk, PutHeader, PutObjectChunk};
use archipel_client::proto::shard::shard_client::ShardClient;
use archipel_client::proto::shard::{write_shard_chunk, ShardHeader, WriteShardChunk};
use archipel_node::peers::Peers;
use archipel_node::tls::{issue, DenyList, KeyMaterial, Validity};
use common::{pki, runtime, serial, TestCluster, Tuning};
use tokio_stream::wrappers::ReceiverStream;

const SITES: [&str; 3] = ["region", "departement", "metropole"];
const IDLE_SECS: u64 = 2;

fn peers_from(dir: &Path, cert: &str, key: &str) -> Peers {
    let material = KeyMaterial::load(&archipel_node::tls::TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join(cert),
        key: dir.join(key),
    })
    .unwrap();
    let config = archipel_node::tls::verify::client_config(&material, DenyList::default()).unwrap();
    Peers::with_tls(config, Arc::new(|_: &str| None))
}

/// Shard temp files (`….shard.tmp-…`) anywhere under a node's data dir.
fn temp_shards(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut todo = vec![dir.join("shards")];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().contains(".tmp-") {
                out.push(p);
            }
        }
    }
    out
}

fn quick_tuning() -> Tuning {
    Tuning {
        stream_idle_timeout_secs: IDLE_SECS,
        shard_idle_timeout_secs: IDLE_SECS,
        ..Tuning::default()
    }
}

#[test]
fn a_silent_shard_write_is_dropped_and_its_temp_file_removed() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, quick_tuning());
    let rt = runtime();
    let cluster_id = cluster.status_json()["cluster_id"].as_str().unwrap().to_owned();
    // Node 2's identity, as a coordinator sending a shard to node 1.
    let issued = pki()
        .ca
        .issue_node(2, "departement", &["127.0.0.1".to_owned()], Validity::days(1))
        .unwrap();
    let dir = cluster.root.path().join("coordinator-2");
    issue::write_bundle(&dir, &pki().ca.cert_pem(), &issued).unwrap();
    let peers = peers_from(&dir, "node.pem", "node.key");
    let target = &cluster.nodes[0];

    let header = WriteShardChunk {
        part: Some(write_shard_chunk::Part::Header(ShardHeader {
            cluster_id,
            object_id: vec![7; 16],
            namespace: "stall".into(),
            key: "silent".into(),
            index: 0,
            data_shards: 2,
            parity_shards: 1,
            stripe_size: 1 << 20,
            shard_len: 1 << 19,
        })),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let started = Instant::now();
    let call = rt.spawn({
        let channel = rt.block_on(async { peers.channel(&target.addr) }).unwrap();
        async move { ShardClient::new(channel).write_shard(ReceiverStream::new(rx)).await }
    });
    rt.block_on(tx.send(header)).unwrap();
    // A stripe past the pack limit (256 KiB): the node spills the shard to a temp file.
    let stripe = WriteShardChunk {
        part: Some(write_shard_chunk::Part::Stripe(vec![5u8; 1 << 19].into())),
    };
    rt.block_on(tx.send(stripe)).unwrap();

    // The node holds a temp file while the stream is open...
    let deadline = Instant::now() + Duration::from_secs(IDLE_SECS);
    while temp_shards(&target.dir).is_empty() {
        assert!(Instant::now() < deadline, "the node never started the shard file");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ...and drops the stream at the idle limit, though the sender is still open.
    let result = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(IDLE_SECS + 8), call).await })
        .expect("the node must drop a silent shard stream within its idle limit")
        .unwrap();
    let took = started.elapsed();
    let status = result.expect_err("a stalled shard write must fail");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("network.shard_idle_timeout_secs"),
        "the refusal must say which setting applies: {status:?}"
    );
    assert!(
        took >= Duration::from_secs(IDLE_SECS),
        "dropped before the limit: {took:?}"
    );
    assert!(temp_shards(&target.dir).is_empty(), "the temp file must be removed");
    drop(tx);
}

#[test]
fn a_silent_object_upload_is_dropped_and_nothing_is_stored() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, quick_tuning());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("stall", None, 0)).unwrap();
    let peers = peers_from(&pki().operator_dir, "client.pem", "client.key");

    for (idx, data) in [(0usize, vec![]), (1, vec![1u8; 300 << 10])] {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let key = format!("silent-{idx}");
        let channel = rt.block_on(async { peers.channel(&cluster.nodes[idx].addr) }).unwrap();
        let call = rt.spawn(async move { ObjectsClient::new(channel).put_object(ReceiverStream::new(rx)).await });
        let started = Instant::now();
        rt.block_on(tx.send(PutObjectChunk {
            part: Some(put_object_chunk::Part::Header(PutHeader {
                namespace: "stall".into(),
                key: key.clone(),
                size: Some(8 << 20),
                lock: None,
            })),
        }))
        .unwrap();
        // The second upload sends some data first, then stalls mid-object.
        if !data.is_empty() {
            rt.block_on(tx.send(PutObjectChunk {
                part: Some(put_object_chunk::Part::Data(data.into())),
            }))
            .unwrap();
        }
        let result = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(IDLE_SECS + 8), call).await })
            .expect("the node must drop a silent upload within its idle limit")
            .unwrap();
        let took = started.elapsed();
        let status = result.expect_err("a stalled upload must fail");
        assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status:?}");
        assert!(
            status.message().contains("network.stream_idle_timeout_secs"),
            "the refusal must say which setting applies: {status:?}"
        );
        assert!(
            took >= Duration::from_secs(IDLE_SECS),
            "dropped before the limit: {took:?}"
        );
        match rt.block_on(client.stat_object("stall", &key)) {
            Err(archipel_client::ClientError::NotFound(_)) => {}
            other => panic!("nothing may be stored after a stalled upload: {other:?}"),
        }
        drop(tx);
    }
    // The node still serves.
    rt.block_on(client.put_object("stall", "after", &b"fine"[..], Some(4), None))
        .unwrap();
}

/// A writer that takes `limit` bytes and then never any more: a reader who stopped reading.
struct Stalled {
    taken: Arc<std::sync::atomic::AtomicUsize>,
    limit: usize,
}

impl tokio::io::AsyncWrite for Stalled {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let taken = self.taken.load(std::sync::atomic::Ordering::SeqCst);
        if taken >= self.limit {
            return std::task::Poll::Pending;
        }
        let n = buf.len().min(self.limit - taken);
        self.taken.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(Ok(n))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// Downloads whose reader stopped reading hold their own stream's window, not the whole
/// connection: other calls on the same connection go on. (Before, three such downloads held
/// the connection's 5 MiB window and every later call to that node hung: a DIP asking several
/// pack ranges ahead deadlocked itself, and slow HTTP readers could stall a front.)
#[test]
fn stalled_downloads_do_not_starve_the_connection() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, Tuning::default());
    let rt = runtime();
    // One endpoint: every call shares one connection.
    let client = Arc::new(archipel_client::Client::from_list(&cluster.nodes[0].addr).unwrap());
    rt.block_on(client.create_namespace("slow", None, 0)).unwrap();
    let data = vec![7u8; 24 << 20];
    rt.block_on(client.put_object("slow", "big", &data[..], Some(data.len() as u64), None))
        .unwrap();
    // Six downloads, each started once the one before has stalled with its stream full.
    let mut stalled = Vec::new();
    for i in 0..6 {
        let taken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut out = Stalled {
            taken: taken.clone(),
            limit: 64 << 10,
        };
        let c = client.clone();
        stalled.push(rt.spawn(async move { c.get_object("slow", "big", 0, None, &mut out, None).await }));
        let started = Instant::now();
        while taken.load(std::sync::atomic::Ordering::SeqCst) < 64 << 10 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "download {i} received nothing while {i} others were stalled: the connection is starved"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // What the stalled stream may buffer arrives meanwhile.
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut whole = Vec::new();
    let read = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(20),
            client.get_object("slow", "big", 0, None, &mut whole, None),
        )
        .await
    });
    assert!(
        matches!(read, Ok(Ok(_))),
        "a download must not wait for other streams' readers: {read:?}"
    );
    assert!(whole == data, "the download returned other bytes");
    for call in stalled {
        call.abort();
    }
}
