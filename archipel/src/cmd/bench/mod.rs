//! `archipel bench`: measures Archipel against this machine's own limit, measured in the same run.
//! Every figure is a ratio to that limit, because absolute numbers drift on shared machines.

pub(crate) mod cluster;
mod healing;
mod limit;
mod report;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

pub use report::Report;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Use this cluster instead of starting a local 3-site x 2-node one.
    #[arg(long, env = "ARCHIPEL_CLUSTER")]
    pub cluster: Option<String>,
    /// Size of the large object (e.g. 1GiB).
    #[arg(long, default_value = "1GiB")]
    pub large: String,
    /// Small objects per size class.
    #[arg(long, default_value_t = 2000)]
    pub small_count: usize,
    /// Concurrent clients for small objects.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Bytes written by the limit measurement (e.g. 512MiB).
    #[arg(long, default_value = "512MiB")]
    pub limit_bytes: String,
    /// Where the local cluster and the limit measurement write (same disk as a real node).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Skip the drain (repair) and scrub measurements.
    #[arg(long)]
    pub skip_healing: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let parse = |s: &str| archipel_node::size::parse_size(s).map_err(anyhow::Error::msg);
    let large = parse(&args.large).context("--large")?;
    let limit_bytes = parse(&args.limit_bytes).context("--limit-bytes")?;
    let work = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::tempdir_in(d)?
        }
        None => tempfile::tempdir()?,
    };
    let mut report = Report::default();
    eprintln!("bench: measuring this machine's limit ({limit_bytes} bytes)…");
    let limit = limit::measure(work.path(), limit_bytes).await?;
    report.limit(&limit);

    let (owned, addrs) = match &args.cluster {
        Some(list) => (None, list.clone()),
        None => {
            eprintln!("bench: starting a local 3-site x 2-node cluster…");
            let c = cluster::LocalCluster::start(&work.path().join("cluster")).await?;
            let addrs = c.addrs.clone();
            (Some(c), addrs)
        }
    };
    let client = crate::cmd::cert::client_for(&addrs, None)?;
    client.create_namespace("bench", None, 0).await?;

    eprintln!("bench: large objects ({large} bytes)…");
    let large_result = workload::large(&client, work.path(), large).await?;
    report.large(&large_result, &limit);
    for size in [64 << 10, 4 << 10] {
        eprintln!(
            "bench: {} small objects of {size} bytes, {} clients…",
            args.small_count, args.concurrency
        );
        let small = workload::small(&client, size, args.small_count, args.concurrency).await?;
        report.small(size, &small);
    }
    if !args.skip_healing {
        // The drain takes node 6 out: only on a cluster of our own.
        if owned.is_some() {
            eprintln!("bench: scrub and repair…");
            let h = healing::measure(&client, args.small_count).await?;
            report.healing(&h, &limit);
        }
    }
    if let Some(c) = owned {
        c.stop();
    }
    report.print(args.json)?;
    Ok(ExitCode::SUCCESS)
}
