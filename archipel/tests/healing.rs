//! Scrubbing and repair on a real 3-site x 2-node cluster: damage is found, reported, repaired,
//! and the evidence shows it; a lost node's shards are rebuilt elsewhere.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use archipel_client::proto::object::ObjectInfo;
use archipel_client::{Client, ClientError};
use common::{runtime, serial, wait_for, TestCluster, Tuning};
use rand::{RngCore, SeedableRng};

const SITES: [&str; 3] = ["region", "departement", "metropole"];

fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rngs::StdRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

fn get_all(rt: &tokio::runtime::Runtime, client: &Client, key: &str) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    rt.block_on(client.get_object("archive", key, 0, None, &mut out, None))?;
    Ok(out)
}

fn shard_path(cluster: &TestCluster, info: &ObjectInfo, index: u32) -> (usize, PathBuf) {
    let s = info.shards.iter().find(|s| s.index == index).unwrap();
    let idx = cluster.nodes.iter().position(|n| n.id == s.node_id).unwrap();
    let hex = hex::encode(&info.object_id);
    let path = cluster.nodes[idx]
        .dir
        .join("shards")
        .join(&hex[..2])
        .join(format!("{hex}.{index}.shard"));
    (idx, path)
}

fn flip_byte(path: &PathBuf, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

fn scrub_status(cluster: &TestCluster) -> serde_json::Value {
    serde_json::from_str(&cluster.cli_ok(&["scrub", "status", "--json"])).unwrap()
}

#[test]
fn flipped_bytes_and_deleted_shards_are_found_reported_and_repaired() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let body = data(1, 3 << 20);
    rt.block_on(client.put_object("archive", "doc", body.as_slice(), None, None))
        .unwrap();
    let info = rt.block_on(client.stat_object("archive", "doc")).unwrap();

    // Repairs wait until the scrubbers have had their say, so that a repair reading the corrupt
    // shard as a source cannot rebuild it before its own node's scrubber gets there.
    cluster.cli_ok(&["repair", "pause"]);
    let (corrupt_node, corrupt) = shard_path(&cluster, &info, 2);
    flip_byte(&corrupt, 100_000);
    let (missing_node, deleted) = shard_path(&cluster, &info, 4);
    std::fs::remove_file(&deleted).unwrap();
    let cycles_of = |status: &serde_json::Value, node: u64| {
        status
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["node"] == node)
            .map_or(0, |n| n["cycles_completed"].as_u64().unwrap_or(0))
    };
    let before = scrub_status(&cluster);
    cluster.cli_ok(&["scrub", "start"]);

    // Every scrubber completes a cycle; the two damaged shards' nodes report them.
    let after = wait_for("a scrub cycle on every node", Duration::from_secs(60), || {
        let now = scrub_status(&cluster);
        let all = cluster
            .nodes
            .iter()
            .all(|n| cycles_of(&now, n.id) > cycles_of(&before, n.id));
        all.then_some(now)
    });
    for idx in [corrupt_node, missing_node] {
        let row = after
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["node"] == cluster.nodes[idx].id)
            .unwrap();
        assert!(row["errors_found"].as_u64().unwrap() >= 1, "{row:#}");
    }
    let pending: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["repair", "status", "--json"])).unwrap();
    let mut queued: Vec<String> = pending["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["shard"].as_str().unwrap().to_owned())
        .collect();
    queued.sort();
    let hex = hex::encode(&info.object_id);
    assert_eq!(queued, [format!("{hex}.2"), format!("{hex}.4")], "{pending:#}");
    let stat = rt.block_on(client.stat_object("archive", "doc")).unwrap();
    let verdict = |i: u32| stat.shards.iter().find(|s| s.index == i).unwrap().verify_result.clone();
    assert_eq!((verdict(2).as_str(), verdict(4).as_str()), ("corrupt", "missing"));

    // The repairer rebuilds both.
    cluster.cli_ok(&["repair", "resume"]);
    wait_for("repair of both shards", Duration::from_secs(60), || {
        let i = rt.block_on(client.stat_object("archive", "doc")).ok()?;
        let ok = i.shards.iter().all(|s| s.verify_result == "ok");
        (ok && deleted.exists() && i.last_full_verification_ms > 0).then_some(())
    });

    let repaired = rt.block_on(client.stat_object("archive", "doc")).unwrap();
    let evidence = repaired.shards.iter().find(|s| s.index == 2).unwrap();
    assert_eq!(evidence.verify_result, "ok");
    assert_eq!(get_all(&rt, &client, "doc").unwrap(), body);
    // The rebuilt files are byte-identical to the originals, so their tables match the manifest.
    assert_eq!(
        repaired.shards.iter().map(|s| s.table_hash.clone()).collect::<Vec<_>>(),
        info.shards.iter().map(|s| s.table_hash.clone()).collect::<Vec<_>>()
    );
    let pending: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["repair", "status", "--json"])).unwrap();
    assert_eq!(pending["pending"].as_array().unwrap().len(), 0, "{pending:#}");
    let s = cluster.status_json();
    assert_eq!(
        (s["objects_degraded"].as_u64(), s["health"].as_str()),
        (Some(0), Some("ok")),
        "{s:#}"
    );
}

