//! Mutual TLS: who gets in and who does not, with the error each one sees.

mod common;

use std::sync::Arc;

use archipel_client::proto::raft::raft_client::RaftClient;
use archipel_client::proto::raft::RaftRequest;
use archipel_client::{Client, ClientError, TlsFiles};
use archipel_node::peers::Peers;
use archipel_node::tls::{issue, Ca, DenyList, KeyMaterial, Role, Validity};
use common::{pki, runtime, serial, TestCluster, Tuning};

const SITES: [&str; 3] = ["region", "departement", "metropole"];

/// Writes a client bundle signed by `ca` and returns a client using it.
fn client_with(cluster: &TestCluster, ca: &Ca, name: &str, role: Role, validity: Validity) -> (Client, String) {
    let issued = ca.issue_client(name, role, validity).unwrap();
    let dir = cluster.root.path().join("clients").join(name);
    issue::write_bundle(&dir, &ca.cert_pem(), &issued).unwrap();
    let client = Client::from_list_with_tls(&cluster.addrs(), Some(TlsFiles::from_dir(&dir))).unwrap();
    (client, issued.serial)
}

/// A raw Raft client presenting a node certificate for (`id`, `site`) signed by `ca`.
fn raft_peer_as(cluster: &TestCluster, ca: &Ca, id: u64, site: &str) -> Peers {
    let issued = ca
        .issue_node(id, site, &["127.0.0.1".to_owned()], Validity::days(1))
        .unwrap();
    let dir = cluster.root.path().join(format!("rogue-{id}-{site}"));
    let files = issue::write_bundle(&dir, &ca.cert_pem(), &issued).unwrap();
    peers_from(&files[0], &files[1], &files[2])
}

fn peers_from(ca: &std::path::Path, cert: &std::path::Path, key: &std::path::Path) -> Peers {
    let material = KeyMaterial::load(&archipel_node::tls::TlsFiles {
        ca: ca.to_owned(),
        cert: cert.to_owned(),
        key: key.to_owned(),
    })
    .unwrap();
    let config = archipel_node::tls::verify::client_config(&material, DenyList::default()).unwrap();
    Peers::with_tls(config, Arc::new(|_: &str| None))
}

fn vote_request(cluster_id: &str, from_node: u64) -> RaftRequest {
    // The payload is never decoded: every refusal below happens before.
    RaftRequest {
        cluster_id: cluster_id.to_owned(),
        from_node,
        payload: vec![],
    }
}

#[test]
fn clients_need_a_valid_certificate_from_the_cluster_ca() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, Tuning::default());
    let rt = runtime();
    let ca = &pki().ca;

    // The normal path: an archivist certificate from the cluster CA reads and writes metadata.
    let (archivist, archivist_serial) = client_with(&cluster, ca, "archivist-1", Role::Archivist, Validity::days(1));
    rt.block_on(archivist.meta_put("tls", b"k", b"v")).unwrap();
    assert_eq!(
        rt.block_on(archivist.meta_get("tls", b"k", archipel_client::Consistency::Linearizable))
            .unwrap()
            .unwrap()
            .value,
        b"v"
    );

    // Plaintext: refused, with the error that says how to connect.
    let plain = Client::from_list_with_tls(&cluster.addrs(), None).unwrap();
    match rt.block_on(plain.meta_get("tls", b"k", archipel_client::Consistency::Stale)) {
        Err(e @ ClientError::TlsRequired(_)) => assert!(e.to_string().contains("ARCHIPEL_TLS_DIR"), "{e}"),
        other => panic!("a plaintext client must be refused with TlsRequired, got {other:?}"),
    }

    // Another CA: refused at the handshake.
    let other_ca = Ca::generate("someone else's CA", Validity::days(1)).unwrap();
    let (stranger, _) = client_with(&cluster, &other_ca, "stranger", Role::Operator, Validity::days(1));
    match rt.block_on(stranger.meta_get("tls", b"k", archipel_client::Consistency::Stale)) {
        Err(ClientError::TlsRefused(m)) => assert!(m.contains("alert") || m.contains("certificate"), "{m}"),
        other => panic!("a certificate from another CA must be refused, got {other:?}"),
    }

    // Expired: refused at the handshake.
    let (expired, _) = client_with(&cluster, ca, "expired", Role::Operator, Validity::starting(-10, 2));
    match rt.block_on(expired.meta_get("tls", b"k", archipel_client::Consistency::Stale)) {
        Err(ClientError::TlsRefused(m)) => assert!(m.contains("Expired"), "{m}"),
        other => panic!("an expired certificate must be refused, got {other:?}"),
    }

    // A non-operator may use the data RPCs but not administer the cluster.
    match rt.block_on(archivist.remove_node(3)) {
        Err(ClientError::PermissionDenied(m)) => assert!(m.contains("operator role"), "{m}"),
        other => panic!("an archivist must not remove nodes, got {other:?}"),
    }

    // Revoked: the connection already open is refused on its next request, new ones at the handshake.
    let operator = cluster.client();
    let (serial, newly) = rt
        .block_on(operator.revoke_cert(&archivist_serial, "lost laptop"))
        .unwrap();
    assert!(newly);
    assert_eq!(serial, archivist_serial);
    match rt.block_on(archivist.meta_get("tls", b"k", archipel_client::Consistency::Stale)) {
        Err(ClientError::PermissionDenied(m)) => assert!(m.contains("revoked"), "{m}"),
        Err(ClientError::TlsRefused(m)) => assert!(m.contains("Revoked"), "{m}"),
        other => panic!("a revoked certificate must be refused, got {other:?}"),
    }
    let fresh = Client::from_list_with_tls(
        &cluster.addrs(),
        Some(TlsFiles::from_dir(
            &cluster.root.path().join("clients").join("archivist-1"),
        )),
    )
    .unwrap();
    match rt.block_on(fresh.meta_get("tls", b"k", archipel_client::Consistency::Stale)) {
        Err(ClientError::TlsRefused(m)) => assert!(m.contains("Revoked"), "{m}"),
        other => panic!("a revoked certificate must be refused at the handshake, got {other:?}"),
    }
    let listed = rt.block_on(operator.list_revoked()).unwrap();
    assert!(listed
        .iter()
        .any(|r| r.serial == archivist_serial && r.reason == "lost laptop"));
    // Revoking again is harmless, and the operator still gets in.
    assert!(!rt.block_on(operator.revoke_cert(&archivist_serial, "again")).unwrap().1);
}

