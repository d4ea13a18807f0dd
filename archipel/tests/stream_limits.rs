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
