//! Tenant certificates through the client crate: tenant `ville` reaches `archive.ville` and
//! `ville.*`, and every operation the client crate offers is refused on `region`'s namespaces,
//! on the archive layer's shared `archive` namespace and on `sys.*`.
//!
//! Exhaustive by construction: `every_client_operation_is_listed` reads client/src and fails
//! when a `pub async fn` there is named neither in [`Op`] nor in [`NOT_NAMESPACED`].

mod common;

use archipel_client::{CasExpect, Client, ClientError, Consistency, TlsFiles, TxnOp};
use archipel_node::tls::{issue, Validity};
use common::{pki, runtime, serial, TestCluster, Tuning};

const SITES: [&str; 3] = ["region", "departement", "metropole"];

/// Every client-crate operation that names a namespace. Adding one to client/src without adding
/// it here fails `every_client_operation_is_listed`; adding a variant without handling it in
/// `client_fn` and `run` does not compile.
#[derive(Debug, Clone, Copy)]
enum Op {
    CreateNamespace,
    Namespace,
    PutObject,
    PutObjectFile,
    GetObject,
    GetObjectChunks,
    StatObject,
    ListObjects,
    DeleteObject,
    MetaPut,
    MetaDelete,
    MetaCas,
    /// A transaction writing into the namespace.
    MetaTxnWrite,
    /// A transaction writing into its own namespace under a condition on the other one (a read).
    MetaTxnCondition,
    MetaGet,
    MetaGetMany,
    MetaScan,
    CreateNamespaceEncrypted,
    PutObjectLocked,
    ObjectLock,
    SetObjectLock,
    DeleteObjectBypassingGovernance,
}

const ALL: [Op; 22] = [
    Op::CreateNamespace,
    Op::CreateNamespaceEncrypted,
    Op::Namespace,
    Op::PutObject,
    Op::PutObjectFile,
    Op::GetObject,
    Op::GetObjectChunks,
    Op::StatObject,
    Op::ListObjects,
    Op::DeleteObject,
    Op::MetaPut,
    Op::MetaDelete,
    Op::MetaCas,
    Op::MetaTxnWrite,
    Op::MetaTxnCondition,
    Op::MetaGet,
    Op::MetaGetMany,
    Op::MetaScan,
    Op::PutObjectLocked,
    Op::ObjectLock,
    Op::SetObjectLock,
    Op::DeleteObjectBypassingGovernance,
];

/// Client operations that name no namespace, and what a tenant certificate gets from them.
/// `list_namespaces` is checked apart: it must show the tenant its own namespaces only.
const NOT_NAMESPACED: [(&str, Expect); 16] = [
    ("list_namespaces", Expect::Filtered),
    ("status", Expect::Allowed),
    ("cluster_time_ms", Expect::Allowed),
    ("node_info", Expect::Allowed),
    ("init_cluster", Expect::NeedsOperator),
    ("add_node", Expect::NeedsOperator),
    ("drain_node", Expect::NeedsOperator),
    ("remove_node", Expect::NeedsOperator),
    ("workers", Expect::NeedsOperator),
    ("cluster_workers", Expect::NeedsOperator),
    ("control_worker", Expect::NeedsOperator),
    ("revoke_cert", Expect::NeedsOperator),
    ("list_revoked", Expect::NeedsOperator),
    // The repairer's lost list (`sys.lost`) names objects of every tenant.
    ("lost_objects", Expect::SystemNamespace),
    // Constructors and accessors make no request.
    ("new", Expect::NoRequest),
    ("from_list", Expect::NoRequest),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Cluster health and node identity: no tenant data.
    Allowed,
    Filtered,
    NeedsOperator,
    /// Reads a cluster namespace: refused like another tenant's.
    SystemNamespace,
    NoRequest,
}

