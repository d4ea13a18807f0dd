//! Full verification of RFC 3161 tokens (CMS signature, ESS attribute, EKU, chain at genTime): hand-built tokens
//! from a Rust test TSA for each failure, and tokens from a real OpenSSL TSA (RSA and ECDSA) for interoperability.

#[path = "tsa_fixture.rs"]
mod fixture;
#[path = "logbook_util.rs"]
mod util;

use std::sync::Arc;
use std::time::SystemTime;

use archipel_archive::logbook::{
    tsp, verify, verify_token, BreakKind, Hash32, Logbook, MemoryStore, SealStatement, SealToken, StampError,
    Timestamper, TokenCheck, TsaCheckError, TsaTrust, VerifyKeys,
};
use async_trait::async_trait;
use fixture::{intermediate, root, token, tsa, Ca, TsaSpec};

fn trust(anchor: &Ca) -> TsaTrust {
    TsaTrust::from_pem(anchor.pem().as_bytes()).unwrap()
}

fn digest() -> Hash32 {
    Hash32::of(b"seal statement")
}

#[test]
fn a_good_token_verifies_against_its_root() {
    let root = root("Test Root");
    let signer = tsa(TsaSpec::good("Test TSA"), &root);
    let der = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let ok = verify_token(&der, &digest(), &trust(&root)).unwrap();
    assert_eq!(
        (ok.signer.as_str(), ok.anchor.as_str()),
        ("CN=Test TSA", "CN=Test Root")
    );
}

