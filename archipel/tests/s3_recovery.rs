//! A gateway that dies between storing an upload's data and committing its record leaves an
//! intent behind; `archipel s3 sweep` deletes that data once the intent has expired on the
//! cluster's leader-stamped clock, and never touches data a record uses. The crash is injected
//! at that exact point (ARCHIPEL_S3_FAULT=crash-after-data), and expiry is decided by the
//! time-to-live given to the sweep, so nothing here waits on a clock.

mod common;
mod s3_common;

use common::serial;
use s3_common::{have, random_file, sha256_of, Gateway};

fn data_objects(gw: &Gateway, namespace: &str) -> Vec<String> {
    let out = gw.cluster.cli_ok(&["ls", namespace, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut keys: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        // The sweep's clock probes (t/…) come and go; data objects are d/… and p/….
        .filter(|k| !k.starts_with("t/"))
        .collect();
    keys.sort();
    keys
}

fn intents(gw: &Gateway) -> Vec<serde_json::Value> {
    let out = gw.cluster.cli_ok(&["meta", "scan", "s3.intents", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["entries"].as_array().cloned().unwrap_or_default()
}

fn sweep(gw: &Gateway, ttl_secs: &str) -> serde_json::Value {
    let out = gw
        .cluster
        .cli_ok(&["s3", "sweep", "--intent-ttl-secs", ttl_secs, "--json"]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_crash_between_data_and_record_leaves_no_orphan() {
    if !have("aws") {
        eprintln!("skipped: awscli is not installed (scripts/setup.sh installs it)");
        return;
    }
    let _g = serial();
    let mut gw = Gateway::start();
    let key = gw.create_key("region", false);
    let ns = "region.s3.crash";
    gw.aws_ok(&key, &["s3", "mb", "s3://crash"]);
    let work = tempfile::tempdir().unwrap();
    let kept = work.path().join("kept.bin");
    let lost = work.path().join("lost.bin");
    random_file(&kept, 300_000, 1);
    random_file(&lost, 200_000, 2);

    // Committed uploads consume their intents: a PUT and a multipart part leave none.
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "crash",
            "--key",
            "kept",
            "--body",
            kept.to_str().unwrap(),
        ],
    );
    let created = gw.aws_ok(
        &key,
        &["s3api", "create-multipart-upload", "--bucket", "crash", "--key", "mp"],
    );
    let upload_id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["UploadId"]
        .as_str()
        .unwrap()
        .to_owned();
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "upload-part",
            "--bucket",
            "crash",
            "--key",
            "mp",
            "--upload-id",
            &upload_id,
            "--part-number",
            "1",
            "--body",
            kept.to_str().unwrap(),
        ],
    );
    assert!(
        intents(&gw).is_empty(),
        "committed data keeps no intent: {:?}",
        intents(&gw)
    );
    let before = data_objects(&gw, ns);
    assert_eq!(before.len(), 2, "{before:?}");

    // The gateway dies once the data of `lost` is stored, before its record.
    gw.restart(&[("ARCHIPEL_S3_FAULT", "crash-after-data")]);
    let out = gw.aws(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "crash",
            "--key",
            "lost",
            "--body",
            lost.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "the PUT cannot succeed: the gateway died");
    assert!(!gw.wait_exit().success(), "the gateway aborted");
    let after_crash = data_objects(&gw, ns);
    assert_eq!(after_crash.len(), 3, "the crash left the data: {after_crash:?}");
    let orphan: Vec<&String> = after_crash.iter().filter(|k| !before.contains(k)).collect();
    let left = intents(&gw);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(
        left[0]["key"].as_str().unwrap().ends_with(orphan[0].as_str()),
        "the intent names the orphan {orphan:?}: {left:?}"
    );

    // Restarted, the gateway shows nothing of it.
    gw.restart(&[]);
    gw.aws_fails_with(
        &key,
        &["s3api", "head-object", "--bucket", "crash", "--key", "lost"],
        "404",
    );

    // Within its time-to-live the data stays: it could be an upload still in progress.
    let r = sweep(&gw, "3600");
    assert_eq!(
        (r["orphans_removed"].as_u64(), r["intents_kept"].as_u64()),
        (Some(0), Some(1)),
        "{r}"
    );
    assert_eq!(data_objects(&gw, ns).len(), 3);

    // Expired on the leader-stamped clock, it is deleted; what records use is not.
    let r = sweep(&gw, "0");
    assert_eq!(r["orphans_removed"].as_u64(), Some(1), "{r}");
    assert_eq!(data_objects(&gw, ns), before);
    assert!(intents(&gw).is_empty(), "{:?}", intents(&gw));
    let back = work.path().join("back.bin");
    gw.aws_ok(&key, &["s3", "cp", "s3://crash/kept", back.to_str().unwrap()]);
    assert_eq!(sha256_of(&back), sha256_of(&kept));
    let r = sweep(&gw, "0");
    assert_eq!(r["orphans_removed"].as_u64(), Some(0), "nothing more to remove: {r}");
    assert_eq!(data_objects(&gw, ns), before, "the open upload's part is kept");

    // The key can be written again, normally.
    gw.aws_ok(
        &key,
        &[
            "s3api",
            "put-object",
            "--bucket",
            "crash",
            "--key",
            "lost",
            "--body",
            lost.to_str().unwrap(),
        ],
    );
    gw.aws_ok(&key, &["s3", "cp", "s3://crash/lost", back.to_str().unwrap()]);
    assert_eq!(sha256_of(&back), sha256_of(&lost));
    assert!(intents(&gw).is_empty());
}
