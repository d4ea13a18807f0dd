//! `archipel put|get|stat|ls|rm`

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use archipel_client::proto::object::ObjectInfo;
use archipel_client::Client;
use archipel_node::size::format_size;
use archipel_node::time::format_ms;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::output::print_json;

/// `ns/key` → (ns, key); `ls` also accepts a bare `ns`.
pub(super) fn split_target(target: &str, key_required: bool) -> anyhow::Result<(String, String)> {
    match target.split_once('/') {
        Some((ns, key)) if !ns.is_empty() && (!key.is_empty() || !key_required) => Ok((ns.into(), key.into())),
        None if !key_required && !target.is_empty() => Ok((target.into(), String::new())),
        _ => bail!("`{target}` is not NAMESPACE/KEY"),
    }
}

fn progress_bar(total: Option<u64>) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    let style = ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {bar:30} {bytes_per_sec} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(bar)
}

/// Shard indices the profile has but the object lacks (stored degraded, awaiting repair).
fn missing_shards(i: &ObjectInfo) -> Vec<u32> {
    let total: u32 = match i.storage.split_once('+') {
        Some((k, m)) => k.parse::<u32>().unwrap_or(0) + m.parse::<u32>().unwrap_or(0),
        None => return vec![],
    };
    (0..total)
        .filter(|idx| !i.shards.iter().any(|s| s.index == *idx))
        .collect()
}

pub fn info_json(i: &ObjectInfo) -> serde_json::Value {
    json!({
        "missing_shards": missing_shards(i),
        "namespace": i.namespace,
        "key": i.key,
        "size": i.size,
        "blake3": hex::encode(&i.blake3),
        "storage": i.storage,
        "encrypted": i.encrypted,
        "lock": i.lock.as_ref().map(super::locks::lock_json),
        "stripe_size": i.stripe_size,
        "created_at_ms": i.created_at_ms,
        "retain_until_ms": if i.retain_until_ms > 0 { Some(i.retain_until_ms) } else { None },
        "object_id": hex::encode(&i.object_id),
        "revision": i.revision,
        "last_full_verification_ms": if i.last_full_verification_ms > 0 { Some(i.last_full_verification_ms) } else { None },
        "shards": i.shards.iter().map(|s| json!({
            "index": s.index, "node_id": s.node_id, "site": s.site, "addr": s.addr,
            "table_hash": hex::encode(&s.table_hash),
            "verified_at_ms": if s.verified_at_ms > 0 { Some(s.verified_at_ms) } else { None },
            "verified_by": if s.verified_by > 0 { Some(s.verified_by) } else { None },
            "verify_result": if s.verify_result.is_empty() { None } else { Some(&s.verify_result) },
        })).collect::<Vec<_>>(),
    })
}

