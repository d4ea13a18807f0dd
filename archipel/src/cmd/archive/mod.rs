//! `archipel archive …`: the archive layer's front and its administration.

mod access;
mod audit;
mod bench;
mod dip_bench;
mod disposal;
mod doors;
mod flows;
mod http;
mod listing;
mod outgoing;
mod search;
mod serve;
mod transfer;
pub mod ui;
mod ui_bench;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

pub use doors::{start_vitam, VitamArgs};
use http::Front;
pub use http::FrontArgs;
pub use serve::{open_archive, seda_schemas, serve_front, ServeArgs};

#[derive(Subcommand)]
pub enum ArchiveCommand {
    /// Run an archive front against a cluster; prints ARCHIPEL_ARCHIVE=… once it listens.
    Serve(ServeArgs),
    /// Tenants (one per partner body).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Archival agreements (contrats d'entrée).
    Agreement {
        #[command(subcommand)]
        command: AgreementCommand,
    },
    /// Archival profiles.
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
    /// Management rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Submit a SIP (zip with manifest.xml); with --wait, follow it to its reply.
    Transfer(transfer::TransferArgs),
    /// Show a transfer, or list a tenant's transfers.
    Transfers {
        #[arg(long)]
        tenant: String,
        /// A transfer id; all transfers when omitted.
        #[arg(conflicts_with_all = ["agency", "message_id"])]
        id: Option<String>,
        /// With --message-id: the transfer holding this TransferringAgency's message (a resent
        /// message answers with the first transfer).
        #[arg(long, requires = "message_id")]
        agency: Option<String>,
        /// The MessageIdentifier of the SIP, with --agency.
        #[arg(long, requires = "agency")]
        message_id: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Search archive units: full text, filters (description, management rules, holds) and facet counts.
    Search(search::SearchArgs),
    /// Show one archive unit (JSON).
    Unit {
        #[arg(long)]
        tenant: String,
        id: String,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Download one object of a unit.
    Download {
        #[arg(long)]
        tenant: String,
        unit: String,
        object: String,
        #[arg(long, short)]
        output: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// The tenant's logbook.
    Logbook {
        #[command(subcommand)]
        command: LogbookCommand,
    },
    /// Pilot flows (acts, PES, procurement) and flows added by configuration.
    Flow {
        #[command(subcommand)]
        command: flows::FlowCommand,
    },
    /// Build a SIP from a flow's payloads (e.g. a PES_Aller and its ACQUIT).
    BuildSip(flows::BuildSipArgs),
    /// Ingest throughput against this machine's limit (starts a local cluster unless --cluster).
    Bench(bench::IngestBenchArgs),
    /// Response time of each web-interface page with many units, against the 100 ms p95 target.
    BenchUi(ui_bench::UiBenchArgs),
    /// DIP build throughput against the cluster's large-GET rate (starts a local cluster unless --cluster).
    DipBench(dip_bench::DipBenchArgs),
    /// Rebuild a tenant's catalog and search index from the AIPs in the cluster.
    Reindex {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Elimination: analysis of what may be destroyed.
    Elimination {
        #[command(subcommand)]
        command: disposal::EliminationCommand,
    },
    /// Legal holds (HoldRule) on stored units.
    Hold {
        #[command(subcommand)]
        command: disposal::HoldCommand,
    },
    /// The accession register (registre des entrées): entries and movements out per originating agency.
    Register(disposal::RegisterArgs),
    /// Use per tenant, flow and month, for the partners' cost sharing.
    Usage(disposal::UsageArgs),
    /// Restitution: units back to their originating agency, deleted here once it acknowledges.
    Restitution {
        #[command(subcommand)]
        command: outgoing::RestitutionCommand,
    },
    /// Transfer out (reversement) to another archive, deleted here once it accepts (ATR OK).
    TransferOut {
        #[command(subcommand)]
        command: outgoing::TransferOutCommand,
    },
    /// Integrity audits: read every object back and compare it with its digest at ingest.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Relevé de valeur probante: the evidence chain of units (digests, proven logbook entries,
    /// transfer), stored, logged and checkable offline.
    #[command(alias = "releve")]
    ProbativeReport(audit::ProbativeArgs),
    /// Access contracts (contrats d'accès): what requester tokens may see and take.
    AccessContract {
        #[command(subcommand)]
        command: access::AccessContractCommand,
    },
    /// Ask for a communication: a DIP of units by id or search, with a derogation if needed.
    Deliver(access::DeliverArgs),
    /// Communication requests: follow them, answer derogations, download DIPs.
    Delivery {
        #[command(subcommand)]
        command: access::DeliveryCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
pub enum TenantCommand {
    Add {
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// The archival agency identifier used in SEDA messages (default: the tenant id).
        #[arg(long)]
        archival_agency: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// What a partner types in Pastell's connector forms for this tenant: the as@lae door's path
    /// and the tenant's Vitam number (docs/connectors.md).
    Doors {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
}

#[derive(Subcommand)]
pub enum AgreementCommand {
    /// Create an agreement, or a new version of it.
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// May be repeated.
        #[arg(long = "transferring-agency", required = true)]
        transferring_agencies: Vec<String>,
        #[arg(long)]
        profile: Option<String>,
        /// Allowed PUIDs (repeat); any when none is given.
        #[arg(long = "allowed-format")]
        allowed_formats: Vec<String>,
        /// What a format that differs from the declared one means.
        #[arg(long, value_enum, default_value = "warn")]
        format_mismatch: SeverityArg,
        /// What an unidentifiable format means.
        #[arg(long, value_enum, default_value = "warn")]
        unidentified_format: SeverityArg,
        /// What a format outside the allowed ones (agreement or profile) means.
        #[arg(long, value_enum, default_value = "reject")]
        disallowed_format: SeverityArg,
        #[arg(long)]
        flow: Option<String>,
        /// A RELAX NG grammar (.rng) every manifest under this agreement must match.
        #[arg(long)]
        rng: Option<std::path::PathBuf>,
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
}

#[derive(Subcommand)]
pub enum ProfileCommand {
    Add {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Content fields every top-level unit must carry (repeat).
        #[arg(long = "require")]
        required_fields: Vec<String>,
        #[arg(long = "allowed-format")]
        allowed_formats: Vec<String>,
        /// A RELAX NG grammar (.rng, as SHERPA or as@lae export it) every manifest must match.
        #[arg(long)]
        rng: Option<std::path::PathBuf>,
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
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Import rules from CSV (RuleId,RuleType,RuleValue,RuleDescription,RuleDuration,RuleMeasurement).
    Import {
        #[arg(long)]
        tenant: String,
        file: PathBuf,
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
    /// Change the rules stored units declare (add, remove, new start date or rule id); end dates
    /// are recomputed, and inherited rules below them.
    Modify(Box<disposal::ModifyArgs>),
}

#[derive(Subcommand)]
pub enum LogbookCommand {
    /// Print entries.
    Show {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Re-check the hash chain and every seal. Exit code 1 when anything is broken.
    Verify {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Write entries.jsonl, seals.jsonl and keys.json into DIR, for docs/logbook-verify.py.
    Export {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        front: FrontArgs,
    },
    /// Seal the entries written since the last seal now.
    Seal {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        front: FrontArgs,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an operator token directly in the cluster (needs cluster access, no front):
    /// how the first operator gets a credential.
    Bootstrap {
        #[command(flatten)]
        cluster: crate::cli::ClusterArgs,
        #[arg(long, default_value = "bootstrap")]
        label: String,
        #[arg(long)]
        json: bool,
    },
    Create {
        /// The tenant (not for operators).
        #[arg(long)]
        tenant: Option<String>,
        /// transferring-agency, archivist, control-authority, operator or requester.
        #[arg(long)]
        role: String,
        /// For transferring-agency tokens: the agency identifier it transfers as.
        #[arg(long)]
        agency: Option<String>,
        /// For requester tokens: the access contract it acts under.
        #[arg(long)]
        access_contract: Option<String>,
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        front: FrontArgs,
    },
}

/// What a format finding does to a transfer; clap refuses any other word.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum SeverityArg {
    Warn,
    Reject,
}

fn severity(s: SeverityArg) -> &'static str {
    match s {
        SeverityArg::Warn => "warn",
        SeverityArg::Reject => "reject",
    }
}

/// The RELAX NG `what` (grammar, profile) at `path`, if one is given.
fn read_rng(path: Option<&std::path::Path>, what: &str) -> anyhow::Result<Option<String>> {
    path.map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read the RNG {what} {}", p.display())))
        .transpose()
}

/// Prints `v` as JSON, or one line per record with the given fields.
fn show(v: &Value, json_out: bool, fields: &[&str]) -> anyhow::Result<()> {
    if json_out {
        return crate::output::print_json(v);
    }
    let rows = match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    for r in rows {
        let cells: Vec<String> = fields
            .iter()
            .map(|f| match &r[*f] {
                Value::String(s) => s.clone(),
                Value::Null => "-".into(),
                other => other.to_string(),
            })
            .collect();
        outln!("{}", cells.join("\t"));
    }
    Ok(())
}

pub async fn run(command: ArchiveCommand) -> anyhow::Result<ExitCode> {
    use ArchiveCommand as C;
    match command {
        C::Serve(args) => serve::run(args).await,
        C::Transfer(args) => transfer::run(args).await,
        C::Flow { command } => flows::run(command).await,
        C::BuildSip(args) => flows::build_sip(args).await,
        C::Bench(args) => bench::run(args).await,
        C::BenchUi(args) => ui_bench::run(args).await,
        C::DipBench(args) => dip_bench::run(args).await,
        C::Tenant { command } => match command {
            TenantCommand::Add {
                id,
                name,
                archival_agency,
                json,
                front,
            } => {
                let f = Front::new(&front)?;
                let body = json!({"id": id, "name": name, "archival_agency": archival_agency});
                let v: Value = f.json(f.request(Method::POST, "/v1/tenants").json(&body)).await?;
                show(&v, json, &["id", "name", "archival_agency", "namespace"])?;
                Ok(ExitCode::SUCCESS)
            }
            TenantCommand::List { json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get("/v1/tenants").await?;
                show(&v, json, &["id", "name", "archival_agency"])?;
                Ok(ExitCode::SUCCESS)
            }
            TenantCommand::Doors { tenant, json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get(&format!("/v1/tenants/{tenant}/doors")).await?;
                show(&v, json, &["tenant", "asalae_path", "vitam_tenant"])?;
                Ok(ExitCode::SUCCESS)
            }
        },
        C::Agreement { command } => match command {
            AgreementCommand::Add {
                tenant,
                id,
                name,
                transferring_agencies,
                profile,
                allowed_formats,
                format_mismatch,
                unidentified_format,
                disallowed_format,
                flow,
                rng,
                json,
                front,
            } => {
                let f = Front::new(&front)?;
                let rng = read_rng(rng.as_deref(), "grammar")?;
                let body = json!({
                    "name": name, "transferring_agencies": transferring_agencies, "profile": profile,
                    "allowed_formats": allowed_formats, "format_mismatch": severity(format_mismatch),
                    "unidentified_format": severity(unidentified_format),
                    "disallowed_format": severity(disallowed_format), "flow": flow, "rng": rng,
                });
                let path = format!("/v1/tenants/{tenant}/agreements/{id}");
                let v: Value = f.json(f.request(Method::PUT, &path).json(&body)).await?;
                show(&v, json, &["id", "version", "transferring_agencies", "profile"])?;
                Ok(ExitCode::SUCCESS)
            }
            AgreementCommand::List { tenant, json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get(&format!("/v1/tenants/{tenant}/agreements")).await?;
                show(
                    &v,
                    json,
                    &["id", "version", "transferring_agencies", "profile", "active"],
                )?;
                Ok(ExitCode::SUCCESS)
            }
        },
        C::Profile { command } => match command {
            ProfileCommand::Add {
                tenant,
                id,
                name,
                required_fields,
                allowed_formats,
                rng,
                json,
                front,
            } => {
                let f = Front::new(&front)?;
                let rng = read_rng(rng.as_deref(), "profile")?;
                let body = json!({"name": name, "required_fields": required_fields, "allowed_formats": allowed_formats, "rng": rng});
                let path = format!("/v1/tenants/{tenant}/profiles/{id}");
                let v: Value = f.json(f.request(Method::PUT, &path).json(&body)).await?;
                show(&v, json, &["id", "version", "required_fields"])?;
                Ok(ExitCode::SUCCESS)
            }
            ProfileCommand::List { tenant, json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get(&format!("/v1/tenants/{tenant}/profiles")).await?;
                show(&v, json, &["id", "version", "required_fields"])?;
                Ok(ExitCode::SUCCESS)
            }
        },
        C::Rules { command } => match command {
            RulesCommand::Import {
                tenant,
                file,
                json,
                front,
            } => {
                let f = Front::new(&front)?;
                let csv = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let path = format!("/v1/tenants/{tenant}/rules");
                let v: Value = f
                    .json(
                        f.request(Method::POST, &path)
                            .header("content-type", "text/csv")
                            .body(csv),
                    )
                    .await?;
                if json {
                    crate::output::print_json(&v)?;
                } else {
                    outln!("imported {} rules", v.as_array().map_or(0, Vec::len));
                }
                Ok(ExitCode::SUCCESS)
            }
            RulesCommand::List { tenant, json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get(&format!("/v1/tenants/{tenant}/rules")).await?;
                show(&v, json, &["id", "rule_type", "duration", "measurement", "value"])?;
                Ok(ExitCode::SUCCESS)
            }
            RulesCommand::Modify(args) => disposal::modify(*args).await,
        },
        C::Transfers {
            tenant,
            id,
            agency,
            message_id,
            json,
            front,
        } => {
            let f = Front::new(&front)?;
            let path = match (&id, &agency, &message_id) {
                (_, Some(agency), Some(message)) => format!(
                    "/v1/tenants/{tenant}/transfers/by-message/{}/{}",
                    transfer::path_segment(agency),
                    transfer::path_segment(message)
                ),
                (Some(id), _, _) => format!("/v1/tenants/{tenant}/transfers/{id}"),
                _ => format!("/v1/tenants/{tenant}/transfers"),
            };
            let v: Value = f.get(&path).await?;
            show(
                &v,
                json,
                &[
                    "id",
                    "status",
                    "step",
                    "message_identifier",
                    "resend_of",
                    "units",
                    "objects",
                ],
            )?;
            Ok(ExitCode::SUCCESS)
        }
        C::Search(args) => search::run(args).await,
        C::Elimination { command } => disposal::elimination(command).await,
        C::Hold { command } => disposal::hold(command).await,
        C::Register(args) => disposal::register(args).await,
        C::Usage(args) => disposal::usage(args).await,
        C::Restitution { command } => outgoing::restitution(command).await,
        C::TransferOut { command } => outgoing::transfer_out(command).await,
        C::Audit { command } => audit::audit(command).await,
        C::ProbativeReport(args) => audit::probative(args).await,
        C::Unit { tenant, id, front } => {
            let f = Front::new(&front)?;
            let v: Value = f.get(&format!("/v1/tenants/{tenant}/units/{id}")).await?;
            crate::output::print_json(&v)?;
            Ok(ExitCode::SUCCESS)
        }
        C::Download {
            tenant,
            unit,
            object,
            output,
            front,
        } => {
            let f = Front::new(&front)?;
            let path = format!("/v1/tenants/{tenant}/units/{unit}/objects/{object}");
            let written = f.download(&path, &output).await?;
            eprintln!("wrote {written} bytes to {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        C::Logbook { command } => match command {
            LogbookCommand::Show {
                tenant,
                from,
                limit,
                front,
            } => {
                let f = Front::new(&front)?;
                let r = f
                    .request(Method::GET, &format!("/v1/tenants/{tenant}/logbook"))
                    .query(&[("from", from.to_string()), ("limit", limit.to_string())]);
                let v: Value = f.json(r).await?;
                crate::output::print_json(&v)?;
                Ok(ExitCode::SUCCESS)
            }
            LogbookCommand::Verify { tenant, json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f
                    .json(f.request(Method::POST, &format!("/v1/tenants/{tenant}/logbook/verify")))
                    .await?;
                let ok = v["ok"].as_bool().unwrap_or(false);
                if json {
                    crate::output::print_json(&v)?;
                } else {
                    if ok {
                        outln!(
                            "logbook of {tenant}: intact ({} entries, {} seals checked)",
                            v["entries"],
                            v["seals"]
                        );
                    } else {
                        outln!("logbook of {tenant}: BROKEN: {}", v["problem"]);
                    }
                    for run in v["tokens"].as_array().into_iter().flatten() {
                        let (first, last) = (&run["first_seal"], &run["last_seal"]);
                        let seals = if first == last {
                            format!("seal {first}")
                        } else {
                            format!("seals {first}..={last}")
                        };
                        outln!("  {seals}: {}", run["message"].as_str().unwrap_or("?"));
                    }
                }
                Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
            }
            LogbookCommand::Export { tenant, dir, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get(&format!("/v1/tenants/{tenant}/logbook/export")).await?;
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                let write = |name: &str, text: &str| {
                    std::fs::write(dir.join(name), text)
                        .with_context(|| format!("cannot write {}", dir.join(name).display()))
                };
                write("entries.jsonl", v["entries_jsonl"].as_str().unwrap_or_default())?;
                write("seals.jsonl", v["seals_jsonl"].as_str().unwrap_or_default())?;
                write("keys.json", &serde_json::to_string_pretty(&v["keys"])?)?;
                eprintln!("wrote entries.jsonl, seals.jsonl and keys.json to {}", dir.display());
                Ok(ExitCode::SUCCESS)
            }
            LogbookCommand::Seal { tenant, front } => {
                let f = Front::new(&front)?;
                let v: Value = f
                    .json(f.request(Method::POST, &format!("/v1/tenants/{tenant}/logbook/seal")))
                    .await?;
                crate::output::print_json(&v)?;
                Ok(ExitCode::SUCCESS)
            }
        },
        C::Reindex { tenant, json, front } => {
            let f = Front::new(&front)?;
            let v: Value = f
                .json(f.request(Method::POST, &format!("/v1/tenants/{tenant}/reindex")))
                .await?;
            if json {
                crate::output::print_json(&v)?;
            } else {
                outln!(
                    "reindexed {tenant}: {} AIPs, {} units; {} incomplete AIPs skipped, {} stale records removed",
                    v["aips"],
                    v["units"],
                    v["incomplete"].as_array().map_or(0, Vec::len),
                    v["removed_units"]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        C::AccessContract { command } => access::contract(command).await,
        C::Deliver(args) => access::deliver(args).await,
        C::Delivery { command } => access::delivery(command).await,
        C::Token { command } => match command {
            TokenCommand::Bootstrap { cluster, label, json } => {
                let client = crate::cmd::connect(&cluster)?;
                let store = archipel_archive::store::Store::new(client);
                let issued = archipel_archive::auth::Authenticator::new(store.clone())
                    .create(None, archipel_archive::auth::Role::Operator, None, &label)
                    .await?;
                archipel_archive::journal::Journal::new(store, None, None)
                    .await?
                    .record(
                        archipel_archive::journal::PLATFORM,
                        "token.bootstrap",
                        "OK",
                        "cluster-client",
                        Some(&issued.id),
                        serde_json::json!({"label": label}),
                    )
                    .await?;
                if json {
                    crate::output::print_json(&issued)?;
                } else {
                    outln!("{}", issued.token);
                    eprintln!(
                        "operator token {} created; it is shown only once: keep it safe",
                        issued.id
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::Create {
                tenant,
                role,
                agency,
                access_contract,
                label,
                json,
                front,
            } => {
                let f = Front::new(&front)?;
                let body = json!({"tenant": tenant, "role": role, "agency": agency, "label": label,
                    "access_contract": access_contract});
                let v: Value = f.json(f.request(Method::POST, "/v1/tokens").json(&body)).await?;
                if json {
                    crate::output::print_json(&v)?;
                } else {
                    outln!("{}", v["token"].as_str().unwrap_or_default());
                    eprintln!("token {} created; it is shown only once: keep it safe", v["id"]);
                }
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::List { json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.get("/v1/tokens").await?;
                show(&v, json, &["id", "tenant", "role", "label", "created_at", "revoked_at"])?;
                Ok(ExitCode::SUCCESS)
            }
            TokenCommand::Revoke { id, json, front } => {
                let f = Front::new(&front)?;
                let v: Value = f.json(f.request(Method::DELETE, &format!("/v1/tokens/{id}"))).await?;
                show(&v, json, &["id", "revoked_at"])?;
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}
