//! An archive front over a test cluster, driven through the CLI as users drive it, and SIPs
//! built on the fly for the cases the corpus does not cover.

#![allow(dead_code)]

pub mod access;
pub mod disposal;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use sha2::Digest;

use crate::common::{bin, TestCluster, Tuning};

pub const SITES: [&str; 3] = ["region", "departement", "metropole"];

pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

pub struct Front {
    pub cluster: TestCluster,
    pub url: String,
    pub operator: String,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Front {
    pub fn start() -> Self {
        Self::start_with(Tuning::default(), &[])
    }

    /// A front over a cluster started with `tuning`, `archipel archive serve` given `args` too.
    pub fn start_with(tuning: Tuning, args: &[&std::ffi::OsStr]) -> Self {
        let cluster = TestCluster::start(&SITES, 2, tuning);
        cluster.wait_healthy(Duration::from_secs(30));
        let dir = tempfile::tempdir().unwrap();
        let (child, url) = launch(&cluster, dir.path(), "spool", args);
        let out = cluster.cli(&["archive", "token", "bootstrap", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let operator = v["token"].as_str().unwrap().to_owned();
        Self {
            cluster,
            url,
            operator,
            dir,
            child,
        }
    }

    /// Kills this front (no chance to clean up) and starts another on the same cluster, with
    /// `args`; the tokens stay valid (they live in the cluster).
    pub fn restart(&mut self, args: &[&std::ffi::OsStr]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let (child, url) = launch(&self.cluster, self.dir.path(), &format!("spool-{n}"), args);
        self.child = child;
        self.url = url;
    }

    /// Runs `archipel archive ARGS` with `token`.
    pub fn run(&self, token: &str, args: &[&str]) -> Output {
        self.run_at(&self.url, token, args)
    }

    /// Runs `archipel archive ARGS` with `token` against the front at `url` (another front on
    /// this cluster).
    pub fn run_at(&self, url: &str, token: &str, args: &[&str]) -> Output {
        let mut full = vec!["archive"];
        full.extend_from_slice(args);
        Command::new(bin())
            .args(&full)
            .env("ARCHIPEL_ARCHIVE", url)
            .env("ARCHIPEL_TOKEN", token)
            .env("ARCHIPEL_CLUSTER", self.cluster.addrs())
            .output()
            .unwrap()
    }

    /// Runs and parses the JSON output; panics with stderr on failure.
    pub fn json(&self, token: &str, args: &[&str]) -> serde_json::Value {
        let out = self.run(token, args);
        assert!(
            out.status.success(),
            "archipel archive {args:?} failed: {}{}\nfront log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout),
            front_log(self.dir.path())
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// `hold add|lift --tenant region --rule HOL-00001 UNIT`: puts or lifts the tests' hold.
    pub fn hold(&self, token: &str, action: &str, unit: &str) -> serde_json::Value {
        let args = [
            "hold",
            action,
            "--tenant",
            "region",
            "--rule",
            "HOL-00001",
            unit,
            "--json",
        ];
        self.json(token, &args)
    }

    /// Transfers `sip` and waits; returns the JSON verdict and the ATR path.
    pub fn transfer(&self, token: &str, tenant: &str, sip: &Path) -> (serde_json::Value, PathBuf) {
        let atr = self.dir.path().join(format!(
            "atr-{}.xml",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let out = self.run(
            token,
            &[
                "transfer",
                "--tenant",
                tenant,
                sip.to_str().unwrap(),
                "--wait",
                "--json",
                "--atr",
                atr.to_str().unwrap(),
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "transfer output is not JSON ({e}): {}{}\nfront log:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                front_log(self.dir.path())
            )
        });
        (v, atr)
    }

    /// Transfers `sip`, which must be accepted; returns the ATR.
    pub fn ingest(&self, token: &str, tenant: &str, sip: &Path) -> String {
        let (v, atr) = self.transfer(token, tenant, sip);
        assert_eq!(v["status"], "OK", "{v:#}");
        std::fs::read_to_string(atr).unwrap()
    }

    /// Imports the rules `csv` into `tenant`; returns what the import answered.
    pub fn import_rules(&self, token: &str, tenant: &str, csv: &str) -> serde_json::Value {
        let path = self.dir.path().join(format!("{tenant}-rules.csv"));
        std::fs::write(&path, csv).unwrap();
        self.json(
            token,
            &["rules", "import", "--tenant", tenant, path.to_str().unwrap(), "--json"],
        )
    }

    /// The last thousand entries of `tenant`'s logbook.
    pub fn logbook(&self, token: &str, tenant: &str) -> Vec<serde_json::Value> {
        let log = self.json(token, &["logbook", "show", "--tenant", tenant, "--limit", "1000"]);
        log.as_array().unwrap().clone()
    }

    /// The event types of `logbook`.
    pub fn events(&self, token: &str, tenant: &str) -> Vec<String> {
        self.logbook(token, tenant)
            .iter()
            .filter_map(|e| e["event_type"].as_str().map(str::to_owned))
            .collect()
    }

    /// Panics unless each of `expected` is among `tenant`'s logbook events.
    pub fn assert_logged(&self, token: &str, tenant: &str, expected: &[&str]) {
        let events = self.events(token, tenant);
        for e in expected {
            assert!(events.iter().any(|x| x == e), "{e} logged: {events:?}");
        }
    }

    /// A token for `role` in `tenant`.
    pub fn token(&self, tenant: &str, role: &str, agency: Option<&str>) -> String {
        let mut args = vec!["token", "create", "--tenant", tenant, "--role", role, "--json"];
        if let Some(a) = agency {
            args.extend_from_slice(&["--agency", a]);
        }
        self.json(&self.operator, &args)["token"].as_str().unwrap().to_owned()
    }
}

/// Starts `archipel archive serve` on `cluster`, spooling in `dir/spool`, logging to
/// `dir/front.log`; returns it and its URL.
pub fn launch(cluster: &TestCluster, dir: &Path, spool: &str, args: &[&std::ffi::OsStr]) -> (Child, String) {
    let mut cmd = Command::new(bin());
    cmd.args(["archive", "serve", "--listen", "127.0.0.1:0", "--spool"])
        .arg(dir.join(spool))
        .args(args)
        .env("ARCHIPEL_CLUSTER", cluster.addrs())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("front.log"))
                .unwrap(),
        ));
    let pronom = shared().join("pronom");
    if pronom.is_dir() {
        cmd.arg("--pronom-dir").arg(&pronom);
    }
    let xsd = shared().join("seda/xsd");
    if xsd.is_dir() {
        cmd.arg("--seda-xsd-dir").arg(&xsd);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("ARCHIPEL_ARCHIVE=")
        .unwrap_or_else(|| panic!("front did not start: {line:?}; log: {}", front_log(dir)))
        .to_owned();
    (child, url)
}

pub fn front_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("front.log")).unwrap_or_default()
}

/// Panics unless `path` passes ../shared/seda/validate (when it and xmllint are installed).
pub fn assert_seda(path: &Path) {
    if let Some(r) = seda_valid(path) {
        r.unwrap_or_else(|e| panic!("{} is not valid SEDA: {e}", path.display()));
    }
}

/// Runs ../shared/seda/validate on `file`; None when the validator or xmllint is missing.
pub fn seda_valid(file: &Path) -> Option<Result<(), String>> {
    let validate = shared().join("seda/validate");
    if !validate.is_file() || Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("SKIP: ../shared/seda/validate or xmllint is missing; ATR not schema-checked");
        return None;
    }
    let out = Command::new(validate).arg(file).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() { Ok(()) } else { Err(text) })
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// One file of a generated SIP.
pub struct File<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub data: &'a [u8],
}

