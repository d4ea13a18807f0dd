//! Requests as the partners' tools send them: `curl` for HTTP (Pastell's connector is libcurl
//! underneath, with the same multipart and Basic shapes), tar.gz archives like Pastell's.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// An HTTP answer as curl saw it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: String,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Runs curl with `args`; None when curl could not connect (e.g. a refused TLS handshake).
pub fn curl(args: &[&str]) -> Option<Answer> {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let headers = dir.path().join("headers");
    let out = Command::new("curl")
        .args(["-sS", "-o"])
        .arg(&body)
        .arg("-D")
        .arg(&headers)
        .args(["-w", "%{http_code}"])
        .args(args)
        .output()
        .expect("curl is needed by the door tests (scripts/setup.sh installs it)");
    if !out.status.success() {
        eprintln!("curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(Answer {
        status: String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0),
        body: std::fs::read(&body).unwrap_or_default(),
        headers: std::fs::read_to_string(&headers).unwrap_or_default(),
    })
}

/// Pastell's as@lae connector: Basic with the SHA-256 of the password, `Expect:` cleared.
pub struct Pastell {
    pub url: String,
    pub login: String,
    pub password_sha256: String,
}

impl Pastell {
    fn auth(&self) -> String {
        format!("{}:{}", self.login, self.password_sha256)
    }

    pub fn get(&self, path: &str, accept: &str) -> Answer {
        let url = format!("{}{path}", self.url);
        let auth = self.auth();
        let accept = format!("Accept: {accept}");
        curl(&["-u", &auth, "-H", "Expect:", "-H", &accept, &url]).expect("the as@lae door answers")
    }

    /// `POST path` with form `fields` (`name=value`) and files (`name`, path, filename).
    pub fn post(&self, path: &str, fields: &[(&str, &str)], files: &[(&str, &Path, Option<&str>)]) -> Answer {
        let url = format!("{}{path}", self.url);
        let mut args: Vec<String> = vec![
            "-u".into(),
            self.auth(),
            "-H".into(),
            "Expect:".into(),
            "-H".into(),
            "Accept: application/json".into(),
        ];
        for (k, v) in fields {
            args.push("--form-string".into());
            args.push(format!("{k}={v}"));
        }
        for (k, p, name) in files {
            args.push("-F".into());
            let name = name
                .map(str::to_owned)
                .unwrap_or_else(|| p.file_name().unwrap().to_string_lossy().into_owned());
            args.push(format!(
                "{k}=@{};filename={name};type=application/octet-stream",
                p.display()
            ));
        }
        args.push(url);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        curl(&refs).expect("the as@lae door answers")
    }

    /// What Pastell's getAck/getAtr ask, the agency and message encoded with `enc`.
    pub fn reply_path(kind: &str, agency: &str, message: &str, enc: fn(&str) -> String) -> String {
        format!(
            "/sedaMessages/sequence:ArchiveTransfer/message:{kind}/originOrganizationIdentification:{}/originMessageIdentifier:{}",
            enc(agency),
            enc(message)
        )
    }

    /// Polls a reply until it exists (200), for up to a minute.
    pub fn wait_reply(&self, kind: &str, agency: &str, message: &str, enc: fn(&str) -> String) -> Answer {
        let path = Self::reply_path(kind, agency, message, enc);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let a = self.get(&path, "application/xml");
            if a.status == 200 {
                return a;
            }
            assert_eq!(a.status, 404, "{path}: {}", a.text());
            assert!(
                Instant::now() < deadline,
                "{kind} of {message} never came: {}",
                a.text()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// PHP's `urlencode`: unreserved kept, space as `+`, every other byte `%XX`.
pub fn php_urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Every byte percent-encoded: a client that encodes more than it must.
pub fn encode_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

pub fn raw(s: &str) -> String {
    s.to_owned()
}

/// A tar.gz of `(path, bytes)` entries, written as GNU tar does.
pub fn tar_gz(out: &Path, entries: &[(&str, &[u8])]) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    gz(out, &tar);
}

/// A tar.gz whose single entry has exactly `name`, however hostile (written in the raw header).
pub fn hostile_tar_gz(out: &Path, name: &str, kind: tar::EntryType) {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_size(1);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.set_cksum();
    b.append(&h, &b"x"[..]).unwrap();
    gz(out, &b.into_inner().unwrap());
}

fn gz(out: &Path, data: &[u8]) {
    let mut e = flate2::write::GzEncoder::new(std::fs::File::create(out).unwrap(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap();
}

/// A SIP zip split as Pastell sends it: `manifest.xml` as the bordereau, the rest as a tar.gz.
pub fn split_sip(sip: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let mut z = zip::ZipArchive::new(std::fs::File::open(sip).unwrap()).unwrap();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut manifest = None;
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        if f.name() == "manifest.xml" {
            manifest = Some(data);
        } else {
            files.push((f.name().to_owned(), data));
        }
    }
    let stem = sip.file_stem().unwrap().to_string_lossy().into_owned();
    let bordereau = dir.join(format!("{stem}-bordereau.xml"));
    std::fs::write(&bordereau, manifest.expect("the SIP has a manifest.xml")).unwrap();
    // Pastell's archive is a stored file without the .tar.gz suffix.
    let archive = dir.join(format!("{stem}_sae_archive_0"));
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    tar_gz(&archive, &refs);
    (bordereau, archive)
}

/// Splits `file` into chunks of `size` bytes, as Pastell's SplitFile does.
pub fn chunks(file: &Path, size: usize, dir: &Path) -> Vec<PathBuf> {
    let data = std::fs::read(file).unwrap();
    data.chunks(size)
        .enumerate()
        .map(|(i, c)| {
            let p = dir.join(format!("archive_part{i:04}"));
            std::fs::write(&p, c).unwrap();
            p
        })
        .collect()
}
