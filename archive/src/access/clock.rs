//! The day access decisions are taken on: the cluster's leader-stamped time (`Meta.Time`),
//! never the front's own clock, so a front whose clock is wrong cannot open archives early.
//! Tests may set the day instead (a file holding an ISO date, read at each decision:
//! `archipel archive serve --access-clock-file`, hidden, for tests).

use std::path::PathBuf;

use archipel_client::Client;
use chrono::NaiveDate;

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
        match self {
            AccessClock::Cluster => {
                let ms = client.cluster_time_ms().await?;
                chrono::DateTime::from_timestamp_millis(ms as i64)
                    .map(|t| t.date_naive())
                    .ok_or_else(|| ArchiveError::Internal(format!("the cluster's time {ms} ms is out of range")))
            }
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
