//! RFC 3161 sealing against a tiny in-test TSA (unsigned tokens: the client checks status, nonce and imprint).

#[path = "logbook_util.rs"]
mod util;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use archipel_archive::logbook::{
    tsp, verify, verify_inclusion, BreakAt, BreakKind, Logbook, LogbookError, MemoryStore, Rfc3161Client, SealToken,
    VerifyKeys,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use cmpv2::status::{PkiStatus, PkiStatusInfo};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{EncapsulatedContentInfo, SignedData, SignerInfos};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Tag};
use x509_tsp::{TimeStampReq, TimeStampResp, TspVersion, TstInfo};

/// How the fake TSA misbehaves.
const HONEST: u8 = 0;
const WRONG_NONCE: u8 = 1;
const WRONG_IMPRINT: u8 = 2;
const REJECT: u8 = 3;

async fn tsa(State(mode): State<Arc<AtomicU8>>, body: Bytes) -> ([(axum::http::HeaderName, &'static str); 1], Vec<u8>) {
    let req = TimeStampReq::from_der(&body).unwrap();
    assert!(req.cert_req, "the client must ask for the TSA certificate");
    let mode = mode.load(Ordering::SeqCst);
    let mut imprint = req.message_imprint.clone();
    if mode == WRONG_IMPRINT {
        imprint.hashed_message = OctetString::new(vec![0u8; 32]).unwrap();
    }
    let nonce = if mode == WRONG_NONCE {
        Some(Int::new(&[5]).unwrap())
    } else {
        req.nonce.clone()
    };
    let tst = TstInfo {
        version: TspVersion::V1,
        policy: der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
        message_imprint: imprint,
        serial_number: Int::new(&[1, 2, 3]).unwrap(),
        gen_time: GeneralizedTime::from_system_time(std::time::SystemTime::now()).unwrap(),
        accuracy: None,
        ordering: false,
        nonce,
        tsa: None,
        extensions: None,
    };
    let signed = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::new(),
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: tsp::ID_CT_TST_INFO,
            econtent: Some(Any::new(Tag::OctetString, tst.to_der().unwrap()).unwrap()),
        },
        certificates: None,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::new()),
    };
    let token = ContentInfo {
        content_type: tsp::ID_SIGNED_DATA,
        content: Any::from_der(&signed.to_der().unwrap()).unwrap(),
    };
    let status = if mode == REJECT {
        PkiStatus::Rejection
    } else {
        PkiStatus::Accepted
    };
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: (mode != REJECT).then_some(token),
    };
    ([(CONTENT_TYPE, "application/timestamp-reply")], resp.to_der().unwrap())
}

async fn start_tsa() -> (String, Arc<AtomicU8>) {
    let mode = Arc::new(AtomicU8::new(HONEST));
    let app = axum::Router::new()
        .route("/tsr", axum::routing::post(tsa))
        .with_state(mode.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/tsr"), mode)
}

#[tokio::test]
async fn seals_with_rfc3161_tokens_and_verifies_them() {
    let (url, mode) = start_tsa().await;
    let store = Arc::new(MemoryStore::new());
    let logbook = Logbook::new(store.clone(), Arc::new(Rfc3161Client::new(&url).unwrap()));
    logbook
        .append_many("t1", (0..9).map(util::step).collect())
        .await
        .unwrap();
    let seal = logbook.seal("t1").await.unwrap().unwrap();
    let SealToken::Rfc3161 { tsa_url, token_der } = &seal.token else {
        panic!("expected an RFC 3161 token")
    };
    assert_eq!(tsa_url, &url);
    tsp::check_token_imprint(&hex::decode(token_der).unwrap(), &seal.statement().digest()).unwrap();
    logbook.append("t1", util::step(9)).await.unwrap();
    logbook.seal("t1").await.unwrap().unwrap();

    let keys = VerifyKeys::new();
    let report = verify(store.as_ref(), "t1", &keys).await.unwrap();
    assert!(report.is_intact() && report.seals_checked == 2, "{report:?}");
    verify_inclusion(&logbook.prove("t1", 4).await.unwrap(), &keys).unwrap();

    // A token moved onto another seal does not stamp that seal's statement.
    store.edit("t1", |t| {
        let first = t.seals[&1].token.clone();
        let s = t.seals.get_mut(&2).unwrap();
        s.token = first;
        s.hash = s.compute_hash();
    });
    let b = verify(store.as_ref(), "t1", &keys).await.unwrap().first_break.unwrap();
    assert_eq!(
        (b.at, b.kind),
        (BreakAt::Seal { index: 2 }, BreakKind::SealToken),
        "{b}"
    );
    assert!(b.found.contains("not the seal statement digest"), "{b}");

    // Misbehaving TSAs are refused and nothing is sealed.
    logbook.append("t1", util::step(10)).await.unwrap();
    for (m, what) in [
        (WRONG_NONCE, "nonce"),
        (WRONG_IMPRINT, "not the seal statement digest"),
        (REJECT, "refused"),
    ] {
        mode.store(m, Ordering::SeqCst);
        let err = logbook.seal("t1").await.unwrap_err();
        assert!(
            matches!(err, LogbookError::Stamp(_)) && err.to_string().contains(what),
            "{err}"
        );
    }
    assert_eq!(store.edit("t1", |t| t.seals.len()), 2);
}

#[tokio::test]
async fn tsa_client_refuses_bad_urls_and_dead_servers() {
    assert!(Rfc3161Client::new("https://tsa.example/")
        .unwrap_err()
        .to_string()
        .contains("HTTPS"));
    assert!(Rfc3161Client::new("not a url").is_err());
    // A port nobody listens on: bind then drop to find one.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let logbook = Logbook::new(
        Arc::new(MemoryStore::new()),
        Arc::new(Rfc3161Client::new(&format!("http://127.0.0.1:{port}/")).unwrap()),
    );
    logbook.append("t1", util::step(0)).await.unwrap();
    let err = logbook.seal("t1").await.unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
}

