//! Pilot flows: building SIPs from partners' payloads, and installing a flow's referentials.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use archipel_archive::flows::{self, BuildContext, FlowDefinition};
use clap::Subcommand;
use reqwest::Method;
use serde_json::json;

use super::http::{Front, FrontArgs};

#[derive(Subcommand)]
pub enum FlowCommand {
    /// The flows known (built in, or from --flows-dir).
    List {
        #[arg(long)]
        flows_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Create a flow's rules, profile and agreement in a tenant.
    Install {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        flow: String,
        /// Agencies allowed to transfer under the flow's agreement (repeat).
        #[arg(long = "transferring-agency", required = true)]
        transferring_agencies: Vec<String>,
        #[arg(long)]
        flows_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
}

#[derive(clap::Args)]
pub struct BuildSipArgs {
    /// The flow (e.g. actes, pes, marches); detected from the first payload when omitted.
    #[arg(long)]
    pub flow: Option<String>,
    /// Payload files: main documents and their attachments.
    #[arg(required = true)]
    pub payloads: Vec<PathBuf>,
    #[arg(long, short)]
    pub output: PathBuf,
    #[arg(long)]
    pub archival_agency: String,
    #[arg(long)]
    pub transferring_agency: String,
    #[arg(long)]
    pub originating_agency: Option<String>,
    /// The agreement to name; the flow's own by default.
    #[arg(long)]
    pub agreement: Option<String>,
    #[arg(long)]
    pub flows_dir: Option<PathBuf>,
    /// PRONOM signatures, to identify formats from the bytes instead of the flow's declarations.
    #[arg(long, env = "ARCHIPEL_PRONOM_DIR")]
    pub pronom_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

fn load(flows_dir: Option<&PathBuf>) -> anyhow::Result<Vec<FlowDefinition>> {
    Ok(match flows_dir {
        Some(d) => flows::load_dir(d)?,
        None => flows::builtin_flows()?,
    })
}

fn find<'a>(all: &'a [FlowDefinition], id: &str) -> anyhow::Result<&'a FlowDefinition> {
    all.iter().find(|f| f.id == id).with_context(|| {
        let known: Vec<&str> = all.iter().map(|f| f.id.as_str()).collect();
        format!("no flow `{id}`; known flows: {}", known.join(", "))
    })
}

pub async fn run(command: FlowCommand) -> anyhow::Result<ExitCode> {
    match command {
        FlowCommand::List { flows_dir, json } => {
            let all = load(flows_dir.as_ref())?;
            if json {
                let v: Vec<_> = all
                    .iter()
                    .map(|f| json!({"id": f.id, "name": f.name, "seda_version": f.seda_version.as_str(), "agreement": f.agreement.id, "profile": f.profile.id}))
                    .collect();
                crate::output::print_json(&v)?;
            } else {
                for f in &all {
                    outln!("{}\t{}", f.id, f.name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        FlowCommand::Install {
            tenant,
            flow,
            transferring_agencies,
            flows_dir,
            json,
            front,
        } => {
            let all = load(flows_dir.as_ref())?;
            let f = find(&all, &flow)?;
            let api = Front::new(&front)?;
            let rules: serde_json::Value = api
                .json(
                    api.request(Method::POST, &format!("/v1/tenants/{tenant}/rules"))
                        .header("content-type", "text/csv")
                        .body(flows::PILOT_RULES_CSV),
                )
                .await?;
            let required: Vec<&str> = f.profile.required_elements.iter().map(|e| e.as_str()).collect();
            let profile: serde_json::Value = api
                .json(
                    api.request(Method::PUT, &format!("/v1/tenants/{tenant}/profiles/{}", f.profile.id))
                        .json(&json!({
                            "name": f.name, "required_fields": required, "allowed_formats": f.profile.allowed_formats,
                        })),
                )
                .await?;
            let mismatch = serde_json::to_value(f.agreement.on_format_mismatch)?;
            let severity = if mismatch == "reject" { "reject" } else { "warn" };
            let agreement: serde_json::Value = api
                .json(
                    api.request(
                        Method::PUT,
                        &format!("/v1/tenants/{tenant}/agreements/{}", f.agreement.id),
                    )
                    .json(&json!({
                        "name": f.agreement.name, "transferring_agencies": transferring_agencies,
                        "profile": f.profile.id, "allowed_formats": f.agreement.allowed_formats,
                        "format_mismatch": severity, "disallowed_format": severity, "flow": f.id,
                    })),
                )
                .await?;
            if json {
                crate::output::print_json(
                    &json!({"flow": f.id, "rules": rules.as_array().map_or(0, Vec::len), "profile": profile, "agreement": agreement}),
                )?;
            } else {
                outln!(
                    "flow {} installed in {tenant}: agreement {} v{}, profile {} v{}, {} rules",
                    f.id,
                    agreement["id"],
                    agreement["version"],
                    profile["id"],
                    profile["version"],
                    rules.as_array().map_or(0, Vec::len)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn build_sip(args: BuildSipArgs) -> anyhow::Result<ExitCode> {
    let all = load(args.flows_dir.as_ref())?;
    let flow = match &args.flow {
        Some(id) => find(&all, id)?,
        None => flows::detect_flow(&all, &args.payloads[0])?,
    };
    let identifier = match &args.pronom_dir {
        Some(dir) => {
            let files = archipel_pronom::SignatureFiles::in_dir(dir)?;
            Some(archipel_pronom::Identifier::load(&files.droid, &files.container)?)
        }
        None => None,
    };
    let (archival_agency, transferring_agency) = (args.archival_agency.clone(), args.transferring_agency.clone());
    let (originating_agency, archival_agreement) = (args.originating_agency.clone(), args.agreement.clone());
    let flow = flow.clone();
    let payloads = args.payloads.clone();
    let out = args.output.clone();
    let report = tokio::task::spawn_blocking(move || {
        let ctx = BuildContext {
            archival_agency,
            transferring_agency,
            originating_agency,
            archival_agreement,
            comment: None,
            identifier: identifier.as_ref(),
        };
        flows::build_sip(&flow, &payloads, &ctx, &out)
    })
    .await??;
    if args.json {
        crate::output::print_json(&report)?;
    } else {
        outln!(
            "{}: SIP of flow {} (SEDA {}), {} groups, {} bytes, message {}",
            args.output.display(),
            report.flow,
            report.seda_version.as_str(),
            report.groups.len(),
            report.sip_bytes,
            report.message_identifier
        );
        for w in &report.warnings {
            outln!("  warning: {w}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
