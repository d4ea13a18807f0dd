//! Running host commands (docker, tc, scripts) with a time limit.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::process::Command;

/// Runs `program args…`, fails on a non-zero exit, returns stdout.
pub async fn run(program: &str, args: &[&str], limit: Duration) -> Result<String> {
    let out = tokio::time::timeout(limit, Command::new(program).args(args).kill_on_drop(true).output())
        .await
        .with_context(|| format!("`{program} {}` took more than {limit:?}", args.join(" ")))?
        .with_context(|| format!("cannot run `{program}`"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Like `run`, for commands whose failure is expected sometimes (cleanup): errors are ignored.
pub async fn run_quiet(program: &str, args: &[&str], limit: Duration) {
    let _ = run(program, args, limit).await;
}
