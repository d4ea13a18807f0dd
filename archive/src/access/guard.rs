//! Enforcement: where content leaves the archive (search, unit view, object download, DIP),
//! what the caller may see and take. Every refusal is written in the tenant's logbook with its
//! reason (`access.denied`).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::communicability::Communicability;
use super::contract::{AccessContract, ACCESS_CONTRACT};
use crate::auth::{Principal, Role};
use crate::error::{ArchiveError, Result};
use crate::model::{ObjectRecord, Transfer, UnitRecord};
use crate::service::Archive;

/// What a caller may reach in a tenant.
#[derive(Debug, Clone)]
pub enum Scope {
    /// Archivists and the control authority: the whole tenant, communicable or not.
    TenantWide,
    /// A `requester`: what its access contract grants.
    Contract(AccessContract),
}

impl Scope {
    pub fn contract(&self) -> Option<&AccessContract> {
        match self {
            Scope::TenantWide => None,
            Scope::Contract(c) => Some(c),
        }
    }
}

/// An approved derogation: this principal may take the unit's content although it is not
/// communicable (written when a delivery's derogation is approved by both authorities).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grant {
    pub principal: String,
    pub unit: String,
    pub delivery: String,
    pub granted_at: chrono::DateTime<chrono::Utc>,
}

/// Resolves the caller's scope (after `Archive::authorize`). A requester without a usable
/// contract is refused, and the refusal logged.
pub async fn scope(a: &Archive, who: &Principal, tenant: &str) -> Result<Scope> {
    if who.all_tenants || who.role != Role::Requester {
        return Ok(Scope::TenantWide);
    }
    let refuse = |e: ArchiveError| async move {
        a.journal.denied(tenant, tenant, who, &e).await;
        Err::<Scope, _>(e)
    };
    let Some(id) = who.access_contract.as_deref() else {
        return refuse(ArchiveError::Forbidden(
            "this requester token has no access contract; ask an operator for a token created with one".into(),
        ))
        .await;
    };
    let contract: AccessContract = match a.refs.get(tenant, ACCESS_CONTRACT, id).await {
        Ok(c) => c,
        Err(ArchiveError::NotFound(_)) => {
            return refuse(ArchiveError::Forbidden(format!(
                "the access contract `{id}` of this token no longer exists; ask an archivist"
            )))
            .await
        }
        Err(e) => return Err(e),
    };
    if !contract.active {
        return refuse(ArchiveError::Forbidden(format!(
            "the access contract `{id}` is inactive; ask an archivist"
        )))
        .await;
    }
    Ok(Scope::Contract(contract))
}

/// Logs a refusal about `subject` and returns it.
pub async fn refuse(a: &Archive, who: &Principal, tenant: &str, subject: &str, e: ArchiveError) -> ArchiveError {
    let detail = json!({
        "role": who.role.to_string(),
        "contract": who.access_contract,
        "reason": e.to_string(),
    });
    if let Err(le) = a
        .journal
        .record(tenant, "access.denied", "KO", &who.id, Some(subject), detail)
        .await
    {
        tracing::error!(
            "a refusal on `{tenant}`/{subject} by {} could not be logged: {le}",
            who.id
        );
    }
    e
}

/// Checks that the caller may see the unit's description on `today`; returns its
/// communicability. Outside the contract the unit does not exist for the caller (404).
pub async fn view(
    a: &Archive,
    who: &Principal,
    tenant: &str,
    scope: &Scope,
    unit: &UnitRecord,
    today: NaiveDate,
) -> Result<Communicability> {
    let c = Communicability::of(unit);
    let Some(contract) = scope.contract() else {
        return Ok(c);
    };
    if !contract.covers_agency(unit.originating_agency.as_deref()) {
        let e = ArchiveError::NotFound(format!("unit `{}`", unit.id));
        let logged = ArchiveError::Forbidden(format!(
            "unit of originating agency {:?}, outside access contract `{}`",
            unit.originating_agency.as_deref().unwrap_or("(none)"),
            contract.id
        ));
        refuse(a, who, tenant, &unit.id, logged).await;
        return Err(e);
    }
    if !contract.see_non_communicable && !c.on(today) {
        let e = ArchiveError::Forbidden(format!("unit `{}`: {}", unit.id, c.reason(today)));
        return Err(refuse(a, who, tenant, &unit.id, e).await);
    }
    Ok(c)
}

/// Checks that the caller may take the object's content on `today`.
pub async fn download(
    a: &Archive,
    who: &Principal,
    tenant: &str,
    scope: &Scope,
    unit: &UnitRecord,
    object: &ObjectRecord,
    today: NaiveDate,
) -> Result<()> {
    let c = view(a, who, tenant, scope, unit, today).await?;
    let Some(contract) = scope.contract() else {
        return Ok(());
    };
    if !contract.covers_version(object.version.as_deref()) {
        let e = ArchiveError::Forbidden(format!(
            "object `{}` is a {} version; access contract `{}` allows only {}",
            object.id,
            super::contract::usage_of(object.version.as_deref()),
            contract.id,
            contract.object_usages.join(", ")
        ));
        return Err(refuse(a, who, tenant, &object.id, e).await);
    }
    if !c.on(today) && !granted(a, tenant, &who.id, &unit.id).await? {
        let e = ArchiveError::Forbidden(format!(
            "unit `{}` {}; with a derogation, ask for it with `archipel archive deliver --derogation`",
            unit.id,
            c.reason(today)
        ));
        return Err(refuse(a, who, tenant, &unit.id, e).await);
    }
    Ok(())
}

/// Whether an approved derogation lets `principal` take `unit`.
pub async fn granted(a: &Archive, tenant: &str, principal: &str, unit: &str) -> Result<bool> {
    Ok(a.store
        .get::<Grant>(&crate::keys::access_grant(tenant, principal, unit))
        .await?
        .is_some())
}

/// Whether a transfer is the caller's: transferring-agency tokens follow only the transfers
/// they sent or that name their agency; other roles see every transfer of the tenant.
pub fn own_transfer(who: &Principal, t: &Transfer) -> bool {
    if who.all_tenants || who.role != Role::TransferringAgency {
        return true;
    }
    t.submitted_by == who.id || (who.agency.is_some() && t.transferring_agency == who.agency)
}

/// Refuses (404, logged) a transfer that is not the caller's.
pub async fn check_transfer(a: &Archive, who: &Principal, tenant: &str, t: &Transfer) -> Result<()> {
    if own_transfer(who, t) {
        return Ok(());
    }
    let logged = ArchiveError::Forbidden(format!(
        "transfer of agency {:?}, not this token's agency {:?}",
        t.transferring_agency.as_deref().unwrap_or("(unknown)"),
        who.agency.as_deref().unwrap_or("")
    ));
    refuse(a, who, tenant, &t.id, logged).await;
    Err(ArchiveError::NotFound(format!("transfer `{}`", t.id)))
}
