//! Misuse gets a clear error and leaves the existing cluster untouched.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{bin, free_port, serial, write_config, TestCluster, Tuning};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_corrupt_config_is_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("node_id = 0\nsite = \"region\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"/tmp/x\"\ncapacity = 10\n", "`node_id`"),
        ("node_id = 1\nsite = \"Région\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"/tmp/x\"\ncapacity = 10\n", "`site`"),
        ("node_id = 1\nsite = \"region\"\nlisten = \"nowhere\"\ndata_dir = \"/tmp/x\"\ncapacity = 10\n", "`listen`"),
        ("node_id = 1\nsite = \"region\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"/tmp/x\"\ncapacity = \"ten\"\n", "`capacity`"),
        ("node_id = 1\nsite = \"region\"\nlisten = \"127.0.0.1:1\"\ndata_dir = \"/tmp/x\"\ncapacity = 10\nsurprise = 1\n", "surprise"),
        ("node_id = \"one\"\n", "node_id"),
        ("this is not toml", "not valid"),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("node.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(bin())
            .args(["server", "--config"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = stderr_of(&out);
        assert!(err.contains(expected), "for {text:?} expected {expected} in: {err}");
    }
    let out = Command::new(bin())
        .args(["server", "--config", "/nonexistent/node.toml"])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("cannot read config file /nonexistent/node.toml"));
}

#[test]
fn membership_misuse_is_refused_and_the_cluster_is_untouched() {
    let _g = serial();
    let mut cluster = TestCluster::start(&["region", "departement", "metropole"], 1, Tuning::default());
    let before = cluster.status_json();

    // A second `cluster init`, on the first node or any other member.
    for node in &cluster.nodes {
        let out = cluster.cli(&["cluster", "init", "--node", &node.addr]);
        assert!(!out.status.success());
        assert!(
            stderr_of(&out).contains("already belongs to cluster"),
            "{}",
            stderr_of(&out)
        );
    }

    // A node whose id is already taken.
    let dup_addr = format!("127.0.0.1:{}", free_port());
    let dup_dir = cluster.root.path().join("dup");
    let dup_cfg = write_config(&dup_dir, 2, "metropole", &dup_addr, &Tuning::default());
    let mut dup = Command::new(bin())
        .args(["server", "--config"])
        .arg(&dup_cfg)
        .spawn()
        .unwrap();
    common::wait_answering(&dup_addr, Duration::from_secs(30));
    let out = cluster.cli(&["node", "add", &dup_addr, "--site", "metropole"]);
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("node id 2 is already taken"),
        "{}",
        stderr_of(&out)
    );

    // The wrong site.
    let out = cluster.cli(&["node", "add", &dup_addr, "--site", "ville"]);
    assert!(
        stderr_of(&out).contains("configured for site `metropole`, not `ville`"),
        "{}",
        stderr_of(&out)
    );
    let _ = dup.kill();
    let _ = dup.wait();

    // A data dir that belongs to another cluster.
    let mut other = TestCluster::start(&["ville"], 1, Tuning::default());
    let foreign = other.nodes[0].addr.clone();
    let out = cluster.cli(&["node", "add", &foreign, "--site", "ville"]);
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("belongs to cluster"), "{}", stderr_of(&out));
    other.kill(0);

    // Nothing reachable at the address.
    let out = cluster.cli(&["node", "add", &format!("127.0.0.1:{}", free_port()), "--site", "ville"]);
    assert!(stderr_of(&out).contains("cannot reach the node"), "{}", stderr_of(&out));

    // Removing an unknown node.
    let out = cluster.cli(&["node", "remove", "99"]);
    assert!(
        stderr_of(&out).contains("node 99 is not in the cluster"),
        "{}",
        stderr_of(&out)
    );

    let after = cluster.status_json();
    assert_eq!(before["cluster_id"], after["cluster_id"]);
    assert_eq!(
        before["layout_version"], after["layout_version"],
        "the map did not change"
    );
    assert_eq!(after["nodes"].as_array().unwrap().len(), 3);
    assert_eq!(after["health"], "ok");

    // A data dir reused under another node id.
    let dir1 = cluster.nodes[0].dir.clone();
    cluster.kill(0);
    let wrong = write_config(
        &dir1.join("..").join("wrong"),
        7,
        "region",
        &format!("127.0.0.1:{}", free_port()),
        &Tuning::default(),
    );
    let text = std::fs::read_to_string(&wrong).unwrap().replace(
        &format!("data_dir = \"{}\"", dir1.join("..").join("wrong").display()),
        &format!("data_dir = \"{}\"", dir1.display()),
    );
    std::fs::write(&wrong, text).unwrap();
    let out = Command::new(bin())
        .args(["server", "--config"])
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("belongs to node 1"), "{}", stderr_of(&out));
}

#[test]
fn a_removed_node_leaves_and_voters_are_rebalanced() {
    let _g = serial();
    let cluster = TestCluster::start(&["region", "departement", "metropole"], 2, Tuning::default());
    let json = cluster.cli_ok(&["node", "remove", "6", "--json"]);
    let reply: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!reply["voters"].as_array().unwrap().contains(&6.into()));
    assert!(!reply["learners"].as_array().unwrap().contains(&6.into()));
    let s = cluster.status_json();
    let six = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == 6)
        .unwrap()
        .clone();
    assert_eq!(six["state"], "gone");
    // Removing it again is harmless.
    cluster.cli_ok(&["node", "remove", "6"]);
}

/// `archipel … | head`: the reader goes away before the command prints. The command ends
/// quietly with the status a shell gives SIGPIPE, without a panic or an error message.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["cert", "init", "--dir"])
        .arg(dir.path().join("pki"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(141),
        "status {:?}, stderr: {}",
        out.status,
        stderr_of(&out)
    );
    assert_eq!(stderr_of(&out), "", "nothing on stderr for a closed stdout");
}

/// A node dropping a connection must end in an error message, never kill a command outright
/// (SIGPIPE on a socket write): every command keeps SIGPIPE ignored. A bench died this way
/// mid-run with exit status 141 and no message.
#[test]
fn commands_ignore_sigpipe() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let mut child = Command::new(bin())
        .args(["status", "--cluster", &addr])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut ignored = None;
    // The disposition is set before the runtime starts; wait until the process shows a runtime
    // worker (not merely a second thread: the allocator starts its own before `main`).
    let tasks = format!("/proc/{}/task", child.id());
    for _ in 0..200 {
        let text = std::fs::read_to_string(&status_file).unwrap_or_default();
        let runtime_started = std::fs::read_dir(&tasks)
            .into_iter()
            .flatten()
            .flatten()
            .any(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|name| name.starts_with("tokio-")));
        if runtime_started {
            ignored = text
                .lines()
                .find_map(|l| l.strip_prefix("SigIgn:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(silent);
    let mask = ignored.expect("the command started its runtime");
    const SIGPIPE_BIT: u64 = 1 << (13 - 1);
    assert_ne!(mask & SIGPIPE_BIT, 0, "SIGPIPE must be ignored (SigIgn {mask:x})");
}
