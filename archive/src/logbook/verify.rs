//! Full re-verification of a tenant's logbook: every entry, every seal, the head.

use std::fmt;

use serde::Serialize;

use super::book::PAGE;
use super::entry::Entry;
use super::hash::Hash32;
use super::key::VerifyKeys;
use super::merkle;
use super::seal::Seal;
use super::stamp::{check_token, TokenCheck};
use super::store::{LogbookStore, StoreError};

/// Where a verification stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakAt {
    Entry { seq: u64 },
    Seal { index: u64 },
    Head,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakKind {
    /// An entry is missing or out of place: the seq found is not the next one.
    SeqGap,
    WrongTenant,
    /// An entry's content does not hash to its stored hash (a field was altered).
    EntryHash,
    /// An entry's prev_hash is not the previous entry's hash (an entry was replaced or reordered).
    PrevHashLink,
    TimeBackwards,
    /// The head names another last entry than the chain has (truncation or a lost append).
    HeadMismatch,
    SealIndex,
    SealTenant,
    /// A seal's range does not continue the previous seal's or reaches past the chain.
    SealRange,
    SealPrevHash,
    SealHash,
    /// The entries of a seal do not hash to its Merkle root.
    SealRoot,
    SealToken,
}

/// The first break found, with what was expected there and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    pub at: BreakAt,
    pub kind: BreakKind,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.at {
            BreakAt::Entry { seq } => format!("entry {seq}"),
            BreakAt::Seal { index } => format!("seal {index}"),
            BreakAt::Head => "chain head".to_string(),
        };
        write!(
            f,
            "{at}: {:?}: expected {}, found {}",
            self.kind, self.expected, self.found
        )
    }
}

/// What the tokens of consecutive seals `first_seal..=last_seal` were verified for (runs of the same result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenSummary {
    pub first_seal: u64,
    pub last_seal: u64,
    pub check: TokenCheck,
    /// `check` as a sentence, e.g. "TSA signature and chain verified against CN=…".
    pub message: String,
}

impl fmt::Display for TokenSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first_seal == self.last_seal {
            write!(f, "seal {}: {}", self.first_seal, self.message)
        } else {
            write!(f, "seals {}..={}: {}", self.first_seal, self.last_seal, self.message)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub tenant: String,
    pub entries_checked: u64,
    pub seals_checked: u64,
    /// Last entry covered by a verified seal; entries after it are chained but not yet sealed.
    pub last_sealed_seq: u64,
    /// What each verified seal's token proved, in seal order.
    pub tokens: Vec<TokenSummary>,
    pub first_break: Option<Break>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Walks the chain and the seals in one pass; stops at the first break. Errors only when the store fails.
pub async fn verify(store: &dyn LogbookStore, tenant: &str, keys: &VerifyKeys) -> Result<VerifyReport, StoreError> {
    let mut w = Walker::new(store, tenant, keys);
    let first_break = w.run().await?;
    Ok(VerifyReport {
        tenant: tenant.to_string(),
        entries_checked: w.next_seq - 1,
        seals_checked: w.next_seal - 1,
        last_sealed_seq: w.sealed_up_to,
        tokens: w.tokens,
        first_break,
    })
}

struct Walker<'a> {
    store: &'a dyn LogbookStore,
    tenant: &'a str,
    keys: &'a VerifyKeys,
    next_seq: u64,
    prev_hash: Hash32,
    prev_time: Option<chrono::DateTime<chrono::Utc>>,
    /// Seals not yet reached, in index order.
    pending: std::collections::VecDeque<Seal>,
    next_seal: u64,
    prev_seal_hash: Hash32,
    sealed_up_to: u64,
    /// Entry hashes since the last verified seal.
    leaves: Vec<Hash32>,
    tokens: Vec<TokenSummary>,
}

fn brk(at: BreakAt, kind: BreakKind, expected: impl ToString, found: impl ToString) -> Option<Break> {
    Some(Break {
        at,
        kind,
        expected: expected.to_string(),
        found: found.to_string(),
    })
}

impl<'a> Walker<'a> {
    fn new(store: &'a dyn LogbookStore, tenant: &'a str, keys: &'a VerifyKeys) -> Self {
        Walker {
            store,
            tenant,
            keys,
            next_seq: 1,
            prev_hash: Hash32::ZERO,
            prev_time: None,
            pending: Default::default(),
            next_seal: 1,
            prev_seal_hash: Hash32::ZERO,
            sealed_up_to: 0,
            leaves: Vec::new(),
            tokens: Vec::new(),
        }
    }

    async fn run(&mut self) -> Result<Option<Break>, StoreError> {
        loop {
            let page = self.store.entries(self.tenant, self.next_seq, PAGE).await?;
            let full = page.len() == PAGE;
            for e in &page {
                if let Some(b) = self.entry(e) {
                    return Ok(Some(b));
                }
                if let Some(b) = self.seal_if_due().await? {
                    return Ok(Some(b));
                }
            }
            if !full {
                break;
            }
        }
        let last = self.next_seq - 1;
        if let Some(b) = self.head(last).await? {
            return Ok(Some(b));
        }
        // Any seal left reaches past the last entry.
        if let Some(s) = self.next_pending().await? {
            return Ok(brk(
                BreakAt::Seal { index: s.index },
                BreakKind::SealRange,
                format!("last_seq <= {last}"),
                s.last_seq,
            ));
        }
        Ok(None)
    }

