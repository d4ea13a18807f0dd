//! `archipel archive restitution …` and `transfer-out …`: archives leaving Archipel, back to
//! their originating agency or to another archive.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Front, FrontArgs};

#[derive(clap::Args)]
pub struct StartArgs {
    #[arg(long)]
    tenant: String,
    /// A unit leaving (system id; its descendants go with it); repeat.
    #[arg(long = "unit", required = true)]
    units: Vec<String>,
    /// The ArchivalAgreement the recipient ingests the package under.
    #[arg(long)]
    agreement: Option<String>,
    #[arg(long)]
    comment: Option<String>,
    /// SEDA version of the messages and manifest (2.1, 2.2, 2.3).
    #[arg(long)]
    seda_version: Option<String>,
    /// Return at once instead of following the package's build.
    #[arg(long)]
    no_wait: bool,
    /// Once built, save the package (zip) here.
    #[arg(long, short, conflicts_with = "no_wait")]
    output: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    front: FrontArgs,
}

#[derive(clap::Subcommand)]
pub enum RestitutionCommand {
    /// Give units back to their originating agency: writes the ArchiveRestitutionRequest and its
    /// Reply, and builds the package (an ArchiveTransfer SIP of the units).
    Start {
        /// The originating agency (default: the units' own; they must all share it).
        #[arg(long)]
        originating_agency: Option<String>,
        #[command(flatten)]
        args: StartArgs,
    },
    /// Record the agency's receipt (or its own Acknowledgement, --xml): the units are then
    /// deleted here, with their elimination record.
    Acknowledge {
        #[arg(long)]
        tenant: String,
        id: String,
        /// The Acknowledgement the agency sent.
        #[arg(long)]
        xml: Option<PathBuf>,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    #[command(flatten)]
    Common(CommonCommand),
}

#[derive(clap::Subcommand)]
pub enum TransferOutCommand {
    /// Transfer units to another archive (e.g. the Archives départementales' SAE): builds the
    /// ArchiveTransfer SIP to send it.
    Start {
        /// The receiving archive's identifier (the ArchivalAgency of the ArchiveTransfer).
        #[arg(long)]
        archival_agency: String,
        #[command(flatten)]
        args: StartArgs,
    },
    /// The receiving archive's ArchiveTransferReply: OK deletes the units here (with their
    /// elimination record), KO keeps them.
    Reply {
        #[arg(long)]
        tenant: String,
        id: String,
        /// The ArchiveTransferReply file.
        atr: PathBuf,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    #[command(flatten)]
    Common(CommonCommand),
}

#[derive(clap::Subcommand)]
pub enum CommonCommand {
    /// List them, or show one.
    Show {
        #[arg(long)]
        tenant: String,
        id: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Save the package (zip).
    Package {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Save one message: request, reply (restitution), transfer (the manifest), answer.
    Message {
        #[arg(long)]
        tenant: String,
        id: String,
        name: String,
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
}

pub async fn restitution(command: RestitutionCommand) -> anyhow::Result<ExitCode> {
    const BASE: &str = "restitutions";
    match command {
        RestitutionCommand::Start {
            originating_agency,
            args,
        } => start(BASE, json!({"originating_agency": originating_agency}), args).await,
        RestitutionCommand::Acknowledge {
            tenant,
            id,
            xml,
            comment,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let path = format!("/v1/tenants/{tenant}/{BASE}/{id}/acknowledgement");
            let r = match &xml {
                Some(file) => {
                    let body = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
                    f.request(Method::POST, &path)
                        .header(reqwest::header::CONTENT_TYPE, "application/xml")
                        .body(body)
                }
                None => f
                    .request(Method::POST, &path)
                    .json(&json!({"received": true, "comment": comment})),
            };
            let v: Value = f.json(r).await?;
            print(&v, json)
        }
        RestitutionCommand::Common(c) => common(BASE, c).await,
    }
}

pub async fn transfer_out(command: TransferOutCommand) -> anyhow::Result<ExitCode> {
    const BASE: &str = "transfers-out";
    match command {
        TransferOutCommand::Start { archival_agency, args } => {
            start(BASE, json!({"archival_agency": archival_agency}), args).await
        }
        TransferOutCommand::Reply {
            tenant,
            id,
            atr,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let body = std::fs::read(&atr).with_context(|| format!("cannot read {}", atr.display()))?;
            let r = f
                .request(Method::POST, &format!("/v1/tenants/{tenant}/{BASE}/{id}/reply"))
                .header(reqwest::header::CONTENT_TYPE, "application/xml")
                .body(body);
            let v: Value = f.json(r).await?;
            print(&v, json)
        }
        TransferOutCommand::Common(c) => common(BASE, c).await,
    }
}

async fn start(base: &str, mut body: Value, args: StartArgs) -> anyhow::Result<ExitCode> {
    let f = Front::new(&args.front)?;
    body["unit_ids"] = json!(args.units);
    body["archival_agreement"] = json!(args.agreement);
    body["comment"] = json!(args.comment);
    body["seda_version"] = json!(args.seda_version);
    let path = format!("/v1/tenants/{}/{base}", args.tenant);
    let mut v: Value = f.json(f.request(Method::POST, &path).json(&body)).await?;
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    if !args.no_wait {
        loop {
            if v["status"] != "building" {
                break;
            }
            if !args.json {
                let p = &v["progress"];
                eprint!(
                    "\r{id} : paquet en construction, {}/{} objets, {}/{} octets   ",
                    p["objects_done"], p["objects_total"], p["bytes_done"], p["bytes_total"]
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            v = f.get(&format!("{path}/{id}")).await?;
        }
        if !args.json {
            eprintln!();
        }
        if v["status"] == "failed" {
            anyhow::bail!(
                "the package of {id} could not be built: {}",
                v["error"].as_str().unwrap_or("see the logbook")
            );
        }
        if let Some(out) = &args.output {
            download(&f, &format!("{path}/{id}/package"), out).await?;
        }
    }
    print(&v, args.json)
}

async fn common(base: &str, c: CommonCommand) -> anyhow::Result<ExitCode> {
    match c {
        CommonCommand::Show {
            tenant,
            id,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let line = |o: &Value| {
                format!(
                    "{}\t{}\t{}\t{} unités\t{}",
                    o["id"].as_str().unwrap_or("?"),
                    o["status"].as_str().unwrap_or("?"),
                    o["recipient"].as_str().unwrap_or("?"),
                    o["units"].as_array().map_or(0, Vec::len),
                    o["created_at"].as_str().unwrap_or("")
                )
            };
            let path = format!("/v1/tenants/{tenant}/{base}");
            super::listing::show_or_list(&f, &path, id, json, print, line).await
        }
        CommonCommand::Package {
            tenant,
            id,
            output,
            front,
        } => {
            let f = Front::new(&front)?;
            download(&f, &format!("/v1/tenants/{tenant}/{base}/{id}/package"), &output).await?;
            Ok(ExitCode::SUCCESS)
        }
        CommonCommand::Message {
            tenant,
            id,
            name,
            output,
            front,
        } => {
            let f = Front::new(&front)?;
            download(
                &f,
                &format!("/v1/tenants/{tenant}/{base}/{id}/messages/{name}"),
                &output,
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Streams a download to a temporary file beside `out`, synced and renamed once complete.
async fn download(f: &Front, path: &str, out: &Path) -> anyhow::Result<u64> {
    let resp = f.send(f.request(Method::GET, path)).await?;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut file = tokio::fs::File::from_std(tmp.reopen()?);
    let mut stream = resp.bytes_stream();
    let mut written = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("the download broke; run the command again")?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
        written += chunk.len() as u64;
    }
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    file.sync_all().await?;
    tmp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(written)
}

fn print(v: &Value, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        crate::output::print_json(v)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "{} : {} (destinataire {})",
        v["id"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?"),
        v["recipient"].as_str().unwrap_or("?")
    );
    if let Some(p) = v["package"].as_object() {
        outln!(
            "paquet : {} octets, SHA-512 {}",
            p.get("size").unwrap_or(&Value::Null),
            p.get("sha512").and_then(Value::as_str).unwrap_or("?")
        );
    }
    for u in v["units"].as_array().into_iter().flatten() {
        outln!(
            "{}\t{}\t{}",
            u["unit_id"].as_str().unwrap_or("?"),
            u["outcome"].as_str().unwrap_or("-"),
            u["title"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}
