//! `chaos-tests`: drives a real Archipel cluster with a seeded workload while injecting faults,
//! then checks invariants once the faults are healed. See docs/reliability.md.

mod backend;
mod campaign;
mod check;
mod cli;
mod history;
mod inject;
mod report;
mod run;
mod schedule;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::backend::compose::ComposeBackend;
use crate::backend::process::{Extras, ProcessBackend};
use crate::campaign::campaign;
use crate::cli::{Args, BackendKind};
use crate::schedule::FaultKind;

fn default_bin() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug").join("archipel")
}
fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(backend::delay_queue::HELPER_ARG) {
        return match backend::delay_queue::helper_main(&argv[2..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chaos-tests {}: {e:#}", backend::delay_queue::HELPER_ARG);
                ExitCode::from(2)
            }
        };
    }
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(campaign_main()),
        Err(e) => {
            eprintln!("chaos-tests: cannot start the runtime: {e}");
            ExitCode::from(2)
        }
    }
}

async fn campaign_main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.backend {
        BackendKind::Process => {
            let bin = args.archipel_bin.clone().unwrap_or_else(default_bin);
            let extras = if args.faults.iter().any(|f| f.trim() == "all") {
                Extras::probe(args.base_port).await
            } else {
                let named: Vec<FaultKind> = args.faults.iter().filter_map(|f| FaultKind::parse(f)).collect();
                Extras::for_kinds(&named)
            };
            match ProcessBackend::new(bin, &args.work_dir, args.base_port, extras) {
                Ok(b) => campaign(b, &args).await,
                Err(e) => Err(e),
            }
        }
        BackendKind::Compose => {
            let deploy = args
                .deploy_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy"));
            match ComposeBackend::new(deploy, &args.work_dir).await {
                Ok(b) => campaign(b, &args).await,
                Err(e) => Err(e),
            }
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("chaos-tests: {e:#}");
            ExitCode::from(2)
        }
    }
}