impl Op {
    fn client_fn(self) -> &'static str {
        match self {
            Op::CreateNamespace => "create_namespace",
            Op::CreateNamespaceEncrypted => "create_namespace_encrypted",
            Op::Namespace => "namespace",
            Op::PutObject => "put_object",
            Op::PutObjectFile => "put_object_file",
            Op::GetObject => "get_object",
            Op::GetObjectChunks => "get_object_chunks",
            Op::StatObject => "stat_object",
            Op::ListObjects => "list_objects",
            Op::DeleteObject => "delete_object",
            Op::MetaPut => "meta_put",
            Op::MetaDelete => "meta_delete",
            Op::MetaCas => "meta_cas",
            Op::MetaTxnWrite | Op::MetaTxnCondition => "meta_txn",
            Op::MetaGet => "meta_get",
            Op::MetaGetMany => "meta_get_many",
            Op::MetaScan => "meta_scan",
            Op::PutObjectLocked => "put_object_locked",
            Op::ObjectLock => "object_lock",
            Op::SetObjectLock => "set_object_lock",
            Op::DeleteObjectBypassingGovernance => "delete_object_bypassing_governance",
        }
    }
}

/// Runs `op` against namespace `ns` as `client`. `own` is the caller's own namespace, used where
/// an operation needs a second one; `fresh` makes keys and namespace names unique per call.
async fn run(
    client: &Client,
    op: Op,
    ns: &str,
    own: &str,
    fresh: &str,
    tmp: &std::path::Path,
) -> Result<(), ClientError> {
    let key = "doc";
    match op {
        Op::CreateNamespace => {
            // `archive.T` exists already: `T.fresh` is new and owned by the same tenant.
            let name = match ns.strip_prefix("archive.") {
                Some(t) if !t.contains('.') => format!("{t}.{fresh}"),
                _ => format!("{ns}.{fresh}"),
            };
            client.create_namespace(&name, None, 0).await.map(drop)
        }
        Op::CreateNamespaceEncrypted => {
            let (name, owner) = match ns.strip_prefix("archive.") {
                Some(t) if !t.contains('.') => (format!("{t}.{fresh}-enc"), t.to_owned()),
                _ => (
                    format!("{ns}.{fresh}-enc"),
                    ns.split('.').next().unwrap_or(ns).to_owned(),
                ),
            };
            client
                .create_namespace_encrypted(&name, None, 0, &owner)
                .await
                .map(drop)
        }
        Op::Namespace => client.namespace(ns).await.map(drop),
        Op::PutObject => {
            let data = b"written by a test";
            client
                .put_object(ns, fresh, &data[..], Some(data.len() as u64), None)
                .await
                .map(drop)
        }
        Op::PutObjectFile => {
            let path = tmp.join(fresh);
            std::fs::write(&path, b"a file").expect("temp file");
            client.put_object_file(ns, fresh, &path, None).await.map(drop)
        }
        Op::GetObject => {
            let mut out = Vec::new();
            client.get_object(ns, key, 0, None, &mut out, None).await.map(drop)
        }
        Op::GetObjectChunks => {
            let (tx, mut rx) = tokio::sync::mpsc::channel(4);
            let drained = tokio::spawn(async move { while rx.recv().await.is_some() {} });
            let read = client.get_object_chunks(ns, key, 0, None, &tx).await.map(drop);
            drop(tx);
            let _ = drained.await;
            read
        }
        Op::StatObject => client.stat_object(ns, key).await.map(drop),
        Op::ListObjects => client.list_objects(ns, "", "", 100).await.map(drop),
        Op::DeleteObject => {
            // Its own throwaway object, so the allowed case deletes nothing the test reads later.
            client.delete_object(ns, "throwaway").await.map(drop)
        }
        Op::MetaPut => client.meta_put(ns, fresh.as_bytes(), b"v").await.map(drop),
        Op::MetaDelete => client.meta_delete(ns, b"throwaway").await.map(drop),
        Op::MetaCas => client
            .meta_cas(ns, fresh.as_bytes(), CasExpect::Absent, Some(&b"v"[..]))
            .await
            .map(drop),
        Op::MetaTxnWrite => client
            .meta_txn(
                &[],
                vec![TxnOp {
                    namespace: ns.into(),
                    key: fresh.as_bytes().to_vec(),
                    value: Some(b"v".to_vec()),
                }],
            )
            .await
            .map(drop),
        Op::MetaTxnCondition => client
            .meta_txn(
                &[(ns, key.as_bytes(), CasExpect::Value(b"secret".to_vec()))],
                vec![TxnOp {
                    namespace: own.into(),
                    key: fresh.as_bytes().to_vec(),
                    value: Some(b"v".to_vec()),
                }],
            )
            .await
            .map(drop),
        Op::MetaGet => client
            .meta_get(ns, key.as_bytes(), Consistency::Linearizable)
            .await
            .map(drop),
        Op::MetaGetMany => client
            .meta_get_many(ns, &[key.as_bytes().to_vec()], Consistency::Linearizable)
            .await
            .map(drop),
        Op::MetaScan => client
            .meta_scan(ns, b"", b"", 100, Consistency::Linearizable)
            .await
            .map(drop),
        Op::PutObjectLocked => {
            let hold = archipel_client::proto::object::ObjectLockSpec {
                legal_hold: true,
                ..Default::default()
            };
            client
                .put_object_locked(ns, fresh, &b"held"[..], Some(4), Some(hold), None)
                .await
                .map(drop)
        }
        Op::ObjectLock => client.object_lock(ns, key).await.map(drop),
        // An empty lock on an object without one: a change any writer may make.
        Op::SetObjectLock => client
            .set_object_lock(ns, key, Default::default(), false, "")
            .await
            .map(drop),
        // A key that does not exist: its own namespace answers "did not exist".
        Op::DeleteObjectBypassingGovernance => client
            .delete_object_bypassing_governance(ns, fresh, "isolation test")
            .await
            .map(drop),
    }
}

