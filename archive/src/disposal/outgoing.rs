//! Archives leaving Archipel: restitution to the originating agency and transfer out to
//! another archive (docs/archive.md, "Restitution and transfer out").
//!
//! Both build the same package (`outpackage`: an ArchiveTransfer SIP of the units and their
//! objects) and wait for the recipient's answer. Only the answer lets the units go: the
//! originating agency's Acknowledgement of a restitution, the receiving archive's
//! ArchiveTransferReply `OK` of a transfer out (a `KO` changes nothing). The deletion then runs
//! as an elimination whose authority is that answer (`execute`, `ProposalKind`), so it keeps the
//! same guarantees: elimination record, rewritten packs, released locks, register movement,
//! ArchiveDestructionNotification. The record lives under `t/<tenant>/outgoing/<id>`; the
//! package and messages as objects under `outgoing/<id>/`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use archipel_seda::authorization::AuthorizationDecision;
use archipel_seda::outgoing::{
    parse_acknowledgement, parse_transfer_reply, write_restitution_reply, write_restitution_request, RestitutionMessage,
};
use archipel_seda::reply::{write_acknowledgement, Acknowledgement};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::proposal::{self, MessageRef, Proposal, ProposalKind, ProposalStatus, ProposedUnit, UnitDecision, Visa};
use crate::auth::Principal;
use crate::error::{ArchiveError, Result};
use crate::model::UnitRecord;
use crate::service::Archive;

/// Units per restitution or transfer out (the record is one cluster value).
pub const MAX_UNITS: usize = proposal::MAX_UNITS;

pub fn key(tenant: &str, id: &str) -> String {
    format!("t/{tenant}/outgoing/{id}")
}
fn prefix(tenant: &str) -> String {
    format!("t/{tenant}/outgoing/")
}
pub fn object_key(id: &str, name: &str) -> String {
    format!("outgoing/{id}/{name}")
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Restitution,
    TransferOut,
}

