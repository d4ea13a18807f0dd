//! `archipel archive dip-bench`: DIP throughput (MB/s of objects delivered, from the request to
//! the download's last byte) for many small objects and for one large object, as a ratio to the
//! cluster's large-GET rate measured in the same run on the same large object, and the front's
//! resident memory during the large one (the DIP is streamed: it should not grow with the object).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use archipel_archive::auth::Principal;
use archipel_archive::delivery::submit::{submit, DeliverySpec, Input};
use archipel_archive::delivery::DeliveryStatus;
use archipel_archive::service::{Archive, ArchiveConfig};
use archipel_seda::digest::{DigestAlgorithm, Hasher};
use futures::StreamExt;
use rand::RngCore;
use serde_json::json;

use super::bench::{bench_tenant, build_sip, transfer_once};

/// The access issue's target: a DIP is built at 80% of the rate a client reads a large object.
const TARGET_RATIO: f64 = 0.8;

#[derive(clap::Args)]
pub struct DipBenchArgs {
    /// Objects of the many-objects DIP.
    #[arg(long, default_value_t = 1000)]
    pub files: usize,
    /// Size of each of those objects.
    #[arg(long, default_value = "100KiB")]
    pub file_size: String,
    /// Size of the single large object.
    #[arg(long, default_value = "1GiB")]
    pub large_size: String,
    /// Use this cluster instead of starting a local 3-site x 2-node one.
    #[arg(long, env = "ARCHIPEL_CLUSTER")]
    pub cluster: Option<String>,
    /// Working directory (same disk as the nodes).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// DIPs of each kind (and large GETs) to run; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DipBenchArgs) -> anyhow::Result<ExitCode> {
    crate::cmd::server::init_logging(archipel_node::config::LogFormat::Human, "warn");
    let size = archipel_node::size::parse_size(&args.file_size).map_err(anyhow::Error::msg)?;
    let large = archipel_node::size::parse_size(&args.large_size).map_err(anyhow::Error::msg)?;
    if args.files == 0 || size == 0 || large == 0 || args.runs == 0 {
        bail!("--files, --file-size, --large-size and --runs must be positive");
    }
    let work = crate::cmd::bench::work_dir(args.dir.as_deref())?;
    eprintln!(
        "dip-bench: building the SIPs ({} × {size} bytes; one of {large} bytes)…",
        args.files
    );
    let (small_sip, large_sip) = (work.path().join("small.zip"), work.path().join("large.zip"));
    {
        let (p, q, files) = (small_sip.clone(), large_sip.clone(), args.files);
        tokio::task::spawn_blocking(move || {
            build_sip(&p, files, size as usize)?;
            build_large_sip(&q, large)
        })
        .await??;
    }
    let local = match &args.cluster {
        Some(_) => None,
        None => {
            eprintln!("dip-bench: starting a local 3-site x 2-node cluster…");
            Some(crate::cmd::bench::cluster::LocalCluster::start(&work.path().join("cluster")).await?)
        }
    };
    let addrs = match (&args.cluster, &local) {
        (Some(c), _) => c.clone(),
        (None, Some(l)) => l.addrs.clone(),
        _ => unreachable!("a cluster is given or started"),
    };
    let result = measure(&addrs, work.path(), &small_sip, &large_sip, args.runs).await;
    if let Some(l) = local {
        l.stop();
    }
    let m = result?;
    let small_payload = (args.files as u64 * size) as f64;
    let small_mbps = median(m.small.iter().map(|d| small_payload / d.as_secs_f64() / 1e6).collect());
    let large_mbps = median(m.large.iter().map(|d| large as f64 / d.as_secs_f64() / 1e6).collect());
    let get_mbps = median(m.get.iter().map(|d| large as f64 / d.as_secs_f64() / 1e6).collect());
    let report = json!({
        "large_get": {"mb_per_sec": get_mbps, "runs": m.get.iter().map(|d| large as f64 / d.as_secs_f64() / 1e6).collect::<Vec<_>>()},
        "many_objects": {
            "objects": args.files, "object_size": size, "mb_per_sec": small_mbps,
            "ratio_to_large_get": small_mbps / get_mbps,
            "runs_mb_per_sec": m.small.iter().map(|d| small_payload / d.as_secs_f64() / 1e6).collect::<Vec<_>>(),
            "median_secs_to_ready": median_secs(&m.small_ready),
            "median_secs_total": median_secs(&m.small),
        },
        "large_object": {
            "size": large, "mb_per_sec": large_mbps,
            "ratio_to_large_get": large_mbps / get_mbps,
            "runs_mb_per_sec": m.large.iter().map(|d| large as f64 / d.as_secs_f64() / 1e6).collect::<Vec<_>>(),
            "rss_growth_bytes": m.rss_growth,
            "median_secs_to_ready": median_secs(&m.large_ready),
            "median_secs_total": median_secs(&m.large),
        },
        "target_ratio": TARGET_RATIO,
    });
    if args.json {
        crate::output::print_json(&report)?;
    } else {
        outln!("DIP, request to last byte downloaded, medians of {} runs", args.runs);
        outln!("  large GET (the limit)        {get_mbps:>8.1} MB/s");
        outln!(
            "  {} objects × {size} bytes  {small_mbps:>8.1} MB/s  ratio {:.2}",
            args.files,
            small_mbps / get_mbps
        );
        outln!(
            "  one object of {large} bytes  {large_mbps:>8.1} MB/s  ratio {:.2}",
            large_mbps / get_mbps
        );
        outln!(
            "  of which request to ready (the plan): many objects {:.2} s of {:.2} s, large object {:.2} s of {:.2} s",
            median_secs(&m.small_ready),
            median_secs(&m.small),
            median_secs(&m.large_ready),
            median_secs(&m.large)
        );
        outln!(
            "  front memory during the large DIP: +{:.1} MiB resident (peak over the start)",
            m.rss_growth as f64 / (1u64 << 20) as f64
        );
        let pass = |r: f64| if r >= TARGET_RATIO { "pass" } else { "short" };
        outln!(
            "  target ratio ≥ {TARGET_RATIO}: many objects {}, large object {}",
            pass(small_mbps / get_mbps),
            pass(large_mbps / get_mbps)
        );
    }
    Ok(ExitCode::SUCCESS)
}

