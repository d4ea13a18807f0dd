//! `archipel bench scale`: how the storage core grows with the number of objects. Two fresh
//! local clusters, one holding N/10 objects and one holding N, go through the same steps;
//! each step's figure at N is compared with its figure at N/10 (growth), and 10 N is
//! extrapolated from that slope. Every object goes through the real PUT path (client, Raft).

mod background;
mod load;
mod newcomer;
mod probe;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use super::cluster::LocalCluster;
use crate::cmd::dev::NodeTuning;

use table::Measured;

/// The namespace the objects go to.
const NAMESPACE: &str = "scale";
/// The node drained, and the site the newcomer joins (the drained node's).
const DRAINED: u64 = 6;
const NEWCOMER: u64 = 7;

#[derive(clap::Args)]
pub struct ScaleArgs {
    /// Objects in the larger run; the smaller run holds a tenth of them.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(20..))]
    pub objects: u64,
    /// Size of each object. Above the inline limit (4 KiB by default), each object has six
    /// small shards, which the scrub, the drain and the missing-shard pass then go through.
    #[arg(long, default_value = "8KiB")]
    pub object_size: String,
    /// Concurrent PUTs while loading.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// Raft entries between two snapshots on every node (the nodes' default is 10 000).
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub snapshot_after_logs: u64,
    /// Where the two clusters are made (a temporary directory inside; the same disk as a real node).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ScaleArgs) -> anyhow::Result<ExitCode> {
    let size = archipel_node::size::parse_size(&args.object_size)
        .map_err(anyhow::Error::msg)
        .context("--object-size")?;
    if size == 0 {
        bail!("--object-size must be at least 1 byte");
    }
    let work = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            tempfile::tempdir_in(d)?
        }
        None => tempfile::tempdir()?,
    };
    let mut runs = Vec::new();
    for objects in [args.objects / 10, args.objects] {
        eprintln!("bench scale: {objects} objects of {size} bytes, on a fresh 3-site x 2-node cluster…");
        let dir = work.path().join(objects.to_string());
        runs.push(run_size(&args, objects, size, &dir).await?);
    }
    table::Table::of(&runs[0], &runs[1]).print(args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// One cluster, loaded with `objects`, and every step measured on it.
async fn run_size(args: &ScaleArgs, objects: u64, size: u64, dir: &Path) -> anyhow::Result<Measured> {
    let data = dir.join("cluster");
    let extra = ["--snapshot-after-logs".to_owned(), args.snapshot_after_logs.to_string()];
    let cluster = LocalCluster::start_with(&data, &extra).await?;
    let client = std::sync::Arc::new(crate::cmd::cert::client_for(&cluster.addrs, None)?);
    let addrs: Vec<String> = cluster.addrs.split(',').map(str::to_owned).collect();
    client.create_namespace(NAMESPACE, None, 0).await?;
    let mut m = Measured {
        objects,
        ..Default::default()
    };

    let loaded = load::objects(&client, NAMESPACE, objects, size, args.concurrency).await?;
    m.load_secs = loaded.secs;
    eprintln!(
        "bench scale: loaded in {:.1} s; waiting for every node's snapshot of it…",
        loaded.secs
    );
    let snap = load::until_snapshot(&client, &addrs, args.snapshot_after_logs).await?;
    m.snapshot_build_secs = snap.build_secs;
    m.snapshot_bytes = probe::snapshot_bytes(&data, addrs.len() as u64);
    m.meta_bytes = probe::meta_bytes(&data, addrs.len() as u64);

    eprintln!("bench scale: one scrub cycle on every node…");
    let scrub = background::scrub_cycle(&client).await?;
    m.scrub_cycle_secs = scrub.cycle_secs;
    m.missing_pass_secs = scrub.missing_pass_secs;

    eprintln!("bench scale: a new node joins and catches up…");
    let tuning = NodeTuning {
        repair_rate: 0,
        snapshot_after_logs: Some(args.snapshot_after_logs),
    };
    let site = crate::cmd::dev::site_name(((DRAINED - 1) / 2) as usize);
    let addr = format!("127.0.0.1:{}", cluster.base_port + (NEWCOMER - 1) as u16);
    let newcomer = newcomer::Newcomer::start(&client, &data, NEWCOMER, &site, &addr, tuning).await?;
    let joined = newcomer.join(&client, &addrs).await?;
    m.catch_up_secs = joined.catch_up_secs;
    m.snapshot_install_secs = joined.snapshot_install_secs;

    eprintln!("bench scale: draining node {DRAINED}…");
    m.drain_secs = background::drain(&client, DRAINED).await?;

    m.rss_peak_bytes = probe::peak_rss(&data, NEWCOMER)?;
    newcomer.stop();
    cluster.stop();
    Ok(m)
}
