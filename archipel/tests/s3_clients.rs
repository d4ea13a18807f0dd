//! The S3 gateway driven by real clients from Debian (awscli, rclone, s3cmd): buckets, a 100 MiB
//! multipart upload, a directory of 200 files, listings, downloads compared byte for byte,
//! deletes; tenant isolation; and the errors clients expect for bad input.
//! Skipped, with the reason printed, when the clients are not installed (scripts/setup.sh
//! installs them).

mod common;
mod s3_common;

use std::process::Command;

use common::serial;
use s3_common::{have, random_file, sha256_of, Gateway, Key};

fn clients_present() -> bool {
    let missing: Vec<&str> = ["aws", "rclone", "s3cmd", "curl"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "skipped: {} not installed (scripts/setup.sh installs them)",
            missing.join(", ")
        );
        return false;
    }
    true
}

#[test]
fn real_clients_store_list_fetch_and_delete() {
    if !clients_present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let key = gw.create_key("region", false);
    let work = tempfile::tempdir().unwrap();

    // awscli: bucket, 100 MiB upload (multipart: awscli splits above 8 MiB), download, compare.
    gw.aws_ok(&key, &["s3", "mb", "s3://deliberations"]);
    let big = work.path().join("big.bin");
    random_file(&big, 100 << 20, 1);
    gw.aws_ok(
        &key,
        &["s3", "cp", big.to_str().unwrap(), "s3://deliberations/2024/big.bin"],
    );
    let head = gw.aws_ok(
        &key,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "deliberations",
            "--key",
            "2024/big.bin",
        ],
    );
    let head: serde_json::Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head["ContentLength"], 100 << 20);
    assert!(
        head["ETag"].as_str().unwrap().contains("-13\""),
        "a 100 MiB awscli upload is 13 parts of 8 MiB: {head}"
    );
    let back = work.path().join("big.back");
    gw.aws_ok(
        &key,
        &["s3", "cp", "s3://deliberations/2024/big.bin", back.to_str().unwrap()],
    );
    assert_eq!(sha256_of(&big), sha256_of(&back));
    // A range across the boundary of two parts.
    let range = work.path().join("range.bin");
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "deliberations",
            "--key",
            "2024/big.bin",
            "--range",
            "bytes=8388600-8388615",
            range.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(&range).unwrap(),
        std::fs::read(&big).unwrap()[8_388_600..8_388_616]
    );

    // A directory of 200 small files with awscli, listed and fetched back.
    let tree = work.path().join("tree");
    for i in 0..200 {
        let sub = tree.join(format!("d{}", i % 4));
        std::fs::create_dir_all(&sub).unwrap();
        random_file(&sub.join(format!("f{i:03}.txt")), 100 + i * 37, i as u64);
    }
    gw.aws_ok(
        &key,
        &[
            "s3",
            "cp",
            "--recursive",
            tree.to_str().unwrap(),
            "s3://deliberations/tree/",
        ],
    );
    let listing = gw.aws_ok(
        &key,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            "deliberations",
            "--prefix",
            "tree/",
        ],
    );
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listing["Contents"].as_array().unwrap().len(), 200);
    let folders = gw.aws_ok(
        &key,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            "deliberations",
            "--prefix",
            "tree/",
            "--delimiter",
            "/",
        ],
    );
    let folders: serde_json::Value = serde_json::from_str(&folders).unwrap();
    assert_eq!(folders["CommonPrefixes"].as_array().unwrap().len(), 4, "{folders}");
    // Paged: 200 keys in pages of 30 through continuation tokens.
    let paged = gw.aws_ok(
        &key,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            "deliberations",
            "--prefix",
            "tree/",
            "--page-size",
            "30",
        ],
    );
    let paged: serde_json::Value = serde_json::from_str(&paged).unwrap();
    assert_eq!(paged["Contents"].as_array().unwrap().len(), 200);
    let fetched = work.path().join("fetched");
    gw.aws_ok(
        &key,
        &[
            "s3",
            "cp",
            "--recursive",
            "s3://deliberations/tree/",
            fetched.to_str().unwrap(),
        ],
    );
    for i in 0..200 {
        let rel = format!("d{}/f{i:03}.txt", i % 4);
        assert_eq!(sha256_of(&tree.join(&rel)), sha256_of(&fetched.join(&rel)), "{rel}");
    }

    // rclone: the same directory into another bucket, checked by rclone itself, then listed.
    gw.rclone_ok(&key, &["mkdir", "arc:rclone-copy"]);
    gw.rclone_ok(&key, &["copy", tree.to_str().unwrap(), "arc:rclone-copy/tree"]);
    gw.rclone_ok(&key, &["check", tree.to_str().unwrap(), "arc:rclone-copy/tree"]);
    let ls = gw.rclone_ok(&key, &["ls", "arc:rclone-copy"]);
    assert_eq!(ls.lines().count(), 200, "{ls}");

    // s3cmd: list, fetch one file, delete it.
    let s3ls = gw.s3cmd_ok(&key, &["ls"]);
    assert!(
        s3ls.contains("s3://deliberations") && s3ls.contains("s3://rclone-copy"),
        "{s3ls}"
    );
    let one = work.path().join("one.txt");
    gw.s3cmd_ok(
        &key,
        &["get", "s3://rclone-copy/tree/d1/f001.txt", one.to_str().unwrap()],
    );
    assert_eq!(sha256_of(&one), sha256_of(&tree.join("d1/f001.txt")));
    gw.s3cmd_ok(&key, &["del", "s3://rclone-copy/tree/d1/f001.txt"]);
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "head-object",
            "--bucket",
            "rclone-copy",
            "--key",
            "tree/d1/f001.txt",
        ],
        "404",
    );

    // Server-side copy, then deletes: a non-empty bucket stays, an emptied one goes.
    gw.aws_ok(
        &key,
        &[
            "s3",
            "cp",
            "s3://deliberations/tree/d0/f000.txt",
            "s3://rclone-copy/copied.txt",
        ],
    );
    let copied = work.path().join("copied.txt");
    gw.aws_ok(
        &key,
        &["s3", "cp", "s3://rclone-copy/copied.txt", copied.to_str().unwrap()],
    );
    assert_eq!(sha256_of(&copied), sha256_of(&tree.join("d0/f000.txt")));
    gw.aws_fails_with(
        &key,
        &["s3api", "delete-bucket", "--bucket", "deliberations"],
        "BucketNotEmpty",
    );
    gw.aws_ok(&key, &["s3", "rm", "--recursive", "s3://deliberations/"]);
    gw.aws_ok(&key, &["s3", "rb", "s3://deliberations"]);
    gw.rclone_ok(&key, &["purge", "arc:rclone-copy"]);
    let buckets = gw.aws_ok(&key, &["s3api", "list-buckets"]);
    let buckets: serde_json::Value = serde_json::from_str(&buckets).unwrap();
    assert_eq!(buckets["Buckets"].as_array().map(Vec::len), Some(0), "{buckets}");
    assert!(!gw.log().contains("panicked"), "{}", gw.log());
}

