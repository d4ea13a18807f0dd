//! `archipel bench`: measures Archipel against this machine's own limit, measured in the same run.
//! Every figure is a ratio to that limit, because absolute numbers drift on shared machines.

pub(crate) mod cluster;
mod cpu;
mod healing;
mod limit;
mod report;
mod s3;
mod scale;
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
    /// Repeat the whole measurement, limit and cluster included, this many times and report each
    /// figure's median (this machine's disk and CPU drift from one minute to the next).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
    #[arg(long)]
    pub json: bool,
    /// Another benchmark instead of this one.
    #[command(subcommand)]
    pub what: Option<BenchWhat>,
}

#[derive(clap::Subcommand)]
pub enum BenchWhat {
    /// How the storage core grows with the catalog: two local clusters with N/10 and N objects,
    /// each step's time (snapshot, new node, drain, scrub) and the nodes' peak memory.
    Scale(scale::ScaleArgs),
    /// The S3 gateway against the client crate, same cluster, same run (ratios).
    S3(s3::S3BenchArgs),
}

pub async fn run(mut args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.what.take() {
        Some(BenchWhat::Scale(scale)) => return scale::run(scale).await,
        Some(BenchWhat::S3(s3_args)) => return s3::run(s3_args).await,
        None => {}
    }
    let parse = |s: &str| archipel_node::size::parse_size(s).map_err(anyhow::Error::msg);
    let large = parse(&args.large).context("--large")?;
    let limit_bytes = parse(&args.limit_bytes).context("--limit-bytes")?;
    let mut reports = Vec::new();
    for run in 1..=args.runs {
        if args.runs > 1 {
            eprintln!("bench: run {run} of {}", args.runs);
        }
        reports.push(run_once(&args, large, limit_bytes).await?);
    }
    report::Summary::of(&reports).print(args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// A temp working directory for a benchmark, inside `dir` (created if missing) or the system's.
pub(crate) fn work_dir(dir: Option<&std::path::Path>) -> anyhow::Result<tempfile::TempDir> {
    match dir {
        Some(d) => std::fs::create_dir_all(d)
            .and_then(|()| tempfile::tempdir_in(d))
            .with_context(|| format!("cannot make a working directory in {} (--dir)", d.display())),
        None => tempfile::tempdir().context("cannot make a working directory in the system's temp dir"),
    }
}

async fn run_once(args: &BenchArgs, large: u64, limit_bytes: u64) -> anyhow::Result<Report> {
    let work = work_dir(args.dir.as_deref())?;
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
    let meter = match &owned {
        Some(c) => cpu::Meter::cluster(c.pids()?),
        None => cpu::Meter::client_only(),
    };
    report.cpu_scope(meter.scope());
    let client = crate::cmd::cert::client_for(&addrs, None)?;
    // On an existing cluster, later runs find the namespace there.
    if let Err(e) = client.create_namespace("bench", None, 0).await {
        if owned.is_some() || !matches!(e, archipel_client::ClientError::Conflict(_)) {
            return Err(e.into());
        }
    }

    eprintln!("bench: large objects ({large} bytes)…");
    let large_result = workload::large(&client, work.path(), large, &meter).await?;
    report.large(&large_result, &limit);
    for size in [64 << 10, 4 << 10] {
        eprintln!(
            "bench: {} small objects of {size} bytes, {} clients…",
            args.small_count, args.concurrency
        );
        let small = workload::small(&client, size, args.small_count, args.concurrency, &meter).await?;
        report.small(size, &small, &limit);
    }
    if !args.skip_healing {
        // The drain takes node 6 out: only on a cluster of our own.
        if owned.is_some() {
            eprintln!("bench: scrub and repair…");
            let h = healing::measure(&client, args.small_count, &meter).await?;
            report.healing(&h, &limit);
        }
    }
    if let Some(c) = owned {
        c.stop();
    }
    Ok(report)
}

#[cfg(test)]
mod work_dir_tests {
    /// `--dir` may name a directory that does not exist yet (the DIP and UI benches failed with a
    /// bare "No such file or directory" on it).
    #[test]
    fn a_missing_dir_is_created() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("not/yet");
        let work = super::work_dir(Some(&dir)).unwrap();
        assert!(work.path().starts_with(&dir) && work.path().is_dir());
    }
}
