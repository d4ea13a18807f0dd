//! `archipel ns create|list`

use std::process::ExitCode;

use anyhow::bail;
use archipel_client::proto::object::Namespace;
use serde_json::json;

use super::connect;
use crate::cli::NsCommand;
use crate::output::print_json;

/// `30d`, `10y`, `3600s`, `12h` → seconds.
pub fn parse_retention(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = match digits.parse() {
        Ok(n) => n,
        Err(_) => bail!("`{text}` is not a duration: use e.g. 30d, 10y, 12h or 3600s"),
    };
    let unit_secs = match unit {
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "y" => 365 * 86_400 + 86_400 / 4,
        other => bail!("`{other}` is not a duration unit: use s, m, h, d or y"),
    };
    Ok(n.saturating_mul(unit_secs))
}

fn ns_json(ns: &Namespace) -> serde_json::Value {
    let spec = ns.spec.clone().unwrap_or_default();
    json!({
        "name": spec.name,
        "ec_profile": if spec.ec_profile.is_empty() { None } else { Some(spec.ec_profile) },
        "effective_profile": ns.effective_profile,
        "worm_retention_secs": spec.worm_retention_secs,
        "created_at_ms": ns.created_at_ms,
        "encryption_owner": if spec.encryption_owner.is_empty() { None } else { Some(spec.encryption_owner) },
        "master_key_id": if ns.master_key_id.is_empty() { None } else { Some(&ns.master_key_id) },
    })
}

pub async fn run(command: NsCommand) -> anyhow::Result<ExitCode> {
    match command {
        NsCommand::Create {
            name,
            ec,
            worm_retention,
            encrypt,
            owner,
            cluster,
            json,
        } => {
            let retention = worm_retention.as_deref().map(parse_retention).transpose()?.unwrap_or(0);
            let client = connect(&cluster)?;
            let ns = match owner.filter(|_| encrypt) {
                Some(owner) => {
                    client
                        .create_namespace_encrypted(&name, ec.as_deref(), retention, &owner)
                        .await?
                }
                None => client.create_namespace(&name, ec.as_deref(), retention).await?,
            };
            if json {
                print_json(&ns_json(&ns))?;
            } else {
                let worm = if retention > 0 {
                    format!(", WORM for {retention} s")
                } else {
                    String::new()
                };
                let spec = ns.spec.clone().unwrap_or_default();
                let crypt = if spec.encryption_owner.is_empty() {
                    String::new()
                } else {
                    format!(", encrypted for {}", spec.encryption_owner)
                };
                outln!("namespace {name} ready (EC {}{worm}{crypt})", ns.effective_profile);
            }
        }
        NsCommand::List { cluster, json } => {
            let list = connect(&cluster)?.list_namespaces().await?;
            if json {
                print_json(&list.iter().map(ns_json).collect::<Vec<_>>())?;
            } else {
                outln!("{:<32} {:<10} {:>14}  ENCRYPTED FOR", "NAMESPACE", "EC", "WORM (s)");
                for ns in &list {
                    let spec = ns.spec.clone().unwrap_or_default();
                    let owner = match spec.encryption_owner.as_str() {
                        "" => "-",
                        owner => owner,
                    };
                    outln!(
                        "{:<32} {:<10} {:>14}  {owner}",
                        spec.name,
                        ns.effective_profile,
                        spec.worm_retention_secs
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_units() {
        assert_eq!(parse_retention("3600s").unwrap(), 3600);
        assert_eq!(parse_retention("2d").unwrap(), 172_800);
        assert!(parse_retention("10 parsecs").is_err());
        assert!(parse_retention("y").is_err());
    }
}
