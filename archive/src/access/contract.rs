//! Access contracts (contrats d'accès, as in Vitam): what a `requester` token may see and take.
//! Versioned like agreements: each change writes a new version and keeps the old one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ArchiveError, Result};
use crate::referentials::Versioned;

/// Kind of the record in keys and messages.
pub const ACCESS_CONTRACT: &str = "access-contract";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccessContract {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// Originating agencies whose units holders see; ignored when `all_originating_agencies`.
    #[serde(default)]
    pub originating_agencies: Vec<String>,
    #[serde(default)]
    pub all_originating_agencies: bool,
    /// Holders see (search, unit view) units that are not yet communicable; they never take
    /// their content without an approved derogation.
    #[serde(default)]
    pub see_non_communicable: bool,
    /// DataObjectVersion usages holders may download (`BinaryMaster`, `Dissemination`,
    /// `Thumbnail`, `TextContent`); empty: every usage.
    #[serde(default)]
    pub object_usages: Vec<String>,
    /// Holders may ask for DIPs (communication requests).
    #[serde(default = "crate::model::yes")]
    pub may_request_dips: bool,
    #[serde(default = "crate::model::yes")]
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

impl Versioned for AccessContract {
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

/// The usages SEDA defines for DataObjectVersion (2.1–2.3).
pub const USAGES: [&str; 4] = ["BinaryMaster", "Dissemination", "Thumbnail", "TextContent"];

impl AccessContract {
    /// Refuses a contract that grants nothing or names an unknown usage.
    pub fn check(&self) -> Result<()> {
        if !self.all_originating_agencies && self.originating_agencies.is_empty() {
            return Err(ArchiveError::Invalid(format!(
                "access contract `{}` names no originating agency: list them in originating_agencies, or set \
                 all_originating_agencies",
                self.id
            )));
        }
        for agency in &self.originating_agencies {
            crate::model::check_id("originating agency", agency)?;
        }
        if let Some(u) = self.object_usages.iter().find(|u| !USAGES.contains(&u.as_str())) {
            return Err(ArchiveError::Invalid(format!(
                "object usage `{}` is not a SEDA usage: use {}",
                u.escape_default(),
                USAGES.join(", ")
            )));
        }
        Ok(())
    }

    /// Whether a unit of `agency` is inside the contract.
    pub fn covers_agency(&self, agency: Option<&str>) -> bool {
        self.all_originating_agencies || agency.is_some_and(|a| self.originating_agencies.iter().any(|x| x == a))
    }

    /// Whether an object of this DataObjectVersion (`BinaryMaster_1`, `Dissemination`…) may be
    /// downloaded. An object without a version is a BinaryMaster (SEDA's default).
    pub fn covers_version(&self, version: Option<&str>) -> bool {
        if self.object_usages.is_empty() {
            return true;
        }
        let usage = usage_of(version);
        self.object_usages.iter().any(|u| u == usage)
    }
}

/// `BinaryMaster_1` → `BinaryMaster`; no version → `BinaryMaster`.
pub fn usage_of(version: Option<&str>) -> &str {
    match version {
        None => "BinaryMaster",
        Some(v) => v.split('_').next().unwrap_or(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> AccessContract {
        AccessContract {
            id: "lecture".into(),
            version: 1,
            name: "Salle de lecture".into(),
            originating_agencies: vec!["DGS".into()],
            all_originating_agencies: false,
            see_non_communicable: false,
            object_usages: vec!["Dissemination".into()],
            may_request_dips: true,
            active: true,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn agencies_and_usages_are_enforced() {
        let c = contract();
        assert!(c.check().is_ok());
        assert!(c.covers_agency(Some("DGS")));
        assert!(!c.covers_agency(Some("DRH")));
        assert!(!c.covers_agency(None));
        assert!(c.covers_version(Some("Dissemination_1")));
        assert!(!c.covers_version(Some("BinaryMaster_1")));
        assert!(!c.covers_version(None));
        let all = AccessContract {
            all_originating_agencies: true,
            object_usages: vec![],
            ..contract()
        };
        assert!(all.covers_agency(None) && all.covers_version(None));
    }

    #[test]
    fn a_contract_granting_nothing_or_an_unknown_usage_is_refused() {
        let none = AccessContract {
            originating_agencies: vec![],
            ..contract()
        };
        assert!(none.check().is_err());
        let bad = AccessContract {
            object_usages: vec!["Original".into()],
            ..contract()
        };
        assert!(bad.check().unwrap_err().to_string().contains("BinaryMaster"));
    }
}