impl Kind {
    /// The logbook's event prefix.
    pub fn event(self) -> &'static str {
        match self {
            Kind::Restitution => "restitution",
            Kind::TransferOut => "transfer_out",
        }
    }
    fn proposal_kind(self) -> ProposalKind {
        match self {
            Kind::Restitution => ProposalKind::Restitution,
            Kind::TransferOut => ProposalKind::TransferOut,
        }
    }
    fn name(self, id: &str) -> String {
        match self {
            Kind::Restitution => format!("restitution `{id}`"),
            Kind::TransferOut => format!("transfer out `{id}`"),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The package is being written (see `progress`).
    Building,
    /// The package is ready: waiting for the recipient's answer.
    Ready,
    /// The package could not be built (see `error`); nothing changed.
    Failed,
    /// The receiving archive answered KO: the units stay.
    Rejected,
    /// The recipient took the units; their local deletion runs (elimination `elimination`).
    Accepted,
    /// The units left: deleted here, with their elimination record.
    Executed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Progress {
    pub objects_done: u64,
    pub objects_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Package {
    pub key: String,
    pub size: u64,
    pub sha512: String,
    /// The MessageIdentifier of its ArchiveTransfer.
    pub message_identifier: String,
}

/// A message of the exchange, stored as an object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// `request`, `reply` (restitution), `transfer` (the package's manifest), `answer`.
    pub name: String,
    pub message_identifier: String,
    pub key: String,
}

/// The recipient's answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Answer {
    pub message_identifier: String,
    pub accepted: bool,
    /// The ArchiveTransferReply's ReplyCode (transfer out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<String>,
    /// The message's comments: a refusal's reason, a receipt's remark.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<String>,
    /// Who recorded it.
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outgoing {
    pub id: String,
    pub kind: Kind,
    pub tenant: String,
    pub status: Status,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who receives the units: the originating agency (restitution) or the receiving archival
    /// agency (transfer out), as identified in SEDA messages.
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archival_agreement: Option<String>,
    pub seda_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub units: Vec<ProposedUnit>,
    pub progress: Progress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The elimination that deletes the units locally once the recipient took them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elimination: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Outgoing {
    /// The MessageIdentifier of the package's ArchiveTransfer.
    pub fn message_identifier(&self) -> String {
        format!("{}-TRANSFER", self.id)
    }

    pub fn message(&self, name: &str) -> Option<&Message> {
        self.messages
            .iter()
            .find(|m| m.name == name || m.message_identifier == name)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutgoingRequest {
    /// The units (system ids); their descendants go with them.
    pub unit_ids: Vec<String>,
    /// Restitution: the originating agency the units go back to (default: theirs).
    #[serde(default)]
    pub originating_agency: Option<String>,
    /// Transfer out: the receiving archive's identifier (its ArchivalAgency).
    #[serde(default)]
    pub archival_agency: Option<String>,
    /// The agreement the recipient ingests under (ArchivalAgreement of the ArchiveTransfer).
    #[serde(default)]
    pub archival_agreement: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub seda_version: Option<String>,
}

pub async fn save(a: &Archive, o: &Outgoing) -> Result<()> {
    a.store.put(&key(&o.tenant, &o.id), o).await
}

pub async fn get(a: &Archive, tenant: &str, kind: Kind, id: &str) -> Result<Outgoing> {
    match a.store.get::<Outgoing>(&key(tenant, id)).await? {
        Some(v) if v.value.kind == kind => Ok(v.value),
        _ => Err(ArchiveError::NotFound(kind.name(id))),
    }
}

pub async fn list(a: &Archive, tenant: &str, kind: Kind) -> Result<Vec<Outgoing>> {
    let mut out: Vec<Outgoing> = a
        .store
        .scan::<Outgoing>(&prefix(tenant))
        .await?
        .into_iter()
        .map(|(_, o)| o)
        .filter(|o| o.kind == kind)
        .collect();
    out.sort_by_key(|x| x.created_at);
    Ok(out)
}

/// `ids` and every unit below them in the catalog.
fn with_descendants(units: &HashMap<String, UnitRecord>, ids: &[String]) -> Result<Vec<String>> {
    let unknown: Vec<&String> = ids.iter().filter(|id| !units.contains_key(*id)).collect();
    if !unknown.is_empty() {
        return Err(ArchiveError::Invalid(format!(
            "no such unit in this tenant: {}; nothing was started",
            unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for u in units.values() {
        for p in u.parent_ids.iter().chain(&u.parent_id) {
            children.entry(p.as_str()).or_default().push(u.id.as_str());
        }
    }
    let mut seen: HashSet<&str> = HashSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        order.push(id.to_owned());
        if let Some(c) = children.get(id) {
            let mut c = c.clone();
            c.sort_unstable();
            stack.extend(c.into_iter().rev());
        }
    }
    Ok(order)
}

/// Why each of `ids` cannot leave today: a hold in force, an open communication, another
/// restitution or transfer out in progress.
async fn blockers(
    a: &Archive,
    tenant: &str,
    units: &HashMap<String, UnitRecord>,
    ids: &[String],
    today: NaiveDate,
) -> Result<Vec<String>> {
    let communications = super::pending_communications(a, tenant).await?;
    let mut busy: HashMap<String, String> = HashMap::new();
    for o in a
        .store
        .scan::<Outgoing>(&prefix(tenant))
        .await?
        .into_iter()
        .map(|(_, o)| o)
    {
        if matches!(o.status, Status::Building | Status::Ready | Status::Accepted) {
            for u in o.units {
                busy.insert(u.unit_id, o.id.clone());
            }
        }
    }
    let mut problems = Vec::new();
    for id in ids {
        let Some(u) = units.get(id) else { continue };
        let holds = super::analysis::active_holds(u, today);
        if !holds.is_empty() {
            problems.push(format!(
                "unit `{id}` is under a legal hold ({}) in force on {today}",
                holds.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(c) = communications.get(id).filter(|c| !c.is_empty()) {
            problems.push(format!("unit `{id}` is in an open communication ({})", c.join(", ")));
        }
        if let Some(o) = busy.get(id) {
            problems.push(format!("unit `{id}` already leaves with {o}"));
        }
    }
    Ok(problems)
}

/// Starts a restitution or a transfer out: checks, writes the messages, then builds the
/// package in the background (the record's `progress` follows it).
pub async fn start(
    a: &Arc<Archive>,
    tenant: &str,
    who: &Principal,
    kind: Kind,
    req: OutgoingRequest,
) -> Result<Outgoing> {
    let version = super::modification::seda_version(req.seda_version.as_deref())?;
    let t = a.refs.tenant(tenant).await?;
    if req.unit_ids.is_empty() {
        return Err(ArchiveError::Invalid(
            "give the units (unit_ids): nothing was started".into(),
        ));
    }
    let units = super::all_units(a, tenant).await?;
    let ids = with_descendants(&units, &req.unit_ids)?;
    if ids.len() > MAX_UNITS {
        return Err(ArchiveError::Invalid(format!(
            "{} units (with their descendants), more than {MAX_UNITS} at once: split the selection",
            ids.len()
        )));
    }
    let today = Utc::now().date_naive();
    let problems = blockers(a, tenant, &units, &ids, today).await?;
    if !problems.is_empty() {
        return Err(ArchiveError::Conflict(format!(
            "nothing was started: {}",
            problems.join("; ")
        )));
    }
    let recipient = match kind {
        Kind::Restitution => {
            if req.archival_agency.is_some() {
                return Err(ArchiveError::Invalid(
                    "a restitution goes back to the originating agency: give originating_agency, not archival_agency"
                        .into(),
                ));
            }
            let agencies: HashSet<Option<&String>> = ids
                .iter()
                .filter_map(|id| units.get(id))
                .map(|u| u.originating_agency.as_ref())
                .collect();
            let theirs: Vec<Option<&String>> = agencies.into_iter().collect();
            match (theirs.as_slice(), &req.originating_agency) {
                ([Some(own)], None) => (*own).clone(),
                ([Some(own)], Some(asked)) if *own == asked => asked.clone(),
                ([Some(own)], Some(asked)) => {
                    return Err(ArchiveError::Invalid(format!(
                        "these units belong to the originating agency `{own}`, not `{asked}`: only it can get them back"
                    )))
                }
                ([None], _) => {
                    return Err(ArchiveError::Invalid(
                        "the units name no originating agency: there is nobody to give them back to (a transfer out may suit)"
                            .into(),
                    ))
                }
                _ => {
                    return Err(ArchiveError::Invalid(
                        "the units (with their descendants) do not all name the same originating agency: restitute each agency's units apart"
                            .into(),
                    ))
                }
            }
        }
        Kind::TransferOut => {
            if req.originating_agency.is_some() {
                return Err(ArchiveError::Invalid(
                    "a transfer out goes to another archive: give archival_agency (the receiving archive), not originating_agency"
                        .into(),
                ));
            }
            match req.archival_agency.as_deref().map(str::trim) {
                Some(r) if !r.is_empty() && r != t.archival_agency => r.to_owned(),
                Some(r) if r == t.archival_agency => {
                    return Err(ArchiveError::Invalid(format!(
                        "`{r}` is this tenant's own archival agency: a transfer out goes to another archive"
                    )))
                }
                _ => {
                    return Err(ArchiveError::Invalid(
                        "give the receiving archive's identifier (archival_agency)".into(),
                    ))
                }
            }
        }
    };
    let prefix_id = match kind {
        Kind::Restitution => "REST",
        Kind::TransferOut => "TOUT",
    };
    let id = format!("{prefix_id}-{}", uuid::Uuid::new_v4().simple());
    let now = Utc::now();
    let proposed: Vec<ProposedUnit> = ids
        .iter()
        .filter_map(|id| units.get(id))
        .map(|u| ProposedUnit {
            unit_id: u.id.clone(),
            sip_id: u.sip_id.clone(),
            title: u.title.clone(),
            aip_id: u.aip_id.clone(),
            transfer_id: u.transfer_id.clone(),
            originating_agency: u.originating_agency.clone(),
            objects: u.objects.len(),
            bytes: u.objects.iter().map(|o| o.size).sum(),
            decision: None,
            outcome: None,
        })
        .collect();
    let mut o = Outgoing {
        id: id.clone(),
        kind,
        tenant: tenant.into(),
        status: Status::Building,
        created_by: who.id.clone(),
        created_at: now,
        updated_at: now,
        recipient: recipient.clone(),
        archival_agreement: req.archival_agreement.clone().filter(|s| !s.trim().is_empty()),
        seda_version: version.as_str().into(),
        comment: req.comment.clone(),
        units: proposed,
        progress: Progress::default(),
        package: None,
        messages: Vec::new(),
        answer: None,
        elimination: None,
        error: None,
    };
    if kind == Kind::Restitution {
        // The agency's request (written on its behalf when the archivist records it) and
        // Archipel's reply granting it.
        let base = RestitutionMessage {
            version,
            message_identifier: format!("{id}-REQ"),
            date: now,
            comments: req.comment.iter().cloned().collect(),
            archival_agreement: None,
            message_request_identifier: None,
            reply_code: None,
            unit_identifiers: ids.clone(),
            archival_agency: t.archival_agency.clone(),
            originating_agency: recipient.clone(),
        };
        let request = write_restitution_request(&base)
            .map_err(|e| ArchiveError::Invalid(format!("the ArchiveRestitutionRequest cannot be written: {e}")))?;
        let reply = write_restitution_reply(&RestitutionMessage {
            message_identifier: format!("{id}-REPLY"),
            message_request_identifier: Some(format!("{id}-REQ")),
            reply_code: Some("OK".into()),
            comments: vec![format!(
                "Restitution accordée : le paquet {} suit ; les unités seront supprimées du SAE après son accusé de réception",
                o.message_identifier()
            )],
            ..base
        })
        .map_err(|e| ArchiveError::Invalid(format!("the ArchiveRestitutionRequestReply cannot be written: {e}")))?;
        for (name, mid, xml) in [
            ("request", format!("{id}-REQ"), request),
            ("reply", format!("{id}-REPLY"), reply),
        ] {
            let k = object_key(&id, &format!("{name}.xml"));
            a.store
                .client()
                .put_object(&t.namespace, &k, xml.as_slice(), Some(xml.len() as u64), None)
                .await?;
            o.messages.push(Message {
                name: name.into(),
                message_identifier: mid,
                key: k,
            });
        }
    }
    if !a.store.create(&key(tenant, &id), &o).await? {
        return Err(ArchiveError::Internal(format!("{} exists already", kind.name(&id))));
    }
    a.journal
        .record(
            tenant,
            &format!("{}.started", kind.event()),
            "OK",
            &who.id,
            Some(&id),
            serde_json::json!({"recipient": recipient, "units": o.units.len(),
                               "objects": o.units.iter().map(|u| u.objects).sum::<usize>(),
                               "bytes": o.units.iter().map(|u| u.bytes).sum::<u64>()}),
        )
        .await?;
    spawn_build(a.clone(), tenant.to_owned(), id);
    Ok(o)
}

fn spawn_build(a: Arc<Archive>, tenant: String, id: String) {
    tokio::spawn(async move {
        let Ok(Some(current)) = a.store.get::<Outgoing>(&key(&tenant, &id)).await else {
            return;
        };
        let mut o = current.value;
        let result = async {
            let t = a.refs.tenant(&tenant).await?;
            super::outpackage::build(&a, &mut o, &t).await
        }
        .await;
        let event = format!("{}.package.built", o.kind.event());
        match result {
            Ok((package, manifest_key)) => {
                let detail = serde_json::json!({"units": o.units.len(), "objects": o.progress.objects_total,
                    "bytes": o.progress.bytes_total, "package_size": package.size, "package_sha512": package.sha512,
                    "message_identifier": package.message_identifier});
                o.messages.push(Message {
                    name: "transfer".into(),
                    message_identifier: package.message_identifier.clone(),
                    key: manifest_key,
                });
                o.package = Some(package);
                // Logged before it is offered: a package nobody could account for never leaves.
                if let Err(e) = a
                    .journal
                    .record(&tenant, &event, "OK", "archive", Some(&id), detail)
                    .await
                {
                    o.status = Status::Failed;
                    o.error = Some(format!("the package could not be logged: {e}; start again"));
                } else {
                    o.status = Status::Ready;
                }
            }
            Err(e) => {
                tracing::warn!(tenant, id, "package build failed: {e}");
                o.status = Status::Failed;
                o.error = Some(e.to_string());
                let _ = a
                    .journal
                    .record(
                        &tenant,
                        &event,
                        "KO",
                        "archive",
                        Some(&id),
                        serde_json::json!({"error": e.to_string()}),
                    )
                    .await;
            }
        }
        o.updated_at = Utc::now();
        if let Err(e) = save(&a, &o).await {
            tracing::warn!(tenant, id, "the package's state could not be saved: {e}");
        }
    });
}

/// What the recipient sends back.
pub enum AnswerInput {
    /// Its own message: an Acknowledgement (restitution) or an ArchiveTransferReply.
    Xml(Vec<u8>),
    /// Restitution only: the archivist records the agency's receipt; Archipel writes the
    /// Acknowledgement on its behalf.
    Received { comment: Option<String> },
}

/// Records the recipient's answer; when it takes the units, deletes them locally.
pub async fn answer(
    a: &Arc<Archive>,
    tenant: &str,
    who: &Principal,
    kind: Kind,
    id: &str,
    input: AnswerInput,
) -> Result<Outgoing> {
    let mut o = get(a, tenant, kind, id).await?;
    match o.status {
        Status::Ready => {}
        // A deletion that stopped half-way is finished by answering again.
        Status::Accepted => return finish(a, tenant, who, o).await,
        other => {
            return Err(ArchiveError::Conflict(format!(
                "{} is {other:?}: {}",
                kind.name(id),
                match other {
                    Status::Building => "its package is not ready yet; wait for status ready",
                    Status::Failed => "its package could not be built; start a new one",
                    _ => "it has its answer already",
                }
            )))
        }
    }
    let t = a.refs.tenant(tenant).await?;
    let package = o
        .package
        .clone()
        .ok_or_else(|| ArchiveError::Internal(format!("{} is ready without a package", kind.name(id))))?;
    let version = super::modification::seda_version(Some(&o.seda_version))?;
    let (xml, recorded) = match (kind, input) {
        (Kind::Restitution, AnswerInput::Received { comment }) => {
            let mid = format!("{id}-ACK");
            let comments: Vec<String> = comment.into_iter().collect();
            let xml = write_acknowledgement(&Acknowledgement {
                version,
                message_identifier: mid.clone(),
                date: Utc::now(),
                comments: comments.clone(),
                message_received_identifier: Some(package.message_identifier.clone()),
                sender: o.recipient.clone(),
                receiver: t.archival_agency.clone(),
            })
            .map_err(|e| ArchiveError::Invalid(format!("the Acknowledgement cannot be written: {e}")))?;
            (
                xml,
                Answer {
                    message_identifier: mid,
                    accepted: true,
                    reply_code: None,
                    comments,
                    by: who.id.clone(),
                    at: Utc::now(),
                },
            )
        }
        (Kind::Restitution, AnswerInput::Xml(xml)) => {
            let ack = parse_acknowledgement(&xml)
                .map_err(|e| ArchiveError::Invalid(format!("the Acknowledgement is refused: {e}")))?;
            let known = [package.message_identifier.clone(), format!("{id}-REPLY")];
            if !known.contains(&ack.message_received_identifier) {
                return Err(ArchiveError::Invalid(format!(
                    "the Acknowledgement is for message `{}`, not this restitution's package `{}`",
                    ack.message_received_identifier, package.message_identifier
                )));
            }
            if ack.sender != o.recipient {
                return Err(ArchiveError::Invalid(format!(
                    "the Acknowledgement comes from `{}`, but the units went back to `{}`",
                    ack.sender, o.recipient
                )));
            }
            let answer = Answer {
                message_identifier: ack.message_identifier,
                accepted: true,
                reply_code: None,
                comments: ack.comments,
                by: who.id.clone(),
                at: Utc::now(),
            };
            (xml, answer)
        }
        (Kind::TransferOut, AnswerInput::Xml(xml)) => {
            let atr = parse_transfer_reply(&xml)
                .map_err(|e| ArchiveError::Invalid(format!("the ArchiveTransferReply is refused: {e}")))?;
            if atr.message_request_identifier != package.message_identifier {
                return Err(ArchiveError::Invalid(format!(
                    "the ArchiveTransferReply answers `{}`, not this transfer's `{}`",
                    atr.message_request_identifier, package.message_identifier
                )));
            }
            if atr.archival_agency != o.recipient || atr.transferring_agency != t.archival_agency {
                return Err(ArchiveError::Invalid(format!(
                    "the ArchiveTransferReply is between `{}` (archive) and `{}` (transferring agency), but this transfer went from `{}` to `{}`",
                    atr.archival_agency, atr.transferring_agency, t.archival_agency, o.recipient
                )));
            }
            let answer = Answer {
                message_identifier: atr.message_identifier.clone(),
                accepted: atr.accepted(),
                reply_code: Some(atr.reply_code.clone()),
                comments: atr.comments.clone(),
                by: who.id.clone(),
                at: Utc::now(),
            };
            (xml, answer)
        }
        (Kind::TransferOut, AnswerInput::Received { .. }) => {
            return Err(ArchiveError::Invalid(
                "a transfer out is answered by the receiving archive's ArchiveTransferReply (send it as XML)".into(),
            ))
        }
    };
    let answer_key = object_key(id, "answer.xml");
    a.store
        .client()
        .put_object(&t.namespace, &answer_key, xml.as_slice(), Some(xml.len() as u64), None)
        .await?;
    o.messages.push(Message {
        name: "answer".into(),
        message_identifier: recorded.message_identifier.clone(),
        key: answer_key.clone(),
    });
    let accepted = recorded.accepted;
    a.journal
        .record(
            tenant,
            &format!("{}.answered", kind.event()),
            if accepted { "OK" } else { "KO" },
            &who.id,
            Some(id),
            serde_json::json!({"answer": recorded.message_identifier, "reply_code": recorded.reply_code,
                               "accepted": accepted, "recipient": o.recipient}),
        )
        .await?;
    o.answer = Some(recorded.clone());
    o.updated_at = Utc::now();
    if !accepted {
        o.status = Status::Rejected;
        save(a, &o).await?;
        drop_package(a, &t.namespace, &o).await;
        return Ok(o);
    }
    // The deletion's authority is the answer, as the visa is an elimination's.
    let pid = format!("{id}-DEL");
    let p = Proposal {
        id: pid.clone(),
        kind: kind.proposal_kind(),
        tenant: tenant.into(),
        status: ProposalStatus::Approved,
        created_by: who.id.clone(),
        created_at: Utc::now(),
        at: Utc::now().date_naive(),
        comment: o.comment.clone(),
        control_authority: o.recipient.clone(),
        seda_version: o.seda_version.clone(),
        units: o
            .units
            .iter()
            .cloned()
            .map(|mut u| {
                u.decision = Some(UnitDecision::Approved);
                u
            })
            .collect(),
        request: MessageRef {
            message_identifier: package.message_identifier.clone(),
            key: package.key.clone(),
        },
        visa: Some(Visa {
            message_identifier: recorded.message_identifier.clone(),
            key: answer_key,
            decision: AuthorizationDecision::Approved,
            by: who.id.clone(),
            at: Utc::now(),
            refused_units: Vec::new(),
            comments: Vec::new(),
        }),
        execution: None,
    };
    // Already there when an earlier answer stopped before recording it: that one goes on.
    if !a.store.create(&proposal::key(tenant, &pid), &p).await? {
        tracing::info!("deletion {pid} exists already: resuming it");
    }
    o.status = Status::Accepted;
    o.elimination = Some(pid);
    save(a, &o).await?;
    finish(a, tenant, who, o).await
}

/// Deletes the package once it has no use: the units left (their bytes must not stay behind in
/// it) or the recipient refused them (they are still here). The manifest stays, as the record of
/// what was sent.
async fn drop_package(a: &Archive, namespace: &str, o: &Outgoing) {
    if let Some(p) = &o.package {
        if let Err(e) = a.store.client().delete_object(namespace, &p.key).await {
            tracing::warn!(
                "the package {namespace}/{} of {} could not be deleted: {e}",
                p.key,
                o.id
            );
        }
    }
}

/// Runs (or finishes) the local deletion of an accepted restitution or transfer out.
async fn finish(a: &Arc<Archive>, tenant: &str, who: &Principal, mut o: Outgoing) -> Result<Outgoing> {
    let pid = o
        .elimination
        .clone()
        .ok_or_else(|| ArchiveError::Internal(format!("{} is accepted without its deletion", o.kind.name(&o.id))))?;
    let p = super::execute::execute(a, tenant, who, &pid).await?;
    let done =
        p.status == ProposalStatus::Executed && p.execution.as_ref().is_some_and(|e| e.pending_deletes.is_empty());
    if done {
        for u in &mut o.units {
            u.outcome = p
                .units
                .iter()
                .find(|x| x.unit_id == u.unit_id)
                .and_then(|x| x.outcome.clone());
        }
        o.status = Status::Executed;
        o.updated_at = Utc::now();
        save(a, &o).await?;
        let t = a.refs.tenant(tenant).await?;
        drop_package(a, &t.namespace, &o).await;
        a.journal
            .record(
                tenant,
                &format!("{}.executed", o.kind.event()),
                "OK",
                &who.id,
                Some(&o.id),
                serde_json::json!({"deletion": pid, "eliminated": p.execution.as_ref().map_or(0, |e| e.eliminated.len()),
                                   "answer": o.answer.as_ref().map(|x| x.message_identifier.clone())}),
            )
            .await?;
    }
    Ok(o)
}

/// Which approved units of a restitution's or transfer out's deletion go today: all that are
/// still in the catalog, except those a hold or an open communication keeps, and the parents
/// of a unit kept (it would be left without them).
pub fn choose_leaving(
    units: &HashMap<String, UnitRecord>,
    communications: &HashMap<String, Vec<String>>,
    today: NaiveDate,
    p: &mut Proposal,
) -> Vec<String> {
    let mut chosen: HashSet<String> = HashSet::new();
    for u in &mut p.units {
        let Some(rec) = units.get(&u.unit_id) else {
            u.outcome = Some("no longer in the catalog".into());
            continue;
        };
        let holds = super::analysis::active_holds(rec, today);
        if !holds.is_empty() {
            u.outcome = Some(format!(
                "kept: legal hold {} in force on {today}",
                holds.into_iter().collect::<Vec<_>>().join(", ")
            ));
        } else if let Some(c) = communications.get(&u.unit_id).filter(|c| !c.is_empty()) {
            u.outcome = Some(format!("kept: open communication {}", c.join(", ")));
        } else {
            chosen.insert(u.unit_id.clone());
        }
    }
    // A unit that stays keeps its ancestors.
    loop {
        let mut changed = false;
        for rec in units.values() {
            if chosen.contains(&rec.id) {
                continue;
            }
            for parent in rec.parent_ids.iter().chain(&rec.parent_id) {
                if chosen.remove(parent) {
                    changed = true;
                    if let Some(u) = p.units.iter_mut().find(|u| &u.unit_id == parent) {
                        u.outcome = Some(format!("kept: its child unit `{}` stays", rec.id));
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    p.units
        .iter()
        .filter(|u| chosen.contains(&u.unit_id))
        .map(|u| u.unit_id.clone())
        .collect()
}
