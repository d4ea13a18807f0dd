//! Requests the S3 tools seldom send but the protocol allows (or forbids), sent raw with curl
//! and signed here: empty Authorization and Content-MD5 headers, chunked bodies without
//! Content-Length, the `aws-chunked` content-coding, anonymous requests to a deleted bucket.
//! Each answer is the one S3 gives.

mod common;
mod s3_common;

use std::path::Path;
use std::process::Command;

use archipel_s3::signer::{sha256_hex, uri_encode, Signer, Unsigned, UNSIGNED_PAYLOAD};
use common::serial;
use s3_common::{have, random_file, sha256_of, Gateway, Key};

struct Answer {
    status: u16,
    body: String,
    headers: String,
}

/// `curl` to the gateway: `method path` with `headers` (empty value: `("name", "")`), signed
/// with `key` unless None; the body from `file`, sent chunked when `chunked`.
fn curl(
    gw: &Gateway,
    key: Option<&Key>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    file: Option<&Path>,
    chunked: bool,
) -> Answer {
    let host = gw.endpoint.trim_start_matches("http://").to_owned();
    let payload = match file {
        Some(f) => sha256_hex(&std::fs::read(f).unwrap()),
        None => sha256_hex(b""),
    };
    let mut all: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    if let Some(k) = key {
        // Only non-empty headers are signed, as SDKs sign what they send.
        let signed: Vec<(&str, &str)> = headers.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        all.extend(Signer::new(&k.access, &k.secret).sign(
            &Unsigned {
                method,
                host: &host,
                path,
                query: &[],
                headers: &signed,
                payload_sha256: if file.is_some() { &payload } else { UNSIGNED_PAYLOAD },
            },
            now,
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let head = dir.path().join("headers");
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, "-D"])
        .arg(&head)
        .args(["-o", "-", "-w", "\n%{http_code}"]);
    for (k, v) in &all {
        // curl sends `Name;` as an empty header.
        let arg = if v.is_empty() {
            format!("{k};")
        } else {
            format!("{k}: {v}")
        };
        cmd.args(["-H", &arg]);
    }
    if chunked {
        cmd.args(["-H", "Transfer-Encoding: chunked"]);
    }
    if let Some(f) = file {
        cmd.arg("--data-binary").arg(format!("@{}", f.display()));
    }
    cmd.arg(format!("{}{}", gw.endpoint, uri_encode(path, true)));
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    Answer {
        status: status.trim().parse().unwrap_or(0),
        body: body.to_owned(),
        headers: std::fs::read_to_string(&head).unwrap_or_default(),
    }
}

fn present() -> bool {
    if have("aws") && have("curl") {
        return true;
    }
    eprintln!("skipped: awscli and curl are needed (scripts/setup.sh installs them)");
    false
}

#[test]
fn odd_but_legal_requests_get_s3s_answers() {
    if !present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let key = gw.create_key("region", false);
    gw.aws_ok(&key, &["s3", "mb", "s3://proto"]);
    let work = tempfile::tempdir().unwrap();
    let small = work.path().join("small.bin");
    random_file(&small, 100_000, 7);

    // A hash-signed body sent chunked without Content-Length is stored whole.
    let a = curl(&gw, Some(&key), "PUT", "/proto/chunked", &[], Some(&small), true);
    assert_eq!(a.status, 200, "{}", a.body);
    let back = work.path().join("back.bin");
    gw.aws_ok(&key, &["s3", "cp", "s3://proto/chunked", back.to_str().unwrap()]);
    assert_eq!(sha256_of(&back), sha256_of(&small));
    // Past what the gateway reads to learn the length: 411 MissingContentLength, nothing stored.
    let big = work.path().join("big.bin");
    random_file(&big, (16 << 20) + 1, 8);
    let a = curl(&gw, Some(&key), "PUT", "/proto/big", &[], Some(&big), true);
    assert_eq!(a.status, 411, "{}", a.body);
    assert!(a.body.contains("<Code>MissingContentLength</Code>"), "{}", a.body);
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "proto", "--key", "big"],
        "404",
    );

    // `aws-chunked` frames one request's body: it is never kept as the object's encoding.
    for (sent, kept) in [
        ("gzip", Some("gzip")),
        ("deflate, gzip", Some("deflate, gzip")),
        ("gzip, aws-chunked", Some("gzip")),
        ("aws-chunked, gzip", Some("gzip")),
        ("aws-chunked", None),
    ] {
        gw.aws_ok(
            &key,
            &[
                "s3api",
                "put-object",
                "--bucket",
                "proto",
                "--key",
                "enc",
                "--body",
                small.to_str().unwrap(),
                "--content-encoding",
                sent,
            ],
        );
        let head = gw.aws_ok(&key, &["s3api", "head-object", "--bucket", "proto", "--key", "enc"]);
        let head: serde_json::Value = serde_json::from_str(&head).unwrap();
        assert_eq!(head["ContentEncoding"].as_str(), kept, "sent {sent:?}: {head}");
    }
}