#[test]
fn a_node_reading_its_own_damaged_shard_reads_around_it_and_reports_it() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let body = data(7, 3 << 20);
    rt.block_on(client.put_object("archive", "doc", body.as_slice(), None, None))
        .unwrap();
    let info = rt.block_on(client.stat_object("archive", "doc")).unwrap();
    cluster.cli_ok(&["repair", "pause"]);
    let (holder, path) = shard_path(&cluster, &info, 0);
    flip_byte(&path, 100_000);

    // Through the node holding the damaged data shard, which reads its own shards locally.
    let through_holder = Client::from_list(&cluster.nodes[holder].addr).unwrap();
    assert_eq!(get_all(&rt, &through_holder, "doc").unwrap(), body);
    let pending: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["repair", "status", "--json"])).unwrap();
    let queued = pending["pending"].as_array().unwrap();
    let hex = hex::encode(&info.object_id);
    assert_eq!(queued.len(), 1, "{pending:#}");
    assert_eq!(queued[0]["shard"], format!("{hex}.0"), "{pending:#}");
    assert_eq!(queued[0]["stripe"], 0, "{pending:#}");
    assert_eq!(queued[0]["detected_by"], cluster.nodes[holder].id, "{pending:#}");

    cluster.cli_ok(&["repair", "resume"]);
    wait_for("repair of the damaged shard", Duration::from_secs(60), || {
        let pending: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["repair", "status", "--json"])).ok()?;
        pending["pending"].as_array()?.is_empty().then_some(())
    });
    assert_eq!(get_all(&rt, &through_holder, "doc").unwrap(), body);
}

#[test]
fn a_scrub_cycle_covers_every_shard() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    for i in 0..40u64 {
        let body = data(i, 8 << 10);
        rt.block_on(client.put_object("archive", &format!("o{i}"), body.as_slice(), None, None))
            .unwrap();
    }
    cluster.cli_ok(&["scrub", "start"]);
    wait_for("a full scrub cycle", Duration::from_secs(60), || {
        let s = scrub_status(&cluster);
        let rows = s.as_array()?;
        let all_done = rows
            .iter()
            .all(|n| n["state"] == "idle" && n["items_done"].as_u64() == Some(40));
        all_done.then_some(())
    });
    // Every shard of every object has fresh evidence.
    for i in 0..40u64 {
        let info = rt.block_on(client.stat_object("archive", &format!("o{i}"))).unwrap();
        assert_eq!(info.shards.len(), 6);
        assert!(
            info.shards
                .iter()
                .all(|s| s.verify_result == "ok" && s.verified_at_ms > 0),
            "o{i}: {info:?}"
        );
    }
}

