//! One module per command family.

mod dev;
mod membership;
mod meta;
mod server;
mod status;

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
    }
}

pub fn connect(args: &ClusterArgs) -> anyhow::Result<Client> {
    let list = args
        .cluster
        .as_deref()
        .context("no cluster address: pass --cluster ADDR[,ADDR…] or set ARCHIPEL_CLUSTER (archipel dev prints it)")?;
    Ok(Client::from_list(list)?)
}
