//! The state machine's time is a majority's clock: a leader whose clock jumps a year ahead does
//! not move it, so it ends no retention and no object lock (docs/durability.md, "Time, late
//! commits and retention").

mod common;

use std::time::{Duration, Instant};

use archipel_client::proto::object::{LockMode, ObjectLockSpec};
use archipel_client::{Client, ClientError};
use common::{runtime, serial, wait_for, TestCluster, Tuning};

const SITES: [&str; 3] = ["region", "departement", "metropole"];
const DAY_MS: u64 = 86_400_000;
const YEAR_MS: u64 = 365 * DAY_MS;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Three nodes, each with its own clock offset file (none yet: no offset).
fn cluster_with_clock_files() -> TestCluster {
    let mut cluster = TestCluster::spawn_only(&[], 0, Tuning::default());
    for (i, site) in SITES.iter().enumerate() {
        cluster.tuning.clock_offset_file = Some(cluster.root.path().join(format!("clock-offset-{}", i + 1)));
        cluster.spawn_node(site);
    }
    let first = cluster.nodes[0].addr.clone();
    cluster.cli_ok(&["cluster", "init", "--node", &first]);
    for n in &cluster.nodes[1..] {
        cluster.cli_ok(&["node", "add", &n.addr, "--site", &n.site]);
    }
    cluster.wait_ready(Duration::from_secs(30));
    cluster
}

#[test]
fn a_leader_a_year_ahead_moves_neither_the_time_nor_a_retention() {
    let _g = serial();
    let cluster = cluster_with_clock_files();
    let rt = runtime();
    let any = cluster.client();
    rt.block_on(any.create_namespace("worm", None, 30 * 86_400)).unwrap();
    rt.block_on(any.create_namespace("locks", None, 0)).unwrap();
    rt.block_on(any.put_object("worm", "register.pdf", &b"deliberation 2026-118"[..], None, None))
        .unwrap();
    let lock = ObjectLockSpec {
        mode: LockMode::Compliance as i32,
        retain_until_ms: now_ms() + 30 * DAY_MS,
        legal_hold: false,
    };
    rt.block_on(any.put_object_locked("locks", "pes.xml", &b"mandat 4521"[..], None, Some(lock), None))
        .unwrap();

    // The leader's clock jumps a year ahead, without a restart.
    let leader = cluster.leader_idx().expect("a leader");
    let leader_id = cluster.nodes[leader].id;
    let offset_file = cluster.root.path().join(format!("clock-offset-{leader_id}"));
    std::fs::write(&offset_file, format!("{YEAR_MS}\n")).unwrap();
    let via_leader = Client::from_list(&cluster.nodes[leader].addr).unwrap();

    // It took: a namespace the leader creates is dated by its own clock, a year ahead.
    let mut n = 0;
    wait_for("the leader's clock to jump", Duration::from_secs(10), || {
        n += 1;
        let ns = rt
            .block_on(via_leader.create_namespace(&format!("probe{n}"), None, 0))
            .ok()?;
        (ns.created_at_ms > now_ms() + YEAR_MS - DAY_MS).then_some(())
    });

    // The leader appends for more than two tick intervals (5 s): its writes, its idle ticks.
    let until = Instant::now() + Duration::from_secs(12);
    let mut i = 0;
    while Instant::now() < until {
        i += 1;
        rt.block_on(via_leader.put_object("locks", &format!("note-{i}"), &b"x"[..], None, None))
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        cluster.leader_idx(),
        Some(leader),
        "the skewed node must still lead for the test to mean anything"
    );

    let time = rt.block_on(via_leader.cluster_time_ms()).unwrap();
    let real = now_ms();
    assert!(
        time.abs_diff(real) < 60_000,
        "the state time follows the majority's clocks: {time} vs real {real} (off by {} s)",
        (time as i64 - real as i64) / 1000
    );
    for (ns, key) in [("worm", "register.pdf"), ("locks", "pes.xml")] {
        let err = rt.block_on(via_leader.delete_object(ns, key)).unwrap_err();
        assert!(matches!(err, ClientError::FailedPrecondition(_)), "{ns}/{key}: {err}");
        rt.block_on(any.stat_object(ns, key)).unwrap();
    }
    std::fs::remove_file(&offset_file).unwrap();
}