#[test]
fn a_lost_node_is_rebuilt_elsewhere_and_a_second_loss_loses_nothing() {
    let _g = serial();
    let tuning = Tuning {
        node_down_timeout_secs: 3,
        ..Tuning::default()
    };
    let mut cluster = TestCluster::start(&SITES, 2, tuning);
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let bodies: Vec<Vec<u8>> = (0..5).map(|i| data(100 + i, 2 << 20)).collect();
    for (i, b) in bodies.iter().enumerate() {
        rt.block_on(client.put_object("archive", &format!("o{i}"), b.as_slice(), None, None))
            .unwrap();
    }
    // Kill a node that is not the leader, for good.
    let leader = cluster.leader_idx().unwrap();
    let victim = (0..cluster.nodes.len()).find(|i| *i != leader).unwrap();
    let victim_id = cluster.nodes[victim].id;
    cluster.kill(victim);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    let started = Instant::now();
    wait_for("redundancy restored", Duration::from_secs(90), || {
        (0..5)
            .all(|i| {
                rt.block_on(client.stat_object("archive", &format!("o{i}")))
                    .is_ok_and(|info| info.shards.len() == 6 && info.shards.iter().all(|s| s.node_id != victim_id))
            })
            .then_some(())
    });
    eprintln!("full redundancy restored {:?} after the node died", started.elapsed());
    // The site constraint still holds: at most m-1 = 2 shards of an object per site.
    for i in 0..5 {
        let info = rt.block_on(client.stat_object("archive", &format!("o{i}"))).unwrap();
        let mut per_site = std::collections::BTreeMap::<String, usize>::new();
        for s in &info.shards {
            *per_site.entry(s.site.clone()).or_default() += 1;
        }
        assert!(per_site.values().all(|c| *c <= 2), "o{i}: {per_site:?}");
    }
    // A second node dies: nothing is lost.
    let second = (0..cluster.nodes.len()).find(|i| *i != leader && *i != victim).unwrap();
    cluster.kill(second);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(&get_all(&rt, &client, &format!("o{i}")).unwrap(), b, "o{i}");
    }
}

#[test]
fn damage_beyond_parity_is_listed_as_lost_out_of_the_queue_and_reads_report_data_loss() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let body = data(9, 3 << 20);
    rt.block_on(client.put_object("archive", "lost", body.as_slice(), None, None))
        .unwrap();
    let info = rt.block_on(client.stat_object("archive", "lost")).unwrap();
    // Same stripe (the first) corrupted in 4 shards; 3+3 tolerates 3.
    for index in 0..4 {
        let (_, path) = shard_path(&cluster, &info, index);
        flip_byte(&path, 2_000);
    }
    cluster.cli_ok(&["scrub", "start"]);
    // The repairer proves it cannot rebuild the object and moves it to the lost list, out of
    // the queue (where it would be retried for ever, ahead of the rest).
    let hex_id = hex::encode(&info.object_id);
    let v = wait_for(
        "the object listed as lost, out of the queue",
        Duration::from_secs(60),
        || {
            let v: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["repair", "status", "--json"])).ok()?;
            (!v["lost"].as_array()?.is_empty() && !v["pending"].to_string().contains(&hex_id)).then_some(v)
        },
    );
    let lost = &v["lost"][0];
    assert_eq!(lost["namespace"], "archive", "{v:#}");
    assert_eq!(lost["key"], "lost", "{v:#}");
    assert_eq!(lost["object_id"], hex::encode(&info.object_id), "{v:#}");
    let reason = lost["reason"].as_str().unwrap();
    assert!(reason.contains("stripes 0.."), "{reason}");
    match get_all(&rt, &client, "lost") {
        Err(ClientError::DataLoss(m)) => assert!(m.contains("archive/lost"), "{m}"),
        other => panic!("expected data loss: {other:?}"),
    }
    let s = cluster.status_json();
    assert_eq!(s["objects_lost"], 1, "{s:#}");
    assert_eq!(s["lost"][0]["key"], "lost", "{s:#}");
    assert_eq!(s["health"], "degraded");
    assert!(s["reasons"].to_string().contains("data loss"), "{s:#}");
    let text = String::from_utf8_lossy(&cluster.cli(&["status"]).stdout).into_owned();
    assert!(text.contains("LOST OBJECTS") && text.contains("archive/lost"), "{text}");
    let text = cluster.cli_ok(&["repair", "status"]);
    assert!(text.contains("LOST OBJECTS") && text.contains("archive/lost"), "{text}");
}

