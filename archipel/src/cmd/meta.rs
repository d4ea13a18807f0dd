//! `archipel meta put|get|delete|cas|scan`

use std::process::ExitCode;

use archipel_client::{CasExpect, Consistency, MetaEntry};
use serde_json::json;

use super::connect;
use crate::cli::MetaCommand;
use crate::output::{print_json, show_bytes};

fn consistency(stale: bool) -> Consistency {
    if stale {
        Consistency::Stale
    } else {
        Consistency::Linearizable
    }
}

fn entry_json(e: &MetaEntry) -> serde_json::Value {
    json!({
        "namespace": e.namespace,
        "key": show_bytes(&e.key),
        "value": show_bytes(&e.value),
        "revision": e.revision,
    })
}

pub async fn run(command: MetaCommand) -> anyhow::Result<ExitCode> {
    match command {
        MetaCommand::Put {
            namespace,
            key,
            value,
            cluster,
            json,
        } => {
            let rev = connect(&cluster)?
                .meta_put(&namespace, key.as_bytes(), value.as_bytes())
                .await?;
            if json {
                print_json(&json!({"namespace": namespace, "key": key, "revision": rev}))?;
            } else {
                outln!("revision {rev}");
            }
        }
        MetaCommand::Get {
            namespace,
            key,
            stale,
            cluster,
            json,
        } => {
            let entry = connect(&cluster)?
                .meta_get(&namespace, key.as_bytes(), consistency(stale))
                .await?;
            let Some(e) = entry else {
                eprintln!("error: no key `{key}` in namespace `{namespace}`");
                return Ok(ExitCode::FAILURE);
            };
            if json {
                print_json(&entry_json(&e))?;
            } else {
                outln!("{}", show_bytes(&e.value));
            }
        }
        MetaCommand::Delete {
            namespace,
            key,
            cluster,
            json,
        } => {
            let existed = connect(&cluster)?.meta_delete(&namespace, key.as_bytes()).await?;
            if json {
                print_json(&json!({"namespace": namespace, "key": key, "deleted": existed}))?;
            } else {
                outln!("{}", if existed { "deleted" } else { "did not exist" });
            }
        }
        MetaCommand::Cas {
            namespace,
            key,
            expect_absent,
            expect_value,
            expect_revision,
            new,
            delete,
            cluster,
            json,
        } => {
            let expect = match (expect_absent, expect_value, expect_revision) {
                (true, _, _) => CasExpect::Absent,
                (_, Some(v), _) => CasExpect::Value(v.into_bytes()),
                (_, _, Some(r)) => CasExpect::Revision(r),
                _ => anyhow::bail!("give a condition: --expect-absent, --expect-value V or --expect-revision N"),
            };
            let new_value = if delete { None } else { new.map(String::into_bytes) };
            let outcome = connect(&cluster)?
                .meta_cas(&namespace, key.as_bytes(), expect, new_value.as_deref())
                .await?;
            if json {
                print_json(&json!({
                    "succeeded": outcome.succeeded,
                    "current": outcome.current.as_ref().map(entry_json),
                }))?;
            } else if outcome.succeeded {
                outln!("swapped");
            } else {
                let now = outcome
                    .current
                    .as_ref()
                    .map(|e| show_bytes(&e.value))
                    .unwrap_or_else(|| "(absent)".into());
                outln!("condition failed; current value: {now}");
            }
            if !outcome.succeeded {
                return Ok(ExitCode::FAILURE);
            }
        }
        MetaCommand::Scan {
            namespace,
            prefix,
            limit,
            stale,
            cluster,
            json,
        } => {
            let (entries, more) = connect(&cluster)?
                .meta_scan(&namespace, prefix.as_bytes(), b"", limit, consistency(stale))
                .await?;
            if json {
                print_json(&json!({"entries": entries.iter().map(entry_json).collect::<Vec<_>>(), "more": more}))?;
            } else {
                for e in &entries {
                    outln!("{}\t{}\t(rev {})", show_bytes(&e.key), show_bytes(&e.value), e.revision);
                }
                if more {
                    outln!("… more entries; raise --limit");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
