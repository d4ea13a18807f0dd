//! The XSD check of the SEDA messages the front receives (ArchiveDeliveryRequest, the
//! authorisation replies): the whole message against the official schema of its version.
//!
//! The seda crate reads a message strictly, but only the part of the schema it uses; what it
//! skips (`CodeListVersions`, `Signature`, `DataObjectPackage`, `OrganizationDescriptiveMetadata`,
//! facets and types) is checked here. The engine is libxml2's, through xmllint, as for RNG
//! profiles: it is the validator `../shared/seda/validate` runs, maintained, and complete for
//! these schemas; no maintained Rust crate validates XML Schema, and the hostile document is
//! parsed in a child process that is bounded in time. The schemas are not shipped with Archipel:
//! the front is given the directory of the official files (`--seda-xsd-dir`). A front without
//! them refuses SEDA messages (the JSON forms still work) rather than take them unchecked.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use archipel_seda::version::SedaVersion;

use crate::error::{ArchiveError, Result};
use crate::xmllint::{self, XmllintError};

/// The environment variable naming the schema directory.
pub const XSD_DIR_ENV: &str = "ARCHIPEL_SEDA_XSD_DIR";
/// Messages are at most a few MiB; a schema check of one takes milliseconds.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Violations quoted in one error.
const MAX_QUOTED: usize = 5;

/// A directory laid out as the official distribution: `2.1/seda-2.1-main.xsd`, … and the
/// `xml.xsd` and `xlink.xsd` the schemas import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SedaSchemas {
    dir: PathBuf,
}