#[test]
fn a_tenant_key_never_sees_another_tenants_buckets() {
    if !clients_present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let region = gw.create_key("region", false);
    let ville = gw.create_key("ville", false);
    let reader = gw.create_key("ville", true);
    gw.aws_ok(&region, &["s3", "mb", "s3://region-actes"]);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("acte.xml");
    random_file(&file, 1000, 7);
    gw.aws_ok(
        &region,
        &["s3", "cp", file.to_str().unwrap(), "s3://region-actes/acte.xml"],
    );

    let listed = gw.aws_ok(&ville, &["s3api", "list-buckets"]);
    assert!(!listed.contains("region-actes"), "{listed}");
    gw.aws_fails_with(&ville, &["s3", "ls", "s3://region-actes"], "NoSuchBucket");
    gw.aws_fails_with(
        &ville,
        &["s3api", "head-object", "--bucket", "region-actes", "--key", "acte.xml"],
        "404",
    );
    gw.aws_fails_with(
        &ville,
        &["s3", "cp", file.to_str().unwrap(), "s3://region-actes/x"],
        "NoSuchBucket",
    );
    gw.aws_fails_with(
        &ville,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "region-actes",
            "--key",
            "acte.xml",
        ],
        "NoSuchBucket",
    );
    // The name is taken for everyone, as in S3, without saying by whom.
    gw.aws_fails_with(
        &ville,
        &["s3api", "create-bucket", "--bucket", "region-actes"],
        "BucketAlreadyExists",
    );

    // A read-only key reads its tenant's buckets and writes nothing.
    gw.aws_ok(&ville, &["s3", "mb", "s3://ville-budget"]);
    gw.aws_ok(&ville, &["s3", "cp", file.to_str().unwrap(), "s3://ville-budget/b.xml"]);
    gw.aws_ok(&reader, &["s3", "ls", "s3://ville-budget"]);
    gw.aws_fails_with(
        &reader,
        &["s3", "cp", file.to_str().unwrap(), "s3://ville-budget/c.xml"],
        "AccessDenied",
    );
    gw.aws_fails_with(&reader, &["s3", "rm", "s3://ville-budget/b.xml"], "AccessDenied");

    // A revoked key stops working (within the gateway's 2 s cache).
    let out = gw.cluster.cli_ok(&["s3", "key", "revoke", &ville.access, "--json"]);
    assert!(out.contains("\"revoked\": true"), "{out}");
    std::thread::sleep(std::time::Duration::from_secs(3));
    gw.aws_fails_with(&ville, &["s3", "ls"], "InvalidAccessKeyId");
    let keys = gw.cluster.cli_ok(&["s3", "key", "list", "--tenant", "ville", "--json"]);
    let keys: serde_json::Value = serde_json::from_str(&keys).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(!keys.to_string().contains(&ville.secret), "list never shows a secret");
}

