//! One archive unit as the search index sees it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{RuleDoc, SearchError};

/// Identifiers are keys, not prose: a generous bound that still stops garbage.
const MAX_ID_BYTES: usize = 512;
/// Flattened SEDA descriptive metadata is rarely above 100 KiB; beyond 4 MiB it is not metadata.
const MAX_UNIT_TEXT_BYTES: usize = 4 << 20;

/// The searchable description of one archive unit, taken from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitDoc {
    /// Archipel's system identifier of the unit; the key for upsert and delete.
    pub unit_id: String,
    /// The unit's identifier inside its SIP manifest (`ArchiveUnit/@id`).
    pub sip_unit_id: String,
    pub transfer_id: String,
    pub aip_id: String,
    pub parent_id: Option<String>,
    /// The pilot flow the transfer came through, if any.
    pub flow: Option<String>,
    pub title: String,
    pub description: String,
    /// SEDA `DescriptionLevel` (`RecordGrp`, `File`, `Item`, …).
    pub description_level: String,
    /// A unit with only one of the two dates covers that single day; with neither it is undated.
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub originating_agency: String,
    pub keywords: Vec<String>,
    /// All other textual descriptive metadata, flattened.
    pub text: String,
    pub ingested_at: DateTime<Utc>,
    /// The unit's management rules, own and inherited.
    #[serde(default)]
    pub rules: Vec<RuleDoc>,
    /// The first day the unit is freely communicable (`access::communicability`; 1 January of
    /// year 1 when always), `None` when no date can be given (NeedAuthorization, an AccessRule
    /// without end).
    #[serde(default)]
    pub communicable_from: Option<NaiveDate>,
}

impl UnitDoc {
    /// The days the unit covers, inclusive, or `None` if it is undated.
    pub(crate) fn day_range(&self) -> Option<(NaiveDate, NaiveDate)> {
        match (self.start_date, self.end_date) {
            (Some(start), Some(end)) => Some((start, end)),
            (Some(day), None) | (None, Some(day)) => Some((day, day)),
            (None, None) => None,
        }
    }

    /// Checks what the index relies on, so a bad unit is refused before anything of its batch is written.
    pub(crate) fn check(&self) -> Result<(), SearchError> {
        let invalid = |reason: String| SearchError::InvalidUnit {
            unit_id: self.unit_id.clone(),
            reason,
        };
        if self.unit_id.trim().is_empty() {
            return Err(invalid(
                "its unit_id is empty; every unit needs its Archipel identifier".into(),
            ));
        }
        let ids = [
            ("unit_id", Some(&self.unit_id)),
            ("sip_unit_id", Some(&self.sip_unit_id)),
            ("transfer_id", Some(&self.transfer_id)),
            ("aip_id", Some(&self.aip_id)),
            ("parent_id", self.parent_id.as_ref()),
            ("flow", self.flow.as_ref()),
            ("description_level", Some(&self.description_level)),
            ("originating_agency", Some(&self.originating_agency)),
        ];
        for (name, value) in ids {
            if let Some(value) = value.filter(|v| v.len() > MAX_ID_BYTES) {
                return Err(invalid(format!(
                    "its {name} is {} bytes long, more than {MAX_ID_BYTES}",
                    value.len()
                )));
            }
        }
        for rule in &self.rules {
            for (name, value) in [("rule category", &rule.category), ("rule id", &rule.rule_id)] {
                if value.len() > MAX_ID_BYTES {
                    return Err(invalid(format!(
                        "a {name} is {} bytes long, more than {MAX_ID_BYTES}",
                        value.len()
                    )));
                }
            }
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date) {
            if start > end {
                return Err(invalid(format!(
                    "its start date {start} is after its end date {end}; fix the catalog entry"
                )));
            }
        }
        let text_bytes = self.title.len()
            + self.description.len()
            + self.text.len()
            + self.keywords.iter().map(String::len).sum::<usize>();
        if text_bytes > MAX_UNIT_TEXT_BYTES {
            return Err(invalid(format!(
                "its text is {text_bytes} bytes long, more than the {MAX_UNIT_TEXT_BYTES} indexed per unit"
            )));
        }
        Ok(())
    }
}
