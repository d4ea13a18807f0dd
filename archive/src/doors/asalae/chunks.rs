//! Chunked uploads (`send_chunked_attachments=true`, then `/sedaAttachmentsChunkFiles`): the
//! bordereau opens a session, chunks 1..N of the tar.gz are appended in order, the last one
//! starts the transfer.
//!
//! Sessions live in this front's spool (`<spool>/asalae-chunks/<session>/`), like an upload in
//! progress: a partner's chunks must reach the same front (sticky sessions behind a balancer).
//! Every refusal after a session is found (a chunk out of order, sent twice, too large, an
//! inconsistent count, an expired session) removes the session and its spooled chunks: the
//! partner starts again from the bordereau, and nothing half-received lingers.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::{ArchiveError, Result};

/// A session without a chunk for this long is dropped with its chunks.
pub const SESSION_TTL: Duration = Duration::from_secs(3600);
/// Sessions open at once on one front.
pub const MAX_SESSIONS: usize = 64;
/// One chunk (Pastell's default is 2 MiB).
pub const MAX_CHUNK_BYTES: u64 = 256 << 20;
/// Chunks in one session.
pub const MAX_CHUNKS: u32 = 1_000_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Session {
    tenant: String,
    principal: String,
    transferring_agency: String,
    message_identifier: String,
    security_sha256: String,
    updated_at: DateTime<Utc>,
    number_of_chunks: Option<u32>,
    file_name: Option<String>,
    received: u32,
    bytes: u64,
}

/// The form fields of one chunk request, as sent.
#[derive(Debug, Default)]
pub struct ChunkFields {
    pub session_identifier: Option<String>,
    pub security_identifier: Option<String>,
    pub number_of_files: Option<String>,
    pub file_index: Option<String>,
    pub file_name: Option<String>,
    pub compression_algorithm: Option<String>,
    pub number_of_chunks: Option<String>,
    pub chunk_index: Option<String>,
}

/// What a chunk did.
pub enum Progress {
    More {
        received: u32,
        of: u32,
    },
    /// The last chunk: the archive is whole. Dropping this removes the session's files.
    Complete(Completed),
}

pub struct Completed {
    pub tenant: String,
    pub transferring_agency: String,
    pub message_identifier: String,
    pub bordereau: Vec<u8>,
    pub archive: PathBuf,
    _dir: SessionDir,
}

struct SessionDir {
    path: PathBuf,
}

