//! Relevé de valeur probante (probative-value report, NF Z42-013 / ISO 14641; Vitam's
//! PROBATIVE_VALUE workflow): for chosen units, everything an external auditor needs to trust
//! that what is communicated is what was archived, and to check it without Archipel:
//!
//! - each unit's transfer: its MessageIdentifier, agreement, transferring agency, dates, and the
//!   SHA-512 of the stored ArchiveTransferReply and of the AIP's original manifest;
//! - each object: the SHA-512 and size recorded at ingest, the digest the SIP declared, and its
//!   re-reading now through the cluster (the integrity audit's check);
//! - the logbook entries about the unit, its transfer and its objects, each with its hash chain
//!   fields and its Merkle inclusion proof up to a signed (or RFC 3161 timestamped) seal;
//! - the public seal key and the verification procedure (`docs/logbook-verify.py --releve`).
//!
//! The logbook is sealed first, so every entry listed is provable. The report is stored as
//! `probative/<id>/report.json` and its SHA-512 logged (`probative.report`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha512};

use super::audit::{check_object, ObjectResult, Verdict};
use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::Transfer;
use crate::service::Archive;

/// Units per report: each is read back whole, synchronously.
pub const MAX_UNITS: usize = 100;
pub const FORMAT: &str = "archipel-releve-valeur-probante/1";
/// Logbook entries read per page while looking for a unit's entries.
const PAGE: usize = 1000;

