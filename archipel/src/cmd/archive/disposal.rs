//! `archipel archive elimination …`, `hold …` and `rules modify`: disposal of stored units.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use reqwest::Method;
use serde_json::{json, Value};

use super::http::{Front, FrontArgs};
use super::listing::{show_or_list, ShowArgs};

#[derive(clap::Subcommand)]
pub enum EliminationCommand {
    /// Units whose appraisal rule has ended with FinalAction Destroy (DESTROY), and those that
    /// would be but must be kept for now (CONFLICT, with the reasons).
    Analyse {
        #[arg(long)]
        tenant: String,
        /// The date the rules are judged at (YYYY-MM-DD; default today).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Propose units for elimination to the control authority (writes the
    /// AuthorizationControlAuthorityRequest): every DESTROY unit of the analysis, or --unit ones.
    Propose {
        #[arg(long)]
        tenant: String,
        /// The control authority's identifier in SEDA messages (e.g. the Archives départementales).
        #[arg(long)]
        control_authority: String,
        #[arg(long)]
        at: Option<String>,
        /// A unit to propose (repeat); every DESTROY unit when none is given.
        #[arg(long = "unit")]
        units: Vec<String>,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        seda_version: Option<String>,
        /// Save the AuthorizationControlAuthorityRequest here.
        #[arg(long)]
        request: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// List the tenant's eliminations, or show one.
    Show(ShowArgs),
    /// The control authority's visa (control-authority token only): approve (all, or all but
    /// --refuse-unit ones) or refuse, or send its own AuthorizationControlAuthorityRequestReply.
    Decide {
        #[arg(long)]
        tenant: String,
        id: String,
        #[arg(long, group = "decision")]
        approve: bool,
        #[arg(long, group = "decision")]
        refuse: bool,
        /// An AuthorizationControlAuthorityRequestReply written by the control authority.
        #[arg(long, group = "decision")]
        reply: Option<PathBuf>,
        /// With --approve: a unit refused nonetheless (repeat).
        #[arg(long = "refuse-unit", requires = "approve")]
        refuse_units: Vec<String>,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Eliminate the approved units: their files leave the cluster, the elimination record and
    /// the ArchiveDestructionNotification stay.
    Execute {
        #[arg(long)]
        tenant: String,
        id: String,
        /// Save each ArchiveDestructionNotification in this directory.
        #[arg(long)]
        notification_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Save one message of an elimination: request, reply or a notification's identifier.
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

#[derive(clap::Subcommand)]
pub enum HoldCommand {
    /// Put units under a legal hold (a HoldRule of the referential): no elimination while it holds.
    Add {
        #[arg(long)]
        tenant: String,
        /// The HoldRule id in the rules referential.
        #[arg(long)]
        rule: String,
        #[arg(long)]
        start_date: Option<String>,
        /// HoldEndDate (for a HoldRule without a duration).
        #[arg(long)]
        end_date: Option<String>,
        /// Who ordered it (HoldOwner), e.g. a court.
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// HoldReassessingDate.
        #[arg(long)]
        reassessing_date: Option<String>,
        /// PreventRearrangement: no reclassification while held.
        #[arg(long)]
        prevent_rearrangement: bool,
        /// The units (system ids).
        #[arg(required = true)]
        units: Vec<String>,
        #[command(flatten)]
        out: ModifyOutput,
    },
    /// Retry now the cluster legal holds that could not be set when their AIP was committed
    /// (the front retries them every few minutes anyway). Operator token.
    Sweep {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Lift a hold the units declare.
    Lift {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        rule: String,
        #[arg(required = true)]
        units: Vec<String>,
        #[command(flatten)]
        out: ModifyOutput,
    },
}

/// `archipel archive rules modify`.
#[derive(clap::Args)]
pub struct ModifyArgs {
    #[arg(long)]
    tenant: String,
    /// A unit to modify (system id); repeat.
    #[arg(long = "unit", required_unless_present = "query")]
    units: Vec<String>,
    /// Instead of --unit: the units a search finds, as JSON with the parameters of `GET …/units`
    /// (e.g. '{"originating_agency": "SP-REGION", "rule_id": "APP-00001"}').
    #[arg(long, conflicts_with = "units")]
    query: Option<String>,
    /// Declare this rule on the units.
    #[arg(long, group = "change")]
    add: Option<String>,
    /// Stop declaring this rule on the units.
    #[arg(long, group = "change")]
    remove: Option<String>,
    /// Change this rule: with --start-date and/or --new-rule-id.
    #[arg(long, group = "change")]
    update: Option<String>,
    /// A JSON file holding a list of changes ({"action": "add"|"remove"|"update", "rule_id": …}).
    #[arg(long, group = "change")]
    changes: Option<PathBuf>,
    #[arg(long)]
    new_rule_id: Option<String>,
    /// StartDate of the rule added or updated (YYYY-MM-DD).
    #[arg(long)]
    start_date: Option<String>,
    /// FinalAction of the rule's category (AppraisalRule: Keep or Destroy).
    #[arg(long)]
    final_action: Option<String>,
    #[command(flatten)]
    out: ModifyOutput,
}

#[derive(clap::Args)]
pub struct ModifyOutput {
    /// Why (kept in the logbook and the notification).
    #[arg(long)]
    comment: Option<String>,
    /// SEDA version of the ArchiveModificationNotification (2.1, 2.2, 2.3).
    #[arg(long)]
    seda_version: Option<String>,
    /// Save each ArchiveModificationNotification in this directory.
    #[arg(long)]
    notification_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    front: FrontArgs,
}

pub async fn elimination(command: EliminationCommand) -> anyhow::Result<ExitCode> {
    match command {
        EliminationCommand::Analyse {
            tenant,
            at,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let mut r = f.request(Method::GET, &format!("/v1/tenants/{tenant}/eliminations/analysis"));
            if let Some(at) = &at {
                r = r.query(&[("at", at)]);
            }
            let v: Value = f.json(r).await?;
            if json {
                crate::output::print_json(&v)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "au {} : {} unités examinées, {} éliminables (DESTROY), {} en conflit (CONFLICT)",
                v["at"].as_str().unwrap_or("?"),
                v["considered"],
                v["destroy"],
                v["conflict"]
            );
            for u in v["units"].as_array().into_iter().flatten() {
                let reasons: Vec<&str> = u["reasons"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["type"].as_str())
                    .collect();
                outln!(
                    "{}\t{}\t{}\t{}",
                    u["status"].as_str().unwrap_or("?"),
                    u["unit_id"].as_str().unwrap_or("?"),
                    u["title"].as_str().unwrap_or(""),
                    reasons.join(",")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        EliminationCommand::Propose {
            tenant,
            control_authority,
            at,
            units,
            comment,
            seda_version,
            request,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let body = json!({"control_authority": control_authority, "at": at, "comment": comment,
                              "seda_version": seda_version, "unit_ids": (!units.is_empty()).then_some(units)});
            let v: Value = f
                .json(
                    f.request(Method::POST, &format!("/v1/tenants/{tenant}/eliminations"))
                        .json(&body),
                )
                .await?;
            let id = v["id"].as_str().unwrap_or_default().to_owned();
            if let Some(path) = &request {
                save_message(&f, &tenant, &id, "request", path).await?;
            }
            print_proposal(&v, json)
        }
        EliminationCommand::Show(args) => {
            let line = |p: &Value| {
                format!(
                    "{}\t{}\t{} unités\t{}",
                    p["id"].as_str().unwrap_or("?"),
                    p["status"].as_str().unwrap_or("?"),
                    p["units"].as_array().map_or(0, Vec::len),
                    p["created_at"].as_str().unwrap_or("")
                )
            };
            show_or_list(args, "eliminations", print_proposal, line).await
        }
        EliminationCommand::Decide {
            tenant,
            id,
            approve,
            refuse,
            reply,
            refuse_units,
            comment,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let path = format!("/v1/tenants/{tenant}/eliminations/{id}/decision");
            let r = if let Some(file) = &reply {
                f.post_xml(&path, file)?
            } else if approve || refuse {
                let decision = if approve { "approved" } else { "refused" };
                f.request(Method::POST, &path)
                    .json(&json!({"decision": decision, "refused_units": refuse_units, "comment": comment}))
            } else {
                anyhow::bail!("give the decision: --approve, --refuse or --reply FILE");
            };
            let v: Value = f.json(r).await?;
            print_proposal(&v, json)
        }
        EliminationCommand::Execute {
            tenant,
            id,
            notification_dir,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let v: Value = f
                .json(f.request(Method::POST, &format!("/v1/tenants/{tenant}/eliminations/{id}/execute")))
                .await?;
            if let Some(dir) = &notification_dir {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
                for n in v["execution"]["notifications"].as_array().into_iter().flatten() {
                    let name = n["message_identifier"].as_str().unwrap_or_default();
                    save_message(&f, &tenant, &id, name, &dir.join(format!("{name}.xml"))).await?;
                }
            }
            print_proposal(&v, json)
        }
        EliminationCommand::Message {
            tenant,
            id,
            name,
            output,
            front,
        } => {
            let f = Front::new(&front)?;
            save_message(&f, &tenant, &id, &name, &output).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn save_message(f: &Front, tenant: &str, id: &str, name: &str, path: &std::path::Path) -> anyhow::Result<()> {
    f.download(&format!("/v1/tenants/{tenant}/eliminations/{id}/messages/{name}"), path)
        .await?;
    Ok(())
}

fn print_proposal(v: &Value, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        crate::output::print_json(v)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "élimination {} : {}",
        v["id"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?")
    );
    for u in v["units"].as_array().into_iter().flatten() {
        outln!(
            "{}\t{}\t{}\t{}",
            u["unit_id"].as_str().unwrap_or("?"),
            u["decision"].as_str().unwrap_or("-"),
            u["outcome"].as_str().unwrap_or("-"),
            u["title"].as_str().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn hold(command: HoldCommand) -> anyhow::Result<ExitCode> {
    match command {
        HoldCommand::Add {
            tenant,
            rule,
            start_date,
            end_date,
            owner,
            reason,
            reassessing_date,
            prevent_rearrangement,
            units,
            out,
        } => {
            let hold = json!({
                "hold_end_date": end_date, "hold_owner": owner, "hold_reason": reason,
                "hold_reassessing_date": reassessing_date,
                "prevent_rearrangement": prevent_rearrangement.then_some(true),
            });
            let change = json!({"action": "add", "rule_id": rule, "start_date": start_date, "hold": hold});
            send(&tenant, units, None, vec![change], out).await
        }
        HoldCommand::Sweep { json, front } => {
            let f = Front::new(&front)?;
            let v: Value = f.json(f.request(Method::POST, "/v1/holds/sweep")).await?;
            if json {
                crate::output::print_json(&v)?;
            } else {
                outln!(
                    "{} AIP désormais sous gel d'objets, {} objets verrouillés, {} disparus, {} en échec",
                    v["held_aips"].as_array().map_or(0, Vec::len),
                    v["objects_held"],
                    v["objects_gone"],
                    v["failing"].as_array().map_or(0, Vec::len)
                );
                for f in v["failing"].as_array().into_iter().flatten() {
                    outln!("échec : {}", f.as_str().unwrap_or("?"));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        HoldCommand::Lift {
            tenant,
            rule,
            units,
            out,
        } => {
            let change = json!({"action": "remove", "rule_id": rule});
            send(&tenant, units, None, vec![change], out).await
        }
    }
}

pub async fn modify(args: ModifyArgs) -> anyhow::Result<ExitCode> {
    let changes: Vec<Value> = if let Some(path) = &args.changes {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a JSON list of changes", path.display()))?
    } else if let Some(rule) = &args.add {
        vec![
            json!({"action": "add", "rule_id": rule, "start_date": args.start_date, "final_action": args.final_action}),
        ]
    } else if let Some(rule) = &args.remove {
        vec![json!({"action": "remove", "rule_id": rule})]
    } else if let Some(rule) = &args.update {
        vec![
            json!({"action": "update", "rule_id": rule, "new_rule_id": args.new_rule_id,
                    "start_date": args.start_date, "final_action": args.final_action}),
        ]
    } else {
        anyhow::bail!("say what to change: --add RULE, --remove RULE, --update RULE or --changes FILE");
    };
    let query: Option<Value> = match &args.query {
        Some(q) => Some(serde_json::from_str(q).context("--query is not JSON, e.g. '{\"rule_id\": \"APP-00001\"}'")?),
        None => None,
    };
    send(&args.tenant, args.units, query, changes, args.out).await
}

async fn send(
    tenant: &str,
    units: Vec<String>,
    query: Option<Value>,
    changes: Vec<Value>,
    out: ModifyOutput,
) -> anyhow::Result<ExitCode> {
    let f = Front::new(&out.front)?;
    let mut body =
        json!({"unit_ids": units, "changes": changes, "comment": out.comment, "seda_version": out.seda_version});
    if let Some(q) = query {
        body["query"] = q;
    }
    let r = f
        .request(Method::POST, &format!("/v1/tenants/{tenant}/units/rules"))
        .json(&body);
    let v: Value = f.json(r).await?;
    if let Some(dir) = &out.notification_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let op = v["operation"].as_str().unwrap_or_default();
        for n in v["notifications"].as_array().into_iter().flatten() {
            let id = n["message_identifier"].as_str().unwrap_or_default();
            let path = format!("/v1/tenants/{tenant}/modifications/{op}/notifications/{id}");
            f.download(&path, &dir.join(format!("{id}.xml"))).await?;
        }
    }
    if out.json {
        crate::output::print_json(&v)?;
    } else {
        outln!(
            "modification {} : {} unités modifiées, {} recalculées par héritage",
            v["operation"].as_str().unwrap_or("?"),
            v["units"].as_array().map_or(0, Vec::len),
            v["recomputed"].as_array().map_or(0, Vec::len)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `archipel archive register`: the accession register.
#[derive(clap::Args)]
pub struct RegisterArgs {
    #[arg(long)]
    tenant: String,
    /// One originating agency only.
    #[arg(long)]
    agency: Option<String>,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// One line per entry and per movement out, with the totals per agency.
    #[arg(long)]
    csv: bool,
    #[command(flatten)]
    front: FrontArgs,
}

/// `archipel archive usage`: use per tenant, flow and month, for the partners' cost sharing.
#[derive(clap::Args)]
pub struct UsageArgs {
    /// YYYY-MM.
    #[arg(long)]
    month: String,
    /// One tenant (archivist token); every tenant with an operator token when omitted.
    #[arg(long)]
    tenant: Option<String>,
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    #[arg(long)]
    csv: bool,
    #[command(flatten)]
    front: FrontArgs,
}

fn csv_cell(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub async fn register(args: RegisterArgs) -> anyhow::Result<ExitCode> {
    let f = Front::new(&args.front)?;
    let mut r = f.request(Method::GET, &format!("/v1/tenants/{}/accession-register", args.tenant));
    if let Some(a) = &args.agency {
        r = r.query(&[("originating_agency", a)]);
    }
    let v: Value = f.json(r).await?;
    if args.json {
        crate::output::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.csv {
        outln!("originating_agency,kind,id,date,agreement,transferring_agency,flow,units,objects,bytes,remaining_units,remaining_objects,remaining_bytes");
    }
    for a in v["agencies"].as_array().into_iter().flatten() {
        let agency = &a["originating_agency"];
        if !args.csv {
            outln!(
                "{} : entrés {} unités / {} objets / {} octets ; sortis {} unités ; détenus {} unités / {} objets / {} octets",
                agency.as_str().unwrap_or("?"),
                a["total_ingested"]["units"],
                a["total_ingested"]["objects"],
                a["total_ingested"]["bytes"],
                a["total_out"]["units"],
                a["current"]["units"],
                a["current"]["objects"],
                a["current"]["bytes"]
            );
        }
        for e in a["entries"].as_array().into_iter().flatten() {
            let cells = [
                agency.clone(),
                "entry".into(),
                e["transfer_id"].clone(),
                e["date"].clone(),
                e["agreement"].clone(),
                e["transferring_agency"].clone(),
                e["flow"].clone(),
                e["ingested"]["units"].clone(),
                e["ingested"]["objects"].clone(),
                e["ingested"]["bytes"].clone(),
                e["remaining"]["units"].clone(),
                e["remaining"]["objects"].clone(),
                e["remaining"]["bytes"].clone(),
            ];
            print_row(&cells, args.csv);
        }
        for m in a["movements"].as_array().into_iter().flatten() {
            let cells = [
                agency.clone(),
                m["kind"].clone(),
                m["id"].clone(),
                m["date"].clone(),
                Value::Null,
                Value::Null,
                Value::Null,
                m["counts"]["units"].clone(),
                m["counts"]["objects"].clone(),
                m["counts"]["bytes"].clone(),
                Value::Null,
                Value::Null,
                Value::Null,
            ];
            print_row(&cells, args.csv);
        }
        if args.csv {
            let cells = [
                agency.clone(),
                "total".into(),
                Value::Null,
                v["computed_at"].clone(),
                Value::Null,
                Value::Null,
                Value::Null,
                a["total_ingested"]["units"].clone(),
                a["total_ingested"]["objects"].clone(),
                a["total_ingested"]["bytes"].clone(),
                a["current"]["units"].clone(),
                a["current"]["objects"].clone(),
                a["current"]["bytes"].clone(),
            ];
            print_row(&cells, true);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_row(cells: &[Value], csv: bool) {
    let text: Vec<String> = cells.iter().map(csv_cell).collect();
    if csv {
        outln!("{}", text.join(","));
    } else {
        outln!("  {}", text.join("\t"));
    }
}

pub async fn usage(args: UsageArgs) -> anyhow::Result<ExitCode> {
    let f = Front::new(&args.front)?;
    let path = match &args.tenant {
        Some(t) => format!("/v1/tenants/{t}/usage"),
        None => "/v1/usage".into(),
    };
    let v: Value = f
        .json(f.request(Method::GET, &path).query(&[("month", &args.month)]))
        .await?;
    if args.json {
        crate::output::print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let fields = [
        "tenant",
        "flow",
        "month",
        "units",
        "objects",
        "logical_bytes",
        "stored_bytes",
        "units_in",
        "bytes_in",
        "units_out",
        "bytes_out",
        "reads",
        "bytes_read",
    ];
    if args.csv {
        outln!("{}", fields.join(","));
    } else {
        outln!("{}", fields.join("\t"));
    }
    for row in v.as_array().into_iter().flatten() {
        let cells: Vec<Value> = fields.iter().map(|k| row[*k].clone()).collect();
        let text: Vec<String> = cells.iter().map(csv_cell).collect();
        outln!("{}", text.join(if args.csv { "," } else { "\t" }));
    }
    Ok(ExitCode::SUCCESS)
}