#[test]
fn node_to_node_rpcs_need_the_node_certificate_the_cluster_map_expects() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, Tuning::default());
    let rt = runtime();
    let ca = &pki().ca;
    let status = cluster.status_json();
    let cluster_id = status["cluster_id"].as_str().unwrap().to_owned();
    let target = cluster.nodes[0].addr.clone();
    let call = |peers: &Peers, from: u64| {
        let request = vote_request(&cluster_id, from);
        // Channels spawn their connection task, so they are made inside the runtime.
        rt.block_on(async { RaftClient::new(peers.channel(&target).unwrap()).vote(request).await })
    };

    // The control: node 2's own identity passes every TLS check (the empty payload then fails to decode).
    let honest = raft_peer_as(&cluster, ca, 2, "departement");
    let err = call(&honest, 2).unwrap_err();
    assert!(err.message().contains("undecodable"), "{err:?}");

    // A node certificate whose site disagrees with the cluster map.
    let wrong_site = raft_peer_as(&cluster, ca, 2, "metropole");
    let err = call(&wrong_site, 2).unwrap_err();
    assert!(
        err.message().contains("at site metropole") && err.message().contains("departement"),
        "{err:?}"
    );

    // A node id the cluster map does not hold.
    let unknown = raft_peer_as(&cluster, ca, 9, "region");
    let err = call(&unknown, 9).unwrap_err();
    assert!(err.message().contains("node 9 is not in the cluster map"), "{err:?}");

    // A genuine node certificate used to speak for another node.
    let err = call(&honest, 3).unwrap_err();
    assert!(
        err.message().contains("comes from node 3") && err.message().contains("node 2's"),
        "{err:?}"
    );

    // A client certificate, even an operator's, cannot call node-to-node RPCs.
    let op = &pki().operator_dir;
    let as_client = peers_from(&op.join("ca.pem"), &op.join("client.pem"), &op.join("client.key"));
    let err = call(&as_client, 2).unwrap_err();
    assert!(
        err.message().contains("node-to-node RPCs need a node certificate"),
        "{err:?}"
    );

    // A node certificate from another CA never completes the handshake.
    let other_ca = Ca::generate("someone else's CA", Validity::days(1)).unwrap();
    let stranger = raft_peer_as(&cluster, &other_ca, 2, "departement");
    let err = call(&stranger, 2).unwrap_err();
    assert!(!err.message().contains("undecodable"), "{err:?}");

    // An expired node certificate neither.
    let issued = ca
        .issue_node(2, "departement", &["127.0.0.1".into()], Validity::starting(-10, 2))
        .unwrap();
    let dir = cluster.root.path().join("expired-node");
    let files = issue::write_bundle(&dir, &ca.cert_pem(), &issued).unwrap();
    let expired = peers_from(&files[0], &files[1], &files[2]);
    let err = call(&expired, 2).unwrap_err();
    assert!(!err.message().contains("undecodable"), "{err:?}");

    // Every refusal above is in the target's log.
    let log = cluster.log_of(0);
    assert!(log.contains("request refused"), "refusals are logged");
    assert!(log.contains("TLS handshake refused"), "handshake refusals are logged");
}

#[test]
fn a_node_refuses_to_start_with_another_nodes_certificate() {
    let _g = serial();
    let mut cluster = TestCluster::spawn_only(&["region"], 1, Tuning::default());
    cluster.kill(0);
    let node = &cluster.nodes[0];
    // Node 1's config, but the certificate of node 7.
    common::issue_node_cert(&node.dir, 7, "region", &node.addr);
    let out = std::process::Command::new(common::bin())
        .args(["server", "--config"])
        .arg(&node.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("issued to node 7") && err.contains("this node is node 1"),
        "{err}"
    );
}
