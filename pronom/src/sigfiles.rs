//! Finding the signature files: explicit paths, `ARCHIPEL_PRONOM_DIR`, or `../shared/pronom`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable naming a directory that holds the signature files.
pub const PRONOM_DIR_ENV: &str = "ARCHIPEL_PRONOM_DIR";

/// The two files identification needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureFiles {
    /// `DROID_SignatureFile_V*.xml`.
    pub droid: PathBuf,
    /// `container-signature-*.xml`.
    pub container: PathBuf,
}

impl SignatureFiles {
    /// Looks in `dir` if given, else in `$ARCHIPEL_PRONOM_DIR`, else in `../shared/pronom`.
    pub fn discover(dir: Option<&Path>) -> Result<Self> {
        if let Some(dir) = dir {
            return Self::in_dir(dir);
        }
        if let Some(dir) = std::env::var_os(PRONOM_DIR_ENV).filter(|d| !d.is_empty()) {
            return Self::in_dir(Path::new(&dir)).map_err(|e| {
                Error::SignaturesNotFound(format!("{PRONOM_DIR_ENV}={}: {e}", Path::new(&dir).display()))
            });
        }
        let fallback = Path::new("../shared/pronom");
        if fallback.is_dir() {
            return Self::in_dir(fallback);
        }
        Err(Error::SignaturesNotFound(format!(
            "give --signatures and --containers, or set {PRONOM_DIR_ENV} to a directory holding \
             DROID_SignatureFile_V*.xml and container-signature-*.xml (../shared/pronom does not exist either)"
        )))
    }

    /// The newest DROID signature file (highest `V` number) and the newest container signature
    /// file (latest date in its name) in `dir`.
    pub fn in_dir(dir: &Path) -> Result<Self> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::SignaturesNotFound(format!("cannot list {}: {e}", dir.display())))?;
        let mut droid: Option<(u64, PathBuf)> = None;
        let mut container: Option<(String, PathBuf)> = None;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(v) = name
                .strip_prefix("DROID_SignatureFile_V")
                .and_then(|r| r.strip_suffix(".xml"))
            {
                if let Ok(v) = v.parse::<u64>() {
                    if droid.as_ref().is_none_or(|(best, _)| v > *best) {
                        droid = Some((v, e.path()));
                    }
                }
            } else if name.starts_with("container-signature-")
                && name.ends_with(".xml")
                && container.as_ref().is_none_or(|(best, _)| name > *best)
            {
                container = Some((name, e.path()));
            }
        }
        match (droid, container) {
            (Some((_, droid)), Some((_, container))) => Ok(SignatureFiles { droid, container }),
            (d, _) => Err(Error::SignaturesNotFound(format!(
                "{} holds no {}",
                dir.display(),
                if d.is_none() {
                    "DROID_SignatureFile_V*.xml"
                } else {
                    "container-signature-*.xml"
                }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            "DROID_SignatureFile_V99.xml",
            "DROID_SignatureFile_V118.xml",
            "container-signature-20200101.xml",
            "container-signature-20240501.xml",
            "other.xml",
        ] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        let f = SignatureFiles::in_dir(dir.path()).unwrap();
        assert!(f.droid.ends_with("DROID_SignatureFile_V118.xml"));
        assert!(f.container.ends_with("container-signature-20240501.xml"));
        std::fs::remove_file(&f.container).unwrap();
        std::fs::remove_file(dir.path().join("container-signature-20200101.xml")).unwrap();
        let err = SignatureFiles::in_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("container-signature-*.xml"), "{err}");
    }
}
