//! `archipel lock get|set`: an object's own retention and legal hold.

use std::process::ExitCode;

use anyhow::{bail, Context};
use archipel_client::proto::object::{LockMode, ObjectLock, ObjectLockSpec};
use archipel_node::time::format_ms;
use serde_json::json;

use super::connect;
use super::objects::split_target;
use crate::cli::LockCommand;
use crate::output::print_json;

pub async fn run(command: LockCommand) -> anyhow::Result<ExitCode> {
    match command {
        LockCommand::Get { target, cluster, json } => {
            let (ns, key) = split_target(&target, true)?;
            let lock = connect(&cluster)?.object_lock(&ns, &key).await?;
            show(&ns, &key, &lock, json)
        }
        LockCommand::Set {
            target,
            mode,
            until,
            days,
            legal_hold,
            bypass_governance,
            reason,
            cluster,
            json,
        } => {
            let (ns, key) = split_target(&target, true)?;
            let client = connect(&cluster)?;
            let current = client.object_lock(&ns, &key).await?;
            let mut spec = ObjectLockSpec {
                mode: current.mode,
                retain_until_ms: current.retain_until_ms,
                legal_hold: current.legal_hold,
            };
            if let Some(m) = mode {
                spec.mode = parse_mode(&m)? as i32;
                if spec.mode == LockMode::None as i32 {
                    spec.retain_until_ms = 0;
                }
            }
            if let Some(date) = until {
                spec.retain_until_ms = parse_date(&date)?;
            }
            if let Some(d) = days {
                let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
                spec.retain_until_ms = now.saturating_add(d.saturating_mul(86_400_000));
            }
            if let Some(h) = legal_hold {
                spec.legal_hold = match h.as_str() {
                    "on" => true,
                    "off" => false,
                    other => bail!("--legal-hold takes on or off, not `{other}`"),
                };
            }
            let lock = client
                .set_object_lock(&ns, &key, spec, bypass_governance, &reason)
                .await?;
            show(&ns, &key, &lock, json)
        }
    }
}

fn parse_mode(s: &str) -> anyhow::Result<LockMode> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "governance" => LockMode::Governance,
        "compliance" => LockMode::Compliance,
        "none" => LockMode::None,
        other => bail!("--mode takes governance, compliance or none, not `{other}`"),
    })
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 date-time, as ms since the epoch.
fn parse_date(s: &str) -> anyhow::Result<u64> {
    let at = match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()),
        Err(_) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .with_context(|| format!("`{s}` is neither YYYY-MM-DD nor an RFC 3339 date-time"))?
                .timestamp_millis(),
        ),
    };
    match at {
        Some(ms) if ms > 0 => Ok(ms as u64),
        _ => bail!("`{s}` is before 1970"),
    }
}

fn mode_name(lock: &ObjectLock) -> &'static str {
    match LockMode::try_from(lock.mode) {
        Ok(LockMode::Governance) => "GOVERNANCE",
        Ok(LockMode::Compliance) => "COMPLIANCE",
        _ => "NONE",
    }
}

pub fn lock_json(lock: &ObjectLock) -> serde_json::Value {
    json!({
        "mode": mode_name(lock),
        "retain_until_ms": (lock.retain_until_ms > 0).then_some(lock.retain_until_ms),
        "legal_hold": lock.legal_hold,
        "changed_at_ms": (lock.changed_at_ms > 0).then_some(lock.changed_at_ms),
        "changed_by": (!lock.changed_by.is_empty()).then_some(&lock.changed_by),
        "reason": (!lock.reason.is_empty()).then_some(&lock.reason),
    })
}

fn show(ns: &str, key: &str, lock: &ObjectLock, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let mut v = lock_json(lock);
        v["namespace"] = json!(ns);
        v["key"] = json!(key);
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{ns}/{key}");
    match lock.retain_until_ms {
        0 => outln!("  retention:  none of its own"),
        until => outln!("  retention:  {} until {}", mode_name(lock), format_ms(until)),
    }
    outln!("  legal hold: {}", if lock.legal_hold { "on" } else { "off" });
    if lock.changed_at_ms > 0 {
        outln!(
            "  changed:    {} by {}{}",
            format_ms(lock.changed_at_ms),
            lock.changed_by,
            if lock.reason.is_empty() {
                String::new()
            } else {
                format!(" ({})", lock.reason)
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
