//! Helpers shared by the flow tests (included with `#[path]`; holds no tests itself).
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use archipel_archive::flows::{builtin_flows, BuildContext, FlowDefinition, SedaVersion};

pub fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

/// `shared/<rel>` if present, else prints SKIP and returns None.
pub fn shared_path(rel: &str) -> Option<PathBuf> {
    let p = shared().join(rel);
    if p.exists() {
        Some(p)
    } else {
        println!("SKIP: {} is absent", p.display());
        None
    }
}

pub fn flow(id: &str) -> FlowDefinition {
    builtin_flows().unwrap().into_iter().find(|f| f.id == id).unwrap()
}

pub fn flow_in(id: &str, version: SedaVersion) -> FlowDefinition {
    let mut f = flow(id);
    f.seda_version = version;
    f
}

pub const VERSIONS: [SedaVersion; 3] = [SedaVersion::V2_1, SedaVersion::V2_2, SedaVersion::V2_3];

pub fn ctx() -> BuildContext<'static> {
    BuildContext {
        archival_agency: "AD34".into(),
        transferring_agency: "FRAN_NP_009999".into(),
        originating_agency: Some("21340172201787".into()),
        ..Default::default()
    }
}

/// Runs the official-schema validator on a SIP; `None` (after a SKIP line) when it cannot run.
pub fn validate(sip: &Path) -> Option<(bool, String)> {
    // FLOWS_TEST_KEEP=DIR keeps a copy of every SIP built, to look at.
    if let Some(keep) = std::env::var_os("FLOWS_TEST_KEEP") {
        let _ = std::fs::copy(sip, Path::new(&keep).join(sip.file_name().unwrap()));
    }
    let script = shared().join("seda/validate");
    if !script.exists() {
        println!("SKIP: {} is absent", script.display());
        return None;
    }
    for tool in ["xmllint", "unzip"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            println!("SKIP: {tool} is missing (apt-get install libxml2-utils unzip)");
            return None;
        }
    }
    let out = Command::new(&script).arg(sip).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

pub fn zip_entry(sip: &Path, name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(sip).unwrap()).unwrap();
    let mut entry = zip.by_name(name).unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    bytes
}

pub fn manifest(sip: &Path) -> String {
    String::from_utf8(zip_entry(sip, "manifest.xml")).unwrap()
}

pub fn sha512_hex(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha512::digest(std::fs::read(path).unwrap()))
}

/// The value of attribute `V` of the first `<tag V="…"` in a file, read naively (independent of
/// the extractor under test).
pub fn first_v(path: &Path, tag: &str) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    let start = text.find(&format!("<{tag} V=\"")).unwrap() + tag.len() + 5;
    text[start..start + text[start..].find('"').unwrap()].to_string()
}

static PRONOM: OnceLock<Option<archipel_pronom::Identifier>> = OnceLock::new();

/// The PRONOM identifier from the shared signature files, when present.
pub fn pronom() -> Option<&'static archipel_pronom::Identifier> {
    PRONOM
        .get_or_init(|| {
            let dir = shared().join("pronom");
            let files = archipel_pronom::SignatureFiles::in_dir(&dir).ok()?;
            archipel_pronom::Identifier::load(&files.droid, &files.container).ok()
        })
        .as_ref()
}

/// A PDF/A-1b sample from the PRONOM skeleton suite (read only).
pub fn pdfa_sample() -> Option<PathBuf> {
    shared_path("pronom/skeleton-suite/fmt/fmt-354-signature-id-521.pdf")
}
