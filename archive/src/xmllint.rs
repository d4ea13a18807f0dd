//! Running xmllint (libxml2, `libxml2-utils`) on hostile documents: no network, no stdin, a
//! timeout, killed when dropped, its report read up to a bound. Used for RELAX NG profiles
//! (`ingest::rng`) and for the XSD check of incoming SEDA messages (`seda_xsd`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;

/// xmllint's report is read up to this many bytes; the first violations are what matter.
const MAX_REPORT: u64 = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum XmllintError {
    #[error("xmllint cannot be run ({0}); install libxml2-utils on this front")]
    Unavailable(std::io::Error),
    #[error("xmllint did not finish within {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("cannot run xmllint: {0}")]
    Io(#[from] std::io::Error),
}

/// What one run said: its exit code and (the start of) its report.
pub struct Outcome {
    pub code: Option<i32>,
    pub report: String,
}

/// Runs `xmllint --noout --nonet ARGS…`, with `catalog` as its XML catalog when given.
pub async fn run(args: &[OsString], catalog: Option<PathBuf>, timeout: Duration) -> Result<Outcome, XmllintError> {
    let mut cmd = tokio::process::Command::new("xmllint");
    cmd.arg("--noout")
        .arg("--nonet")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    match catalog {
        Some(c) => cmd.env("XML_CATALOG_FILES", c),
        // Never the machine's catalogs: what a document may load is decided here.
        None => cmd.env("XML_CATALOG_FILES", ""),
    };
    let mut child = cmd.spawn().map_err(XmllintError::Unavailable)?;
    let stderr = child.stderr.take();
    let work = async {
        let mut report = Vec::new();
        if let Some(s) = stderr {
            // Read the bounded part, then drain the rest so xmllint never blocks on a full pipe.
            let mut s = s.take(MAX_REPORT);
            s.read_to_end(&mut report).await?;
            tokio::io::copy(&mut s.into_inner(), &mut tokio::io::sink()).await?;
        }
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((status, report))
    };
    let (status, report) = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| XmllintError::Timeout(timeout))??;
    Ok(Outcome {
        code: status.code(),
        report: String::from_utf8_lossy(&report).into_owned(),
    })
}

/// A report made readable: file names dropped, lines joined, cut short.
pub fn tidy(report: &str, files: &[&str]) -> String {
    let text: Vec<String> = report
        .lines()
        .map(|l| {
            let mut l = l.to_owned();
            for f in files {
                l = l.replace(f, "");
            }
            l.trim_start_matches(':').trim().to_owned()
        })
        .filter(|l| !l.is_empty())
        .take(10)
        .collect();
    if text.is_empty() {
        "xmllint gave no detail".into()
    } else {
        text.join("; ")
    }
}