#[test]
fn a_tampered_tst_info_fails_on_the_message_digest() {
    let root = root("Test Root");
    let signer = tsa(TsaSpec::good("Test TSA"), &root);
    let der = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let err = verify_token(&fixture::tamper_tst_info(&der), &digest(), &trust(&root)).unwrap_err();
    assert!(
        matches!(
            err,
            TsaCheckError::Attribute {
                attr: "message-digest",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("altered after signing"), "{err}");
}

#[test]
fn a_wrong_imprint_is_refused() {
    let root = root("Test Root");
    let signer = tsa(TsaSpec::good("Test TSA"), &root);
    let der = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let err = verify_token(&der, &Hash32::of(b"another statement"), &trust(&root)).unwrap_err();
    assert!(matches!(err, TsaCheckError::Imprint(_)), "{err}");
    assert!(err.to_string().contains("not the seal statement digest"), "{err}");
}

#[test]
fn a_signer_from_another_ca_is_untrusted() {
    let (root, other) = (root("Test Root"), root("Other Root"));
    let signer = tsa(TsaSpec::good("Rogue TSA"), &other);
    let der = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let err = verify_token(&der, &digest(), &trust(&root)).unwrap_err();
    let TsaCheckError::Chain {
        subject,
        issuer,
        reason,
    } = &err
    else {
        panic!("expected a chain failure, got {err}")
    };
    assert_eq!((subject.as_str(), issuer.as_str()), ("CN=Rogue TSA", "CN=Other Root"));
    assert!(
        reason.contains("no path to a trusted anchor") && reason.contains("CN=Test Root"),
        "{err}"
    );
}

#[test]
fn an_expired_signer_at_gen_time_is_refused() {
    let root = root("Test Root");
    let spec = TsaSpec {
        not_before: (2020, 1, 1),
        not_after: (2021, 1, 1),
        ..TsaSpec::good("Old TSA")
    };
    let signer = tsa(spec, &root);
    let der = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let err = verify_token(&der, &digest(), &trust(&root)).unwrap_err();
    assert!(matches!(err, TsaCheckError::SignerValidity { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("CN=Old TSA") && text.contains("2021-01-01"), "{text}");

    // The same certificate is fine for a token made while it was valid.
    let then = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000); // 2020-09-13
    let der = token(&digest(), then, &signer, &signer.key, &[signer.der()]);
    verify_token(&der, &digest(), &trust(&root)).unwrap();
}

#[test]
fn a_signer_without_the_time_stamping_eku_is_refused() {
    let root = root("Test Root");
    let signer = tsa(
        TsaSpec {
            eku: false,
            ..TsaSpec::good("Plain Cert")
        },
        &root,
    );
    let der = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let err = verify_token(&der, &digest(), &trust(&root)).unwrap_err();
    assert!(
        matches!(&err, TsaCheckError::Eku { subject, .. } if subject == "CN=Plain Cert"),
        "{err}"
    );
    assert!(err.to_string().contains("no extendedKeyUsage"), "{err}");
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let root = root("Test Root");
    let signer = tsa(TsaSpec::good("Test TSA"), &root);
    let impostor = rcgen::KeyPair::generate().unwrap();
    let der = token(&digest(), SystemTime::now(), &signer, &impostor, &[signer.der()]);
    let err = verify_token(&der, &digest(), &trust(&root)).unwrap_err();
    assert_eq!(
        err,
        TsaCheckError::Signature {
            subject: "CN=Test TSA".into()
        }
    );
}

#[test]
fn intermediates_come_from_the_token_or_the_configuration() {
    let root = root("Test Root");
    let inter = intermediate("Test Intermediate", &root);
    let signer = tsa(TsaSpec::good("Test TSA"), &inter);
    let embedded = token(
        &digest(),
        SystemTime::now(),
        &signer,
        &signer.key,
        &[signer.der(), inter.der()],
    );
    assert_eq!(
        verify_token(&embedded, &digest(), &trust(&root)).unwrap().anchor,
        "CN=Test Root"
    );
    let bare = token(&digest(), SystemTime::now(), &signer, &signer.key, &[signer.der()]);
    let err = verify_token(&bare, &digest(), &trust(&root)).unwrap_err();
    assert!(
        matches!(err, TsaCheckError::Chain { ref issuer, .. } if issuer == "CN=Test Intermediate"),
        "{err}"
    );
    let configured = trust(&root).with_intermediates_pem(inter.pem().as_bytes()).unwrap();
    verify_token(&bare, &digest(), &configured).unwrap();
    // Without certReq the signer certificate itself must be configured.
    let none = token(&digest(), SystemTime::now(), &signer, &signer.key, &[]);
    let err = verify_token(&none, &digest(), &configured).unwrap_err();
    assert!(matches!(err, TsaCheckError::SignerCertMissing(_)), "{err}");
}

#[test]
fn bad_trust_bundles_are_refused() {
    assert!(TsaTrust::from_pem(b"").is_err());
    assert!(TsaTrust::from_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
    assert!(TsaTrust::load(std::path::Path::new("/nonexistent/ca.pem"))
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/ca.pem"));
}

/// A `Timestamper` that stamps with the Rust test TSA.
struct TestTsa(Ca);

#[async_trait]
impl Timestamper for TestTsa {
    async fn stamp(&self, statement: &SealStatement) -> Result<SealToken, StampError> {
        let der = token(
            &statement.digest(),
            SystemTime::now(),
            &self.0,
            &self.0.key,
            &[self.0.der()],
        );
        Ok(SealToken::Rfc3161 {
            tsa_url: "test:".into(),
            token_der: hex::encode(der),
        })
    }
}

#[tokio::test]
async fn logbook_verify_says_what_it_checked() {
    let root = root("Test Root");
    let store = Arc::new(MemoryStore::new());
    let logbook = Logbook::new(store.clone(), Arc::new(TestTsa(tsa(TsaSpec::good("Test TSA"), &root))));
    for i in 0..3 {
        logbook.append("t1", util::step(i)).await.unwrap();
        logbook.seal("t1").await.unwrap().unwrap();
    }

    let report = verify(store.as_ref(), "t1", &VerifyKeys::new()).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.tokens.len(), 1, "{report:?}");
    assert_eq!(report.tokens[0].check, TokenCheck::TsaImprintOnly);
    assert!(
        report.tokens[0].to_string().starts_with("seals 1..=3: ")
            && report.tokens[0]
                .message
                .contains("TSA signature not checked: pass --tsa-ca"),
        "{}",
        report.tokens[0]
    );

    let keys = VerifyKeys::new().with_tsa_trust(trust(&root));
    let report = verify(store.as_ref(), "t1", &keys).await.unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(
        report.tokens[0].message,
        "TSA signature and chain verified against CN=Test Root"
    );

    let other = VerifyKeys::new().with_tsa_trust(trust(&fixture::root("Other Root")));
    let b = verify(store.as_ref(), "t1", &other).await.unwrap().first_break.unwrap();
    assert_eq!(b.kind, BreakKind::SealToken, "{b}");
    assert!(b.found.contains("certificate chain of CN=Test TSA"), "{b}");
}

/// Runs `openssl` with `args` in `dir`; `None` when openssl is not installed.
fn openssl(dir: &std::path::Path, args: &[&str]) -> Option<std::process::Output> {
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out)
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
                      subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
const TSA_EXT: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                       extendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";

/// `name`.key and `name`.pem signed by `ca` with the extensions in file `ext`.
fn openssl_issue(d: &std::path::Path, name: &str, newkey: &[&str], ca: &str, ext: &str) {
    let (key, csr, pem) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.pem"));
    let subj = format!("/CN=OpenSSL {name}");
    let mut args = vec!["req", "-new", "-nodes", "-keyout", &key, "-out", &csr, "-subj", &subj];
    args.extend_from_slice(newkey);
    openssl(d, &args);
    let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &pem,
            "-extfile",
            ext,
        ],
    );
}

/// An OpenSSL TSA (`openssl ts -reply`) with an RSA signer under an RSA intermediate and an ECDSA P-384 signer under
/// an ECDSA P-256 root; the Rust verifier accepts both and names the root.
#[test]
fn openssl_tsa_tokens_verify_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        println!("SKIP: openssl not installed");
        return;
    }
    std::fs::write(d.join("ca.ext"), CA_EXT).unwrap();
    std::fs::write(d.join("tsa.ext"), TSA_EXT).unwrap();
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=OpenSSL root",
            "-days",
            "2",
        ],
    );
    openssl_issue(d, "inter", &["-newkey", "rsa:2048"], "root", "ca.ext");
    openssl_issue(d, "tsa-rsa", &["-newkey", "rsa:2048"], "inter", "tsa.ext");
    openssl_issue(
        d,
        "tsa-ec",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "root",
        "tsa.ext",
    );
    std::fs::write(d.join("serial"), "01\n").unwrap();
    // rsa: SHA-512 signature, intermediate embedded, ESS v2; ec: SHA-384, ESS v1 (SHA-1 cert hash).
    let config = format!(
        "[ rsa ]\nserial = {0}/serial\nsigner_cert = {0}/tsa-rsa.pem\nsigner_key = {0}/tsa-rsa.key\n\
         certs = {0}/inter.pem\nsigner_digest = sha512\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
         ess_cert_id_alg = sha256\n\
         [ ec ]\nserial = {0}/serial\nsigner_cert = {0}/tsa-ec.pem\nsigner_key = {0}/tsa-ec.key\n\
         signer_digest = sha384\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n",
        d.display()
    );
    std::fs::write(d.join("tsa.cnf"), config).unwrap();
    let trust = TsaTrust::load(&d.join("root.pem")).unwrap();
    let digest = digest();
    let nonce = [0x42, 0x17];
    std::fs::write(d.join("req.tsq"), tsp::request_der(&digest, &nonce).unwrap()).unwrap();
    for section in ["rsa", "ec"] {
        let out = format!("{section}.tsr");
        openssl(
            d,
            &[
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-section",
                section,
                "-queryfile",
                "req.tsq",
                "-out",
                &out,
            ],
        );
        let token = tsp::accept_response(&std::fs::read(d.join(&out)).unwrap(), &digest, &nonce).unwrap();
        let ok = verify_token(&token, &digest, &trust).unwrap_or_else(|e| panic!("{section}: {e}"));
        assert_eq!(
            (ok.signer.as_str(), ok.anchor.as_str()),
            (format!("CN=OpenSSL tsa-{section}").as_str(), "CN=OpenSSL root")
        );
        let err = verify_token(&fixture::tamper_tst_info(&token), &digest, &trust).unwrap_err();
        assert!(matches!(err, TsaCheckError::Attribute { .. }), "{section}: {err}");
    }
    // The RSA signer's intermediate was embedded; trusting only the intermediate's sibling root fails.
    let stranger = TsaTrust::from_pem(root("Stranger").pem().as_bytes()).unwrap();
    let token = tsp::accept_response(&std::fs::read(d.join("rsa.tsr")).unwrap(), &digest, &nonce).unwrap();
    let err = verify_token(&token, &digest, &stranger).unwrap_err();
    assert!(
        matches!(&err, TsaCheckError::Chain { subject, .. } if subject == "CN=OpenSSL tsa-rsa"),
        "{err}"
    );
}
