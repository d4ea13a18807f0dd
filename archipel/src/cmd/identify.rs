//! `archipel identify FILE…` (to be built).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct IdentifyArgs {
    /// Files or directories.
    pub paths: Vec<PathBuf>,
}

pub async fn run(_args: IdentifyArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("format identification is not built yet")
}
