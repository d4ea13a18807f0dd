//! `archipel`: the one binary. It wires the crates together and holds the CLI; no logic of
//! its own beyond presenting results.

mod cli;
mod cmd;
mod output;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let serves = match &cli.command {
        cli::Command::Server { .. } | cli::Command::Dev(_) => true,
        // Benches talk to nodes for minutes: a connection a node drops must not kill them.
        cli::Command::Bench(_) => true,
        cli::Command::Archive { command } => matches!(**command, cmd::archive::ArchiveCommand::Serve(_)),
        cli::Command::S3 { command } => matches!(command, cmd::s3::S3Command::Serve(_)),
        _ => false,
    };
    if !serves {
        // A CLI piped into `head` should end quietly, not panic on a closed stdout. Servers keep
        // Rust's default (ignore SIGPIPE) so a dropped connection never kills them.
        // SAFETY: setting a signal disposition before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping causes already spelled out by their parent
/// (our error types often include the cause in their own message).
fn describe(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}