/// Runs `openssl` with `args` in `dir`; `None` when openssl is not installed.
fn openssl(dir: &std::path::Path, args: &[&str]) -> Option<std::process::Output> {
    std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()
}

/// A real TSA (OpenSSL's `ts -reply`) signs the tokens, and OpenSSL verifies them the way docs/logbook.md tells a
/// third party to.
#[tokio::test]
async fn openssl_tsa_tokens_verify_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let Some(made) = openssl(
        &d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.crt",
            "-subj",
            "/CN=archipel-test-tsa",
            "-days",
            "2",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
        ],
    ) else {
        println!("SKIP: openssl not installed");
        return;
    };
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    std::fs::write(d.join("serial"), "01\n").unwrap();
    let config = format!(
        "[ tsa ]\ndefault_tsa = c\n[ c ]\nserial = {0}/serial\nsigner_cert = {0}/tsa.crt\nsigner_key = {0}/tsa.key\n\
         signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\ness_cert_id_alg = sha256\n",
        d.display()
    );
    std::fs::write(d.join("tsa.cnf"), config).unwrap();

    async fn reply(
        State(dir): State<std::path::PathBuf>,
        body: Bytes,
    ) -> ([(axum::http::HeaderName, &'static str); 1], Vec<u8>) {
        std::fs::write(dir.join("req.tsq"), &body).unwrap();
        let out = openssl(
            &dir,
            &[
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-queryfile",
                "req.tsq",
                "-out",
                "resp.tsr",
            ],
        )
        .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (
            [(CONTENT_TYPE, "application/timestamp-reply")],
            std::fs::read(dir.join("resp.tsr")).unwrap(),
        )
    }
    let app = axum::Router::new()
        .route("/", axum::routing::post(reply))
        .with_state(d.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let store = Arc::new(MemoryStore::new());
    let logbook = Logbook::new(store.clone(), Arc::new(Rfc3161Client::new(&url).unwrap()));
    logbook
        .append_many("t1", (0..5).map(util::step).collect())
        .await
        .unwrap();
    let seal = logbook.seal("t1").await.unwrap().unwrap();
    assert!(verify(store.as_ref(), "t1", &VerifyKeys::new())
        .await
        .unwrap()
        .is_intact());

    let SealToken::Rfc3161 { token_der, .. } = &seal.token else {
        panic!("expected an RFC 3161 token")
    };
    std::fs::write(d.join("token.der"), hex::decode(token_der).unwrap()).unwrap();
    let check = |digest: String| {
        let args = [
            "ts",
            "-verify",
            "-digest",
            &digest,
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "tsa.crt",
        ];
        let out = openssl(&d, &args).unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string())
    };
    let (ok, out) = check(seal.statement().digest().to_hex());
    assert!(ok && out.contains("Verification: OK"), "{out}");
    let (ok, _) = check(seal.root.to_hex());
    assert!(!ok, "the token must stamp the seal statement, not the bare root");
}
