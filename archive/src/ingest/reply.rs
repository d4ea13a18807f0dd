//! The ArchiveTransferReply of a finished transfer, stored beside the AIPs of the tenant.

use archipel_seda::reply::{
    write_acknowledgement, write_transfer_reply, Acknowledgement, EventSubject, FormatIdentified, ReplyCode,
    ReplyDigest, ReplyEvent, ReplyGroup, ReplyObject, ReplyPhysical, ReplyUnit, TransferReply,
};
use archipel_seda::version::SedaVersion;
use chrono::Utc;

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{Reason, Transfer, TransferStatus, UnitRecord};
use crate::service::Archive;

fn event(r: &Reason, outcome: ReplyCode) -> ReplyEvent {
    let subject = r.subject.as_deref().map(|s| {
        if let Some(id) = s
            .strip_prefix("BinaryDataObject ")
            .or_else(|| s.strip_prefix("PhysicalDataObject "))
        {
            EventSubject::DataObject(id.into())
        } else if let Some(id) = s.strip_prefix("ArchiveUnit ") {
            EventSubject::ArchiveUnit(id.into())
        } else if let Some(e) = s.strip_prefix("entry ") {
            EventSubject::SipEntry(e.into())
        } else {
            EventSubject::Element(s.into())
        }
    });
    ReplyEvent {
        event_type: format!("CHECK_{}", r.step.to_uppercase().replace('-', "_")),
        outcome,
        detail: r.message.clone(),
        subject,
        date: Utc::now(),
    }
}

fn version_of(t: &Transfer) -> SedaVersion {
    match t.seda_version.as_deref() {
        Some("2.1") => SedaVersion::V2_1,
        Some("2.3") => SedaVersion::V2_3,
        _ => SedaVersion::V2_2,
    }
}

/// Builds the reply for `t`, with the units just stored (empty on KO).
pub fn build(t: &Transfer, archival_agency: &str, transferring_agency: &str, units: &[UnitRecord]) -> TransferReply {
    let code = match t.status {
        TransferStatus::Ok => ReplyCode::Ok,
        TransferStatus::Warning => ReplyCode::Warning,
        _ => ReplyCode::Ko,
    };
    let mut events: Vec<ReplyEvent> = t.errors.iter().map(|r| event(r, ReplyCode::Ko)).collect();
    events.extend(t.warnings.iter().map(|r| event(r, ReplyCode::Warning)));
    // The rules computed for each unit, so the transferring agency sees each end and its kind.
    events.extend(units.iter().filter_map(|u| {
        Some(ReplyEvent {
            event_type: "RULES".into(),
            outcome: ReplyCode::Ok,
            detail: crate::rules::describe::unit_rules(u)?,
            subject: Some(EventSubject::ArchiveUnit(u.sip_id.clone())),
            date: Utc::now(),
        })
    }));
    // A group referenced by several units is one object of the SIP: reply once for it.
    let mut seen = std::collections::HashSet::new();
    let group = |id: &Option<String>, system_id: &Option<String>| match (id, system_id) {
        (Some(g), Some(s)) => Some(ReplyGroup {
            group_id: g.clone(),
            system_id: s.clone(),
        }),
        _ => None,
    };
    let mut objects: Vec<ReplyObject> = units
        .iter()
        .flat_map(|u| u.objects.iter())
        .filter(|o| seen.insert(o.sip_id.clone()))
        .map(|o| ReplyObject {
            data_object_id: o.sip_id.clone(),
            system_id: o.id.clone(),
            format: Some(FormatIdentified {
                puid: o.puid.clone(),
                name: o.format_name.clone(),
                mime: o.mime.clone(),
            }),
            digest: Some(ReplyDigest {
                algorithm: "SHA-512".into(),
                value: o.sha512.clone(),
            }),
            size: Some(o.size),
            group: group(&o.group_id, &o.group_system_id),
            version: o.version.clone(),
            physical: None,
        })
        .collect();
    let physical = units
        .iter()
        .flat_map(|u| u.physical_objects.iter())
        .filter(|o| seen.insert(o.sip_id.clone()))
        .map(|o| ReplyObject {
            data_object_id: o.sip_id.clone(),
            system_id: o.id.clone(),
            format: None,
            digest: None,
            size: None,
            group: group(&o.group_id, &o.group_system_id),
            version: o.version.clone(),
            physical: Some(ReplyPhysical {
                physical_id: o.physical_id.clone(),
                dimensions: o
                    .dimensions
                    .iter()
                    .map(|d| (d.name.clone(), d.value.clone(), d.unit.clone()))
                    .collect(),
            }),
        });
    objects.extend(physical);
    TransferReply {
        version: version_of(t),
        message_identifier: format!("ATR-{}", t.id),
        date: Utc::now(),
        reply_code: code,
        message_request_identifier: t.message_identifier.clone(),
        grant_date: (code != ReplyCode::Ko).then(Utc::now),
        archival_agency: archival_agency.into(),
        transferring_agency: transferring_agency.into(),
        archival_agreement: t.agreement.clone(),
        comments: vec![format!("Archipel transfer {}", t.id)],
        events,
        objects,
        units: units
            .iter()
            .map(|u| ReplyUnit {
                unit_id: u.sip_id.clone(),
                system_id: u.id.clone(),
            })
            .collect(),
    }
}

/// Writes the ATR of a finished transfer to `atr/{id}.xml` in the tenant's namespace.
pub async fn send(a: &Archive, t: &mut Transfer, units: &[UnitRecord]) -> Result<()> {
    let tenant = a.refs.tenant(&t.tenant).await?;
    // Unreadable manifest: the reply goes to whoever sent it.
    let transferring = t.transferring_agency.clone().unwrap_or_else(|| t.submitted_by.clone());
    let reply = build(t, &tenant.archival_agency, &transferring, units);
    let xml =
        write_transfer_reply(&reply).map_err(|e| ArchiveError::Internal(format!("writing the ATR failed: {e}")))?;
    let key = keys::atr(&t.id);
    a.store
        .client()
        .put_object(&tenant.namespace, &key, xml.as_slice(), Some(xml.len() as u64), None)
        .await?;
    t.atr_key = Some(key);
    Ok(())
}

/// Acknowledges receipt of a transfer whose manifest could be read (SEDA's Acknowledgement),
/// stored as `ack/{id}.xml`. Best effort: the transfer goes on without it.
pub async fn acknowledge(a: &Archive, t: &mut Transfer, version: SedaVersion, archival_agency: &str) {
    let ack = Acknowledgement {
        version,
        message_identifier: format!("ACK-{}", t.id),
        date: Utc::now(),
        comments: vec![format!("Archipel received transfer {}", t.id)],
        message_received_identifier: t.message_identifier.clone(),
        sender: archival_agency.into(),
        receiver: t.transferring_agency.clone().unwrap_or_else(|| t.submitted_by.clone()),
    };
    let stored = async {
        let xml = write_acknowledgement(&ack).map_err(|e| ArchiveError::Internal(e.to_string()))?;
        let key = keys::ack(&t.id);
        a.store
            .client()
            .put_object(
                &keys::object_namespace(&t.tenant),
                &key,
                xml.as_slice(),
                Some(xml.len() as u64),
                None,
            )
            .await?;
        Ok::<_, ArchiveError>(key)
    }
    .await;
    match stored {
        Ok(key) => t.ack_key = Some(key),
        Err(e) => tracing::warn!("transfer {}: the acknowledgement could not be stored: {e}", t.id),
    }
}
