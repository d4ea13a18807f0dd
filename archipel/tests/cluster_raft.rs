//! Raft metadata on a real 3-site x 2-node cluster of `archipel server` processes.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use archipel_client::{CasExpect, Client, ClientError, Consistency};
use common::{meta_put_checked, runtime, serial, TestCluster, Tuning};

const SITES: [&str; 3] = ["region", "departement", "metropole"];

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn wait_stale_value(addr: &str, ns: &str, key: &[u8], want: &[u8]) {
    let rt = runtime();
    let deadline = Instant::now() + Duration::from_secs(10);
    let one = Client::from_list(addr).unwrap();
    loop {
        let got = rt.block_on(one.meta_get(ns, key, Consistency::Stale)).unwrap();
        if got.as_ref().map(|e| e.value.as_slice()) == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{addr} never applied {ns}/{key:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn writes_are_readable_from_every_node() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.meta_put("test", b"hello", b"world")).unwrap();
    // Many keys in one read: in their order, absent ones as such, a reply larger than one
    // call returns (3 MiB; here 3.1 MiB) answered over several calls.
    let big: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 400 << 10]).collect();
    for (i, v) in big.iter().enumerate() {
        rt.block_on(client.meta_put("test", format!("big{i}").as_bytes(), v))
            .unwrap();
    }
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for i in 0..8 {
        keys.push(format!("big{i}").into_bytes());
        keys.push(format!("absent{i}").into_bytes());
    }
    keys.push(b"hello".to_vec());
    keys.push(b"big0".to_vec());
    let got = rt
        .block_on(client.meta_get_many("test", &keys, Consistency::Linearizable))
        .unwrap();
    assert_eq!(got.len(), keys.len());
    for (i, (k, e)) in keys.iter().zip(&got).enumerate() {
        let want: Option<&[u8]> = match i {
            16 => Some(b"world"),
            17 => Some(&big[0]),
            i if i % 2 == 0 => Some(&big[i / 2]),
            _ => None,
        };
        assert_eq!(e.as_ref().map(|e| &e.value[..]), want, "{}", String::from_utf8_lossy(k));
    }
    for node in &cluster.nodes {
        let one = Client::from_list(&node.addr).unwrap();
        let got = rt
            .block_on(one.meta_get("test", b"hello", Consistency::Linearizable))
            .unwrap()
            .expect("linearizable read through a follower sees the write");
        assert_eq!(got.value, b"world");
        wait_stale_value(&node.addr, "test", b"hello", b"world");
    }
    // Every node, leader or follower, tells the leader-stamped time; it never goes back.
    let mut last = 0;
    for node in &cluster.nodes {
        let before = wall_ms();
        let one = Client::from_list(&node.addr).unwrap();
        let t = rt.block_on(one.cluster_time_ms()).unwrap();
        // The idle cluster's time lags the leader's clock by at most a 5 s tick.
        assert!(
            t + 10_000 >= before && t <= wall_ms() + 1_000,
            "{}: cluster time {t}, wall {before}",
            node.addr
        );
        assert!(t >= last, "cluster time went back from {last} to {t} at {}", node.addr);
        last = t;
    }
    // Voters are spread: 5 voters over 3 sites, no site with a majority.
    let s = cluster.status_json();
    let voters: Vec<&serde_json::Value> = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["raft"] == "voter")
        .collect();
    assert_eq!(voters.len(), 5, "{s:#}");
    for site in SITES {
        let at_site = voters.iter().filter(|n| n["site"] == site).count();
        assert!(
            at_site * 2 < voters.len(),
            "site {site} holds {at_site} of {} voters",
            voters.len()
        );
    }
    assert_eq!(s["health"], "ok");

    // Prometheus metrics on each node's port.
    let metrics = http_get(&cluster.nodes[1].addr, "/metrics");
    for name in [
        "archipel_raft_term",
        "archipel_raft_commit_index",
        "archipel_raft_apply_lag",
        "archipel_rpc_duration_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics:\n{metrics}");
    }
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    body
}

#[test]
fn killing_the_leader_elects_another_and_writes_continue() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.meta_put("test", b"before", b"1")).unwrap();
    let leader = cluster.leader_idx().expect("a leader");
    let old_id = cluster.nodes[leader].id;
    cluster.kill(leader);
    rt.block_on(meta_put_checked(&client, "test", b"after", b"2"))
        .expect("the client retries through the election");
    let new_leader = cluster.wait_leader_change(old_id, Duration::from_secs(15));
    assert_ne!(cluster.nodes[new_leader].id, old_id);
    let before = rt
        .block_on(client.meta_get("test", b"before", Consistency::Linearizable))
        .unwrap();
    assert_eq!(before.unwrap().value, b"1");
    let s = cluster.status_json();
    assert_eq!(s["health"], "degraded", "a dead node is reported: {s:#}");
    assert!(s["reasons"].to_string().contains("unreachable"));
}

#[test]
fn losing_a_whole_site_keeps_the_cluster_writable() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    for site in SITES {
        // Each time, kill one whole site, write, then bring it back.
        let idxs: Vec<usize> = (0..cluster.nodes.len())
            .filter(|i| cluster.nodes[*i].site == site)
            .collect();
        for &i in &idxs {
            cluster.kill(i);
        }
        let key = format!("while-{site}-down");
        rt.block_on(meta_put_checked(&client, "test", key.as_bytes(), b"ok"))
            .unwrap_or_else(|e| panic!("write with site {site} down failed: {e}"));
        let got = rt
            .block_on(client.meta_get("test", key.as_bytes(), Consistency::Linearizable))
            .unwrap();
        assert_eq!(got.unwrap().value, b"ok");
        for &i in &idxs {
            cluster.restart(i);
        }
        cluster.wait_healthy(Duration::from_secs(30));
    }
}

