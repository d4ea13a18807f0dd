//! `archipel archive audit …`: integrity audits of stored objects.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Front, FrontArgs};
use super::listing::{show_or_list, ShowArgs};

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Read back every object of the tenant (or of --unit units and their descendants, or of
    /// the units a --query finds) and compare it with the SHA-512 recorded at ingest.
    Start {
        #[arg(long)]
        tenant: String,
        /// A unit to audit, with its descendants (repeat).
        #[arg(long = "unit", conflicts_with = "query")]
        units: Vec<String>,
        /// A unit search, as JSON with the parameters of `GET …/units` (e.g. '{"q": "délibération"}').
        #[arg(long)]
        query: Option<String>,
        /// Return at once instead of following the audit.
        #[arg(long)]
        no_wait: bool,
        /// Once done, save the report (JSON, one result per object) here.
        #[arg(long, short, conflicts_with = "no_wait")]
        output: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// List the audits, or show one with its anomalies.
    Show(ShowArgs),
    /// Save an audit's report.
    Report {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
}

pub async fn audit(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Start {
            tenant,
            units,
            query,
            no_wait,
            output,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let mut body = json!({});
            if !units.is_empty() {
                body["unit_ids"] = json!(units);
            }
            if let Some(q) = &query {
                body["query"] =
                    serde_json::from_str(q).context("--query is not JSON, e.g. '{\"q\": \"délibération\"}'")?;
            }
            let path = format!("/v1/tenants/{tenant}/audits");
            let mut v: Value = f.json(f.request(Method::POST, &path).json(&body)).await?;
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            if !no_wait {
                let progress = |v: &Value| {
                    let p = &v["progress"];
                    format!(
                        "audit {id} : {}/{} objets relus, {}/{} octets, {} anomalies",
                        p["objects_done"],
                        p["objects_total"],
                        p["bytes_done"],
                        p["bytes_total"],
                        v["counts"]["anomalies"]
                    )
                };
                v = f.follow(v, &format!("{path}/{id}"), "running", json, progress).await?;
                if let Some(out) = &output {
                    f.download(&format!("{path}/{id}/report"), out).await?;
                }
            }
            print(&v, json)
        }
        AuditCommand::Show(args) => {
            let line = |x: &Value| {
                format!(
                    "{}\t{}\t{} objets\t{} anomalies\t{}",
                    x["id"].as_str().unwrap_or("?"),
                    x["status"].as_str().unwrap_or("?"),
                    x["counts"]["objects"],
                    x["counts"]["anomalies"],
                    x["created_at"].as_str().unwrap_or("")
                )
            };
            show_or_list(args, "audits", print, line).await
        }
        AuditCommand::Report {
            tenant,
            id,
            output,
            front,
        } => {
            let f = Front::new(&front)?;
            f.download(&format!("/v1/tenants/{tenant}/audits/{id}/report"), &output)
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
    let c = &v["counts"];
    outln!(
        "audit {} : {} — {} unités, {} objets relus, {} intègres, {} anomalies",
        v["id"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?"),
        c["units"],
        c["objects"],
        c["ok"],
        c["anomalies"]
    );
    if let Some(e) = v["error"].as_str() {
        outln!("erreur : {e}");
    }
    for x in v["anomalies"].as_array().into_iter().flatten() {
        outln!(
            "{}\t{}\t{}\tunités {}",
            x["verdict"].as_str().unwrap_or("?"),
            x["object_id"].as_str().unwrap_or("?"),
            x["key"].as_str().unwrap_or("?"),
            x["unit_ids"]
        );
    }
    if let Some(s) = v["report_sha512"].as_str() {
        outln!(
            "rapport SHA-512 {s}, scellé dans le journal (sceau {})",
            v["seal"]["index"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `archipel archive probative-report` (relevé de valeur probante).
#[derive(clap::Args)]
pub struct ProbativeArgs {
    #[arg(long)]
    tenant: String,
    /// A unit (system id); repeat, at most 100.
    #[arg(long = "unit", required = true)]
    units: Vec<String>,
    /// Save the report (JSON) here; `docs/logbook-verify.py --releve FILE` checks it offline.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    front: FrontArgs,
}

pub async fn probative(args: ProbativeArgs) -> anyhow::Result<ExitCode> {
    let f = Front::new(&args.front)?;
    let path = format!("/v1/tenants/{}/probative-reports", args.tenant);
    let v: Value = f
        .json(f.request(Method::POST, &path).json(&json!({"unit_ids": args.units})))
        .await?;
    let id = v["id"].as_str().unwrap_or_default().to_owned();
    if let Some(out) = &args.output {
        // The stored bytes, whose SHA-512 the logbook holds.
        f.download(&format!("{path}/{id}"), out).await?;
    }
    if args.json {
        crate::output::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let r = &v["report"];
    outln!(
        "relevé de valeur probante {id} : {} — SHA-512 {}",
        r["verdict"].as_str().unwrap_or("?"),
        v["sha512"].as_str().unwrap_or("?")
    );
    for u in r["units"].as_array().into_iter().flatten() {
        outln!(
            "{}\t{}\t{} objets\t{} entrées de journal prouvées\t{}",
            u["unit_id"].as_str().unwrap_or("?"),
            u["verdict"].as_str().unwrap_or("?"),
            u["objects"].as_array().map_or(0, Vec::len),
            u["logbook"].as_array().map_or(0, Vec::len),
            u["problems"]
                .as_array()
                .map(|p| p.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}
