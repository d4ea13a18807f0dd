//! `archipel server --config node.toml`

use std::path::Path;
use std::process::ExitCode;

use archipel_node::config::{LogFormat, NodeConfig};
use tracing_subscriber::EnvFilter;

pub async fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = NodeConfig::load(config_path)?;
    init_logging(config.log.format, &config.log.level);
    archipel_node::server::run(config, shutdown_signal()).await?;
    tracing::info!("node stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // openraft is chatty at info; its warnings are what operators need.
    let filter = filter.add_directive("openraft=warn".parse().unwrap_or_default());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            // Without signal handlers, Ctrl-C still works through the default handler.
            std::future::pending::<()>().await;
        }
    }
    tracing::info!("stop signal received");
}