#[test]
fn a_drained_node_holds_nothing_and_can_be_removed_without_loss() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let bodies: Vec<Vec<u8>> = (0..6).map(|i| data(200 + i, 1 << 20)).collect();
    for (i, b) in bodies.iter().enumerate() {
        rt.block_on(client.put_object("archive", &format!("o{i}"), b.as_slice(), None, None))
            .unwrap();
    }
    let leader = cluster.leader_idx().unwrap();
    let victim = (0..cluster.nodes.len()).rev().find(|i| *i != leader).unwrap();
    let id = cluster.nodes[victim].id.to_string();
    let out = cluster.cli_ok(&["node", "drain", &id, "--wait", "--timeout-secs", "120", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["shards_left"], 0, "{v:#}");
    for i in 0..6 {
        let info = rt.block_on(client.stat_object("archive", &format!("o{i}"))).unwrap();
        assert_eq!(info.shards.len(), 6);
        assert!(
            info.shards.iter().all(|s| s.node_id.to_string() != id),
            "o{i} still on node {id}"
        );
    }
    // New writes avoid the draining node.
    rt.block_on(client.put_object("archive", "after-drain", &data(300, 1 << 20)[..], None, None))
        .unwrap();
    let after = rt.block_on(client.stat_object("archive", "after-drain")).unwrap();
    assert!(after.shards.iter().all(|s| s.node_id.to_string() != id));
    cluster.cli_ok(&["node", "remove", &id]);
    cluster.kill(victim);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(&get_all(&rt, &client, &format!("o{i}")).unwrap(), b, "o{i}");
    }
}

#[test]
fn adding_a_node_rebalances_to_the_new_layout() {
    use archipel_node::ec_profile::EcProfile;
    use archipel_node::placement::{place, PlacementNode};
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", Some("3+3"), 0)).unwrap();
    let n = 12;
    let bodies: Vec<Vec<u8>> = (0..n).map(|i| data(400 + i, 256 << 10)).collect();
    for (i, b) in bodies.iter().enumerate() {
        rt.block_on(client.put_object("archive", &format!("o{i}"), b.as_slice(), None, None))
            .unwrap();
    }
    let idx = cluster.spawn_node("region");
    let (addr, new_id) = (cluster.nodes[idx].addr.clone(), cluster.nodes[idx].id);
    cluster.cli_ok(&["node", "add", &addr, "--site", "region"]);
    let client = cluster.client();
    let status = cluster.status_json();
    let layout: Vec<PlacementNode> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["state"] == "up")
        .map(|n| PlacementNode {
            id: n["id"].as_u64().unwrap(),
            site: n["site"].as_str().unwrap().into(),
            capacity_bytes: n["capacity_bytes"].as_u64().unwrap(),
            writable: true,
        })
        .collect();
    let profile = EcProfile::new(3, 3).unwrap();
    let moved = wait_for("placement to match the new layout", Duration::from_secs(120), || {
        let mut moved = 0;
        for i in 0..n {
            let info = rt.block_on(client.stat_object("archive", &format!("o{i}"))).ok()?;
            let id: [u8; 16] = info.object_id.as_slice().try_into().ok()?;
            let mut want = place(&id, profile, &layout, &[]).ok()?;
            let mut have: Vec<u64> = info.shards.iter().map(|s| s.node_id).collect();
            want.sort();
            have.sort();
            if want != have {
                return None;
            }
            moved += usize::from(have.contains(&new_id));
        }
        Some(moved)
    });
    assert!(moved > 0, "some objects moved onto the new node");
    for (i, b) in bodies.iter().enumerate() {
        assert_eq!(&get_all(&rt, &client, &format!("o{i}")).unwrap(), b, "o{i}");
    }
    // Nothing left to move.
    let moves = rt
        .block_on(client.meta_scan("sys.moves", b"", b"", 100, archipel_client::Consistency::Linearizable))
        .unwrap()
        .0;
    assert!(moves.is_empty(), "{moves:?}");
}

#[test]
fn a_full_disk_during_repair_moves_the_shard_elsewhere_within_the_site_bound() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let body = data(500, 2 << 20);
    rt.block_on(client.put_object("archive", "doc", body.as_slice(), None, None))
        .unwrap();
    let info = rt.block_on(client.stat_object("archive", "doc")).unwrap();
    // Shard 0's node loses the file and has no room left to take it back.
    let (idx, path) = shard_path(&cluster, &info, 0);
    let full_node = cluster.nodes[idx].id;
    std::fs::remove_file(&path).unwrap();
    let full = Tuning {
        capacity: "64KiB".into(),
        ..Tuning::default()
    };
    cluster.reconfigure(idx, &full);
    cluster.kill(idx);
    cluster.restart(idx);
    cluster.wait_ready(Duration::from_secs(30));
    cluster.cli_ok(&["scrub", "start", "--node", &full_node.to_string()]);
    let repaired = wait_for("shard 0 rebuilt on another node", Duration::from_secs(60), || {
        let i = rt.block_on(client.stat_object("archive", "doc")).ok()?;
        let s0 = i.shards.iter().find(|s| s.index == 0)?;
        (s0.node_id != full_node && i.shards.len() == 6).then_some(i)
    });
    let mut per_site = std::collections::BTreeMap::<String, usize>::new();
    for s in &repaired.shards {
        *per_site.entry(s.site.clone()).or_default() += 1;
    }
    assert!(per_site.values().all(|c| *c <= 2), "site bound kept: {per_site:?}");
    assert_eq!(get_all(&rt, &client, "doc").unwrap(), body);
}

