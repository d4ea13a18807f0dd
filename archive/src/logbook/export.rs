//! Export for third-party verification: entries and seals as canonical JSON lines (docs/logbook.md).

use std::io::Write;

use super::book::PAGE;
use super::store::{LogbookStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "logbook export of tenant {tenant}: writing failed: {source}; check the destination's space and permissions"
    )]
    Write { tenant: String, source: std::io::Error },
    #[error("logbook export of tenant {tenant}: entry {seq} cannot be encoded: {reason}; the store holds a non-canonical value")]
    Encode { tenant: String, seq: u64, reason: String },
}

/// Writes every entry to `entries` and every seal to `seals`, one canonical JSON object per line, in order.
/// Returns the counts. Nothing is checked here: the export must show the store as it is, breaks included.
pub async fn export_jsonl(
    store: &dyn LogbookStore,
    tenant: &str,
    entries: &mut (dyn Write + Send),
    seals: &mut (dyn Write + Send),
) -> Result<(u64, u64), ExportError> {
    let write_err = |source| ExportError::Write {
        tenant: tenant.to_string(),
        source,
    };
    let (mut n_entries, mut n_seals) = (0u64, 0u64);
    let mut from = 1;
    loop {
        let page = store.entries(tenant, from, PAGE).await?;
        // Always move forward, even if a tampered entry claims a lower seq than its place.
        let mut next = from + 1;
        for e in &page {
            let line = e.to_canonical_json().map_err(|err| ExportError::Encode {
                tenant: tenant.to_string(),
                seq: e.seq,
                reason: err.to_string(),
            })?;
            entries
                .write_all(&line)
                .and_then(|_| entries.write_all(b"\n"))
                .map_err(write_err)?;
            n_entries += 1;
            next = next.max(e.seq.saturating_add(1));
        }
        from = next;
        if page.len() < PAGE {
            break;
        }
    }
    let mut from = 1;
    loop {
        let page = store.seals(tenant, from, PAGE).await?;
        let mut next = from + 1;
        for s in &page {
            seals
                .write_all(&s.to_canonical_json())
                .and_then(|_| seals.write_all(b"\n"))
                .map_err(write_err)?;
            n_seals += 1;
            next = next.max(s.index.saturating_add(1));
        }
        from = next;
        if page.len() < PAGE {
            break;
        }
    }
    entries.flush().and_then(|_| seals.flush()).map_err(write_err)?;
    Ok((n_entries, n_seals))
}
