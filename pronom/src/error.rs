//! Errors: what happened, and what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the signature file {path}: {source}; check the path (--signatures, --containers, ARCHIPEL_PRONOM_DIR)")]
    SignatureIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{what} {path}, line {line}: {message}; the file is damaged or not a PRONOM signature file: download it again from The National Archives")]
    SignatureInvalid {
        what: &'static str,
        path: PathBuf,
        line: usize,
        message: String,
    },

    #[error("the signatures cannot be compiled: {0}; use signature files from The National Archives")]
    SignatureCompile(String),

    #[error("no PRONOM signature files found: {0}")]
    SignaturesNotFound(String),

    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is empty: a file of 0 bytes has no format to identify")]
    EmptyFile { path: PathBuf },

    #[error("{path} is not a regular file (a directory, device or socket has no format)")]
    NotAFile { path: PathBuf },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
