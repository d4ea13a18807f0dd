//! The time access decisions are taken on — communicability, and when a DIP stops being offered:
//! the cluster's leader-stamped time (`Meta.Time`), never the front's own clock, so a front whose
//! clock is wrong can neither open archives early nor keep a DIP past its term.
//! Tests may set the day instead (a file holding an ISO date, read at each decision:
//! `archipel archive serve --access-clock-file`, hidden, for tests); its instant is that day's midnight UTC.

use std::path::PathBuf;

use archipel_client::Client;
use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{ArchiveError, Result};

#[derive(Debug, Clone, Default)]
pub enum AccessClock {
    /// The cluster's time (UTC day).
    #[default]
    Cluster,
    /// Tests: the day written in this file (`2070-01-01`).
    File(PathBuf),
}

impl AccessClock {
    pub async fn today(&self, client: &Client) -> Result<NaiveDate> {
        Ok(self.now(client).await?.date_naive())
    }

    pub async fn now(&self, client: &Client) -> Result<DateTime<Utc>> {
        match self {
            AccessClock::Cluster => {
                let ms = client.cluster_time_ms().await?;
                i64::try_from(ms)
                    .ok()
                    .and_then(DateTime::from_timestamp_millis)
                    .ok_or_else(|| ArchiveError::Internal(format!("the cluster's time {ms} ms is out of range")))
            }
            AccessClock::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ArchiveError::Internal(format!("the access clock file {} is unreadable: {e}", path.display()))
                })?;
                let day = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|e| {
                    ArchiveError::Internal(format!(
                        "the access clock file {} does not hold a date such as 2070-01-01: {e}",
                        path.display()
                    ))
                })?;
                Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
            }
        }
    }
}
