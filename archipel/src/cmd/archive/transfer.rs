//! `archipel archive transfer`: submit a SIP, follow it, fetch its reply.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Front, FrontArgs};

#[derive(clap::Args)]
pub struct TransferArgs {
    #[arg(long)]
    pub tenant: String,
    /// The SIP: a zip holding manifest.xml and the files it references.
    pub sip: PathBuf,
    /// Wait for the reply (OK, WARNING or KO) instead of returning once it is received.
    #[arg(long)]
    pub wait: bool,
    /// Write the ArchiveTransferReply here (implies --wait).
    #[arg(long)]
    pub atr: Option<PathBuf>,
    /// Write the Acknowledgement (sent once the manifest was read) here (implies --wait).
    #[arg(long)]
    pub ack: Option<PathBuf>,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 3600)]
    pub timeout_secs: u64,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub front: FrontArgs,
}

pub async fn run(args: TransferArgs) -> anyhow::Result<ExitCode> {
    let f = Front::new(&args.front)?;
    let base = format!("/v1/tenants/{}/transfers", args.tenant);
    let submitted = f.upload(&base, &args.sip).await?;
    let id = submitted["id"]
        .as_str()
        .context("the front returned no transfer id")?
        .to_owned();
    if !args.wait && args.atr.is_none() && args.ack.is_none() {
        if args.json {
            crate::output::print_json(&submitted)?;
        } else {
            outln!(
                "transfer {id} received; follow it with `archipel archive transfers --tenant {} {id}`",
                args.tenant
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let bar = (!args.json).then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_message(format!("transfer {id}: received"));
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let status = loop {
        let t: Value = f.get(&format!("{base}/{id}")).await?;
        let s = t["status"].as_str().unwrap_or("").to_owned();
        if let Some(b) = &bar {
            b.set_message(format!("transfer {id}: {} ({})", t["step"].as_str().unwrap_or(""), s));
        }
        if matches!(s.as_str(), "OK" | "WARNING" | "KO") {
            break t;
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!(
                "transfer {id} is still {s} after {}s; check it later with `archipel archive transfers`",
                args.timeout_secs
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut atr_error = None;
    if let Some(path) = &args.atr {
        match f.send(f.request(Method::GET, &format!("{base}/{id}/atr"))).await {
            Ok(resp) => {
                let xml = resp.bytes().await?;
                std::fs::write(path, &xml).with_context(|| format!("cannot write the ATR to {}", path.display()))?;
            }
            Err(e) => {
                eprintln!("the transfer's reply is unavailable: {e}");
                atr_error = Some(e.to_string());
            }
        }
    }
    if let Some(path) = &args.ack {
        match f.send(f.request(Method::GET, &format!("{base}/{id}/ack"))).await {
            Ok(resp) => {
                let xml = resp.bytes().await?;
                std::fs::write(path, &xml)
                    .with_context(|| format!("cannot write the acknowledgement to {}", path.display()))?;
            }
            Err(e) => eprintln!("no acknowledgement: {e}"),
        }
    }
    let verdict = status["status"].as_str().unwrap_or("KO");
    if args.json {
        let reasons: Vec<Value> = status["errors"].as_array().cloned().unwrap_or_default();
        // The contract: "status" is OK (accepted, warnings or not) or KO; "reply_code" is the ATR's.
        crate::output::print_json(&json!({
            "status": if verdict == "KO" { "KO" } else { "OK" },
            "reply_code": verdict,
            "transfer_id": id,
            "resend_of": status["resend_of"],
            "tenant": args.tenant,
            "aip_id": status["aip_id"],
            "units": status["units"],
            "objects": status["objects"],
            "reasons": reasons,
            "warnings": status["warnings"],
            "atr": args.atr,
            "atr_error": atr_error,
        }))?;
    } else {
        outln!(
            "transfer {id}: {verdict} ({} units, {} objects)",
            status["units"],
            status["objects"]
        );
        if let Some(earlier) = status["resend_of"].as_str() {
            outln!("  this message was transferred already as {earlier}: its reply stands, nothing new was stored");
        }
        for r in status["errors"].as_array().into_iter().flatten() {
            outln!(
                "  KO  [{}] {}{}",
                r["step"].as_str().unwrap_or(""),
                subject(r),
                r["message"].as_str().unwrap_or("")
            );
        }
        for r in status["warnings"].as_array().into_iter().flatten() {
            outln!(
                "  warning [{}] {}{}",
                r["step"].as_str().unwrap_or(""),
                subject(r),
                r["message"].as_str().unwrap_or("")
            );
        }
    }
    Ok(if verdict == "KO" {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn subject(r: &Value) -> String {
    r["subject"].as_str().map(|s| format!("{s}: ")).unwrap_or_default()
}

/// `part` as one URL path segment: every byte outside the unreserved set percent-encoded, so
/// an identifier holding `/`, `?` or `%` reaches the front as written.
pub fn path_segment(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