/// A SEDA 2.2 manifest describing one unit per file under one root unit.
pub fn manifest(agreement: &str, files: &[File], extra_unit_xml: &str) -> String {
    let mut groups = String::new();
    let mut units = String::new();
    for f in files {
        groups.push_str(&format!(
            "<DataObjectGroup id=\"G{id}\"><BinaryDataObject id=\"{id}\"><DataObjectVersion>BinaryMaster_1</DataObjectVersion>\
             <Uri>content/{name}</Uri><MessageDigest algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\">{digest}</MessageDigest>\
             <Size>{size}</Size><FileInfo><Filename>{name}</Filename></FileInfo></BinaryDataObject></DataObjectGroup>",
            id = f.id,
            name = f.name,
            digest = sha256_hex(f.data).to_uppercase(),
            size = f.data.len()
        ));
        units.push_str(&format!(
            "<ArchiveUnit id=\"U{id}\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Pièce {name}</Title></Content>\
             <DataObjectReference><DataObjectGroupReferenceId>G{id}</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>",
            id = f.id,
            name = f.name
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-11-25T10:00:00</Date><MessageIdentifier>MSG-{agreement}</MessageIdentifier><ArchivalAgreement>{agreement}</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage>{groups}<DescriptiveMetadata><ArchiveUnit id=\"ROOT\"><Management><AppraisalRule><Rule>APP-00001</Rule>\
         <StartDate>2020-01-01</StartDate><FinalAction>Destroy</FinalAction></AppraisalRule></Management><Content><DescriptionLevel>File</DescriptionLevel>\
         <Title>Délibérations du conseil 2020</Title><StartDate>2020-01-01</StartDate><EndDate>2020-12-31</EndDate></Content>{units}{extra_unit_xml}</ArchiveUnit>\
         </DescriptiveMetadata><ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>Identifier4</Identifier></ArchivalAgency>\
         <TransferringAgency><Identifier>Identifier5</Identifier></TransferringAgency></ArchiveTransfer>"
    )
}

/// Files A, B and C (`a.txt`, `b.txt`, `c.txt`, units UA, UB, UC): the three-unit SIP the
/// lifecycle tests share.
pub fn abc<'a>(data: [&'a [u8]; 3]) -> [File<'a>; 3] {
    let [a, b, c] = data;
    [
        File {
            id: "A",
            name: "a.txt",
            data: a,
        },
        File {
            id: "B",
            name: "b.txt",
            data: b,
        },
        File {
            id: "C",
            name: "c.txt",
            data: c,
        },
    ]
}