#[test]
fn bad_input_gets_the_s3_error_clients_expect() {
    if !clients_present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let key = gw.create_key("region", false);
    gw.aws_ok(&key, &["s3", "mb", "s3://checks"]);
    let work = tempfile::tempdir().unwrap();
    let small = work.path().join("small.bin");
    random_file(&small, 1 << 20, 3);

    // A wrong secret: SignatureDoesNotMatch. An unknown key: InvalidAccessKeyId.
    let forged = Key {
        access: key.access.clone(),
        secret: "0000000000000000000000000000000000000000".into(),
    };
    gw.aws_fails_with(&forged, &["s3", "ls", "s3://checks"], "SignatureDoesNotMatch");
    let unknown = Key {
        access: "AKNOTAKEY0000000000".into(),
        secret: key.secret.clone(),
    };
    gw.aws_fails_with(&unknown, &["s3", "ls"], "InvalidAccessKeyId");

    // Presigned URLs: valid ones work with plain curl, expired ones are refused.
    gw.aws_ok(&key, &["s3", "cp", small.to_str().unwrap(), "s3://checks/small.bin"]);
    let url = gw.aws_ok(&key, &["s3", "presign", "s3://checks/small.bin", "--expires-in", "60"]);
    let fetched = work.path().join("presigned.bin");
    let ok = Command::new("curl")
        .args(["-sf", "-o", fetched.to_str().unwrap(), url.trim()])
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(sha256_of(&fetched), sha256_of(&small));
    assert!(url.contains("X-Amz-Signature="), "a SigV4 presigned URL: {url}");
    let tampered = url.trim().replace("small.bin", "other.bin");
    let out = Command::new("curl").args(["-s", &tampered]).output().unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");
    let url = gw.aws_ok(&key, &["s3", "presign", "s3://checks/small.bin", "--expires-in", "1"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = Command::new("curl").args(["-s", url.trim()]).output().unwrap();
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains("<Code>AccessDenied</Code>") && body.contains("expired"),
        "{body}"
    );

    // A part under 5 MiB that is not the last: EntityTooSmall at completion.
    let created = gw.aws_ok(
        &key,
        &["s3api", "create-multipart-upload", "--bucket", "checks", "--key", "mp"],
    );
    let upload_id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["UploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut parts = Vec::new();
    for n in 1..=2 {
        let out = gw.aws_ok(
            &key,
            &[
                "s3api",
                "upload-part",
                "--bucket",
                "checks",
                "--key",
                "mp",
                "--upload-id",
                &upload_id,
                "--part-number",
                &n.to_string(),
                "--body",
                small.to_str().unwrap(),
            ],
        );
        let etag = serde_json::from_str::<serde_json::Value>(&out).unwrap()["ETag"]
            .as_str()
            .unwrap()
            .to_owned();
        parts.push(serde_json::json!({"ETag": etag, "PartNumber": n}));
    }
    let layout = serde_json::json!({ "Parts": parts }).to_string();
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "complete-multipart-upload",
            "--bucket",
            "checks",
            "--key",
            "mp",
            "--upload-id",
            &upload_id,
            "--multipart-upload",
            &layout,
        ],
        "EntityTooSmall",
    );
    // Nothing became visible; a wrong part ETag is InvalidPart; abort cleans up.
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "checks", "--key", "mp"],
        "404",
    );
    let wrong =
        serde_json::json!({ "Parts": [{"ETag": "\"00000000000000000000000000000000\"", "PartNumber": 1}] }).to_string();
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "complete-multipart-upload",
            "--bucket",
            "checks",
            "--key",
            "mp",
            "--upload-id",
            &upload_id,
            "--multipart-upload",
            &wrong,
        ],
        "InvalidPart",
    );
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "abort-multipart-upload",
            "--bucket",
            "checks",
            "--key",
            "mp",
            "--upload-id",
            &upload_id,
        ],
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "list-parts",
            "--bucket",
            "checks",
            "--key",
            "mp",
            "--upload-id",
            &upload_id,
        ],
        "NoSuchUpload",
    );

    // Bucket names that are not DNS-compatible; keys over 1024 bytes.
    gw.aws_fails_with(
        &key,
        &["s3api", "create-bucket", "--bucket", "Bad_Name"],
        "InvalidBucketName",
    );
    let long_key = "k".repeat(1025);
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "checks",
            "--key",
            &long_key,
            "--body",
            small.to_str().unwrap(),
        ],
        "KeyTooLongError",
    );

    // Integrity: a wrong Content-MD5 is BadDigest and stores nothing.
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "checks",
            "--key",
            "md5",
            "--body",
            small.to_str().unwrap(),
            "--content-md5",
            "1B2M2Y8AsgTpgAmY7PhCfg==",
        ],
        "BadDigest",
    );
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "checks", "--key", "md5"],
        "404",
    );
    // Ranges and conditionals.
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "checks",
            "--key",
            "small.bin",
            "--range",
            "bytes=2000000-",
            work.path().join("r").to_str().unwrap(),
        ],
        "InvalidRange",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "checks",
            "--key",
            "small.bin",
            "--if-match",
            "\"nope\"",
            work.path().join("r").to_str().unwrap(),
        ],
        "PreconditionFailed",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "get-object",
            "--bucket",
            "checks",
            "--key",
            "absent",
            "/dev/null",
        ],
        "NoSuchKey",
    );
    gw.aws_fails_with(&key, &["s3", "ls", "s3://no-such-bucket"], "NoSuchBucket");
}