impl Drop for SessionDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub struct ChunkStore {
    root: PathBuf,
    max_total_bytes: u64,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

fn internal(what: &str, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Internal(format!("{what}: {e}"))
}

impl ChunkStore {
    pub fn new(spool: &Path, max_total_bytes: u64) -> Self {
        Self {
            root: spool.join("asalae-chunks"),
            max_total_bytes,
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// Where chunks are spooled while their request is read.
    pub fn incoming_dir(&self) -> Result<&Path> {
        std::fs::create_dir_all(&self.root).map_err(|e| internal("cannot create the chunk spool", e))?;
        Ok(&self.root)
    }

    /// Opens a session for `bordereau`; returns (session, security) identifiers.
    pub fn open(
        &self,
        who: &Principal,
        tenant: &str,
        transferring_agency: &str,
        message_identifier: &str,
        bordereau: &[u8],
    ) -> Result<(String, String)> {
        std::fs::create_dir_all(&self.root).map_err(|e| internal("cannot create the chunk spool", e))?;
        let open = self.sweep();
        if open >= MAX_SESSIONS {
            return Err(ArchiveError::Unavailable(format!(
                "{open} chunked uploads are in progress on this front, the most it takes; send again later"
            )));
        }
        let id = random_hex(16);
        let security = random_hex(32);
        let dir = self.root.join(&id);
        std::fs::create_dir(&dir).map_err(|e| internal("cannot create a chunk session", e))?;
        let session = Session {
            tenant: tenant.into(),
            principal: who.id.clone(),
            transferring_agency: transferring_agency.into(),
            message_identifier: message_identifier.into(),
            security_sha256: crate::auth::sha256_hex(&security),
            updated_at: Utc::now(),
            number_of_chunks: None,
            file_name: None,
            received: 0,
            bytes: 0,
        };
        let written = write_file(&dir.join("bordereau.xml"), bordereau).and_then(|_| save(&dir, &session));
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok((id, security))
    }

    /// Adds one chunk, spooled at `chunk` (`len` bytes), to its session.
    pub async fn add(&self, who: &Principal, f: &ChunkFields, chunk: &Path, len: u64) -> Result<Progress> {
        let unknown = |id: &str| {
            ArchiveError::NotFound(format!(
                "chunk session `{id}` (unknown, finished or removed after an error)"
            ))
        };
        let id = f
            .session_identifier
            .as_deref()
            .map(str::trim)
            .ok_or_else(|| ArchiveError::Invalid("session_identifier is missing".into()))?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(unknown(id));
        }
        let lock = self.lock_of(id);
        let _held = lock.lock().await;
        let dir = self.root.join(id);
        let Some(mut s) = load(&dir) else {
            self.forget(id);
            return Err(unknown(id));
        };
        if s.principal != who.id || Some(s.tenant.as_str()) != who.tenant.as_deref() {
            return Err(unknown(id));
        }
        let security = f.security_identifier.as_deref().map(str::trim).unwrap_or("");
        if crate::auth::sha256_hex(security) != s.security_sha256 {
            return Err(ArchiveError::Forbidden(format!(
                "security_identifier does not match chunk session `{id}`"
            )));
        }
        // From here on, a refusal drops the session: the partner starts again from the bordereau.
        match self.check_and_append(&dir, &mut s, f, chunk, len) {
            Ok(true) => {
                self.forget(id);
                let bordereau = std::fs::read(dir.join("bordereau.xml"))
                    .map_err(|e| internal("the spooled bordereau is unreadable", e))?;
                Ok(Progress::Complete(Completed {
                    tenant: s.tenant,
                    transferring_agency: s.transferring_agency,
                    message_identifier: s.message_identifier,
                    bordereau,
                    archive: dir.join("archive.part"),
                    _dir: SessionDir { path: dir },
                }))
            }
            Ok(false) => Ok(Progress::More {
                received: s.received,
                of: s.number_of_chunks.unwrap_or(0),
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                self.forget(id);
                Err(e)
            }
        }
    }

    /// Removes `id` if `who` owns it: its request broke before the chunk could be checked.
    pub async fn discard(&self, who: &Principal, id: &str) {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return;
        }
        let lock = self.lock_of(id);
        let _held = lock.lock().await;
        let dir = self.root.join(id);
        if load(&dir).is_some_and(|s| s.principal == who.id) {
            let _ = std::fs::remove_dir_all(&dir);
        }
        self.forget(id);
    }

    /// Returns true when this was the last chunk.
    fn check_and_append(&self, dir: &Path, s: &mut Session, f: &ChunkFields, chunk: &Path, len: u64) -> Result<bool> {
        if Utc::now() - s.updated_at > ttl() {
            return Err(ArchiveError::Invalid(format!(
                "this chunk session expired: no chunk for {} minutes; send the bordereau again",
                SESSION_TTL.as_secs() / 60
            )));
        }
        let number = |name: &str, v: &Option<String>| -> Result<u32> {
            let text = v
                .as_deref()
                .map(str::trim)
                .ok_or_else(|| ArchiveError::Invalid(format!("{name} is missing")))?;
            text.parse::<u32>()
                .map_err(|_| ArchiveError::Invalid(format!("{name} `{text}` is not a number")))
        };
        if number("number_of_files", &f.number_of_files)? != 1 || number("file_index", &f.file_index)? != 1 {
            return Err(ArchiveError::Invalid(
                "one file per session: number_of_files and file_index must be 1".into(),
            ));
        }
        let algorithm = f.compression_algorithm.as_deref().map(str::trim).unwrap_or("");
        if !algorithm.eq_ignore_ascii_case("TARGZ") {
            return Err(ArchiveError::Invalid(format!(
                "compression_algorithm `{algorithm}` is not supported: send the attachments as TARGZ"
            )));
        }
        let of = number("number_of_chunks", &f.number_of_chunks)?;
        if of == 0 || of > MAX_CHUNKS {
            return Err(ArchiveError::Invalid(format!(
                "number_of_chunks must be 1 to {MAX_CHUNKS}, not {of}"
            )));
        }
        if s.number_of_chunks.is_some_and(|n| n != of) {
            return Err(ArchiveError::Invalid(format!(
                "number_of_chunks changed from {} to {of} during the session",
                s.number_of_chunks.unwrap_or(0)
            )));
        }
        let name = f.file_name.as_deref().map(str::trim).unwrap_or("").to_owned();
        if s.file_name.as_ref().is_some_and(|n| *n != name) {
            return Err(ArchiveError::Invalid(format!(
                "file_name changed from `{}` to `{name}` during the session",
                s.file_name.as_deref().unwrap_or("")
            )));
        }
        let index = number("chunk_index", &f.chunk_index)?;
        let expected = s.received + 1;
        if index == 0 || index > of {
            return Err(ArchiveError::Invalid(format!("chunk_index {index} is outside 1..{of}")));
        }
        if index < expected {
            return Err(ArchiveError::Conflict(format!(
                "chunk {index} of {of} was already received: a chunk is sent once"
            )));
        }
        if index > expected {
            return Err(ArchiveError::Invalid(format!(
                "chunk {index} of {of} arrived before chunk {expected}: chunks are sent in order, 1 to {of}"
            )));
        }
        if len == 0 {
            return Err(ArchiveError::Invalid(format!("chunk {index} is empty")));
        }
        if s.bytes.saturating_add(len) > self.max_total_bytes {
            return Err(ArchiveError::TooLarge(format!(
                "the chunks exceed this front's limit of {} bytes; split the transfer",
                self.max_total_bytes
            )));
        }
        let mut part = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("archive.part"))
            .map_err(|e| internal("cannot spool the chunk", e))?;
        let mut input = std::fs::File::open(chunk).map_err(|e| internal("cannot read the spooled chunk", e))?;
        let copied = std::io::copy(&mut input, &mut part).map_err(|e| internal("cannot spool the chunk", e))?;
        if copied != len {
            return Err(ArchiveError::Internal(format!(
                "chunk {index}: {copied} of {len} bytes spooled"
            )));
        }
        part.flush().map_err(|e| internal("cannot spool the chunk", e))?;
        s.number_of_chunks = Some(of);
        s.file_name = Some(name);
        s.received = index;
        s.bytes += len;
        s.updated_at = Utc::now();
        save(dir, s)?;
        Ok(index == of)
    }

    fn lock_of(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(id.to_owned()).or_default())
    }

    fn forget(&self, id: &str) {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.remove(id);
    }

    /// Removes expired sessions (and debris of a previous run); returns how many remain.
    fn sweep(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        let ttl = ttl();
        let mut open = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                // Chunks being received are files here; old ones are debris of a stopped front.
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > SESSION_TTL);
                if old {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            }
            match load(&path) {
                Some(s) if Utc::now() - s.updated_at <= ttl => open += 1,
                _ => {
                    let _ = std::fs::remove_dir_all(&path);
                }
            }
        }
        open
    }
}

fn ttl() -> chrono::Duration {
    chrono::Duration::seconds(SESSION_TTL.as_secs() as i64)
}

fn load(dir: &Path) -> Option<Session> {
    let bytes = std::fs::read(dir.join("session.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn save(dir: &Path, s: &Session) -> Result<()> {
    let tmp = dir.join("session.json.tmp");
    write_file(&tmp, &serde_json::to_vec(s)?)?;
    std::fs::rename(&tmp, dir.join("session.json")).map_err(|e| internal("cannot save the chunk session", e))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(|e| internal("cannot write the chunk session", e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| internal("cannot write the chunk session", e))
}

fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}