#[test]
fn a_repair_interrupted_by_the_leader_s_death_is_finished_by_the_next_leader() {
    let _g = serial();
    // Slow repairs (a 32 MiB shard takes ~4 s), so the leader dies in the middle of one.
    let tuning = Tuning {
        repair_max_bytes_per_sec: 8 << 20,
        ..Tuning::default()
    };
    let mut cluster = TestCluster::start(&SITES, 2, tuning);
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let body = data(600, 96 << 20);
    let path = cluster.root.path().join("big");
    std::fs::write(&path, &body).unwrap();
    rt.block_on(client.put_object_file("archive", "big", &path, None))
        .unwrap();
    let info = rt.block_on(client.stat_object("archive", "big")).unwrap();
    let leader = cluster.leader_idx().unwrap();
    // Damage a shard that is not on the leader, then kill the leader while it rebuilds it.
    let victim_index = info
        .shards
        .iter()
        .find(|s| s.node_id != cluster.nodes[leader].id)
        .map(|s| s.index)
        .unwrap();
    let (victim_node, victim_path) = shard_path(&cluster, &info, victim_index);
    std::fs::remove_file(&victim_path).unwrap();
    cluster.cli_ok(&["scrub", "start", "--node", &cluster.nodes[victim_node].id.to_string()]);
    wait_for("the repair to start", Duration::from_secs(30), || {
        let v: serde_json::Value = serde_json::from_str(&cluster.cli_ok(&["repair", "status", "--json"])).ok()?;
        (!v["pending"].as_array()?.is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !victim_path.exists(),
        "the kill must land before the rebuilt shard is in place"
    );
    cluster.kill(leader);
    let client = Client::from_list(&cluster.live_addrs()).unwrap();
    wait_for("the next leader to finish the repair", Duration::from_secs(120), || {
        let i = rt.block_on(client.stat_object("archive", "big")).ok()?;
        let s = i.shards.iter().find(|s| s.index == victim_index)?;
        (s.verify_result == "ok" && victim_path.exists()).then_some(())
    });
    let mut out = Vec::new();
    rt.block_on(client.get_object("archive", "big", 0, None, &mut out, None))
        .unwrap();
    assert!(out == body, "the object is intact after the interrupted repair");
}

#[test]
fn a_restarted_node_resumes_its_scrub_cycle_where_it_stopped() {
    let _g = serial();
    // ~3 KiB shards at 6 KiB/s: a cycle over 40 shards takes ~20 s.
    let tuning = Tuning {
        scrub_max_bytes_per_sec: 6 << 10,
        ..Tuning::default()
    };
    let mut cluster = TestCluster::start(&SITES, 2, tuning);
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    for i in 0..40u64 {
        rt.block_on(client.put_object("archive", &format!("o{i}"), &data(700 + i, 8 << 10)[..], None, None))
            .unwrap();
    }
    let victim = 5;
    let id = cluster.nodes[victim].id;
    let row = |cluster: &TestCluster| -> Option<serde_json::Value> {
        scrub_status(cluster)
            .as_array()?
            .iter()
            .find(|n| n["node"] == id)
            .cloned()
    };
    cluster.cli_ok(&["scrub", "start", "--node", &id.to_string()]);
    let before = wait_for("part of a cycle", Duration::from_secs(60), || {
        let r = row(&cluster)?;
        (r["items_done"].as_u64()? >= 10 && r["state"] == "running").then_some(r)
    });
    cluster.kill(victim);
    cluster.restart(victim);
    let after = wait_for("the node to report its scrub again", Duration::from_secs(30), || {
        let r = row(&cluster)?;
        (r["cycle_started_ms"].as_u64()? > 0).then_some(r)
    });
    assert_eq!(
        after["cycle_started_ms"], before["cycle_started_ms"],
        "the same cycle goes on: {before:#} {after:#}"
    );
    assert!(
        after["items_done"].as_u64().unwrap() >= before["items_done"].as_u64().unwrap() - 4,
        "progress kept (saved every 4 shards): {before:#} {after:#}"
    );
    let done = wait_for("the cycle to complete", Duration::from_secs(120), || {
        let r = row(&cluster)?;
        (r["state"] == "idle" && r["items_done"].as_u64()? == 40).then_some(r)
    });
    assert_eq!(
        done["cycles_completed"].as_u64(),
        before["cycles_completed"].as_u64().map(|c| c + 1),
        "one cycle, not restarted"
    );
}

/// A 64 KiB object's shards are packed in each node's RocksDB rather than files. Bit rot there
/// is read around, found by the scrubber, reported and repaired, as it is in a file.
#[test]
fn damage_to_packed_shards_is_read_around_found_and_repaired() {
    let _g = serial();
    let mut cluster = TestCluster::start(&SITES, 2, Tuning::default());
    let rt = runtime();
    let client = cluster.client();
    rt.block_on(client.create_namespace("archive", None, 0)).unwrap();
    let body = data(900, 64 << 10);
    rt.block_on(client.put_object("archive", "small", body.as_slice(), None, None))
        .unwrap();
    let info = rt.block_on(client.stat_object("archive", "small")).unwrap();
    assert_eq!(info.shards.len(), 6, "{info:?}");
    // Shard 1 is a data shard: a whole read needs it, so the read meets the damage.
    let (idx, path) = shard_path(&cluster, &info, 1);
    assert!(!path.exists(), "a 64 KiB object's shards are packed, not files");
    let object_id: [u8; 16] = info.object_id.as_slice().try_into().unwrap();
    cluster.stop(idx);
    // ~22 KiB shards: 12,000 bytes in is stripe data, past the header.
    let flipped = archipel_node::shards::packed::flip_byte_offline(&cluster.nodes[idx].dir, &object_id, 1, 12_000);
    assert!(
        flipped.unwrap(),
        "the packed shard is on node {}",
        cluster.nodes[idx].id
    );
    cluster.restart(idx);
    cluster.wait_ready(Duration::from_secs(30));
    assert_eq!(
        get_all(&rt, &client, "small").unwrap(),
        body,
        "reads decode around the damage"
    );
    cluster.cli_ok(&["scrub", "start", "--node", &cluster.nodes[idx].id.to_string()]);
    let repaired = wait_for(
        "the damaged packed shard rebuilt and verified",
        Duration::from_secs(60),
        || {
            let i = rt.block_on(client.stat_object("archive", "small")).ok()?;
            let s1 = i.shards.iter().find(|s| s.index == 1)?;
            let pending = cluster.cli_ok(&["repair", "status", "--json"]);
            let pending: serde_json::Value = serde_json::from_str(&pending).ok()?;
            // Nothing else was damaged: a repair done means this damage was found.
            let repairs: u64 = pending["repairer"]
                .as_array()?
                .iter()
                .filter_map(|r| r["repairs_done"].as_u64())
                .sum();
            (repairs >= 1 && s1.verify_result == "ok" && pending["pending"].as_array()?.is_empty()).then_some(i)
        },
    );
    assert_eq!(
        repaired.shards.iter().map(|s| s.table_hash.clone()).collect::<Vec<_>>(),
        info.shards.iter().map(|s| s.table_hash.clone()).collect::<Vec<_>>(),
        "the rebuilt shard is byte for byte what was written"
    );
    assert!(!path.exists(), "the rebuilt shard is packed again");
    // The damaged copy is gone: the node's shard now passes a fresh scrub.
    cluster.cli_ok(&["scrub", "start", "--node", &cluster.nodes[idx].id.to_string()]);
    std::thread::sleep(Duration::from_secs(2));
    let after = rt.block_on(client.stat_object("archive", "small")).unwrap();
    assert!(after.shards.iter().all(|s| s.verify_result != "corrupt"), "{after:?}");
    assert_eq!(get_all(&rt, &client, "small").unwrap(), body);
}