struct Measured {
    small: Vec<Duration>,
    large: Vec<Duration>,
    /// Request to `ready` (the plan), the part of `small` and `large` before the download.
    small_ready: Vec<Duration>,
    large_ready: Vec<Duration>,
    get: Vec<Duration>,
    rss_growth: u64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median_secs(v: &[Duration]) -> f64 {
    median(v.iter().map(Duration::as_secs_f64).collect())
}

async fn measure(
    addrs: &str,
    work: &Path,
    small_sip: &Path,
    large_sip: &Path,
    runs: usize,
) -> anyhow::Result<Measured> {
    let client = crate::cmd::cert::client_for(addrs, None)?;
    let config = ArchiveConfig::new(work.join("spool"));
    let archive: Arc<Archive> = Archive::new(client, config, None).await?;
    let pid = std::process::id();
    let (small_t, large_t) = (format!("dipsmall{pid}"), format!("diplarge{pid}"));
    for (t, sip) in [(&small_t, small_sip), (&large_t, large_sip)] {
        bench_tenant(&archive, t).await?;
        eprintln!("dip-bench: ingesting {}…", sip.display());
        transfer_once(&archive, t, sip, work).await?;
    }
    // The large object's key, for the GET the DIP builds are compared with.
    let units = all_units(&archive, &large_t).await?;
    let mut key = None;
    for u in &units {
        let rec = archive.catalog.unit(&large_t, u).await?;
        if let Some(o) = rec.objects.first() {
            key = Some(o.key.clone());
        }
    }
    let key = key.context("the large SIP's object is not in the catalog")?;
    let ns = archipel_archive::keys::object_namespace(&large_t);
    let mut get = Vec::new();
    for run in 1..=runs {
        eprintln!("dip-bench: large GET ({run} of {runs})…");
        let start = Instant::now();
        let mut sink = tokio::io::sink();
        archive
            .store
            .client()
            .get_object(&ns, &key, 0, None, &mut sink, None)
            .await?;
        get.push(start.elapsed());
    }
    let small_units = all_units(&archive, &small_t).await?;
    let (mut small, mut small_ready) = (Vec::new(), Vec::new());
    let (mut large, mut large_ready) = (Vec::new(), Vec::new());
    let mut rss_growth = 0;
    for run in 1..=runs {
        eprintln!("dip-bench: DIP of many objects ({run} of {runs})…");
        let d = deliver(&archive, &small_t, &small_units).await?;
        small.push(d.total);
        small_ready.push(d.ready);
        eprintln!("dip-bench: DIP of the large object ({run} of {runs})…");
        let d = deliver(&archive, &large_t, &units).await?;
        large.push(d.total);
        large_ready.push(d.ready);
        rss_growth = rss_growth.max(d.rss_growth);
    }
    Ok(Measured {
        small,
        large,
        small_ready,
        large_ready,
        get,
        rss_growth,
    })
}

async fn all_units(archive: &Arc<Archive>, tenant: &str) -> anyhow::Result<Vec<String>> {
    let params = archipel_archive::searching::SearchParams {
        limit: Some(archipel_archive::search::MAX_LIMIT),
        facets: Some(false),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = archipel_archive::searching::search(
            archive,
            tenant,
            archipel_archive::searching::SearchParams {
                offset: Some(offset),
                ..params.clone()
            },
        )
        .await?;
        let hits = page["hits"].as_array().cloned().unwrap_or_default();
        if hits.is_empty() {
            return Ok(out);
        }
        offset += hits.len();
        out.extend(hits.iter().filter_map(|h| h["unit_id"].as_str().map(str::to_owned)));
    }
}

/// One DIP measured: request to last byte, request to `ready`, and how much this process's
/// resident memory rose over its start meanwhile.
struct Delivered {
    total: Duration,
    ready: Duration,
    rss_growth: u64,
}

/// Asks for a DIP of `units`, waits until it is ready and downloads it (the zip is written from
/// the objects as it is sent).
async fn deliver(archive: &Arc<Archive>, tenant: &str, units: &[String]) -> anyhow::Result<Delivered> {
    let base = rss_bytes();
    let mut peak = base;
    let start = Instant::now();
    let spec = DeliverySpec {
        units: units.to_vec(),
        ..Default::default()
    };
    let d = submit(
        archive,
        &Principal::dev_superuser(),
        tenant,
        Input::Json(Box::new(spec)),
    )
    .await?;
    let ready = loop {
        let now = archipel_archive::delivery::load(archive, tenant, &d.id).await?.value;
        peak = peak.max(rss_bytes());
        match now.status {
            DeliveryStatus::Ready => break now,
            DeliveryStatus::Building => tokio::time::sleep(Duration::from_millis(5)).await,
            other => bail!("the bench DIP ended {other:?}: {:?}", now.error),
        }
    };
    let ready_after = start.elapsed();
    let mut dip = archipel_archive::delivery::download::open(archive, &ready).await?;
    let mut received = 0u64;
    let mut last_look = Instant::now();
    while let Some(chunk) = dip.body.next().await {
        received += chunk.context("the bench DIP's download broke")?.len() as u64;
        if last_look.elapsed() >= Duration::from_millis(20) {
            peak = peak.max(rss_bytes());
            last_look = Instant::now();
        }
    }
    if Some(received) != dip.size {
        bail!(
            "the bench DIP came to {received} bytes where {:?} were announced",
            dip.size
        );
    }
    Ok(Delivered {
        total: start.elapsed(),
        ready: ready_after,
        rss_growth: peak.saturating_sub(base),
    })
}

/// This process's resident set (Linux), 0 where it cannot be read.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// A SIP of one object of `size` random bytes, written and hashed in chunks (never whole in memory).
fn build_large_sip(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(size >= u64::from(u32::MAX));
    zip.start_file("content/large.bin", opts)?;
    let mut h = Hasher::new(DigestAlgorithm::Sha512);
    let mut chunk = vec![0u8; 4 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        rand::thread_rng().fill_bytes(&mut chunk[..n]);
        h.update(&chunk[..n]);
        zip.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    let manifest = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-01-01T00:00:00</Date><MessageIdentifier>BENCH-LARGE</MessageIdentifier><ArchivalAgreement>BENCH</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage><DataObjectGroup id=\"G0\"><BinaryDataObject id=\"O0\">\
         <DataObjectVersion>BinaryMaster_1</DataObjectVersion><Uri>content/large.bin</Uri>\
         <MessageDigest algorithm=\"SHA-512\">{}</MessageDigest><Size>{size}</Size></BinaryDataObject></DataObjectGroup>\
         <DescriptiveMetadata><ArchiveUnit id=\"U0\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Grand objet</Title>\
         </Content><DataObjectReference><DataObjectGroupReferenceId>G0</DataObjectGroupReferenceId></DataObjectReference>\
         </ArchiveUnit></DescriptiveMetadata><ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>BENCH-AA\
         </Identifier></ArchivalAgency><TransferringAgency><Identifier>BENCH-TA</Identifier></TransferringAgency></ArchiveTransfer>",
        h.finish()
    );
    zip.start_file("manifest.xml", zip::write::SimpleFileOptions::default())?;
    zip.write_all(manifest.as_bytes())?;
    zip.finish()?;
    Ok(())
}
