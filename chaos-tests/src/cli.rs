//! Command line of `chaos-tests`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// `archipel server` processes on loopback ports (no Docker needed; what CI runs).
    Process,
    /// The 4-site docker-compose cluster of deploy/.
    Compose,
}

/// Drives a real Archipel cluster with a seeded workload while injecting faults, then checks
/// invariants once the faults are healed. Exits 1 on any violation.
#[derive(Parser, Debug, Clone)]
#[command(name = "chaos-tests", version)]
pub struct Args {
    #[arg(long, value_enum, default_value_t = BackendKind::Process)]
    pub backend: BackendKind,
    /// Number of runs; run i uses seed S+i.
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// Seed of the first run (default: from the clock, printed). `--seed S --runs 1` replays run S.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Workload length of one run, in seconds; the fault schedule spans it.
    #[arg(long, default_value_t = 40)]
    pub duration: u64,
    /// Most object operations (put, get, delete) per run; metadata CAS steps come on top. The
    /// workload stops at this count or at --duration, whichever comes first.
    #[arg(long, default_value_t = 2000)]
    pub ops: u64,
    /// Only these fault kinds (comma-separated, e.g. kill-node,flip-bytes); `all`: every kind
    /// the backend can inject here, opt-in ones included. Default: the backend's default kinds
    /// (on the process backend, the opt-in partitions, clock jumps, ENOSPC and EIO are left out:
    /// they need root and set up namespaces, loop devices and clock files).
    #[arg(long, value_delimiter = ',')]
    pub faults: Vec<String>,
    /// Invariants (comma-separated names) whose violations are printed as warnings instead of
    /// failing the run: known violations tracked in an issue, so a campaign still guards the rest.
    #[arg(long, value_delimiter = ',')]
    pub tolerate: Vec<String>,
    /// A run with fewer acknowledged puts fails: its checks would have seen too little.
    #[arg(long, default_value_t = 20)]
    pub min_puts_acked: u64,
    /// Seconds allowed, after healing, for full redundancy to be back.
    #[arg(long, default_value_t = 120)]
    pub redundancy_bound: u64,
    /// The `archipel` binary for the process backend (default: $CARGO_TARGET_DIR/debug/archipel,
    /// else target/debug/archipel).
    #[arg(long)]
    pub archipel_bin: Option<PathBuf>,
    /// Where the process backend keeps its nodes' data and the compose backend its overrides.
    #[arg(long, default_value = "/tmp/archipel-chaos")]
    pub work_dir: PathBuf,
    /// First loopback port of the process backend (6 consecutive ports).
    #[arg(long, default_value_t = 17900)]
    pub base_port: u16,
    /// The deploy/ directory for the compose backend (default: the repository's).
    #[arg(long)]
    pub deploy_dir: Option<PathBuf>,
    /// Keep the cluster and its data after a failed run (and stop the campaign there).
    #[arg(long)]
    pub keep_failed: bool,
    /// Checker self-test: after healing, delete every shard of one acknowledged object (beyond
    /// repair); the campaign then passes only if every run reports that object as lost.
    #[arg(long)]
    pub self_test: bool,
    /// Stop the campaign at the first failed run.
    #[arg(long)]
    pub fail_fast: bool,
}
