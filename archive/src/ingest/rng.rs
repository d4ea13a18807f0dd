//! Archival profiles in RELAX NG, as SHERPA and as@lae produce them: the manifest must match
//! the profile's grammar.
//!
//! The validator is xmllint (libxml2, `libxml2-utils`): libxml2's RELAX NG implementation is
//! maintained, complete enough for the profiles these tools write (datatypes, `choice`,
//! `interleave`, `value`), and the same tool the shared SEDA validator runs, so it is already on
//! every front (`scripts/setup.sh`). No maintained Rust crate validates RELAX NG (the few that
//! exist are partial and dormant). It runs as a subprocess: with `--nonet`, no stdin, a timeout,
//! killed when the transfer stops, its output read up to a bound. A front without xmllint
//! rejects transfers under an RNG profile instead of letting them through unchecked.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::checks::{reason, Reasons};
use crate::xmllint::{self, XmllintError};

/// A manifest of the largest size takes xmllint seconds; this bounds a pathological grammar.
pub const TIMEOUT: Duration = Duration::from_secs(120);
/// Violations kept from one report.
const MAX_VIOLATIONS: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum RngError {
    #[error("xmllint cannot be run ({0}); install libxml2-utils on this front to check RNG profiles")]
    Unavailable(std::io::Error),
    #[error("xmllint did not finish within {}s", TIMEOUT.as_secs())]
    Timeout,
    #[error("the profile's RNG grammar does not compile: {0}")]
    BadSchema(String),
    #[error("cannot prepare the RNG check: {0}")]
    Io(#[from] std::io::Error),
    #[error("xmllint failed (exit {code:?}): {report}")]
    Failed { code: Option<i32>, report: String },
}

/// One place where the document breaks the grammar.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub line: Option<u32>,
    pub element: Option<String>,
    pub message: String,
}

/// Checks `document` against the RELAX NG `schema`, using `dir` for the two files. Empty when
/// the document is valid.
pub async fn validate(schema: &str, document: &[u8], dir: &Path) -> Result<Vec<Violation>, RngError> {
    let schema_path = dir.join("profile.rng");
    let doc_path = dir.join("manifest-for-rng.xml");
    tokio::fs::write(&schema_path, schema).await?;
    tokio::fs::write(&doc_path, document).await?;
    let result = run(&schema_path, &doc_path).await;
    let _ = tokio::fs::remove_file(&doc_path).await;
    let _ = tokio::fs::remove_file(&schema_path).await;
    result
}

/// Whether `schema` compiles as a RELAX NG grammar (checked when a profile is saved).
pub async fn check_schema(schema: &str) -> Result<(), RngError> {
    let dir = tempfile::tempdir()?;
    validate(schema, b"<empty/>", dir.path()).await.map(|_| ())
}

/// The manifest against the grammar of `owner` (`profile `P`` or `agreement `A``): each
/// violation is a reason naming the element and line; a check that cannot run rejects the
/// transfer.
pub(super) async fn check_manifest(owner: &str, schema: &str, manifest: &[u8], work: &Path) -> Result<(), Reasons> {
    let step = owner.split(' ').next().unwrap_or("profile");
    let found = validate(schema, manifest, work).await.map_err(|e| {
        vec![reason(
            step,
            Some(owner.to_owned()),
            format!("the manifest could not be checked against {owner}: {e}"),
        )]
    })?;
    if found.is_empty() {
        return Ok(());
    }
    Err(found
        .into_iter()
        .map(|v| {
            let at = match (&v.element, v.line) {
                (Some(e), Some(l)) => format!("element {e} (line {l})"),
                (Some(e), None) => format!("element {e}"),
                (None, Some(l)) => format!("line {l}"),
                (None, None) => "manifest.xml".into(),
            };
            let msg = format!("{owner} (RNG) refuses {at}: {}", v.message);
            reason(step, Some(at), msg)
        })
        .collect())
}

