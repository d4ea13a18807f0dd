//! Object locks on a real TLS cluster: a legal hold, a COMPLIANCE and a GOVERNANCE retention,
//! enforced by the cluster for every certificate, and changed only as the rules allow.

mod common;

use archipel_client::proto::object::{LockMode, ObjectLockSpec};
use archipel_client::{Client, ClientError, TlsFiles};
use archipel_node::tls::{issue, Role, Validity};
use common::{pki, runtime, serial, TestCluster, Tuning};

const SITES: [&str; 3] = ["region", "departement", "metropole"];
const DAY_MS: u64 = 86_400_000;

fn client_as(cluster: &TestCluster, name: &str, role: Role) -> Client {
    let ca = &pki().ca;
    let issued = ca.issue_client(name, role, Validity::days(1)).unwrap();
    let dir = cluster.root.path().join("clients").join(name);
    issue::write_bundle(&dir, &ca.cert_pem(), &issued).unwrap();
    Client::from_list_with_tls(&cluster.addrs(), Some(TlsFiles::from_dir(&dir))).unwrap()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn spec(mode: LockMode, until: u64, legal_hold: bool) -> ObjectLockSpec {
    ObjectLockSpec {
        mode: mode as i32,
        retain_until_ms: until,
        legal_hold,
    }
}

#[test]
fn locks_are_enforced_by_the_cluster_and_changed_only_as_the_rules_allow() {
    let _g = serial();
    let cluster = TestCluster::start(&SITES, 1, Tuning::default());
    let rt = runtime();
    let operator = cluster.client();
    let archivist = client_as(&cluster, "archivist-locks", Role::Archivist);
    rt.block_on(operator.create_namespace("locks", None, 0)).unwrap();
    let put = |c: &Client, key: &str, lock: Option<ObjectLockSpec>| {
        rt.block_on(c.put_object_locked("locks", key, &b"deliberation 2026-118"[..], None, lock, None))
    };

    // A legal hold: nobody deletes or overwrites, an archivist cannot lift it, an operator can
    // with a reason, which the lock keeps.
    let info = put(&archivist, "acte.pdf", Some(spec(LockMode::None, 0, true))).unwrap();
    assert!(info.lock.as_ref().is_some_and(|l| l.legal_hold), "{info:?}");
    for c in [&archivist, &operator] {
        let err = rt.block_on(c.delete_object("locks", "acte.pdf")).unwrap_err();
        assert!(
            matches!(&err, ClientError::FailedPrecondition(m) if m.contains("legal hold")),
            "{err}"
        );
    }
    let err = put(&archivist, "acte.pdf", None).unwrap_err();
    assert!(matches!(err, ClientError::FailedPrecondition(_)), "overwrite: {err}");
    let release = spec(LockMode::None, 0, false);
    let err = rt
        .block_on(archivist.set_object_lock("locks", "acte.pdf", release, false, "visa DAD-2026-17"))
        .unwrap_err();
    assert!(matches!(err, ClientError::PermissionDenied(_)), "{err}");
    let err = rt
        .block_on(operator.set_object_lock("locks", "acte.pdf", release, false, ""))
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::FailedPrecondition(m) if m.contains("reason")),
        "{err}"
    );
    let lock = rt
        .block_on(operator.set_object_lock("locks", "acte.pdf", release, false, "visa DAD-2026-17"))
        .unwrap();
    assert!(!lock.legal_hold);
    assert_eq!(lock.reason, "visa DAD-2026-17");
    assert!(lock.changed_by.contains("test-operator"), "{}", lock.changed_by);
    assert!(rt.block_on(archivist.delete_object("locks", "acte.pdf")).unwrap());

    // COMPLIANCE: extended by any writer, shortened or bypassed by no one.
    let until = now_ms() + DAY_MS;
    put(&archivist, "pes.xml", Some(spec(LockMode::Compliance, until, false))).unwrap();
    let shorter = spec(LockMode::Compliance, until - DAY_MS / 2, false);
    let err = rt
        .block_on(operator.set_object_lock("locks", "pes.xml", shorter, true, "convention ended"))
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::FailedPrecondition(m) if m.contains("COMPLIANCE")),
        "{err}"
    );
    let err = rt
        .block_on(operator.delete_object_bypassing_governance("locks", "pes.xml", "convention ended"))
        .unwrap_err();
    assert!(matches!(err, ClientError::FailedPrecondition(_)), "{err}");
    let longer = spec(LockMode::Compliance, until + DAY_MS, false);
    let lock = rt
        .block_on(archivist.set_object_lock("locks", "pes.xml", longer, false, ""))
        .unwrap();
    assert_eq!(lock.retain_until_ms, until + DAY_MS);

    // GOVERNANCE: bypassed only by a privileged certificate with a reason.
    put(&archivist, "marche.zip", Some(spec(LockMode::Governance, until, false))).unwrap();
    let err = rt.block_on(archivist.delete_object("locks", "marche.zip")).unwrap_err();
    assert!(
        matches!(&err, ClientError::FailedPrecondition(m) if m.contains("GOVERNANCE")),
        "{err}"
    );
    let err = rt
        .block_on(archivist.delete_object_bypassing_governance("locks", "marche.zip", "tidy-up"))
        .unwrap_err();
    assert!(matches!(err, ClientError::PermissionDenied(_)), "{err}");
    // As for a lock change: a blank reason is refused like the lock, not like the certificate.
    let err = rt
        .block_on(operator.delete_object_bypassing_governance("locks", "marche.zip", " "))
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::FailedPrecondition(m) if m.contains("needs a reason")),
        "{err}"
    );
    assert!(rt
        .block_on(operator.delete_object_bypassing_governance("locks", "marche.zip", "ticket 4521"))
        .unwrap());

    // Nonsense is refused before any byte is stored.
    let err = put(
        &archivist,
        "past",
        Some(spec(LockMode::Governance, now_ms() - DAY_MS, false)),
    )
    .unwrap_err();
    assert!(matches!(err, ClientError::InvalidArgument(_)), "{err}");
    assert!(matches!(
        rt.block_on(operator.stat_object("locks", "past")),
        Err(ClientError::NotFound(_))
    ));

    // The CLI shows and changes locks.
    let out = cluster.cli_ok(&["lock", "get", "locks/pes.xml", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mode"], "COMPLIANCE");
    assert_eq!(v["retain_until_ms"], until + DAY_MS);
    let out = cluster.cli_ok(&["lock", "set", "locks/pes.xml", "--legal-hold", "on", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["legal_hold"], true);
    assert_eq!(v["mode"], "COMPLIANCE", "what is not given stays");
    let out = cluster.cli(&["rm", "locks/pes.xml"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("legal hold"));
}