#[test]
fn restarting_every_node_loses_no_committed_entry() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    for i in 0..200u32 {
        rt.block_on(client.meta_put("durable", format!("k{i:04}").as_bytes(), &i.to_be_bytes()))
            .unwrap();
    }
    // Hard kill, not a clean stop: acknowledged entries must be on disk already.
    for i in 0..cluster.nodes.len() {
        cluster.kill(i);
    }
    for i in 0..cluster.nodes.len() {
        cluster.restart(i);
    }
    cluster.wait_healthy(Duration::from_secs(30));
    let client = cluster.client();
    let mut seen = 0u32;
    let mut after = Vec::new();
    loop {
        let (entries, more) = rt
            .block_on(client.meta_scan("durable", b"k", &after, 64, Consistency::Linearizable))
            .unwrap();
        for e in &entries {
            assert_eq!(e.key, format!("k{seen:04}").as_bytes());
            assert_eq!(e.value, seen.to_be_bytes());
            seen += 1;
        }
        match entries.last() {
            Some(last) if more => after = last.key.clone(),
            _ => break,
        }
    }
    assert_eq!(seen, 200, "every acknowledged write survives a full-cluster crash");
}

#[test]
fn a_node_added_later_catches_up_from_a_snapshot() {
    let _g = serial();
    let tuning = Tuning {
        snapshot_after_logs: 50,
        keep_logs_after_snapshot: 0,
        ..Tuning::default()
    };
    let mut cluster = TestCluster::start(&SITES, 1, tuning);
    let rt = runtime();
    let client = cluster.client();
    for i in 0..300u32 {
        rt.block_on(client.meta_put("snap", format!("k{i}").as_bytes(), b"v"))
            .unwrap();
    }
    let idx = cluster.spawn_node("metropole");
    let addr = cluster.nodes[idx].addr.clone();
    cluster.cli_ok(&["node", "add", &addr, "--site", "metropole"]);
    let newcomer = Client::from_list(&addr).unwrap();
    // `node add` returns once the newcomer has caught up.
    let raft = rt.block_on(newcomer.node_info(&addr)).unwrap().raft.unwrap();
    assert!(raft.last_applied >= 300, "{raft:?}");
    assert!(
        raft.snapshot_index.is_some(),
        "the newcomer installed a snapshot, since the leader purged its log: {raft:?}\nnewcomer log:\n{}\nleader log:\n{}",
        cluster.log_of(idx),
        cluster.log_of(0)
    );
    let (entries, _) = rt
        .block_on(newcomer.meta_scan("snap", b"", b"", 1000, Consistency::Stale))
        .unwrap();
    assert_eq!(entries.len(), 300);
    let log = cluster.log_of(idx);
    assert!(!log.contains("panicked"), "{log}");
}

/// Several clients race compare-and-swap increments on one counter while the leader is
/// killed. Every acknowledged success must be a distinct step of the counter, and none lost.
#[test]
fn concurrent_cas_under_leader_failure_never_succeeds_twice() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let addrs = cluster.addrs();
    rt.block_on(cluster.client().meta_put("cas", b"counter", &0u64.to_be_bytes()))
        .unwrap();
    let stop_at = Instant::now() + Duration::from_secs(8);
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let addrs = addrs.clone();
            std::thread::spawn(move || {
                let rt = runtime();
                let client = Client::from_list(&addrs).unwrap();
                let mut acked: Vec<u64> = Vec::new();
                let mut unknown = 0u32;
                while Instant::now() < stop_at {
                    let current = match rt.block_on(client.meta_get("cas", b"counter", Consistency::Linearizable)) {
                        Ok(Some(e)) => e.value,
                        Ok(None) => panic!("counter vanished"),
                        Err(_) => continue,
                    };
                    let n = u64::from_be_bytes(current.as_slice().try_into().unwrap());
                    let next = (n + 1).to_be_bytes();
                    match rt.block_on(client.meta_cas("cas", b"counter", CasExpect::Value(current), Some(&next))) {
                        Ok(o) if o.succeeded => acked.push(n + 1),
                        Ok(_) => {}
                        Err(ClientError::Indeterminate(_)) | Err(ClientError::Unavailable(_)) => unknown += 1,
                        Err(e) => panic!("worker {w}: unexpected error {e}"),
                    }
                }
                (acked, unknown)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let leader = cluster.leader_idx().expect("a leader");
    cluster.kill(leader);
    let mut all_acked = Vec::new();
    let mut all_unknown = 0u64;
    for w in workers {
        let (acked, unknown) = w.join().unwrap();
        all_acked.extend(acked);
        all_unknown += u64::from(unknown);
    }
    let distinct: BTreeSet<u64> = all_acked.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        all_acked.len(),
        "a CAS step was acknowledged twice: {all_acked:?}"
    );
    assert!(!all_acked.is_empty(), "some CAS must have succeeded");
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    let final_value = rt
        .block_on(client.meta_get("cas", b"counter", Consistency::Linearizable))
        .unwrap()
        .unwrap();
    let final_n = u64::from_be_bytes(final_value.value.as_slice().try_into().unwrap());
    let max_acked = *distinct.iter().max().unwrap();
    assert!(
        final_n >= max_acked,
        "acknowledged step {max_acked} lost: counter is {final_n}"
    );
    // Every step of the counter is an acknowledged CAS or an unknown-outcome one: a CAS that
    // applied twice, or applied while reported as failed, would push the counter past this.
    assert!(final_n as usize >= all_acked.len());
    assert!(
        final_n <= all_acked.len() as u64 + all_unknown,
        "counter {final_n} > {} acknowledged + {all_unknown} unknown steps",
        all_acked.len()
    );
}