#[test]
fn acls_and_policies_answer_as_a_bucket_owner_enforced_bucket() {
    if !present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let key = gw.create_key("region", false);
    gw.aws_ok(&key, &["s3", "mb", "s3://owned"]);
    let work = tempfile::tempdir().unwrap();
    let small = work.path().join("small.bin");
    random_file(&small, 1000, 10);
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "owned",
            "--key",
            "k",
            "--body",
            small.to_str().unwrap(),
        ],
    );

    // Reading an ACL: the owner tenant's full control, nothing else.
    for args in [
        vec!["s3api", "get-bucket-acl", "--bucket", "owned"],
        vec!["s3api", "get-object-acl", "--bucket", "owned", "--key", "k"],
    ] {
        let acl: serde_json::Value = serde_json::from_str(&gw.aws_ok(&key, &args)).unwrap();
        assert_eq!(acl["Owner"]["ID"], "region", "{acl}");
        let grants = acl["Grants"].as_array().unwrap();
        assert_eq!(grants.len(), 1, "{acl}");
        assert_eq!(grants[0]["Permission"], "FULL_CONTROL");
        assert_eq!(grants[0]["Grantee"]["ID"], "region");
    }
    let own: serde_json::Value =
        serde_json::from_str(&gw.aws_ok(&key, &["s3api", "get-bucket-ownership-controls", "--bucket", "owned"]))
            .unwrap();
    assert_eq!(
        own["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
        "BucketOwnerEnforced"
    );

    // Setting the ACL there is succeeds; any other is refused and changes nothing.
    gw.aws_ok(
        &key,
        &["s3api", "put-bucket-acl", "--bucket", "owned", "--acl", "private"],
    );
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object-acl",
            "--bucket",
            "owned",
            "--key",
            "k",
            "--acl",
            "bucket-owner-full-control",
        ],
    );
    gw.aws_fails_with(
        &key,
        &["s3api", "put-bucket-acl", "--bucket", "owned", "--acl", "public-read"],
        "AccessControlListNotSupported",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "owned",
            "--key",
            "pub",
            "--body",
            small.to_str().unwrap(),
            "--acl",
            "public-read",
        ],
        "AccessControlListNotSupported",
    );
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "owned", "--key", "pub"],
        "404",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "writer-owned",
            "--object-ownership",
            "ObjectWriter",
        ],
        "InvalidArgument",
    );
    // Policies are not kept: none to read, none accepted.
    gw.aws_fails_with(
        &key,
        &["s3api", "get-bucket-policy", "--bucket", "owned"],
        "NoSuchBucketPolicy",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-bucket-policy",
            "--bucket",
            "owned",
            "--policy",
            "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
        ],
        "NotImplemented",
    );
    // Another tenant's key sees none of it.
    let other = gw.create_key("ville", false);
    gw.aws_fails_with(
        &other,
        &["s3api", "get-bucket-acl", "--bucket", "owned"],
        "NoSuchBucket",
    );
}

#[test]
fn malformed_and_anonymous_requests_get_s3s_errors() {
    if !present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let key = gw.create_key("region", false);
    gw.aws_ok(&key, &["s3", "mb", "s3://strict"]);
    let work = tempfile::tempdir().unwrap();
    let small = work.path().join("small.bin");
    random_file(&small, 1000, 9);

    // An empty Content-MD5 is a malformed digest, not an absent one: nothing is stored.
    let a = curl(
        &gw,
        Some(&key),
        "PUT",
        "/strict/md5",
        &[("Content-MD5", "")],
        Some(&small),
        false,
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body.contains("<Code>InvalidDigest</Code>"), "{}", a.body);
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "strict", "--key", "md5"],
        "404",
    );

    // An empty Authorization header is refused as such (403 AccessDenied), for objects and buckets.
    for path in ["/strict/auth", "/newbucket"] {
        let a = curl(&gw, None, "PUT", path, &[("Authorization", "")], None, false);
        assert_eq!(a.status, 403, "{path}: {}", a.body);
        assert!(a.body.contains("<Code>AccessDenied</Code>"), "{path}: {}", a.body);
    }
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "strict", "--key", "auth"],
        "404",
    );
    gw.aws_fails_with(&key, &["s3api", "head-bucket", "--bucket", "newbucket"], "404");

    // Anonymous requests: AccessDenied on a bucket that exists, NoSuchBucket (404) once it is
    // gone, as S3 answers.
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "strict",
            "--key",
            "foo",
            "--body",
            small.to_str().unwrap(),
        ],
    );
    let a = curl(&gw, None, "DELETE", "/strict/foo", &[], None, false);
    assert_eq!(a.status, 403, "{}", a.body);
    assert!(a.body.contains("<Code>AccessDenied</Code>"), "{}", a.body);
    gw.aws_ok(&key, &["s3", "rm", "s3://strict/foo"]);
    gw.aws_ok(&key, &["s3", "rb", "s3://strict"]);
    let a = curl(&gw, None, "DELETE", "/strict/foo", &[], None, false);
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("<Code>NoSuchBucket</Code>"), "{}", a.body);
    let a = curl(&gw, None, "GET", "/strict/foo", &[], None, false);
    assert_eq!(a.status, 404, "{}", a.body);
    // Signed, the same request also says NoSuchBucket.
    let a = curl(&gw, Some(&key), "DELETE", "/strict/foo", &[], None, false);
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.body.contains("<Code>NoSuchBucket</Code>"), "{} {}", a.body, a.headers);
}
