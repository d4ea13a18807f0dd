//! `archipel archive restitution …` and `transfer-out …`: archives leaving Archipel, back to
//! their originating agency or to another archive.

use std::path::PathBuf;
use std::process::ExitCode;

use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Front, FrontArgs};
use super::listing::{show_or_list, ShowArgs};

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
    Show(ShowArgs),
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
                Some(file) => f.post_xml(&path, file)?,
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
            let r = f.post_xml(&format!("/v1/tenants/{tenant}/{BASE}/{id}/reply"), &atr)?;
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
        let progress = |v: &Value| super::http::package_progress(&id, "paquet", v);
        v = f
            .follow(v, &format!("{path}/{id}"), "building", args.json, progress)
            .await?;
        if v["status"] == "failed" {
            anyhow::bail!(
                "the package of {id} could not be built: {}",
                v["error"].as_str().unwrap_or("see the logbook")
            );
        }
        if let Some(out) = &args.output {
            f.download(&format!("{path}/{id}/package"), out).await?;
        }
    }
    print(&v, args.json)
}

async fn common(base: &str, c: CommonCommand) -> anyhow::Result<ExitCode> {
    match c {
        CommonCommand::Show(args) => {
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
            show_or_list(args, base, print, line).await
        }
        CommonCommand::Package {
            tenant,
            id,
            output,
            front,
        } => {
            let f = Front::new(&front)?;
            f.download(&format!("/v1/tenants/{tenant}/{base}/{id}/package"), &output)
                .await?;
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
            f.download(&format!("/v1/tenants/{tenant}/{base}/{id}/messages/{name}"), &output)
                .await?;
            Ok(ExitCode::SUCCESS)
        }
    }
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