/// Writes at `path` a SIP of the manifest `xml` and each of `files` under `content/`.
pub fn write_sip(path: &Path, xml: &str, files: &[File]) {
    let names: Vec<String> = files.iter().map(|f| format!("content/{}", f.name)).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("manifest.xml", xml.as_bytes())];
    entries.extend(names.iter().zip(files).map(|(n, f)| (n.as_str(), f.data)));
    zip(path, &entries);
}

/// Writes a zip of (name, bytes) entries.
pub fn zip(path: &Path, entries: &[(&str, &[u8])]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap();
}

pub const RULES_CSV: &str = "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\n\
ACC-00001,AccessRule,Communicable,,0,YEAR\nACC-00002,AccessRule,25 ans,,25,YEAR\nACC-00003,AccessRule,50 ans,,50,YEAR\n\
ACC-00004,AccessRule,75 ans,,75,YEAR\nACC-00005,AccessRule,100 ans,,100,YEAR\nACC-00036,AccessRule,Secret,,25,YEAR\n\
APP-00001,AppraisalRule,10 ans,,10,YEAR\nAPP-00002,AppraisalRule,5 ans,,5,YEAR\nCLASS-00001,ClassificationRule,Classement,,10,YEAR\n\
DIS-00001,DisseminationRule,Diffusion,,75,YEAR\nDIS-00002,DisseminationRule,Diffusion,,25,YEAR\nREU-00001,ReuseRule,Réutilisation,,0,YEAR\n\
STO-00001,StorageRule,Conservation,,5,YEAR\n";

/// A tenant set up for transfers: its archivist, and the transferring agency's token.
pub struct Tenant {
    pub archivist: String,
    pub agency: String,
    /// What the rules import answered.
    pub rules: serde_json::Value,
}

/// Tenant `region` (archival agency Identifier4), `rules_csv` imported, and each agreement in
/// `agreements` open to the transferring agency Identifier5: the set-up most transfer tests need.
pub fn region(front: &Front, rules_csv: &str, agreements: &[&str]) -> Tenant {
    tenant(front, "region", "Identifier4", rules_csv, agreements, "Identifier5")
}

/// Tenant `id` of `archival_agency`, `rules_csv` imported, and each agreement in `agreements`
/// open to `transferring_agency`.
pub fn tenant(
    front: &Front,
    id: &str,
    archival_agency: &str,
    rules_csv: &str,
    agreements: &[&str],
    transferring_agency: &str,
) -> Tenant {
    front.json(
        &front.operator,
        &["tenant", "add", id, "--archival-agency", archival_agency, "--json"],
    );
    let archivist = front.token(id, "archivist", None);
    let rules = front.import_rules(&archivist, id, rules_csv);
    for agreement in agreements {
        front.json(
            &archivist,
            &[
                "agreement",
                "add",
                "--tenant",
                id,
                "--id",
                agreement,
                "--transferring-agency",
                transferring_agency,
                "--json",
            ],
        );
    }
    let agency = front.token(id, "transferring-agency", Some(transferring_agency));
    Tenant {
        archivist,
        agency,
        rules,
    }
}