/// How to check the report, for the auditor (in French: archivists and auditors read it).
const PROCEDURE: [&str; 5] = [
    "1. Pour chaque entrée du journal : recalculer son empreinte (SHA-256 du JSON canonique de l'entrée sans le champ « hash ») et la comparer au champ « hash ».",
    "2. Recalculer la racine de Merkle (RFC 9162) depuis l'empreinte de l'entrée et le chemin d'audit « path », et la comparer à la racine « root » du sceau.",
    "3. Recalculer l'empreinte du sceau (SHA-256 du JSON canonique sans « hash ») et vérifier son jeton : signature Ed25519 de la déclaration de sceau par la clé publique « keys » (dont l'identifiant doit être celui publié par le service d'archives), ou jeton d'horodatage RFC 3161.",
    "4. Pour chaque objet : l'empreinte SHA-512 relue (« check.found_sha512 ») doit être égale à celle enregistrée au versement (« sha512 »), et la taille aussi.",
    "5. Automatiquement : python3 docs/logbook-verify.py --releve releve.json [cles.json] (sortie 0 : relevé vérifié).",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbativeRequest {
    pub unit_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvenEntry {
    pub entry: Value,
    pub seal: Value,
    pub path: Vec<String>,
    /// The proof checks against the archive's keys.
    pub proof_ok: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ObjectEvidence {
    pub object_id: String,
    pub sip_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    pub size: u64,
    pub sha512: String,
    pub declared_algorithm: String,
    pub declared_digest: String,
    pub check: ObjectResult,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitEvidence {
    pub unit_id: String,
    pub sip_id: String,
    pub title: String,
    pub aip_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originating_agency: Option<String>,
    pub transfer: Value,
    pub objects: Vec<ObjectEvidence>,
    pub logbook: Vec<ProvenEntry>,
    /// `OK` when every object reads back as recorded and every entry is proven.
    pub verdict: String,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub id: String,
    pub tenant: String,
    pub archival_agency: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub verdict: String,
    pub units: Vec<UnitEvidence>,
    pub keys: Vec<Value>,
    pub procedure: Vec<String>,
}

/// What the API returns: the report's place and digest, and the report itself.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub id: String,
    pub key: String,
    pub sha512: String,
    pub size: u64,
    pub report: Report,
}

async fn object_sha512(a: &Archive, namespace: &str, key: &str) -> Option<(String, u64)> {
    let mut bytes = Vec::new();
    a.store
        .client()
        .get_object(namespace, key, 0, None, &mut bytes, None)
        .await
        .ok()?;
    Some((hex::encode(Sha512::digest(&bytes)), bytes.len() as u64))
}

/// Builds, stores and logs the report of `req.unit_ids`.
pub async fn build(a: &Archive, tenant: &str, who: &Principal, req: ProbativeRequest) -> Result<Stored> {
    let mut seen = HashSet::new();
    let ids: Vec<String> = req.unit_ids.into_iter().filter(|i| seen.insert(i.clone())).collect();
    if ids.is_empty() || ids.len() > MAX_UNITS {
        return Err(ArchiveError::Invalid(format!(
            "give between 1 and {MAX_UNITS} units (unit_ids); {} given",
            ids.len()
        )));
    }
    let t = a.refs.tenant(tenant).await?;
    let mut units = Vec::with_capacity(ids.len());
    for id in &ids {
        units.push(a.catalog.unit(tenant, id).await?);
    }
    // Everything written so far goes under a seal, so that every entry listed is provable.
    a.journal.seal(tenant).await?;
    let wanted: HashSet<String> = units
        .iter()
        .flat_map(|u| {
            [u.id.clone(), u.transfer_id.clone(), u.aip_id.clone()]
                .into_iter()
                .chain(u.objects.iter().map(|o| o.id.clone()))
        })
        .collect();
    let mut found: Vec<crate::logbook::Entry> = Vec::new();
    let last = a.journal.last_seal(tenant).await?.map_or(0, |s| s.last_seq);
    let mut from = 1;
    while from <= last {
        let page = a.journal.entries(tenant, from, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in page {
            from = e.seq + 1;
            if e.seq <= last && e.subject.as_ref().is_some_and(|s| wanted.contains(s)) {
                found.push(e);
            }
        }
    }
    let mut proven: Vec<(String, ProvenEntry)> = Vec::new();
    for e in found {
        let subject = e.subject.clone().unwrap_or_default();
        let (proof, ok) = a.journal.prove(tenant, e.seq).await?;
        proven.push((
            subject,
            ProvenEntry {
                // The canonical forms the hashes are over, as an offline verifier reads them.
                entry: serde_json::from_slice(
                    &proof
                        .entry
                        .to_canonical_json()
                        .map_err(|err| ArchiveError::Internal(format!("logbook entry {}: {err}", e.seq)))?,
                )?,
                seal: serde_json::from_slice(&proof.seal.to_canonical_json())?,
                path: proof.path.iter().map(|h| h.to_string()).collect(),
                proof_ok: ok,
            },
        ));
    }
    let client = a.store.client().clone();
    let mut out = Vec::with_capacity(units.len());
    for u in &units {
        let mut problems = Vec::new();
        let transfer = a
            .store
            .get::<Transfer>(&keys::transfer(tenant, &u.transfer_id))
            .await?
            .map(|v| v.value);
        let transfer_json = match &transfer {
            Some(tr) => {
                let atr = match &tr.atr_key {
                    Some(k) => object_sha512(a, &t.namespace, k).await,
                    None => None,
                };
                let manifest = object_sha512(a, &t.namespace, &keys::aip_manifest(&u.aip_id)).await;
                json!({"id": tr.id, "message_identifier": tr.message_identifier, "agreement": tr.agreement,
                       "transferring_agency": tr.transferring_agency, "seda_version": tr.seda_version,
                       "received_at": tr.received_at, "finished_at": tr.finished_at, "status": tr.status,
                       "sip_size": tr.size,
                       "atr": atr.map(|(sha512, size)| json!({"key": tr.atr_key, "sha512": sha512, "size": size})),
                       "aip_manifest": manifest.map(|(sha512, size)| json!({"key": keys::aip_manifest(&u.aip_id), "sha512": sha512, "size": size}))})
            }
            None => {
                problems.push(format!("the record of transfer {} is missing", u.transfer_id));
                json!({"id": u.transfer_id})
            }
        };
        let mut objects = Vec::new();
        for o in &u.objects {
            let check = check_object(&client, &t.namespace, o, vec![u.id.clone()]).await;
            if check.verdict != Verdict::Ok {
                problems.push(format!("object {} reads back {:?}", o.id, check.verdict));
            }
            objects.push(ObjectEvidence {
                object_id: o.id.clone(),
                sip_id: o.sip_id.clone(),
                filename: o.filename.clone(),
                size: o.size,
                sha512: o.sha512.clone(),
                declared_algorithm: o.declared_algorithm.clone(),
                declared_digest: o.declared_digest.clone(),
                check,
            });
        }
        let mine: HashSet<&str> = [u.id.as_str(), u.transfer_id.as_str(), u.aip_id.as_str()]
            .into_iter()
            .chain(u.objects.iter().map(|o| o.id.as_str()))
            .collect();
        let logbook: Vec<ProvenEntry> = proven
            .iter()
            .filter(|(s, _)| mine.contains(s.as_str()))
            .map(|(_, p)| p.clone())
            .collect();
        if logbook.is_empty() {
            problems.push("no logbook entry names this unit or its transfer".into());
        }
        for p in logbook.iter().filter(|p| !p.proof_ok) {
            problems.push(format!("logbook entry {} is not proven by its seal", p.entry["seq"]));
        }
        out.push(UnitEvidence {
            unit_id: u.id.clone(),
            sip_id: u.sip_id.clone(),
            title: u.title.clone(),
            aip_id: u.aip_id.clone(),
            originating_agency: u.originating_agency.clone(),
            transfer: transfer_json,
            objects,
            logbook,
            verdict: if problems.is_empty() { "OK".into() } else { "KO".into() },
            problems,
        });
    }
    let id = format!("RVP-{}", uuid::Uuid::new_v4().simple());
    let report = Report {
        format: FORMAT.into(),
        id: id.clone(),
        tenant: tenant.into(),
        archival_agency: t.archival_agency.clone(),
        created_by: who.id.clone(),
        created_at: Utc::now(),
        verdict: if out.iter().all(|u| u.verdict == "OK") {
            "OK".into()
        } else {
            "KO".into()
        },
        units: out,
        keys: vec![serde_json::to_value(a.journal.public_key())?],
        procedure: PROCEDURE.iter().map(|s| (*s).to_owned()).collect(),
    };
    let bytes = serde_json::to_vec_pretty(&report)?;
    let sha512 = hex::encode(Sha512::digest(&bytes));
    let key = format!("probative/{id}/report.json");
    client
        .put_object(&t.namespace, &key, bytes.as_slice(), Some(bytes.len() as u64), None)
        .await?;
    a.journal
        .record(
            tenant,
            "probative.report",
            if report.verdict == "OK" { "OK" } else { "WARNING" },
            &who.id,
            Some(&id),
            json!({"units": ids, "verdict": report.verdict, "report": key, "report_sha512": sha512,
                   "entries": report.units.iter().map(|u| u.logbook.len()).sum::<usize>()}),
        )
        .await?;
    Ok(Stored {
        id,
        key,
        sha512,
        size: bytes.len() as u64,
        report,
    })
}

/// A stored report, as stored (its bytes are what was logged).
pub async fn get(a: &Archive, tenant: &str, id: &str) -> Result<Vec<u8>> {
    if !id.starts_with("RVP-") || !id[4..].bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ArchiveError::NotFound(format!("probative-value report `{id}`")));
    }
    let t = a.refs.tenant(tenant).await?;
    let mut bytes = Vec::new();
    a.store
        .client()
        .get_object(
            &t.namespace,
            &format!("probative/{id}/report.json"),
            0,
            None,
            &mut bytes,
            None,
        )
        .await
        .map_err(|e| match ArchiveError::from(e) {
            ArchiveError::NotFound(_) => ArchiveError::NotFound(format!("probative-value report `{id}`")),
            other => other,
        })?;
    Ok(bytes)
}