async fn run(schema: &Path, doc: &Path) -> Result<Vec<Violation>, RngError> {
    let args = [OsString::from("--relaxng"), schema.into(), doc.into()];
    let out = xmllint::run(&args, None, TIMEOUT).await.map_err(|e| match e {
        XmllintError::Unavailable(e) => RngError::Unavailable(e),
        XmllintError::Timeout(_) => RngError::Timeout,
        XmllintError::Io(e) => RngError::Io(e),
    })?;
    let schema_name = schema.to_string_lossy();
    let doc_name = doc.to_string_lossy();
    match out.code {
        Some(0) => Ok(Vec::new()),
        Some(3 | 4) => Ok(violations(&out.report, &doc_name)),
        Some(5) => Err(RngError::BadSchema(tidy(&out.report, &schema_name))),
        code => Err(RngError::Failed {
            code,
            report: tidy(&out.report, &doc_name),
        }),
    }
}

/// Reads xmllint's `FILE:LINE: element NAME: Relax-NG validity error : MESSAGE` lines.
fn violations(report: &str, doc: &str) -> Vec<Violation> {
    let mut out: Vec<Violation> = Vec::new();
    for line in report.lines() {
        let Some(rest) = line.strip_prefix(doc).and_then(|r| r.strip_prefix(':')) else {
            continue;
        };
        let (line_no, rest) = rest.split_once(':').unwrap_or(("", rest));
        let rest = rest.trim_start();
        let (element, message) = match rest.strip_prefix("element ").and_then(|r| r.split_once(':')) {
            Some((name, m)) => (Some(name.trim().to_owned()), m),
            None => (None, rest),
        };
        let message = message
            .trim()
            .strip_prefix("Relax-NG validity error :")
            .unwrap_or(message)
            .trim()
            .to_owned();
        let v = Violation {
            line: line_no.trim().parse().ok(),
            element,
            message,
        };
        if !out.contains(&v) {
            out.push(v);
        }
        if out.len() == MAX_VIOLATIONS {
            break;
        }
    }
    if out.is_empty() {
        out.push(Violation {
            line: None,
            element: None,
            message: tidy(report, doc),
        });
    }
    out
}

fn tidy(report: &str, file: &str) -> String {
    xmllint::tidy(report, &[file])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"<grammar xmlns="http://relaxng.org/ns/structure/1.0" ns="urn:x">
        <start><element name="Root"><element name="Title"><text/></element>
        <element name="Level"><choice><value>File</value><value>Item</value></choice></element></element></start>
        </grammar>"#;

    fn xmllint_present() -> bool {
        let ok = std::process::Command::new("xmllint").arg("--version").output().is_ok();
        if !ok {
            eprintln!("SKIP: xmllint is not installed (libxml2-utils)");
        }
        ok
    }

    #[tokio::test]
    async fn a_valid_document_passes_and_an_invalid_one_names_its_element_and_line() {
        if !xmllint_present() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = br#"<Root xmlns="urn:x"><Title>a</Title><Level>File</Level></Root>"#;
        assert!(validate(SCHEMA, ok, dir.path()).await.unwrap().is_empty());
        let bad = b"<Root xmlns=\"urn:x\">\n<Title>a</Title>\n<Level>Fonds</Level></Root>";
        let v = validate(SCHEMA, bad, dir.path()).await.unwrap();
        assert_eq!(v[0].element.as_deref(), Some("Level"), "{v:?}");
        assert_eq!(v[0].line, Some(3), "{v:?}");
        assert!(!v[0].message.contains("Relax-NG"), "{v:?}");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "work files removed"
        );
    }

    #[tokio::test]
    async fn a_grammar_that_does_not_compile_is_refused() {
        if !xmllint_present() {
            return;
        }
        let broken = r#"<grammar xmlns="http://relaxng.org/ns/structure/1.0"><start><elemen/></start></grammar>"#;
        match check_schema(broken).await {
            Err(RngError::BadSchema(m)) => assert!(m.contains("elemen"), "{m}"),
            other => panic!("{other:?}"),
        }
        check_schema(SCHEMA).await.unwrap();
    }

    #[test]
    fn reports_are_read_line_by_line() {
        let r = "/w/m.xml:12: element Title: Relax-NG validity error : Expecting element Description, got Title\n\
                 /w/m.xml:12: element Title: Relax-NG validity error : Expecting element Description, got Title\n\
                 /w/m.xml fails to validate\n";
        let v = violations(r, "/w/m.xml");
        assert_eq!(
            v,
            [Violation {
                line: Some(12),
                element: Some("Title".into()),
                message: "Expecting element Description, got Title".into()
            }]
        );
    }
}
