//! `archipel cert`: the cluster PKI (CA, node and client certificates, revocation), and how every
//! other command finds its TLS directory.

mod locate;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use archipel_node::tls::{issue, Ca, Role, Validity};
use clap::{Args, Subcommand};
use serde_json::json;

pub use locate::{client_for, register_dev_cluster, tls_dir_for, unregister_dev_cluster};

use crate::cli::ClusterArgs;

#[derive(Subcommand)]
pub enum CertCommand {
    /// Create the cluster CA (ca.pem, ca.key) in --dir. Keep ca.key offline when you can.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// Validity of the CA, in days.
        #[arg(long, default_value_t = issue::CA_DAYS)]
        days: u32,
        /// Common name of the CA, e.g. the federation's name.
        #[arg(long, default_value = "Archipel cluster CA")]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Make the cluster master key (encryption at rest) in a PKI directory made before it existed,
    /// and copy it into every node bundle under DIR/nodes. Changes nothing where it is present.
    MasterKey {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Issue a node certificate (--node ID --site S --addr HOST:PORT…) or a client certificate
    /// (--client NAME --role R), into DIR/nodes/ID or DIR/clients/NAME unless --out is given.
    /// `--role tenant --tenant T` makes a client confined to the namespaces `archive.T` and `T.*`.
    Issue(IssueArgs),
    /// Revoke a certificate by serial: every node refuses it once the revocation is committed.
    Revoke {
        serial: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
    /// List the revoked serials.
    ListRevoked {
        #[command(flatten)]
        cluster: ClusterArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct IssueArgs {
    /// The PKI directory holding ca.pem and ca.key.
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, conflicts_with_all = ["client", "role"], requires_all = ["site", "addr"])]
    node: Option<u64>,
    #[arg(long)]
    site: Option<String>,
    /// Addresses peers and clients dial (host:port, host or IP); repeat for several.
    #[arg(long, num_args = 1..)]
    addr: Vec<String>,
    #[arg(long, requires = "role")]
    client: Option<String>,
    /// operator, archivist, transferring-agency, control-authority or tenant.
    #[arg(long)]
    role: Option<String>,
    /// With --role tenant: the tenant the certificate is confined to.
    #[arg(long, requires = "client")]
    tenant: Option<String>,
    #[arg(long, default_value_t = issue::LEAF_DAYS)]
    days: u32,
    /// Where to write the bundle (ca.pem + certificate + key).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub async fn run(command: CertCommand) -> anyhow::Result<ExitCode> {
    match command {
        CertCommand::Init { dir, days, name, json } => {
            if days == 0 {
                bail!("--days must be at least 1");
            }
            let ca = Ca::generate(&name, Validity::days(days))?;
            let mut written = ca.save(&dir)?;
            // The master key of encryption at rest lives beside the CA key (docs/encryption.md).
            let (key, made) = archipel_node::crypto::ensure_master_key(&dir)?;
            if made {
                written.push(dir.join(archipel_node::crypto::MASTER_KEY_FILE));
            }
            report(json, "CA", None, &written, days);
            if !json {
                outln!(
                    "master key {} (encryption at rest): back it up offline; without it encrypted data is lost for good",
                    key.id()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        CertCommand::MasterKey { dir, json } => master_key(&dir, json),
        CertCommand::Issue(args) => issue(args),
        CertCommand::Revoke {
            serial,
            reason,
            cluster,
            json,
        } => {
            let client = super::connect(&cluster)?;
            let (serial, newly) = client.revoke_cert(&serial, &reason).await?;
            if json {
                outln!("{}", json!({"serial": serial, "newly_revoked": newly}));
            } else if newly {
                outln!("certificate {serial} revoked; every node refuses it from now on");
            } else {
                outln!("certificate {serial} was already revoked");
            }
            Ok(ExitCode::SUCCESS)
        }
        CertCommand::ListRevoked { cluster, json } => {
            let revoked = super::connect(&cluster)?.list_revoked().await?;
            if json {
                let rows: Vec<_> = revoked
                    .iter()
                    .map(|r| json!({"serial": r.serial, "reason": r.reason, "revoked_at_ms": r.revoked_at_ms, "by": r.by}))
                    .collect();
                outln!("{}", serde_json::Value::Array(rows));
            } else if revoked.is_empty() {
                outln!("no certificate is revoked");
            } else {
                for r in revoked {
                    let when = archipel_node::time::format_ms(r.revoked_at_ms);
                    outln!("{}  {when}  by {}  {}", r.serial, r.by, r.reason);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn master_key(dir: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    use archipel_node::crypto::{ensure_master_key, install_master_key, MASTER_KEY_FILE};
    if !dir.join(issue::CA_CERT).exists() {
        bail!(
            "{} holds no ca.pem: give the PKI directory made by `archipel cert init`",
            dir.display()
        );
    }
    let (key, made) = ensure_master_key(dir)?;
    let mut installed = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("nodes")) {
        for entry in entries.flatten().filter(|e| e.path().is_dir()) {
            if install_master_key(&key, &entry.path())? {
                installed.push(entry.path().join(MASTER_KEY_FILE));
            }
        }
    }
    if json {
        outln!(
            "{}",
            json!({"master_key_id": key.id(), "created": made, "installed": installed})
        );
    } else {
        let state = if made { "created" } else { "already present" };
        outln!("master key {} {state} in {}", key.id(), dir.display());
        for path in &installed {
            outln!("  copied to {}", path.display());
        }
        outln!("restart the nodes to load it; back it up offline: without it encrypted data is lost for good");
    }
    Ok(ExitCode::SUCCESS)
}

fn issue(a: IssueArgs) -> anyhow::Result<ExitCode> {
    if a.days == 0 {
        bail!("--days must be at least 1");
    }
    let ca = Ca::load(&a.dir)?;
    let validity = Validity::days(a.days);
    let issued = match (a.node, a.client) {
        (Some(id), None) => {
            let site = a.site.context("--node needs --site")?;
            ca.issue_node(id, &site, &a.addr, validity)?
        }
        (None, Some(name)) => {
            let role = a.role.context("--client needs --role")?;
            match (Role::parse(&role).map_err(anyhow::Error::msg)?, a.tenant) {
                (Role::Tenant, Some(tenant)) => ca.issue_tenant_client(&name, &tenant, validity)?,
                (Role::Tenant, None) => {
                    bail!("--role tenant needs --tenant T: the tenant the certificate is confined to")
                }
                (_, Some(_)) => {
                    bail!("--tenant goes with --role tenant only; other roles are not confined to a tenant")
                }
                (role, None) => ca.issue_client(&name, role, validity)?,
            }
        }
        _ => bail!("say whom the certificate is for: --node ID --site S --addr HOST:PORT, or --client NAME --role R"),
    };
    let out = a.out.unwrap_or_else(|| issue::bundle_dir(&a.dir, &issued.subject));
    let mut written = issue::write_bundle(&out, &ca.cert_pem(), &issued)?;
    // A node finds the master key in its TLS dir: it goes with the node's bundle.
    let key_path = a.dir.join(archipel_node::crypto::MASTER_KEY_FILE);
    if a.node.is_some() && key_path.exists() {
        let key = archipel_node::crypto::MasterKey::load(&key_path)?;
        if archipel_node::crypto::install_master_key(&key, &out)? {
            written.push(out.join(archipel_node::crypto::MASTER_KEY_FILE));
        }
    }
    report(
        a.json,
        &issued.subject.to_string(),
        Some(&issued.serial),
        &written,
        a.days,
    );
    Ok(ExitCode::SUCCESS)
}

fn report(json: bool, what: &str, serial: Option<&str>, written: &[PathBuf], days: u32) {
    if json {
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        outln!(
            "{}",
            json!({"subject": what, "serial": serial, "valid_days": days, "written": files})
        );
        return;
    }
    match serial {
        Some(s) => outln!("issued a certificate for {what}, serial {s}, valid {days} days"),
        None => outln!("created the cluster {what}, valid {days} days"),
    }
    for p in written {
        outln!("  wrote {}", p.display());
    }
}