    fn entry(&mut self, e: &Entry) -> Option<Break> {
        let at = BreakAt::Entry { seq: self.next_seq };
        if e.seq != self.next_seq {
            return brk(
                at,
                BreakKind::SeqGap,
                format!("seq {}", self.next_seq),
                format!("seq {}", e.seq),
            );
        }
        if e.tenant != self.tenant {
            return brk(at, BreakKind::WrongTenant, self.tenant, &e.tenant);
        }
        match e.compute_hash() {
            Ok(h) if h == e.hash => {}
            Ok(h) => {
                return brk(
                    at,
                    BreakKind::EntryHash,
                    format!("hash {h} (recomputed)"),
                    format!("hash {}", e.hash),
                )
            }
            Err(err) => return brk(at, BreakKind::EntryHash, "canonically encodable fields", err),
        }
        if e.prev_hash != self.prev_hash {
            return brk(
                at,
                BreakKind::PrevHashLink,
                format!("prev_hash {}", self.prev_hash),
                format!("prev_hash {}", e.prev_hash),
            );
        }
        if self.prev_time.is_some_and(|t| e.time < t) {
            let prev = self.prev_time.map(|t| super::time::format(&t)).unwrap_or_default();
            return brk(
                at,
                BreakKind::TimeBackwards,
                format!("time >= {prev}"),
                super::time::format(&e.time),
            );
        }
        self.prev_hash = e.hash;
        self.prev_time = Some(e.time);
        self.leaves.push(e.hash);
        self.next_seq += 1;
        None
    }

    async fn next_pending(&mut self) -> Result<Option<Seal>, StoreError> {
        if self.pending.is_empty() {
            self.pending
                .extend(self.store.seals(self.tenant, self.next_seal, PAGE).await?);
        }
        Ok(self.pending.front().cloned())
    }

    /// Checks the next seal once the walk has reached its last entry.
    async fn seal_if_due(&mut self) -> Result<Option<Break>, StoreError> {
        let Some(s) = self.next_pending().await? else {
            return Ok(None);
        };
        let at = BreakAt::Seal { index: self.next_seal };
        let reached = self.next_seq - 1;
        if s.index != self.next_seal {
            return Ok(brk(
                at,
                BreakKind::SealIndex,
                format!("index {}", self.next_seal),
                format!("index {}", s.index),
            ));
        }
        if s.first_seq != self.sealed_up_to + 1 || s.last_seq < s.first_seq {
            let expected = format!("range starting at {}", self.sealed_up_to + 1);
            return Ok(brk(
                at,
                BreakKind::SealRange,
                expected,
                format!("{}..={}", s.first_seq, s.last_seq),
            ));
        }
        if s.last_seq != reached {
            return Ok(None);
        }
        self.pending.pop_front();
        if s.tenant != self.tenant {
            return Ok(brk(at, BreakKind::SealTenant, self.tenant, &s.tenant));
        }
        if s.prev_seal_hash != self.prev_seal_hash {
            return Ok(brk(at, BreakKind::SealPrevHash, self.prev_seal_hash, s.prev_seal_hash));
        }
        let computed = s.compute_hash();
        if computed != s.hash {
            return Ok(brk(
                at,
                BreakKind::SealHash,
                format!("hash {computed} (recomputed)"),
                format!("hash {}", s.hash),
            ));
        }
        let root = merkle::root(&self.leaves).unwrap_or_default();
        if root != s.root {
            return Ok(brk(
                at,
                BreakKind::SealRoot,
                format!("root {root} (recomputed)"),
                format!("root {}", s.root),
            ));
        }
        match check_token(&s, self.keys) {
            Ok(check) => self.record_token(s.index, check),
            Err(reason) => return Ok(brk(at, BreakKind::SealToken, "a valid token", reason)),
        }
        self.leaves.clear();
        self.prev_seal_hash = s.hash;
        self.sealed_up_to = s.last_seq;
        self.next_seal += 1;
        Ok(None)
    }

    /// Extends the last run when the check is the same, so a long log gives a short report.
    fn record_token(&mut self, index: u64, check: TokenCheck) {
        if let Some(run) = self.tokens.last_mut() {
            if run.check == check && run.last_seal + 1 == index {
                run.last_seal = index;
                return;
            }
        }
        self.tokens.push(TokenSummary {
            first_seal: index,
            last_seal: index,
            message: check.to_string(),
            check,
        });
    }

    async fn head(&mut self, last: u64) -> Result<Option<Break>, StoreError> {
        let head = self.store.head(self.tenant).await?;
        let found = head.as_ref().map(|(h, _)| (h.seq, h.hash));
        let expected = (last > 0).then_some((last, self.prev_hash));
        if found == expected {
            return Ok(None);
        }
        // The head is the independent record of how long the chain is: it is the expectation.
        let show = |x: Option<(u64, Hash32)>| x.map_or("no entries".to_string(), |(s, h)| format!("seq {s} hash {h}"));
        let head = format!("chain ending at {} (per the head)", show(found));
        Ok(brk(
            BreakAt::Head,
            BreakKind::HeadMismatch,
            head,
            format!("chain ending at {}", show(expected)),
        ))
    }
}
