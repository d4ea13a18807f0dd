//! The erasure-coded object store on a real 3-site x 2-node cluster of processes.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use archipel_client::{Client, ClientError};
use common::{runtime, serial, TestCluster, Tuning};
use rand::{Rng, RngCore, SeedableRng};

const SITES: [&str; 3] = ["region", "departement", "metropole"];

fn random_bytes(rng: &mut impl RngCore, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

fn get_all(rt: &tokio::runtime::Runtime, client: &Client, ns: &str, key: &str) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    rt.block_on(client.get_object(ns, key, 0, None, &mut out, None))?;
    Ok(out)
}

fn put_bytes(rt: &tokio::runtime::Runtime, client: &Client, ns: &str, key: &str, data: &[u8]) {
    rt.block_on(client.put_object(ns, key, data, Some(data.len() as u64), None))
        .unwrap_or_else(|e| panic!("put {ns}/{key}: {e}"));
}

/// Shard files of one node, found on disk.
fn shard_files(cluster: &TestCluster, idx: usize) -> Vec<PathBuf> {
    let mut out = vec![];
    let root = cluster.nodes[idx].dir.join("shards");
    for dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            out.push(f.path());
        }
    }
    out
}

fn blake3_hex(data: &[u8]) -> String {
    blake3::hash(data).to_hex().to_string()
}

