//! One logbook entry, its canonical encoding and its hash.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::canonical;
use super::hash::Hash32;
use super::time;

/// The outcome of an operation step, as in SEDA/VITAM logbooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Outcome {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "WARNING")]
    Warning,
    #[serde(rename = "KO")]
    Ko,
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "OK",
            Outcome::Warning => "WARNING",
            Outcome::Ko => "KO",
        }
    }
}

/// What a caller asks to log; the logbook adds tenant, seq, time and the hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub operation_id: String,
    pub event_type: String,
    pub outcome: Outcome,
    pub actor: String,
    pub subject: Option<String>,
    pub detail: Value,
}

impl NewEntry {
    pub fn new(
        operation_id: impl Into<String>,
        event_type: impl Into<String>,
        outcome: Outcome,
        actor: impl Into<String>,
    ) -> Self {
        NewEntry {
            operation_id: operation_id.into(),
            event_type: event_type.into(),
            outcome,
            actor: actor.into(),
            subject: None,
            detail: Value::Object(Default::default()),
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A stored entry. `hash` is SHA-256 of the canonical JSON of every other field (docs/logbook.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub tenant: String,
    /// 1-based and dense within a tenant.
    pub seq: u64,
    #[serde(with = "time")]
    pub time: DateTime<Utc>,
    pub operation_id: String,
    pub event_type: String,
    pub outcome: Outcome,
    pub actor: String,
    pub subject: Option<String>,
    pub detail: Value,
    pub prev_hash: Hash32,
    pub hash: Hash32,
}

impl Entry {
    /// The object that is hashed: every field but `hash`, `subject` as `null` when absent.
    pub fn hashed_object(&self) -> Value {
        json!({
            "tenant": self.tenant,
            "seq": self.seq,
            "time": time::format(&self.time),
            "operation_id": self.operation_id,
            "event_type": self.event_type,
            "outcome": self.outcome.as_str(),
            "actor": self.actor,
            "subject": self.subject,
            "detail": self.detail,
            "prev_hash": self.prev_hash.to_hex(),
        })
    }

    /// Recomputes the hash from the other fields (what `hash` must equal).
    pub fn compute_hash(&self) -> Result<Hash32, canonical::CanonicalError> {
        Ok(Hash32::of(&canonical::encode(&self.hashed_object())?))
    }

    /// The export line: canonical JSON of all fields, `hash` included.
    pub fn to_canonical_json(&self) -> Result<Vec<u8>, canonical::CanonicalError> {
        let mut v = self.hashed_object();
        if let Value::Object(map) = &mut v {
            map.insert("hash".into(), Value::String(self.hash.to_hex()));
        }
        canonical::encode(&v)
    }
}

/// Largest canonical `detail`: entries are metadata, not payloads.
pub const MAX_DETAIL_BYTES: usize = 64 * 1024;

/// Why a tenant name or a new entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("logbook entry field `{field}` refused: {reason}")]
pub struct InvalidField {
    pub field: &'static str,
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> InvalidField {
    InvalidField {
        field,
        reason: reason.into(),
    }
}

/// Tenants name store keys: a short, plain identifier.
pub fn check_tenant(tenant: &str) -> Result<(), InvalidField> {
    let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
    if tenant.is_empty() || tenant.len() > 64 || !tenant.bytes().all(ok_char) || tenant.starts_with('.') {
        return Err(invalid(
            "tenant",
            format!("{tenant:?} must be 1-64 characters of a-z, 0-9, '.', '_', '-', not starting with '.'"),
        ));
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
    if value.is_empty() || value.len() > max {
        return Err(invalid(
            field,
            format!("must be 1-{max} bytes long, got {}", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("{value:?} contains control characters; remove them"),
        ));
    }
    Ok(())
}

impl NewEntry {
    /// Checks every field; returns the canonical size of `detail`.
    pub fn check(&self) -> Result<(), InvalidField> {
        check_text("operation_id", &self.operation_id, 128)?;
        check_text("actor", &self.actor, 256)?;
        if let Some(subject) = &self.subject {
            check_text("subject", subject, 512)?;
        }
        let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b);
        if self.event_type.is_empty() || self.event_type.len() > 128 || !self.event_type.bytes().all(ok_char) {
            return Err(invalid(
                "event_type",
                format!(
                    "{:?} must be 1-128 characters of a-z, 0-9, '.', '_', '-' (e.g. \"transfer.received\")",
                    self.event_type
                ),
            ));
        }
        let detail = canonical::encode(&self.detail).map_err(|e| invalid("detail", e.to_string()))?;
        if detail.len() > MAX_DETAIL_BYTES {
            return Err(invalid(
                "detail",
                format!(
                    "{} bytes once encoded, more than {MAX_DETAIL_BYTES}; store large data as an object and log its id",
                    detail.len()
                ),
            ));
        }
        Ok(())
    }

    /// Seals this request into the entry that follows `prev_hash` at `seq`.
    pub fn into_entry(
        self,
        tenant: &str,
        seq: u64,
        time: DateTime<Utc>,
        prev_hash: Hash32,
    ) -> Result<Entry, InvalidField> {
        let mut entry = Entry {
            tenant: tenant.to_string(),
            seq,
            time,
            operation_id: self.operation_id,
            event_type: self.event_type,
            outcome: self.outcome,
            actor: self.actor,
            subject: self.subject,
            detail: self.detail,
            prev_hash,
            hash: Hash32::ZERO,
        };
        entry.hash = entry.compute_hash().map_err(|e| invalid("detail", e.to_string()))?;
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        NewEntry::new("op-1", "transfer.received", Outcome::Ok, "system")
            .subject("tr-9")
            .detail(json!({"files": 3}))
            .into_entry(
                "t1",
                1,
                time::parse("2026-01-31T09:30:00.000000Z").unwrap(),
                Hash32::ZERO,
            )
            .unwrap()
    }

    #[test]
    fn hash_is_sha256_of_the_documented_bytes() {
        let e = sample();
        let expected = concat!(
            r#"{"actor":"system","detail":{"files":3},"event_type":"transfer.received","operation_id":"op-1","#,
            r#""outcome":"OK","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""seq":1,"subject":"tr-9","tenant":"t1","time":"2026-01-31T09:30:00.000000Z"}"#
        );
        assert_eq!(e.hash, Hash32::of(expected.as_bytes()));
    }

    #[test]
    fn serde_round_trip_keeps_the_hash_valid() {
        let e = sample();
        let back: Entry = serde_json::from_slice(&e.to_canonical_json().unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.compute_hash().unwrap(), e.hash);
    }

    #[test]
    fn checks_refuse_bad_fields_by_name() {
        let base = NewEntry::new("op", "access.denied", Outcome::Ko, "cred-1");
        assert!(base.check().is_ok());
        assert_eq!(
            NewEntry {
                event_type: "Bad Type".into(),
                ..base.clone()
            }
            .check()
            .unwrap_err()
            .field,
            "event_type"
        );
        assert_eq!(
            NewEntry {
                actor: String::new(),
                ..base.clone()
            }
            .check()
            .unwrap_err()
            .field,
            "actor"
        );
        assert_eq!(
            base.clone().detail(json!({"x": 1.5})).check().unwrap_err().field,
            "detail"
        );
        assert!(check_tenant("Tenant").is_err());
        assert!(check_tenant("ville-de-lyon").is_ok());
    }
}
