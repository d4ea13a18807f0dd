//! Tenants and their referentials: agencies, agreements, profiles and management rules.
//! Each change of a versioned referential keeps the previous version under its history key.

use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{ArchiveError, Result};
use crate::keys;
use crate::model::{check_id, Agency, Agreement, Profile, Rule, Tenant, RULE_TYPES};
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
    /// the columns Vitam uses). All rows are checked before any is stored.
    pub async fn import_rules(&self, tenant: &str, csv: &str) -> Result<Vec<Rule>> {
        let rules = parse_rules_csv(csv)?;
        let mut batch = Vec::new();
        for r in &rules {
            batch.push(Write::put(keys::referential(tenant, RULE, &r.id), r)?);
        }
        for chunk in chunks(batch, 500) {
            self.store.atomically(&[], chunk).await?;
        }
        Ok(rules)
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

const RULE_COLUMNS: [&str; 6] = [
    "RuleId",
    "RuleType",
    "RuleValue",
    "RuleDescription",
    "RuleDuration",
    "RuleMeasurement",
];

/// Parses a rules CSV (comma or semicolon separated, double quotes for fields with separators).
pub fn parse_rules_csv(text: &str) -> Result<Vec<Rule>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(ArchiveError::Invalid("the rules CSV is empty".into()));
    };
    let sep = if header.contains(';') { ';' } else { ',' };
    let columns = split_csv(header, sep);
    let index_of = |name: &str| {
        columns
            .iter()
            .position(|c| c.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ArchiveError::Invalid(format!(
                    "the rules CSV has no `{name}` column; the header must name {}",
                    RULE_COLUMNS.join(", ")
                ))
            })
    };
    let idx: Vec<usize> = RULE_COLUMNS.iter().map(|c| index_of(c)).collect::<Result<_>>()?;
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, line) in lines {
        let line_no = n + 1;
        let f = split_csv(line, sep);
        let field = |i: usize| f.get(idx[i]).map(|s| s.trim()).unwrap_or("");
        let bad = |what: String| ArchiveError::Invalid(format!("rules CSV line {line_no}: {what}"));
        let id = field(0);
        check_id("rule", id).map_err(|e| bad(e.to_string()))?;
        if !seen.insert(id.to_owned()) {
            return Err(bad(format!("rule `{id}` appears twice")));
        }
        let rule_type = field(1);
        if !RULE_TYPES.contains(&rule_type) {
            return Err(bad(format!(
                "rule type `{rule_type}` is unknown; use one of {}",
                RULE_TYPES.join(", ")
            )));
        }
        let duration = match field(4) {
            "" | "unlimited" | "illimite" | "illimité" => None,
            d => Some(
                d.parse::<u32>()
                    .map_err(|_| bad(format!("duration `{d}` is not a whole number (or `unlimited`)")))?,
            ),
        };
        let measurement = serde_json::from_value(serde_json::Value::String(field(5).to_owned()))
            .map_err(|_| bad(format!("measurement `{}` is not YEAR, MONTH or DAY", field(5))))?;
        rules.push(Rule {
            id: id.into(),
            rule_type: rule_type.into(),
            value: field(2).into(),
            description: field(3).into(),
            duration,
            measurement,
        });
    }
    if rules.is_empty() {
        return Err(ArchiveError::Invalid("the rules CSV has a header but no rule".into()));
    }
    Ok(rules)
}

fn split_csv(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_csv_parses_and_rejects_precisely() {
        let csv = "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\n\
                   APP-10Y,AppraisalRule,Dix ans,\"Durée d'utilité, administrative\",10,YEAR\n\
                   ACC-0,AccessRule,Libre,,0,YEAR\n\
                   STO-INF,StorageRule,Illimité,,unlimited,YEAR\n";
        let rules = parse_rules_csv(csv).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].description, "Durée d'utilité, administrative");
        assert_eq!(rules[0].duration, Some(10));
        assert_eq!(rules[2].duration, None);
        let start = chrono::NaiveDate::from_ymd_opt(2020, 2, 29).unwrap();
        assert_eq!(rules[0].end_date(start), chrono::NaiveDate::from_ymd_opt(2030, 2, 28));

        let bad = "RuleId;RuleType;RuleValue;RuleDescription;RuleDuration;RuleMeasurement\nX;FooRule;v;;1;YEAR\n";
        let e = parse_rules_csv(bad).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("FooRule"), "{e}");
        let e = parse_rules_csv("RuleId,RuleType\n").unwrap_err().to_string();
        assert!(e.contains("RuleValue"), "{e}");
        let dup = "RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement\nA,AccessRule,v,,1,DAY\nA,AccessRule,v,,1,DAY\n";
        assert!(parse_rules_csv(dup).unwrap_err().to_string().contains("twice"));
    }
}