/// Every `pub async fn` of the client crate, read from its sources.
fn client_operations() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/src");
    let mut names = vec![];
    for entry in std::fs::read_dir(&dir).expect("client/src") {
        let path = entry.expect("client/src entry").path();
        let text = std::fs::read_to_string(&path).expect("client source");
        for line in text.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("pub async fn ") {
                let end = rest.find(['(', '<']).unwrap_or(rest.len());
                names.push(rest[..end].to_owned());
            }
        }
    }
    names.sort();
    names
}

#[test]
fn every_client_operation_is_listed() {
    let listed: Vec<&str> = ALL
        .iter()
        .map(|o| o.client_fn())
        .chain(NOT_NAMESPACED.iter().map(|(n, _)| *n))
        .collect();
    let ops = client_operations();
    assert!(ops.len() >= 20, "client/src was not read: {ops:?}");
    for op in &ops {
        assert!(
            listed.contains(&op.as_str()),
            "client operation `{op}` is not in tenant_isolation.rs: add it to Op (and run) or NOT_NAMESPACED"
        );
    }
}

fn tenant_client(cluster: &TestCluster, name: &str, tenant: &str) -> Client {
    let ca = &pki().ca;
    let issued = ca.issue_tenant_client(name, tenant, Validity::days(1)).unwrap();
    let dir = cluster.root.path().join("clients").join(name);
    issue::write_bundle(&dir, &ca.cert_pem(), &issued).unwrap();
    Client::from_list_with_tls(&cluster.addrs(), Some(TlsFiles::from_dir(&dir))).unwrap()
}

fn assert_refused(result: Result<(), ClientError>, what: &str) {
    match result {
        Err(ClientError::PermissionDenied(m)) => assert!(
            m.contains("may not use namespace") && m.contains("tenant ville"),
            "{what}: unclear refusal: {m}"
        ),
        other => panic!("{what} must be refused with PermissionDenied, got {other:?}"),
    }
}