#[test]
fn large_and_many_small_objects_survive_node_and_site_loss() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);

    // 200 MiB through a file, as `archipel put` does.
    let big = random_bytes(&mut rng, 200 << 20);
    let path = cluster.root.path().join("big.bin");
    std::fs::write(&path, &big).unwrap();
    let info = rt
        .block_on(client.put_object_file("archive", "big", &path, None))
        .unwrap();
    assert_eq!(info.size, big.len() as u64);
    assert_eq!(hex::encode(&info.blake3), blake3_hex(&big));
    assert_eq!(info.storage, "3+3", "default profile for 3 sites x 2 nodes");
    let mut per_site = std::collections::BTreeMap::<String, usize>::new();
    for s in &info.shards {
        *per_site.entry(s.site.clone()).or_default() += 1;
    }
    assert!(per_site.values().all(|c| *c == 2), "2 shards per site: {per_site:?}");

    // 2000 small objects, 1 KiB to 1 MiB (log-uniform), from four clients at once.
    let sizes: Vec<usize> = (0..2000)
        .map(|_| (1024f64 * 1024f64.powf(rng.gen::<f64>())) as usize)
        .collect();
    let seeds: Vec<u64> = (0..4).collect();
    let addrs = cluster.addrs();
    let workers: Vec<_> = seeds
        .into_iter()
        .map(|w| {
            let sizes = sizes.clone();
            let addrs = addrs.clone();
            std::thread::spawn(move || {
                let rt = runtime();
                let client = Client::from_list(&addrs).unwrap();
                for (i, size) in sizes.iter().enumerate().filter(|(i, _)| *i as u64 % 4 == w) {
                    let data = object_bytes(i, *size);
                    put_bytes(&rt, &client, "archive", &format!("small/{i:04}"), &data);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let check_all = |client: &Client, what: &str| {
        assert_eq!(
            get_all(&rt, client, "archive", "big").unwrap(),
            big,
            "big object {what}"
        );
        for (i, size) in sizes.iter().enumerate().step_by(7) {
            let got = get_all(&rt, client, "archive", &format!("small/{i:04}"))
                .unwrap_or_else(|e| panic!("small/{i:04} {what}: {e}"));
            assert_eq!(got, object_bytes(i, *size), "small/{i:04} {what}");
        }
    };
    check_all(&client, "with every node up");
    let (listed, more) = rt.block_on(client.list_objects("archive", "small/", "", 5000)).unwrap();
    assert_eq!((listed.len(), more), (2000, false));

    // One node down.
    cluster.kill(3);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    check_all(&client, "with node 4 down");
    // A whole site down: region holds nodes 1 and 2.
    cluster.restart(3);
    cluster.kill(0);
    cluster.kill(1);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    check_all(&client, "with site region down");
    // Range reads decode only the stripes they need.
    let mut part = Vec::new();
    rt.block_on(client.get_object("archive", "big", 3_000_001, Some(5_000_000), &mut part, None))
        .unwrap();
    assert_eq!(part, big[3_000_001..8_000_001]);
}

fn object_bytes(i: usize, size: usize) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(i as u64 + 1000);
    random_bytes(&mut rng, size)
}

#[test]
fn corrupted_or_deleted_shards_are_detected_and_reads_stay_correct() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let data = random_bytes(&mut rand::rngs::StdRng::seed_from_u64(1), 5 << 20);
    put_bytes(&rt, &client, "archive", "doc", &data);
    let info = rt.block_on(client.stat_object("archive", "doc")).unwrap();

    // Flip one byte in the middle of a data shard's second stripe, delete another shard.
    let by_index = |index: u32| {
        let s = info.shards.iter().find(|s| s.index == index).unwrap();
        let idx = cluster.nodes.iter().position(|n| n.id == s.node_id).unwrap();
        let name = format!("{}.{index}.shard", hex::encode(&info.object_id));
        shard_files(&cluster, idx)
            .into_iter()
            .find(|p| p.file_name().unwrap().to_str().unwrap() == name)
            .unwrap()
    };
    let corrupt = by_index(0);
    let mut bytes = std::fs::read(&corrupt).unwrap();
    let pos = bytes.len() / 2;
    bytes[pos] ^= 0x01;
    std::fs::write(&corrupt, &bytes).unwrap();
    std::fs::remove_file(by_index(1)).unwrap();

    assert_eq!(
        get_all(&rt, &client, "archive", "doc").unwrap(),
        data,
        "decoded around the damage"
    );
    // Both problems are recorded for the healing work.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (damaged, _) = rt
            .block_on(client.meta_scan("sys.damaged", b"", b"", 100, archipel_client::Consistency::Linearizable))
            .unwrap();
        let keys: Vec<String> = damaged
            .iter()
            .map(|e| String::from_utf8_lossy(&e.key).into_owned())
            .collect();
        let id = hex::encode(&info.object_id);
        if keys.contains(&format!("{id}.0")) && keys.contains(&format!("{id}.1")) {
            let zero = damaged.iter().find(|e| e.key == format!("{id}.0").as_bytes()).unwrap();
            assert!(
                String::from_utf8_lossy(&zero.value).contains("BLAKE3"),
                "{:?}",
                zero.value
            );
            break;
        }
        assert!(Instant::now() < deadline, "damage not recorded: {keys:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn more_damage_than_parity_fails_loudly_and_never_returns_wrong_bytes() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let data = random_bytes(&mut rand::rngs::StdRng::seed_from_u64(2), 3 << 20);
    put_bytes(&rt, &client, "archive", "doc", &data);
    // Damage 4 of the 6 shards (3+3 tolerates 3).
    for idx in 0..4 {
        for f in shard_files(&cluster, idx) {
            let mut b = std::fs::read(&f).unwrap();
            let pos = b.len() / 3;
            b[pos] ^= 0xff;
            std::fs::write(&f, b).unwrap();
        }
    }
    match get_all(&rt, &client, "archive", "doc") {
        Err(ClientError::DataLoss(msg)) => assert!(msg.contains("readable"), "{msg}"),
        other => panic!("expected data loss, got {other:?}"),
    }
    let out = cluster.cli(&["get", "archive/doc", cluster.root.path().join("out").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        !cluster.root.path().join("out").exists(),
        "no file is left on a failed get"
    );
}

/// `archipel get NS/KEY /dev/null` (or a FIFO) writes into it: a temp file renamed over it would
/// replace the device with a regular file.
#[test]
fn get_into_a_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let data = random_bytes(&mut rand::rngs::StdRng::seed_from_u64(3), 1 << 20);
    put_bytes(&rt, &client, "archive", "doc", &data);
    let fifo = cluster.root.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    cluster.cli_ok(&["get", "archive/doc", fifo.to_str().unwrap()]);
    // Checked first: had the FIFO been replaced, its reader would wait for a writer forever.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    assert_eq!(reader.join().unwrap(), data);
}

#[test]
fn an_abandoned_upload_leaves_no_object_and_its_shards_are_collected() {
    let _g = serial();
    let tuning = Tuning {
        gc_interval_secs: 1,
        orphan_grace_secs: 1,
        ..Tuning::default()
    };
    let cluster = TestCluster::start(&SITES, 2, tuning);
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    // An upload process killed half-way through a 64 MiB stream.
    let mut child = std::process::Command::new(common::bin())
        .args(["put", "archive/half", "-", "--cluster", &cluster.addrs()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..24 {
        use std::io::Write;
        stdin.write_all(&chunk).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    match rt.block_on(client.stat_object("archive", "half")) {
        Err(ClientError::NotFound(_)) => {}
        other => panic!("the abandoned object must not exist: {other:?}"),
    }
    // Overwritten and deleted objects' shards go too; a live object's shards stay.
    let data = random_bytes(&mut rand::rngs::StdRng::seed_from_u64(3), 2 << 20);
    put_bytes(&rt, &client, "archive", "kept", &data);
    put_bytes(&rt, &client, "archive", "replaced", &data);
    put_bytes(&rt, &client, "archive", "replaced", &data[..1 << 20]);
    put_bytes(&rt, &client, "archive", "deleted", &data);
    assert!(rt.block_on(client.delete_object("archive", "deleted")).unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let files: usize = (0..cluster.nodes.len()).map(|i| shard_files(&cluster, i).len()).sum();
        // "kept" and the new "replaced": 6 shards each.
        if files == 12 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "orphans not collected: {files} shard files remain"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(get_all(&rt, &client, "archive", "kept").unwrap(), data);
    assert_eq!(get_all(&rt, &client, "archive", "replaced").unwrap(), &data[..1 << 20]);

    // An upload slower than the grace period may have lost shards to the collector: the
    // coordinator refuses to commit it rather than name shards that may be gone.
    let slow = data.clone();
    let result = rt.block_on(async {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let feeder = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for chunk in slow.chunks(256 << 10) {
                if tx.write_all(chunk).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        let result = client
            .put_object("archive", "slow", rx, Some(data.len() as u64), None)
            .await;
        feeder.abort();
        result
    });
    match result {
        Err(e) => assert!(e.to_string().contains("orphan_grace"), "unexpected error: {e}"),
        Ok(info) => panic!("an upload slower than the grace period was committed: {info:?}"),
    }
    assert!(matches!(
        rt.block_on(client.stat_object("archive", "slow")),
        Err(ClientError::NotFound(_))
    ));
}

#[test]
fn a_leader_killed_mid_write_leaves_the_object_whole_or_absent() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let data = random_bytes(&mut rand::rngs::StdRng::seed_from_u64(4), 40 << 20);
    let addrs = cluster.addrs();
    let payload = data.clone();
    // The upload is fed slowly (1 MiB every 50 ms, ~2 s in all), so the kill lands in the middle.
    let writer = std::thread::spawn(move || {
        let rt = runtime();
        let client = Client::from_list(&addrs).unwrap();
        rt.block_on(async move {
            let (mut tx, rx) = tokio::io::duplex(1 << 20);
            let feeder = tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                for chunk in payload.chunks(1 << 20) {
                    if tx.write_all(chunk).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
            let result = client.put_object("archive", "racy", rx, Some(40 << 20), None).await;
            feeder.abort();
            result
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    let leader = cluster.leader_idx().unwrap();
    assert!(
        !writer.is_finished(),
        "the kill must land while the upload is in flight"
    );
    cluster.kill(leader);
    let result = writer.join().unwrap();
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    match get_all(&rt, &client, "archive", "racy") {
        Ok(got) => assert_eq!(got, data, "a visible object is the whole object"),
        Err(ClientError::NotFound(_)) => assert!(result.is_err(), "an acknowledged put must be readable"),
        Err(e) => panic!("unexpected read error: {e}"),
    }
}

#[test]
fn worm_namespaces_refuse_overwrite_and_delete() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    cluster.cli_ok(&["ns", "create", "deliberations", "--worm-retention", "30d"]);
    let rt = runtime();
    let client = cluster.client();
    put_bytes(&rt, &client, "deliberations", "2026/001.xml", b"<acte/>");
    let out = cluster.cli(&["rm", "deliberations/2026/001.xml"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("retention-locked until"), "{err}");
    match rt.block_on(client.put_object("deliberations", "2026/001.xml", &b"<changed/>"[..], None, None)) {
        Err(ClientError::FailedPrecondition(m)) => assert!(m.contains("WORM"), "{m}"),
        other => panic!("overwrite must be refused: {other:?}"),
    }
    assert_eq!(
        get_all(&rt, &client, "deliberations", "2026/001.xml").unwrap(),
        b"<acte/>"
    );
    let stat = cluster.cli_ok(&["stat", "deliberations/2026/001.xml", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stat).unwrap();
    assert!(v["retain_until_ms"].as_u64().unwrap() > v["created_at_ms"].as_u64().unwrap() + 29 * 86_400_000);
}

#[test]
fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let long = "k".repeat(2000);
    for (key, expected) in [
        ("", "empty"),
        (long.as_str(), "limit is 1024"),
        ("../etc/passwd", "`..`"),
        ("a/../b", "`..`"),
        ("nul\0key", "NUL"),
    ] {
        match rt.block_on(client.put_object("archive", key, &b"x"[..], None, None)) {
            Err(ClientError::InvalidArgument(m)) => assert!(m.contains(expected), "{key:?}: {m}"),
            other => panic!("{key:?} must be refused: {other:?}"),
        }
    }
    match rt.block_on(client.put_object("nowhere", "k", &b"x"[..], None, None)) {
        Err(ClientError::NotFound(m)) => assert!(m.contains("archipel ns create nowhere"), "{m}"),
        other => panic!("unknown namespace must be refused: {other:?}"),
    }
    match rt.block_on(client.put_object("archive", "short", &b"abc"[..], Some(10), None)) {
        Err(ClientError::InvalidArgument(m)) => assert!(m.contains("declared 10 bytes but sent 3"), "{m}"),
        other => panic!("size mismatch must be refused: {other:?}"),
    }
    match rt.block_on(client.create_namespace("archive2", Some("6+3"), 0)) {
        Err(ClientError::InvalidArgument(m)) => assert!(m.contains("does not fit"), "{m}"),
        other => panic!("an unsafe profile must be refused: {other:?}"),
    }
    let (objects, _) = rt.block_on(client.list_objects("archive", "", "", 100)).unwrap();
    assert!(objects.is_empty(), "nothing stored: {objects:?}");

    // One node's disk is full: the write goes degraded elsewhere, or fails cleanly; never half-stored.
    let full = Tuning {
        capacity: "64KiB".into(),
        ..Tuning::default()
    };
    cluster.reconfigure(4, &full);
    cluster.kill(4);
    cluster.restart(4);
    cluster.wait_ready(Duration::from_secs(20));
    let data = random_bytes(&mut rand::rngs::StdRng::seed_from_u64(5), 3 << 20);
    let info = rt
        .block_on(client.put_object("archive", "while-full", data.as_slice(), Some(data.len() as u64), None))
        .expect("stored on the nodes with room");
    assert!(
        info.shards.iter().all(|s| s.node_id != 5),
        "nothing placed on the full node: {info:?}"
    );
    assert_eq!(get_all(&rt, &client, "archive", "while-full").unwrap(), data);
    assert!(shard_files(&cluster, 4).is_empty(), "the full node got no shard file");
}