impl SedaSchemas {
    /// Checks that `dir` holds every file the three versions need.
    pub fn in_dir(dir: &Path) -> std::result::Result<Self, String> {
        let mut missing = Vec::new();
        for v in SedaVersion::ALL {
            let main = main_xsd(dir, v);
            if !main.is_file() {
                missing.push(main);
            }
        }
        for f in ["xml.xsd", "xlink.xsd"] {
            if !dir.join(f).is_file() {
                missing.push(dir.join(f));
            }
        }
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
            return Err(format!(
                "{} is not a SEDA schema directory: {} missing (it needs 2.1/, 2.2/, 2.3/ with \
                 seda-2.x-*.xsd, and xml.xsd and xlink.xsd)",
                dir.display(),
                list.join(", ")
            ));
        }
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        Ok(Self { dir })
    }

    /// `explicit`, else `$ARCHIPEL_SEDA_XSD_DIR`, else `../shared/seda/xsd` when it exists.
    /// `Ok(None)` when none is given or found.
    pub fn discover(explicit: Option<&Path>) -> std::result::Result<Option<Self>, String> {
        if let Some(d) = explicit {
            return Self::in_dir(d).map(Some);
        }
        if let Some(d) = std::env::var_os(XSD_DIR_ENV).filter(|d| !d.is_empty()) {
            return Self::in_dir(Path::new(&d))
                .map(Some)
                .map_err(|e| format!("{XSD_DIR_ENV}: {e}"));
        }
        let fallback = Path::new("../shared/seda/xsd");
        if fallback.is_dir() {
            return Self::in_dir(fallback).map(Some);
        }
        Ok(None)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks `xml`, a `message` (its root element's name) of `version`, against the schema.
    /// `work` is a scratch directory for the document and the catalog.
    pub async fn check(&self, message: &str, version: SedaVersion, xml: &[u8], work: &Path) -> Result<()> {
        let tmp = tempfile::tempdir_in(work)
            .map_err(|e| ArchiveError::Internal(format!("cannot prepare the XSD check in {}: {e}", work.display())))?;
        let doc = tmp.path().join("message.xml");
        let catalog = tmp.path().join("catalog.xml");
        let io = |e: std::io::Error| ArchiveError::Internal(format!("cannot prepare the XSD check: {e}"));
        tokio::fs::write(&doc, xml).await.map_err(io)?;
        tokio::fs::write(&catalog, self.catalog()).await.map_err(io)?;
        let schema = main_xsd(&self.dir, version);
        let args = [OsString::from("--schema"), schema.clone().into(), doc.clone().into()];
        let out = xmllint::run(&args, Some(catalog), TIMEOUT).await.map_err(|e| match e {
            XmllintError::Timeout(_) => ArchiveError::Invalid(format!(
                "the {message} could not be checked against the SEDA {version} schema in {}s: send a \
                     smaller message",
                TIMEOUT.as_secs()
            )),
            e => ArchiveError::Internal(format!(
                "the {message} could not be checked against the SEDA {version} schema: {e}"
            )),
        })?;
        let doc_name = doc.to_string_lossy().into_owned();
        match out.code {
            Some(0) => Ok(()),
            Some(1..=4) => Err(ArchiveError::Invalid(format!(
                "the {message} is not valid against the SEDA {version} schema: {}; fix the message and send it \
                 again",
                violations(&out.report, &doc_name, version).join("; ")
            ))),
            code => Err(ArchiveError::Internal(format!(
                "the SEDA {version} schema in {} could not be used (xmllint exit {code:?}: {}); give the front \
                 the official schemas (--seda-xsd-dir)",
                self.dir.display(),
                xmllint::tidy(&out.report, &[&doc_name, &schema.to_string_lossy()])
            ))),
        }
    }

    /// An XML catalog sending the schemas' imports of the W3C's xml.xsd and xlink.xsd to the
    /// local copies (xmllint runs with `--nonet`).
    fn catalog(&self) -> String {
        let mut entries = String::new();
        for (url, file) in [
            ("http://www.w3.org/2001/xml.xsd", "xml.xsd"),
            ("http://www.w3.org/1999/xlink.xsd", "xlink.xsd"),
        ] {
            let local = url_of(&self.dir.join(file));
            entries.push_str(&format!(
                "  <system systemId=\"{url}\" uri=\"{local}\"/>\n  <uri name=\"{url}\" uri=\"{local}\"/>\n"
            ));
        }
        format!(
            "<?xml version=\"1.0\"?>\n<catalog xmlns=\"urn:oasis:names:tc:entity:xmlns:xml:catalog\">\n{entries}</catalog>\n"
        )
    }
}

/// Checks an incoming message with the front's schemas; refused when the front has none.
pub async fn check_incoming(
    config: &crate::service::ArchiveConfig,
    message: &str,
    version: SedaVersion,
    xml: &[u8],
) -> Result<()> {
    let Some(schemas) = &config.seda_schemas else {
        return Err(ArchiveError::Internal(format!(
            "this front cannot check a {message} against the SEDA schema: it was started without them (give              `archipel archive serve --seda-xsd-dir DIR`); meanwhile send the request as JSON"
        )));
    };
    schemas.check(message, version, xml, &config.spool_dir).await
}

fn main_xsd(dir: &Path, v: SedaVersion) -> PathBuf {
    dir.join(v.as_str()).join(format!("seda-{}-main.xsd", v.as_str()))
}

/// A `file:` URL for a canonical path, with what XML attributes and URLs cannot hold escaped.
fn url_of(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// xmllint's `FILE:LINE: element NAME: Schemas validity error : MESSAGE` lines, made short:
/// `line L, element NAME: MESSAGE` without the SEDA namespace.
fn violations(report: &str, doc: &str, version: SedaVersion) -> Vec<String> {
    let ns = format!("{{{}}}", version.namespace());
    let mut out: Vec<String> = Vec::new();
    for line in report.lines() {
        let Some(rest) = line.strip_prefix(doc).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let (line_no, rest) = rest.split_once(':').unwrap_or(("", rest));
        let rest = rest.trim_start();
        let (element, message) = match rest.strip_prefix("element ").and_then(|r| r.split_once(':')) {
            Some((name, m)) => (Some(name.trim()), m),
            None => (None, rest),
        };
        let message = message.trim();
        let message = message
            .split_once("validity error :")
            .map(|(_, m)| m)
            .unwrap_or(message)
            .trim()
            .replace(&ns, "");
        let mut v = String::new();
        if let Ok(n) = line_no.trim().parse::<u32>() {
            v.push_str(&format!("line {n}, "));
        }
        if let Some(e) = element {
            v.push_str(&format!("element {e}: "));
        }
        v.push_str(&message);
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if out.is_empty() {
        out.push(xmllint::tidy(report, &[doc]));
    }
    if out.len() > MAX_QUOTED {
        let more = out.len() - MAX_QUOTED;
        out.truncate(MAX_QUOTED);
        out.push(format!("and {more} more"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared_schemas() -> Option<SedaSchemas> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seda/xsd");
        let ok = dir.is_dir() && std::process::Command::new("xmllint").arg("--version").output().is_ok();
        if !ok {
            eprintln!("SKIP: ../shared/seda/xsd or xmllint is absent; the XSD check is not exercised");
            return None;
        }
        Some(SedaSchemas::in_dir(&dir).unwrap())
    }

    fn request(head: &str, requester: &str) -> Vec<u8> {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveDeliveryRequest \
             xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.1\"><Date>2026-06-01T09:00:00Z</Date>\
             <MessageIdentifier>DEM-1</MessageIdentifier>{head}<Derogation>false</Derogation>\
             <UnitIdentifier>u1</UnitIdentifier><ArchivalAgency><Identifier>AA</Identifier></ArchivalAgency>\
             <Requester>{requester}</Requester></ArchiveDeliveryRequest>"
        )
        .into_bytes()
    }

    /// Messages the strict reader takes (it skips these parts) and the schema refuses.
    #[tokio::test]
    async fn what_the_reader_skips_the_schema_checks() {
        let Some(schemas) = shared_schemas() else {
            return;
        };
        let work = tempfile::tempdir().unwrap();
        let id = "<Identifier>R</Identifier>";
        let good = request("<CodeListVersions/>", id);
        archipel_seda::delivery::parse_delivery_request(&good).unwrap();
        schemas
            .check("ArchiveDeliveryRequest", SedaVersion::V2_1, &good, work.path())
            .await
            .unwrap();
        let cases = [
            (request("<CodeListVersions><Bogus/></CodeListVersions>", id), "Bogus"),
            (
                request(
                    "<CodeListVersions><ReplyCodeListVersion>a</ReplyCodeListVersion>\
                     <ReplyCodeListVersion>b</ReplyCodeListVersion></CodeListVersions>",
                    id,
                ),
                "ReplyCodeListVersion",
            ),
            (
                request("<Signature>forged</Signature><CodeListVersions/>", id),
                "Signature",
            ),
            (request("<CodeListVersions evil=\"1\"/>", id), "evil"),
            (
                request("<CodeListVersions/><DataObjectPackage><Bogus/></DataObjectPackage>", id),
                "Bogus",
            ),
        ];
        for (xml, named) in cases {
            let text = String::from_utf8_lossy(&xml).into_owned();
            archipel_seda::delivery::parse_delivery_request(&xml)
                .unwrap_or_else(|e| panic!("the reader should take {text}: {e}"));
            match schemas
                .check("ArchiveDeliveryRequest", SedaVersion::V2_1, &xml, work.path())
                .await
            {
                Err(ArchiveError::Invalid(m)) => {
                    assert!(
                        m.contains(named) && m.contains("SEDA 2.1") && m.contains("line 2"),
                        "{m}"
                    );
                    assert!(!m.contains("archivesdefrance") && !m.contains("message.xml"), "{m}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(
            std::fs::read_dir(work.path()).unwrap().next().is_none(),
            "scratch files removed"
        );
    }

    #[test]
    fn reports_are_made_short() {
        let r = "/t/message.xml:2: element Bogus: Schemas validity error : Element \
                 '{fr:gouv:culture:archivesdefrance:seda:v2.1}Bogus': This element is not expected.\n\
                 /t/message.xml fails to validate\n";
        assert_eq!(
            violations(r, "/t/message.xml", SedaVersion::V2_1),
            ["line 2, element Bogus: Element 'Bogus': This element is not expected."]
        );
    }

    #[test]
    fn a_directory_without_the_schemas_is_refused_naming_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let e = SedaSchemas::in_dir(dir.path()).unwrap_err();
        assert!(e.contains("seda-2.2-main.xsd") && e.contains("xlink.xsd"), "{e}");
    }

    #[test]
    fn catalog_urls_escape_what_needs_it() {
        assert_eq!(url_of(Path::new("/a b/x&y.xsd")), "file:///a%20b/x%26y.xsd");
    }
}
