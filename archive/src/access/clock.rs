//! The day access decisions are taken on.
//!
//! The cluster's leader-stamped time is not readable through the client crate, so the front
//! uses its own clock, behind this type so tests can set the day (a file holding an ISO date,
//! read at each decision: `archipel archive serve --access-clock-file`, hidden, for tests).
//! The effect of a skewed front clock is bounded: communicability dates are days, and an
//! archivist's access does not depend on them.

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::error::{ArchiveError, Result};

#[derive(Debug, Clone, Default)]
pub enum AccessClock {
    /// The system clock (UTC day).
    #[default]
    System,
    /// Tests: the day written in this file (`2070-01-01`).
    File(PathBuf),
}

impl AccessClock {
    pub fn today(&self) -> Result<NaiveDate> {
        match self {
            AccessClock::System => Ok(chrono::Utc::now().date_naive()),
            AccessClock::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ArchiveError::Internal(format!("the access clock file {} is unreadable: {e}", path.display()))
                })?;
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|e| {
                    ArchiveError::Internal(format!(
                        "the access clock file {} does not hold a date such as 2070-01-01: {e}",
                        path.display()
                    ))
                })
            }
        }
    }
}
