//! Encryption at rest on a real 3-site x 2-node cluster: an encrypted namespace leaves no
//! plaintext on any node's disk (shards, Raft log, RocksDB), while the same check finds an
//! unencrypted control; scrub, repair and drain work on the ciphertext; a node without the master
//! key refuses encrypted namespaces plainly.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use archipel_client::proto::object::ObjectInfo;
use archipel_client::{Client, ClientError};
use common::{runtime, serial, wait_for, TestCluster, Tuning};

const SITES: [&str; 3] = ["region", "departement", "metropole"];
const SECRET: &[u8] = b"SECRET-MARKER-archipel-7f3a9c";
const CONTROL: &[u8] = b"CONTROL-MARKER-archipel-51be04";

/// `len` bytes of `marker` repeated, with a counter so that stripes differ.
fn body(marker: &[u8], len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while v.len() < len {
        v.extend_from_slice(marker);
        v.extend_from_slice(format!(" {i} ").as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every file under every node's directory (data dir: shards, meta/RocksDB, logs) holding `marker`.
fn files_holding(cluster: &TestCluster, marker: &[u8]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in &cluster.nodes {
        files_under(&n.dir, &mut files);
    }
    files
        .into_iter()
        .filter(|f| std::fs::read(f).is_ok_and(|b| b.windows(marker.len()).any(|w| w == marker)))
        .collect()
}

fn get(rt: &tokio::runtime::Runtime, client: &Client, ns: &str, key: &str) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    rt.block_on(client.get_object(ns, key, 0, None, &mut out, None))?;
    Ok(out)
}

fn shard_path(cluster: &TestCluster, info: &ObjectInfo, index: u32) -> PathBuf {
    let s = info.shards.iter().find(|s| s.index == index).unwrap();
    let node = cluster.nodes.iter().find(|n| n.id == s.node_id).unwrap();
    let hex = hex::encode(&info.object_id);
    node.dir
        .join("shards")
        .join(&hex[..2])
        .join(format!("{hex}.{index}.shard"))
}

#[test]
fn encrypted_namespaces_leave_no_plaintext_on_disk() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    let out = cluster.cli_ok(&["ns", "create", "secret", "--encrypt", "--owner", "t1"]);
    assert!(out.contains("encrypted for t1"), "{out}");
    rt.block_on(client.create_namespace("plain", None, 0)).unwrap();

    // Sharded (several 1 MiB stripes, the last partial) and inline objects in both.
    let big_secret = body(SECRET, (2 << 20) + 12_345);
    let small_secret = body(SECRET, 1_000);
    let big_control = body(CONTROL, (2 << 20) + 12_345);
    let small_control = body(CONTROL, 1_000);
    for (ns, key, b) in [
        ("secret", "big", &big_secret),
        ("secret", "small", &small_secret),
        ("plain", "big", &big_control),
        ("plain", "small", &small_control),
    ] {
        rt.block_on(client.put_object(ns, key, b.as_slice(), Some(b.len() as u64), None))
            .unwrap();
    }

    // Reads give the exact bytes, whole and by range (across a stripe boundary).
    assert_eq!(get(&rt, &client, "secret", "big").unwrap(), big_secret);
    assert_eq!(get(&rt, &client, "secret", "small").unwrap(), small_secret);
    let mut range = Vec::new();
    rt.block_on(client.get_object("secret", "big", (1 << 20) - 100, Some(300), &mut range, None))
        .unwrap();
    assert_eq!(range, big_secret[(1 << 20) - 100..(1 << 20) + 200]);
    let info = rt.block_on(client.stat_object("secret", "big")).unwrap();
    assert!(info.encrypted && info.storage != "inline", "{info:?}");
    assert_eq!(
        info.blake3,
        blake3::hash(&big_secret).as_bytes().to_vec(),
        "BLAKE3 of the plaintext"
    );
    assert!(rt.block_on(client.stat_object("secret", "small")).unwrap().encrypted);
    assert!(!rt.block_on(client.stat_object("plain", "big")).unwrap().encrypted);

    // Nodes stopped gracefully, so whatever RocksDB buffers is on disk too.
    for i in 0..cluster.nodes.len() {
        cluster.stop(i);
    }
    let leaked = files_holding(&cluster, SECRET);
    assert!(
        leaked.is_empty(),
        "plaintext of an encrypted namespace found in {leaked:?}"
    );
    // The same search finds the unencrypted control, in shards and in the metadata (inline object).
    let control = files_holding(&cluster, CONTROL);
    assert!(
        control.iter().any(|f| f.extension().is_some_and(|e| e == "shard")),
        "control not found in shards: {control:?}"
    );
    assert!(
        control.iter().any(|f| f.components().any(|c| c.as_os_str() == "meta")),
        "control not found in the metadata store: {control:?}"
    );

    // Restarted, the cluster still reads the encrypted objects.
    for i in 0..cluster.nodes.len() {
        cluster.restart(i);
    }
    cluster.wait_ready(Duration::from_secs(30));
    let client = cluster.client();
    assert_eq!(get(&rt, &client, "secret", "big").unwrap(), big_secret);

    // A node without the master key says what to configure, and still serves plain namespaces.
    let last = cluster.nodes.len() - 1;
    cluster.stop(last);
    std::fs::remove_file(cluster.nodes[last].dir.join("tls").join("master.key")).unwrap();
    cluster.restart(last);
    let lone = Client::from_list(&cluster.nodes[last].addr).unwrap();
    for err in [
        rt.block_on(lone.create_namespace_encrypted("secret2", None, 0, "t2"))
            .map(|_| ())
            .unwrap_err(),
        get(&rt, &lone, "secret", "big").map(|_| ()).unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(msg.contains("master key") && msg.contains("master_key_file"), "{msg}");
    }
    assert_eq!(get(&rt, &lone, "plain", "small").unwrap(), small_control);
}

#[test]
fn scrub_repair_and_drain_work_on_encrypted_shards() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace_encrypted("secret", None, 0, "t1"))
        .unwrap();
    let bodies: Vec<Vec<u8>> = (0..4).map(|i| body(SECRET, (3 << 20) + i * 1000)).collect();
    for (i, b) in bodies.iter().enumerate() {
        rt.block_on(client.put_object("secret", &format!("o{i}"), b.as_slice(), None, None))
            .unwrap();
    }
    let info = rt.block_on(client.stat_object("secret", "o0")).unwrap();

    // A flipped byte in one encrypted shard and a deleted one: found by the scrubber without any
    // key (it hashes the stored bytes), rebuilt by repair as the same ciphertext.
    let corrupt = shard_path(&cluster, &info, 1);
    let mut b = std::fs::read(&corrupt).unwrap();
    b[100_000] ^= 0x20;
    std::fs::write(&corrupt, b).unwrap();
    let deleted = shard_path(&cluster, &info, 4);
    std::fs::remove_file(&deleted).unwrap();
    cluster.cli_ok(&["scrub", "start"]);
    wait_for("repair of both shards", Duration::from_secs(60), || {
        let i = rt.block_on(client.stat_object("secret", "o0")).ok()?;
        let ok = i.shards.iter().all(|s| s.verify_result == "ok");
        (ok && deleted.exists() && i.last_full_verification_ms > 0).then_some(())
    });
    let repaired = rt.block_on(client.stat_object("secret", "o0")).unwrap();
    assert_eq!(
        repaired.shards.iter().map(|s| s.table_hash.clone()).collect::<Vec<_>>(),
        info.shards.iter().map(|s| s.table_hash.clone()).collect::<Vec<_>>(),
        "rebuilt shards are byte-identical to the originals"
    );
    let status: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["scrub", "status", "--json"])).unwrap();
    let errors: u64 = status
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["errors_found"].as_u64().unwrap_or(0))
        .sum();
    assert!(errors >= 1, "the flipped byte was reported: {status:#}");
    assert_eq!(get(&rt, &client, "secret", "o0").unwrap(), bodies[0]);

    // Draining a node moves its encrypted shards; after its removal everything reads back.
    let leader = cluster.leader_idx().unwrap();
    let victim = (0..cluster.nodes.len()).rev().find(|i| *i != leader).unwrap();
    let id = cluster.nodes[victim].id.to_string();
    let out = cluster.cli_ok(&["node", "drain", &id, "--wait", "--timeout-secs", "120", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shards_left"], 0, "{v:#}");
    cluster.cli_ok(&["node", "remove", &id]);
    cluster.kill(victim);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(&get(&rt, &client, "secret", &format!("o{i}")).unwrap(), b, "o{i}");
    }
    assert!(files_holding(&cluster, SECRET).is_empty());
}