/// The data objects (namespace keys) of bucket `bucket` of tenant `tenant`, as the cluster lists them.
fn data_objects(gw: &Gateway, tenant: &str, bucket: &str) -> Vec<String> {
    let out = gw.cluster.cli_ok(&["ls", &format!("{tenant}.s3.{bucket}"), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn object_lock_is_enforced_by_the_cluster() {
    if !clients_present() {
        return;
    }
    let _g = serial();
    let gw = Gateway::start();
    let key = gw.create_key("region", false);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("acte.xml");
    random_file(&file, 4000, 9);
    let body = file.to_str().unwrap();

    gw.aws_ok(
        &key,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "worm",
            "--object-lock-enabled-for-bucket",
        ],
    );
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object-lock-configuration",
            "--bucket",
            "worm",
            "--object-lock-configuration",
            r#"{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}"#,
        ],
    );
    // Default retention: GOVERNANCE for a day; deleting or overwriting is refused...
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "worm",
            "--key",
            "gov.xml",
            "--body",
            body,
        ],
    );
    let retention = gw.aws_ok(
        &key,
        &["s3api", "get-object-retention", "--bucket", "worm", "--key", "gov.xml"],
    );
    assert!(retention.contains("GOVERNANCE"), "{retention}");
    gw.aws_fails_with(
        &key,
        &["s3api", "delete-object", "--bucket", "worm", "--key", "gov.xml"],
        "AccessDenied",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "worm",
            "--key",
            "gov.xml",
            "--body",
            body,
        ],
        "AccessDenied",
    );
    // ... by the cluster itself, not only by the gateway: `archipel rm` of its data is refused.
    let data = data_objects(&gw, "region", "worm");
    assert_eq!(data.len(), 1, "{data:?}");
    let rm = gw.cluster.cli(&["rm", &format!("region.s3.worm/{}", data[0])]);
    assert!(!rm.status.success(), "the cluster deleted a locked object");
    // GOVERNANCE yields to the bypass header.
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "worm",
            "--key",
            "gov.xml",
            "--bypass-governance-retention",
        ],
    );
    assert!(data_objects(&gw, "region", "worm").is_empty());

    // COMPLIANCE: never bypassed, never shortened.
    let until = "2099-01-01T00:00:00Z";
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "worm",
            "--key",
            "comp.xml",
            "--body",
            body,
            "--object-lock-mode",
            "COMPLIANCE",
            "--object-lock-retain-until-date",
            until,
        ],
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "worm",
            "--key",
            "comp.xml",
            "--bypass-governance-retention",
        ],
        "AccessDenied",
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-object-retention",
            "--bucket",
            "worm",
            "--key",
            "comp.xml",
            "--bypass-governance-retention",
            "--retention",
            r#"{"Mode":"COMPLIANCE","RetainUntilDate":"2098-01-01T00:00:00Z"}"#,
        ],
        "AccessDenied",
    );
    let data = data_objects(&gw, "region", "worm");
    let rm = gw.cluster.cli(&[
        "rm",
        &format!("region.s3.worm/{}", data[0]),
        "--bypass-governance",
        "--reason",
        "test",
    ]);
    assert!(!rm.status.success(), "the cluster bypassed a COMPLIANCE lock");

    // Legal hold: blocks even an expired-or-bypassed retention until cleared.
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "worm",
            "--key",
            "held.xml",
            "--body",
            body,
        ],
    );
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object-legal-hold",
            "--bucket",
            "worm",
            "--key",
            "held.xml",
            "--legal-hold",
            "Status=ON",
        ],
    );
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "worm",
            "--key",
            "held.xml",
            "--bypass-governance-retention",
        ],
        "AccessDenied",
    );
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object-legal-hold",
            "--bucket",
            "worm",
            "--key",
            "held.xml",
            "--legal-hold",
            "Status=OFF",
        ],
    );
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "delete-object",
            "--bucket",
            "worm",
            "--key",
            "held.xml",
            "--bypass-governance-retention",
        ],
    );
    // Lock headers on a bucket without object lock are refused.
    gw.aws_ok(&key, &["s3", "mb", "s3://plain"]);
    gw.aws_fails_with(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "plain",
            "--key",
            "x",
            "--body",
            body,
            "--object-lock-mode",
            "GOVERNANCE",
            "--object-lock-retain-until-date",
            until,
        ],
        "InvalidRequest",
    );
}
