//! One module per command family.

pub mod archive;
pub mod bench;
pub mod cert;
mod dev;
pub mod identify;
mod locks;
mod membership;
mod meta;
mod namespaces;
mod objects;
pub mod s3;
mod server;
mod status;
mod workers;

use std::process::ExitCode;

use anyhow::Context;
use archipel_client::Client;

use crate::cli::{ClusterArgs, Command};

pub async fn run(cli: crate::cli::Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Server { config } => server::run(&config).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Status {
            cluster,
            json,
            probe_timeout_ms,
        } => status::run(&connect(&cluster)?, json, probe_timeout_ms).await,
        Command::Cluster { command } => membership::cluster(command).await,
        Command::Node { command } => membership::node(command).await,
        Command::Meta { command } => meta::run(command).await,
        Command::Cert { command } => cert::run(command).await,
        Command::Identify(args) => identify::run(args).await,
        Command::Archive { command } => archive::run(*command).await,
        Command::Bench(args) => bench::run(args).await,
        Command::S3 { command } => s3::run(command).await,
        Command::Ns { command } => namespaces::run(command).await,
        Command::Scrub { command } => workers::scrub(command).await,
        Command::Repair { command } => workers::repair(command).await,
        Command::Put {
            target,
            input,
            cluster,
            json,
        } => objects::put(&connect(&cluster)?, &target, &input, json).await,
        Command::Get {
            target,
            output,
            offset,
            length,
            cluster,
        } => objects::get(&connect(&cluster)?, &target, output.as_deref(), offset, length).await,
        Command::Stat { target, cluster, json } => objects::stat(&connect(&cluster)?, &target, json).await,
        Command::Ls {
            target,
            limit,
            cluster,
            json,
        } => objects::ls(&connect(&cluster)?, &target, limit, json).await,
        Command::Rm {
            target,
            bypass_governance,
            reason,
            cluster,
            json,
        } => {
            let bypass = reason.filter(|_| bypass_governance);
            objects::rm(&connect(&cluster)?, &target, bypass.as_deref(), json).await
        }
        Command::Lock { command } => locks::run(command).await,
    }
}

pub fn connect(args: &ClusterArgs) -> anyhow::Result<Client> {
    let list = args
        .cluster
        .as_deref()
        .context("no cluster address: pass --cluster ADDR[,ADDR…] or set ARCHIPEL_CLUSTER (archipel dev prints it)")?;
    cert::client_for(list, args.tls_dir.as_deref())
}
