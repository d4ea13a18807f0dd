//! Vitam tenants are integers (`X-Tenant-Id: 3`); Archipel's are names. Each tenant gets a
//! numeric alias the first time the Vitam door or an operator asks for it, kept in the cluster:
//! `doors/vitam/alias/<n>` names the tenant, `t/<t>/door/vitam-alias` holds its number. Both are
//! created only if absent, so fronts racing on a new tenant agree on one number (the loser's
//! claimed number stays pointing to the same tenant, harmlessly unused).

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::service::Archive;

/// Attempts before giving up when other fronts keep taking the numbers tried.
const ATTEMPTS: usize = 32;

/// The alias of `tenant`, given now if it has none.
pub async fn alias_of(a: &Archive, tenant: &str) -> Result<u32> {
    if let Some(n) = a.store.get::<u32>(&keys::vitam_alias_of(tenant)).await? {
        return Ok(n.value);
    }
    a.refs.tenant(tenant).await?;
    let taken = a.store.scan::<String>(keys::VITAM_ALIASES).await?;
    let first = taken
        .iter()
        .filter_map(|(k, _)| k.rsplit('/').next()?.parse::<u32>().ok())
        .max()
        .map_or(0, |m| m + 1);
    for next in (first..).take(ATTEMPTS) {
        if a.store.create(&keys::vitam_alias(next), &tenant.to_owned()).await? {
            if a.store.create(&keys::vitam_alias_of(tenant), &next).await? {
                return Ok(next);
            }
            break;
        }
    }
    a.store
        .get::<u32>(&keys::vitam_alias_of(tenant))
        .await?
        .map(|v| v.value)
        .ok_or_else(|| ArchiveError::Unavailable(format!("no Vitam tenant number could be given to `{tenant}`")))
}
