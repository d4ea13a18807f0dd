//! Tenants and their referentials: agencies, agreements, profiles and management rules.
//! Each change of a versioned referential keeps the previous version under its history key.

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{check_id, Agency, Agreement, Profile, Rule, Tenant};
use crate::store::{Expect, Store, Write};

/// Kinds of referential records, as they appear in keys and messages.
pub const AGENCY: &str = "agency";
pub const AGREEMENT: &str = "agreement";
pub const PROFILE: &str = "profile";
pub const RULE: &str = "rule";

/// A record with an id and a version number.
pub trait Versioned: Serialize + DeserializeOwned {
    fn id(&self) -> &str;
    fn version(&self) -> u32;
    fn set_version(&mut self, v: u32);
}

impl Versioned for Agreement {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn set_version(&mut self, v: u32) {
        self.version = v;
    }
}

impl Versioned for Profile {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn set_version(&mut self, v: u32) {
        self.version = v;
    }
}

pub struct Referentials {
    store: Store,
    /// Tenant namespaces are created encrypted at rest, owned by the tenant.
    encrypt: bool,
}

impl Referentials {
    pub fn new(store: Store, encrypt: bool) -> Self {
        Self { store, encrypt }
    }

    /// Creates a tenant and its object namespace. Creating the same tenant again is refused.
    pub async fn add_tenant(&self, id: &str, name: &str, archival_agency: &str) -> Result<Tenant> {
        crate::model::check_tenant_id(id)?;
        if archival_agency.trim().is_empty() {
            return Err(ArchiveError::Invalid("the archival agency identifier is empty".into()));
        }
        let tenant = Tenant {
            id: id.into(),
            name: if name.is_empty() { id.into() } else { name.into() },
            archival_agency: archival_agency.into(),
            namespace: keys::object_namespace(id),
            created_at: Utc::now(),
        };
        // The namespace first: a tenant record is never visible without its storage.
        let client = self.store.client();
        let created = match self.encrypt {
            true => client.create_namespace_encrypted(&tenant.namespace, None, 0, id).await,
            false => client.create_namespace(&tenant.namespace, None, 0).await,
        };
        // A namespace that already exists keeps its settings (an older unencrypted one stays so).
        match created {
            Ok(_) | Err(archipel_client::ClientError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if !self.store.create(&keys::tenant(id), &tenant).await? {
            return Err(ArchiveError::Conflict(format!("tenant `{id}` already exists")));
        }
        Ok(tenant)
    }

    pub async fn tenant(&self, id: &str) -> Result<Tenant> {
        self.store
            .get::<Tenant>(&keys::tenant(id))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| {
                ArchiveError::NotFound(format!(
                    "tenant `{id}`; create it with `archipel archive tenant add {id}`"
                ))
            })
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>> {
        Ok(self
            .store
            .scan(keys::TENANTS)
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .collect())
    }

    pub async fn put_agency(&self, tenant: &str, agency: &Agency) -> Result<()> {
        check_id("agency", &agency.id)?;
        self.store
            .put(&keys::referential(tenant, AGENCY, &agency.id), agency)
            .await
    }

    pub async fn agencies(&self, tenant: &str) -> Result<Vec<Agency>> {
        self.list(tenant, AGENCY).await
    }

    /// Stores a new version of a versioned record; the old one moves to the history.
    pub async fn put_versioned<T: Versioned>(&self, tenant: &str, kind: &str, mut record: T) -> Result<T> {
        check_id(kind, record.id())?;
        let key = keys::referential(tenant, kind, record.id());
        for _ in 0..8 {
            let current = self.store.get::<T>(&key).await?;
            let (expect, mut writes, version) = match &current {
                None => (Expect::Absent(key.clone()), vec![], 1),
                Some(c) => (
                    Expect::Revision(key.clone(), c.revision),
                    vec![Write::put(
                        keys::referential_version(tenant, kind, record.id(), c.value.version()),
                        &c.value,
                    )?],
                    c.value.version() + 1,
                ),
            };
            record.set_version(version);
            writes.push(Write::put(key.clone(), &record)?);
            if self.store.atomically(&[expect], writes).await? {
                return Ok(record);
            }
        }
        Err(ArchiveError::Conflict(format!(
            "{kind} `{}` is being changed by someone else; retry",
            record.id()
        )))
    }

    pub async fn get<T: DeserializeOwned>(&self, tenant: &str, kind: &str, id: &str) -> Result<T> {
        self.store
            .get::<T>(&keys::referential(tenant, kind, id))
            .await?
            .map(|v| v.value)
            .ok_or_else(|| ArchiveError::NotFound(format!("{kind} `{id}` in tenant `{tenant}`")))
    }

    pub async fn history<T: DeserializeOwned>(&self, tenant: &str, kind: &str, id: &str) -> Result<Vec<T>> {
        let prefix = format!("t/{tenant}/{kind}-history/{id}/");
        Ok(self.store.scan(&prefix).await?.into_iter().map(|(_, v)| v).collect())
    }

    pub async fn list<T: DeserializeOwned>(&self, tenant: &str, kind: &str) -> Result<Vec<T>> {
        Ok(self
            .store
            .scan(&keys::referentials(tenant, kind))
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect())
    }

    /// Imports rules from CSV (`RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement`,
    /// the columns Vitam uses). All rows are checked before any is stored. A rule that changes
    /// gets the next version and its previous one moves to the history; an unchanged rule keeps
    /// its version. Returns the rules as stored and the previous version of each changed one.
    pub async fn import_rules(&self, tenant: &str, csv: &str) -> Result<Vec<Rule>> {
        Ok(self.import_rules_versioned(tenant, csv).await?.0)
    }

    /// [`Self::import_rules`], also returning the previous version of every rule that changed.
    pub async fn import_rules_versioned(&self, tenant: &str, csv: &str) -> Result<(Vec<Rule>, Vec<Rule>)> {
        let mut rules = parse_rules_csv(csv)?;
        let current: std::collections::HashMap<String, Rule> = self
            .list::<Rule>(tenant, RULE)
            .await?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut batch = Vec::new();
        let mut changed = Vec::new();
        for r in &mut rules {
            if let Some(old) = current.get(&r.id) {
                let old_version = old.version.max(1);
                if (Rule {
                    version: old.version,
                    ..r.clone()
                }) == *old
                {
                    r.version = old_version;
                    continue;
                }
                r.version = old_version + 1;
                batch.push(Write::put(
                    keys::referential_version(tenant, RULE, &r.id, old_version),
                    old,
                )?);
                changed.push(old.clone());
            }
            batch.push(Write::put(keys::referential(tenant, RULE, &r.id), &*r)?);
        }
        for chunk in chunks(batch, 500) {
            self.store.atomically(&[], chunk).await?;
        }
        Ok((rules, changed))
    }
}

fn chunks(mut v: Vec<Write>, n: usize) -> Vec<Vec<Write>> {
    let mut out = Vec::new();
    while !v.is_empty() {
        let rest = v.split_off(v.len().min(n));
        out.push(v);
        v = rest;
    }
    out
}

/// Parses a rules CSV; see [`crate::rules::referential`].
pub fn parse_rules_csv(text: &str) -> Result<Vec<Rule>> {
    crate::rules::referential::parse(text)
}
