//! The export re-verifies with the independent Python verifier (docs/logbook-verify.py), and breaks are found there too.

#[path = "logbook_util.rs"]
mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use archipel_archive::logbook::{canonical, export_jsonl, Hash32, NewEntry, Outcome, SealKey};
use serde_json::json;
use util::filled;

fn verifier() -> Option<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/logbook-verify.py");
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    (python && script.exists()).then_some(script)
}

fn run(script: &Path, dir: &Path) -> (i32, String) {
    let out = Command::new("python3").arg(script).arg(dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn edit_line(path: &Path, line: usize, f: impl FnOnce(&mut serde_json::Value)) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[line - 1]).unwrap();
    f(&mut v);
    lines[line - 1] = serde_json::to_string(&v).unwrap();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// What an attacker would do after editing a line: make its own hash consistent again.
fn rehash(v: &mut serde_json::Value) {
    let obj = v.as_object_mut().unwrap();
    obj.remove("hash");
    let h = Hash32::of(&canonical::encode(&serde_json::Value::Object(obj.clone())).unwrap());
    obj.insert("hash".into(), json!(h.to_hex()));
}

#[tokio::test]
async fn python_verifier_agrees_with_the_rust_encoding() {
    let Some(script) = verifier() else {
        println!("SKIP: python3 or docs/logbook-verify.py not available");
        return;
    };
    let f = filled("mairie", 30, 8).await;
    // Strings that stress the canonical encoding: escapes, non-ASCII, key order across scripts.
    let tricky = json!({
        "z": 1, "Z": 2, "é": 3, "é": 4, "日本": [-9223372036854775808i64, 18446744073709551615u64],
        "s": "tab\t nl\n nul\u{0} del\u{7f} ls\u{2028} quote\" back\\ emoji 🦀 €",
        "nested": {"b": [true, false, null, {}], "a": []}
    });
    f.logbook
        .append_many(
            "mairie",
            vec![
                NewEntry::new("op-x", "access.denied", Outcome::Ko, "cred-\u{e9}").detail(tricky),
                NewEntry::new("op-x", "access.denied", Outcome::Ko, "system"),
            ],
        )
        .await
        .unwrap();
    f.logbook.seal("mairie").await.unwrap();
    f.logbook.append("mairie", util::step(99)).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (mut entries, mut seals) = (Vec::new(), Vec::new());
    let counts = export_jsonl(f.store.as_ref(), "mairie", &mut entries, &mut seals)
        .await
        .unwrap();
    assert_eq!(counts.0, 33);
    std::fs::write(dir.path().join("entries.jsonl"), &entries).unwrap();
    std::fs::write(dir.path().join("seals.jsonl"), &seals).unwrap();
    let key = SealKey::from_seed(&[7; 32]).public();
    std::fs::write(dir.path().join("keys.json"), serde_json::to_vec(&key).unwrap()).unwrap();

    let (code, out) = run(&script, dir.path());
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("INTACT: 33 entries, sealed up to seq 32, 1 unsealed"),
        "{out}"
    );

    let copy = |name: &str| {
        let d = tempfile::tempdir().unwrap();
        for f in ["entries.jsonl", "seals.jsonl", "keys.json"] {
            std::fs::copy(dir.path().join(f), d.path().join(f)).unwrap();
        }
        let p = d.path().join(name);
        (d, p)
    };
    // An altered entry field.
    let (d, p) = copy("entries.jsonl");
    edit_line(&p, 31, |v| v["detail"]["s"] = json!("other"));
    let (code, out) = run(&script, d.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("BROKEN at entry 31: expected hash"), "{out}");
    // A deleted entry.
    let (d, p) = copy("entries.jsonl");
    let text = std::fs::read_to_string(&p).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 9)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&p, kept.join("\n") + "\n").unwrap();
    let (code, out) = run(&script, d.path());
    assert!(
        code == 1 && out.starts_with("BROKEN at entry 10: expected seq 10, found seq 11"),
        "{out}"
    );
    // A forged seal root, without and with a recomputed seal hash.
    let (d, p) = copy("seals.jsonl");
    edit_line(&p, 2, |v| v["root"] = json!("00".repeat(32)));
    let (code, out) = run(&script, d.path());
    assert!(code == 1 && out.starts_with("BROKEN at seal 2: expected hash"), "{out}");
    edit_line(&p, 2, rehash);
    let (code, out) = run(&script, d.path());
    assert!(code == 1 && out.starts_with("BROKEN at seal 2: expected root"), "{out}");
    // A seal whose statement changed (its time), re-hashed: only the signature can tell.
    let (d, p) = copy("seals.jsonl");
    edit_line(&p, 3, |v| {
        v["time"] = json!("2000-01-01T00:00:00.000000Z");
        rehash(v);
    });
    let (code, out) = run(&script, d.path());
    let signature_checked = !out.contains("NOT checked");
    assert_eq!(code, if signature_checked { 1 } else { 0 }, "{out}");
    if signature_checked {
        assert!(
            out.starts_with("BROKEN at seal 3 token: expected an Ed25519 signature"),
            "{out}"
        );
    } else {
        println!("SKIP: Python `cryptography` absent, signature path not exercised");
    }
    // The wrong key.
    let (d, _) = copy("keys.json");
    let other = SealKey::from_seed(&[8; 32]).public();
    std::fs::write(d.path().join("keys.json"), serde_json::to_vec(&other).unwrap()).unwrap();
    let (code, out) = run(&script, d.path());
    assert!(
        code == 1 && out.starts_with("BROKEN at seal 1 token: expected a trusted key id"),
        "{out}"
    );
}