pub async fn put(client: &Client, target: &str, input: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (ns, key) = split_target(target, true)?;
    let info = if input == "-" {
        let bar = progress_bar(None);
        let progress = |n: u64| {
            if let Some(b) = &bar {
                b.set_position(n)
            }
        };
        let r = client
            .put_object(&ns, &key, tokio::io::stdin(), None, Some(&progress))
            .await;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        r?
    } else {
        let path = Path::new(input);
        let size = std::fs::metadata(path)
            .with_context(|| format!("cannot read {input}"))?
            .len();
        let bar = progress_bar(Some(size));
        let progress = |n: u64| {
            if let Some(b) = &bar {
                b.set_position(n)
            }
        };
        let r = client.put_object_file(&ns, &key, path, Some(&progress)).await;
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        r?
    };
    if json {
        print_json(&info_json(&info))?;
    } else {
        outln!(
            "stored {ns}/{key}: {} ({}), blake3 {}",
            format_size(info.size),
            info.storage,
            hex::encode(&info.blake3)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn get(
    client: &Client,
    target: &str,
    output: Option<&str>,
    offset: u64,
    length: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let (ns, key) = split_target(target, true)?;
    match output {
        None | Some("-") => {
            let mut out = crate::output::Stdout::new();
            client.get_object(&ns, &key, offset, length, &mut out, None).await?;
        }
        Some(path) if is_device_or_pipe(Path::new(path)) => {
            // /dev/null, a FIFO, a terminal: write into it. A rename would replace it with a file.
            let mut out = tokio::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .await
                .with_context(|| format!("cannot open {path} for writing"))?;
            client.get_object(&ns, &key, offset, length, &mut out, None).await?;
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
        }
        Some(path) => {
            // Write beside the destination and rename once verified: never a half-written file.
            let final_path = Path::new(path);
            let tmp = final_path.with_file_name(format!(
                ".{}.archipel-partial",
                final_path.file_name().and_then(|n| n.to_str()).unwrap_or("download")
            ));
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .with_context(|| format!("cannot create {}", tmp.display()))?;
            let size = client.stat_object(&ns, &key).await.map(|i| i.size).ok();
            let bar = progress_bar(size);
            let progress = |n: u64| {
                if let Some(b) = &bar {
                    b.set_position(n)
                }
            };
            let result = client
                .get_object(&ns, &key, offset, length, &mut file, Some(&progress))
                .await;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
            file.sync_all().await?;
            std::fs::rename(&tmp, final_path).with_context(|| format!("cannot write {path}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An existing destination that is neither a regular file nor a directory.
fn is_device_or_pipe(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

pub async fn stat(client: &Client, target: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (ns, key) = split_target(target, true)?;
    let i = client.stat_object(&ns, &key).await?;
    if json {
        print_json(&info_json(&i))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("object    {}/{}", i.namespace, i.key);
    outln!("size      {} ({} bytes)", format_size(i.size), i.size);
    outln!("blake3    {}", hex::encode(&i.blake3));
    outln!(
        "storage   {}",
        if i.storage == "inline" {
            "inline in the metadata (replicated by Raft)".to_owned()
        } else {
            format!("erasure-coded {}, stripes of {}", i.storage, format_size(i.stripe_size))
        }
    );
    if i.encrypted {
        outln!("encrypted yes, at rest (sealed with the namespace's data key)");
    }
    if i.retain_until_ms > 0 {
        outln!("worm      retained until {}", format_ms(i.retain_until_ms));
    }
    if !i.shards.is_empty() {
        let mut sites: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for s in &i.shards {
            sites
                .entry(s.site.as_str())
                .or_default()
                .push(format!("#{}@node{}", s.index, s.node_id));
        }
        outln!("shards");
        for (site, shards) in sites {
            outln!("  {site:<14} {}", shards.join(" "));
        }
        outln!("fixity");
        for s in &i.shards {
            let when = if s.verified_at_ms > 0 {
                format!(
                    "{} by node {} at {}",
                    s.verify_result,
                    s.verified_by,
                    format_ms(s.verified_at_ms)
                )
            } else {
                "not verified since written".into()
            };
            outln!("  #{:<3} {when}", s.index);
        }
        if i.last_full_verification_ms > 0 {
            outln!(
                "  whole object last verified intact at {}",
                format_ms(i.last_full_verification_ms)
            );
        }
        let missing = missing_shards(&i);
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(|m| format!("#{m}")).collect();
            outln!(
                "  missing        {} (not stored: degraded until repaired)",
                list.join(" ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn ls(client: &Client, target: &str, limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let (ns, prefix) = split_target(target, false)?;
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let page = (limit - all.len()).min(1000) as u32;
        let (objects, more) = client.list_objects(&ns, &prefix, &after, page).await?;
        if let Some(last) = objects.last() {
            after = last.key.clone();
        }
        all.extend(objects);
        if !more || all.len() >= limit {
            break;
        }
    }
    if json {
        print_json(&all.iter().map(info_json).collect::<Vec<_>>())?;
    } else {
        for i in &all {
            outln!("{:>12}  {:<8}  {}", i.size, i.storage, i.key);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `bypass_governance`: the reason for deleting through a GOVERNANCE retention.
pub async fn rm(
    client: &Client,
    target: &str,
    bypass_governance: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (ns, key) = split_target(target, true)?;
    let existed = match bypass_governance {
        Some(reason) => client.delete_object_bypassing_governance(&ns, &key, reason).await?,
        None => client.delete_object(&ns, &key).await?,
    };
    if json {
        print_json(&json!({"namespace": ns, "key": key, "deleted": existed}))?;
    } else if existed {
        outln!("deleted {ns}/{key}");
    } else {
        outln!("{ns}/{key} did not exist");
    }
    Ok(if existed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