#[test]
fn a_tenant_certificate_reaches_its_own_namespaces_only() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, Tuning::default());
    let rt = runtime();
    let operator = cluster.client();
    let tmp = tempfile::tempdir().unwrap();

    // Data of both tenants and of the archive layer, written by the operator.
    for ns in ["archive.ville", "ville.scratch", "archive.region", "region.scratch"] {
        rt.block_on(operator.create_namespace(ns, None, 0)).unwrap();
        for key in ["doc", "throwaway"] {
            rt.block_on(operator.put_object(ns, key, &b"secret"[..], Some(6), None))
                .unwrap();
        }
    }
    for ns in [
        "archive.ville",
        "ville.scratch",
        "archive.region",
        "region.scratch",
        "archive",
    ] {
        rt.block_on(operator.meta_put(ns, b"doc", b"secret")).unwrap();
        rt.block_on(operator.meta_put(ns, b"throwaway", b"secret")).unwrap();
    }

    let ville = tenant_client(&cluster, "ville-app", "ville");
    let others = [
        "archive.region",
        "region.scratch",
        "archive",
        "sys.objects",
        "archive.ville.x",
        "villeneuve.x",
    ];
    let mut n = 0;
    for op in ALL {
        for ns in others {
            n += 1;
            let fresh = format!("k{n}");
            let result = rt.block_on(run(&ville, op, ns, "archive.ville", &fresh, tmp.path()));
            assert_refused(result, &format!("{op:?} on `{ns}`"));
        }
        for own in ["archive.ville", "ville.scratch"] {
            n += 1;
            let fresh = format!("k{n}");
            let result = rt.block_on(run(&ville, op, own, own, &fresh, tmp.path()));
            // MetaCas on a fresh key and txn conditions that do not hold still answer normally.
            if let Err(e) = result {
                panic!("{op:?} on its own `{own}` must be allowed: {e}");
            }
        }
    }

    // Listing shows the tenant its own namespaces, nothing else.
    let names: Vec<String> = rt
        .block_on(ville.list_namespaces())
        .unwrap()
        .into_iter()
        .filter_map(|n| n.spec.map(|s| s.name))
        .collect();
    assert!(names.contains(&"archive.ville".to_owned()), "{names:?}");
    assert!(names.contains(&"ville.scratch".to_owned()), "{names:?}");
    assert!(
        names.iter().all(|n| n == "archive.ville" || n.starts_with("ville.")),
        "a tenant must list only its own namespaces: {names:?}"
    );

    // The operations that name no namespace give a tenant nothing of another tenant's.
    for (name, expect) in NOT_NAMESPACED {
        let addr = cluster.nodes[0].addr.clone();
        let result: Option<Result<(), ClientError>> = rt.block_on(async {
            Some(match name {
                "list_namespaces" | "new" | "from_list" => return None,
                "status" => ville.status(500).await.map(drop),
                "cluster_time_ms" => ville.cluster_time_ms().await.map(drop),
                "node_info" => ville.node_info(&addr).await.map(drop),
                "init_cluster" => ville.init_cluster(&addr).await.map(drop),
                "add_node" => ville.add_node("127.0.0.1:1", "region").await.map(drop),
                "drain_node" => ville.drain_node(3).await.map(drop),
                "remove_node" => ville.remove_node(3).await.map(drop),
                "workers" => ville.workers(&addr).await.map(drop),
                "cluster_workers" => ville.cluster_workers("", "", 0).await.map(drop),
                "control_worker" => ville.control_worker(&addr, "scrub", "pause").await.map(drop),
                "revoke_cert" => ville.revoke_cert("01", "test").await.map(drop),
                "list_revoked" => ville.list_revoked().await.map(drop),
                "lost_objects" => ville.lost_objects(10).await.map(drop),
                other => panic!("{other} is listed but not exercised"),
            })
        });
        match (expect, result) {
            (Expect::NoRequest | Expect::Filtered, None) => {}
            (Expect::Allowed, Some(r)) => r.unwrap_or_else(|e| panic!("{name} must be allowed: {e}")),
            (Expect::NeedsOperator, Some(Err(ClientError::PermissionDenied(m)))) => {
                assert!(m.contains("operator role"), "{name}: {m}")
            }
            (Expect::SystemNamespace, Some(r)) => assert_refused(r, name),
            (e, r) => panic!("{name}: expected {e:?}, got {r:?}"),
        }
    }

    // Region's data is untouched, and every refusal is logged with who and where.
    for ns in ["archive.region", "region.scratch"] {
        for key in ["doc", "throwaway"] {
            rt.block_on(operator.stat_object(ns, key)).unwrap();
        }
        let (entries, _) = rt
            .block_on(operator.meta_scan(ns, b"", b"", 100, Consistency::Linearizable))
            .unwrap();
        let keys: Vec<&[u8]> = entries.iter().map(|e| e.key.as_slice()).collect();
        assert_eq!(
            keys,
            vec![&b"doc"[..], &b"throwaway"[..]],
            "{ns} must hold only what the operator wrote"
        );
    }
    let logs: String = (0..cluster.nodes.len()).map(|i| cluster.log_of(i)).collect();
    assert!(
        logs.contains("request refused")
            && logs.contains("client ville-app (tenant ville)")
            && logs.contains("region.scratch"),
        "tenant refusals must be logged with subject and namespace"
    );
}
