//! `archipel archive access-contract|deliver|delivery`: access contracts, communication
//! requests (DIPs) and derogation answers.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Front, FrontArgs};
use super::show;

#[derive(Subcommand)]
pub enum AccessContractCommand {
    /// Create or change an access contract (a new version each time).
    Put {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// An originating agency whose units holders see (repeat for several).
        #[arg(long = "agency")]
        agencies: Vec<String>,
        /// Every originating agency of the tenant.
        #[arg(long, conflicts_with = "agencies")]
        all_agencies: bool,
        /// Holders also see (not take) units not yet communicable.
        #[arg(long)]
        see_non_communicable: bool,
        /// An object usage holders may download (BinaryMaster, Dissemination, Thumbnail,
        /// TextContent; repeat for several); all when omitted.
        #[arg(long = "usage")]
        usages: Vec<String>,
        /// Holders may not ask for DIPs.
        #[arg(long)]
        no_dips: bool,
        #[arg(long)]
        inactive: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// One contract with its history (JSON).
    Show {
        #[arg(long)]
        tenant: String,
        id: String,
        #[command(flatten)]
        front: FrontArgs,
    },
}

/// `archipel archive deliver`: ask for a communication (a DIP).
#[derive(clap::Args)]
pub struct DeliverArgs {
    #[arg(long)]
    tenant: String,
    /// A unit to communicate (repeat for several).
    #[arg(long = "unit", conflicts_with = "request")]
    units: Vec<String>,
    /// Every unit this search finds (the search syntax of `archipel archive search`).
    #[arg(long, conflicts_with = "request")]
    query: Option<String>,
    /// An ArchiveDeliveryRequest (SEDA XML) to send as is.
    #[arg(long)]
    request: Option<PathBuf>,
    /// Ask for a derogation (L213-3) for units not yet communicable.
    #[arg(long, conflicts_with = "request")]
    derogation: bool,
    /// The requester's identifier in the SEDA messages (default: the token).
    #[arg(long, conflicts_with = "request")]
    requester: Option<String>,
    /// Why the communication is asked for (shown to the authorities).
    #[arg(long, conflicts_with = "request")]
    comment: Option<String>,
    /// SEDA version of the messages: 2.1, 2.2 or 2.3.
    #[arg(long, default_value = "2.2", conflicts_with = "request")]
    seda_version: String,
    /// Follow the request until its DIP is ready (or it waits for a derogation, or fails).
    #[arg(long)]
    wait: bool,
    /// With --wait: where to write the DIP.
    #[arg(long, requires = "wait")]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    front: FrontArgs,
}

#[derive(Subcommand)]
pub enum DeliveryCommand {
    /// The tenant's communication requests (a requester sees its own).
    List {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// One request (JSON).
    Show {
        #[arg(long)]
        tenant: String,
        id: String,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Answer a derogation: as the originating agency, then as the control authority.
    Answer {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long, conflicts_with_all = ["refuse", "reply"])]
        approve: bool,
        #[arg(long, conflicts_with = "reply")]
        refuse: bool,
        /// Why (required to refuse).
        #[arg(long)]
        reason: Option<String>,
        /// With the originating agency's consent: the control authority to ask next.
        #[arg(long)]
        control_authority: Option<String>,
        /// The authority's own SEDA reply (Authorization…RequestReply) instead of --approve/--refuse.
        #[arg(long)]
        reply: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Download a ready DIP.
    Download {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long, short)]
        out: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// A SEDA message of the request: `request`, or an authorisation request or reply id.
    Message {
        #[arg(long)]
        tenant: String,
        id: String,
        name: String,
        #[arg(long, short)]
        out: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
}

const CONTRACT_FIELDS: &[&str] = &[
    "id",
    "version",
    "name",
    "all_originating_agencies",
    "originating_agencies",
    "see_non_communicable",
    "object_usages",
    "may_request_dips",
    "active",
];
const DELIVERY_FIELDS: &[&str] = &[
    "id",
    "status",
    "requester",
    "derogation",
    "units",
    "created_at",
    "expires_at",
];

pub async fn contract(command: AccessContractCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccessContractCommand::Put {
            tenant,
            id,
            name,
            agencies,
            all_agencies,
            see_non_communicable,
            usages,
            no_dips,
            inactive,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let body = json!({
                "name": name,
                "originating_agencies": agencies,
                "all_originating_agencies": all_agencies,
                "see_non_communicable": see_non_communicable,
                "object_usages": usages,
                "may_request_dips": !no_dips,
                "active": !inactive,
            });
            let path = format!("/v1/tenants/{tenant}/access-contracts/{id}");
            let v: Value = f.json(f.request(Method::PUT, &path).json(&body)).await?;
            show(&v, json, CONTRACT_FIELDS)?;
        }
        AccessContractCommand::List { tenant, json, front } => {
            let f = Front::new(&front)?;
            let v: Value = f.get(&format!("/v1/tenants/{tenant}/access-contracts")).await?;
            show(&v, json, CONTRACT_FIELDS)?;
        }
        AccessContractCommand::Show { tenant, id, front } => {
            let f = Front::new(&front)?;
            let v: Value = f.get(&format!("/v1/tenants/{tenant}/access-contracts/{id}")).await?;
            crate::output::print_json(&v)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn deliver(args: DeliverArgs) -> anyhow::Result<ExitCode> {
    let f = Front::new(&args.front)?;
    let path = format!("/v1/tenants/{}/deliveries", args.tenant);
    let request = match &args.request {
        Some(file) => f.post_xml(&path, file)?,
        None => {
            if args.units.is_empty() && args.query.is_none() {
                anyhow::bail!("name the units: --unit ID (repeatable), --query Q, or --request FILE.xml");
            }
            let body = json!({
                "units": args.units,
                "query": args.query.as_ref().map(|q| json!({"q": q})),
                "derogation": args.derogation,
                "requester": args.requester,
                "comment": args.comment,
                "seda_version": args.seda_version,
            });
            f.request(Method::POST, &path).json(&body)
        }
    };
    let mut d: Value = f.json(request).await?;
    let id = d["id"].as_str().unwrap_or_default().to_owned();
    if args.wait {
        let progress = |d: &Value| super::http::package_progress(&id, "DIP", d);
        d = f
            .follow(d, &format!("{path}/{id}"), "building", args.json, progress)
            .await?;
    }
    let status = d["status"].as_str().unwrap_or_default().to_owned();
    if args.json {
        crate::output::print_json(&d)?;
    } else {
        outln!("delivery {id}: {status}");
    }
    match status.as_str() {
        "ready" => {
            if let Some(out) = &args.out {
                let written = f.download(&format!("{path}/{id}/dip"), out).await?;
                eprintln!("wrote the DIP ({written} bytes) to {}", out.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        "pending_originating_agency" | "pending_control_authority" => {
            eprintln!(
                "delivery {id} waits for a derogation ({status}); follow it with `archipel archive delivery show \
                 --tenant {} {id}`",
                args.tenant
            );
            Ok(if args.wait {
                ExitCode::from(3)
            } else {
                ExitCode::SUCCESS
            })
        }
        "building" => Ok(ExitCode::SUCCESS),
        _ => {
            eprintln!("delivery {id} is {status}: {}", d["error"].as_str().unwrap_or(""));
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn delivery(command: DeliveryCommand) -> anyhow::Result<ExitCode> {
    match command {
        DeliveryCommand::List { tenant, json, front } => {
            let f = Front::new(&front)?;
            let v: Value = f.get(&format!("/v1/tenants/{tenant}/deliveries")).await?;
            show(&v, json, DELIVERY_FIELDS)?;
        }
        DeliveryCommand::Show { tenant, id, front } => {
            let f = Front::new(&front)?;
            let v: Value = f.get(&format!("/v1/tenants/{tenant}/deliveries/{id}")).await?;
            crate::output::print_json(&v)?;
        }
        DeliveryCommand::Answer {
            tenant,
            id,
            approve,
            refuse,
            reason,
            control_authority,
            reply,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let path = format!("/v1/tenants/{tenant}/deliveries/{id}/authorization");
            let request = match reply {
                Some(file) => f.post_xml(&path, &file)?,
                None => {
                    let decision = match (approve, refuse) {
                        (true, false) => "approved",
                        (false, true) => "refused",
                        _ => anyhow::bail!("say --approve or --refuse (with --reason), or give --reply FILE.xml"),
                    };
                    let body = json!({"decision": decision, "reason": reason, "control_authority": control_authority});
                    f.request(Method::POST, &path).json(&body)
                }
            };
            let v: Value = f.json(request).await?;
            show(&v, json, DELIVERY_FIELDS)?;
        }
        DeliveryCommand::Download { tenant, id, out, front } => {
            let f = Front::new(&front)?;
            let written = f
                .download(&format!("/v1/tenants/{tenant}/deliveries/{id}/dip"), &out)
                .await?;
            eprintln!("wrote {written} bytes to {}", out.display());
        }
        DeliveryCommand::Message {
            tenant,
            id,
            name,
            out,
            front,
        } => {
            let f = Front::new(&front)?;
            let path = format!("/v1/tenants/{tenant}/deliveries/{id}/messages/{name}");
            let written = f.download(&path, &out).await?;
            eprintln!("wrote {written} bytes to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
