//! `archipel archive bench`: ingest throughput (files/s, MB/s) of a SIP of many files, against
//! what this machine does with the same SIP and no cluster (unzip, hash, write with fsync).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use archipel_archive::auth::Principal;
use archipel_archive::model::{Agreement, Severity, TransferStatus};
use archipel_archive::referentials::AGREEMENT;
use archipel_archive::service::{Archive, ArchiveConfig};
use archipel_seda::digest::{DigestAlgorithm, Hasher};
use archipel_seda::sip::{Sip, SipLimits};
use rand::RngCore;
use serde_json::json;

/// Target of the archive-layer issue, on the local cluster.
const TARGET_FILES_PER_SEC: f64 = 500.0;

#[derive(clap::Args)]
pub struct IngestBenchArgs {
    /// Files in the SIP.
    #[arg(long, default_value_t = 1000)]
    pub files: usize,
    /// Size of each file (e.g. 100KiB).
    #[arg(long, default_value = "100KiB")]
    pub file_size: String,
    /// Use this cluster instead of starting a local 3-site x 2-node one.
    #[arg(long, env = "ARCHIPEL_CLUSTER")]
    pub cluster: Option<String>,
    /// Working directory (same disk as the nodes).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    /// Transfers of the SIP (and limit measurements) to run; the median is reported, as single
    /// runs drift on a shared machine.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Files up to this size go into tar packs, as `archive serve` does; 0 stores each alone.
    #[arg(long, default_value = "1MiB")]
    pub pack_files_up_to: String,
}

pub async fn run(args: IngestBenchArgs) -> anyhow::Result<ExitCode> {
    // The front runs in this process: its warnings (and RUST_LOG's choice) go to stderr.
    crate::cmd::server::init_logging(archipel_node::config::LogFormat::Human, "warn");
    let size = archipel_node::size::parse_size(&args.file_size).map_err(anyhow::Error::msg)? as usize;
    if args.files == 0 || size == 0 || args.runs == 0 {
        bail!("--files, --file-size and --runs must be positive");
    }
    let pack_files_up_to = super::serve::pack_limit(&args.pack_files_up_to)?;
    let work = crate::cmd::bench::work_dir(args.dir.as_deref())?;
    let sip = work.path().join("bench.zip");
    eprintln!("bench: building a SIP of {} files of {size} bytes…", args.files);
    let (files, sip_bytes) = (args.files, size);
    let sip_path = sip.clone();
    tokio::task::spawn_blocking(move || build_sip(&sip_path, files, sip_bytes)).await??;
    let payload = (args.files * size) as f64;

    eprintln!("bench: measuring the local limit (unzip, SHA-512, write and fsync each file)…");
    let mut limits = Vec::new();
    for run in 0..args.runs {
        let out = work.path().join(format!("limit-{run}"));
        let (sip_path, dir) = (sip.clone(), out.clone());
        limits.push(tokio::task::spawn_blocking(move || local_limit(&sip_path, &dir)).await??);
        std::fs::remove_dir_all(&out)?;
    }
    limits.sort();
    let limit = limits[limits.len() / 2];

    let local = match &args.cluster {
        Some(_) => None,
        None => {
            eprintln!("bench: starting a local 3-site x 2-node cluster…");
            Some(crate::cmd::bench::cluster::LocalCluster::start(&work.path().join("cluster")).await?)
        }
    };
    let addrs = match (&args.cluster, &local) {
        (Some(c), _) => c.clone(),
        (None, Some(l)) => l.addrs.clone(),
        _ => unreachable!("a cluster is given or started"),
    };
    let result = ingest(&addrs, &sip, work.path(), pack_files_up_to, args.runs).await;
    if let Some(l) = local {
        l.stop();
    }
    let mut runs = result?;
    runs.sort_by_key(|(took, _)| *took);
    let run_files_per_sec: Vec<f64> = runs
        .iter()
        .map(|(took, _)| args.files as f64 / took.as_secs_f64())
        .collect();
    let (took, steps) = runs.swap_remove(runs.len() / 2);
    let files_per_sec = args.files as f64 / took.as_secs_f64();
    let limit_files_per_sec = args.files as f64 / limit.as_secs_f64();
    let report = json!({
        "files": args.files,
        "file_size": size,
        "pack_files_up_to": pack_files_up_to,
        "limit": {"seconds": limit.as_secs_f64(), "files_per_sec": limit_files_per_sec, "mb_per_sec": payload / limit.as_secs_f64() / 1e6},
        "ingest": {"seconds": took.as_secs_f64(), "files_per_sec": files_per_sec, "mb_per_sec": payload / took.as_secs_f64() / 1e6},
        "ratio_to_limit": files_per_sec / limit_files_per_sec,
        "target_files_per_sec": TARGET_FILES_PER_SEC,
        "target_met": files_per_sec >= TARGET_FILES_PER_SEC,
        "steps": steps.iter().map(|(name, secs)| json!({"step": name, "seconds": secs})).collect::<Vec<_>>(),
        "runs": run_files_per_sec,
    });
    if args.json {
        crate::output::print_json(&report)?;
    } else {
        let packing = match pack_files_up_to {
            0 => "each file stored alone".to_owned(),
            n => format!("files up to {n} bytes in tar packs"),
        };
        outln!("ingest of {} files × {size} bytes ({packing})", args.files);
        outln!(
            "  limit (no cluster)  {:>8.0} files/s  {:>8.1} MB/s",
            limit_files_per_sec,
            payload / limit.as_secs_f64() / 1e6
        );
        outln!(
            "  ingest              {:>8.0} files/s  {:>8.1} MB/s  ({:.0}% of the limit)",
            files_per_sec,
            payload / took.as_secs_f64() / 1e6,
            100.0 * files_per_sec / limit_files_per_sec
        );
        let each: Vec<String> = run_files_per_sec.iter().map(|f| format!("{f:.0}")).collect();
        outln!("  runs (files/s)      {}  (the median is shown)", each.join(", "));
        let timeline: Vec<String> = steps.iter().map(|(name, secs)| format!("{name} {secs:.2} s")).collect();
        outln!("  where the time went: {}", timeline.join(", "));
        outln!(
            "  target ≥ {TARGET_FILES_PER_SEC} files/s: {}",
            if files_per_sec >= TARGET_FILES_PER_SEC {
                "pass"
            } else {
                "short"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A SEDA 2.2 SIP: one unit per file, SHA-512 digests, stored (random data does not compress).
pub(super) fn build_sip(path: &Path, files: usize, size: usize) -> anyhow::Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut groups = String::new();
    let mut units = String::new();
    let mut data = vec![0u8; size];
    for i in 0..files {
        rand::thread_rng().fill_bytes(&mut data);
        let mut h = Hasher::new(DigestAlgorithm::Sha512);
        h.update(&data);
        zip.start_file(format!("content/f{i}.bin"), opts)?;
        zip.write_all(&data)?;
        groups.push_str(&format!(
            "<DataObjectGroup id=\"G{i}\"><BinaryDataObject id=\"O{i}\"><DataObjectVersion>BinaryMaster_1</DataObjectVersion>\
             <Uri>content/f{i}.bin</Uri><MessageDigest algorithm=\"SHA-512\">{}</MessageDigest><Size>{size}</Size>\
             </BinaryDataObject></DataObjectGroup>",
            h.finish()
        ));
        units.push_str(&format!(
            "<ArchiveUnit id=\"U{i}\"><Content><DescriptionLevel>Item</DescriptionLevel><Title>Pièce {i}</Title></Content>\
             <DataObjectReference><DataObjectGroupReferenceId>G{i}</DataObjectGroupReferenceId></DataObjectReference></ArchiveUnit>"
        ));
    }
    let manifest = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ArchiveTransfer xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\">\
         <Date>2026-01-01T00:00:00</Date><MessageIdentifier>BENCH</MessageIdentifier><ArchivalAgreement>BENCH</ArchivalAgreement>\
         <CodeListVersions/><DataObjectPackage>{groups}<DescriptiveMetadata><ArchiveUnit id=\"ROOT\"><Content>\
         <DescriptionLevel>File</DescriptionLevel><Title>Bench</Title></Content>{units}</ArchiveUnit></DescriptiveMetadata>\
         <ManagementMetadata/></DataObjectPackage><ArchivalAgency><Identifier>BENCH-AA</Identifier></ArchivalAgency>\
         <TransferringAgency><Identifier>BENCH-TA</Identifier></TransferringAgency></ArchiveTransfer>"
    );
    zip.start_file("manifest.xml", zip::write::SimpleFileOptions::default())?;
    zip.write_all(manifest.as_bytes())?;
    zip.finish()?;
    Ok(())
}

/// Unzips, hashes and writes every file with fsync: what ingest does before the cluster.
fn local_limit(sip: &Path, out: &Path) -> anyhow::Result<Duration> {
    std::fs::create_dir_all(out)?;
    let start = Instant::now();
    let mut s = Sip::open(sip, &SipLimits::default())?;
    let names: Vec<String> = s.entries().iter().map(|e| e.name().to_owned()).collect();
    let mut buf = vec![0u8; 256 << 10];
    for (i, name) in names.iter().enumerate() {
        let mut r = s.entry(name)?;
        let mut h = Hasher::new(DigestAlgorithm::Sha512);
        let mut f = std::fs::File::create(out.join(i.to_string()))?;
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            f.write_all(&buf[..n])?;
        }
        f.sync_all()?;
        let _ = h.finish();
    }
    Ok(start.elapsed())
}

/// How long one transfer took, and each of its steps.
pub(super) type Run = (Duration, Vec<(String, f64)>);

/// Runs `runs` transfers of the SIP, one after another.
async fn ingest(addrs: &str, sip: &Path, work: &Path, pack_files_up_to: u64, runs: usize) -> anyhow::Result<Vec<Run>> {
    let client = crate::cmd::cert::client_for(addrs, None)?;
    let mut config = ArchiveConfig::new(work.join("spool"));
    config.pack_files_up_to = pack_files_up_to;
    let archive: Arc<Archive> = Archive::new(client, config, None).await?;
    let tenant = format!("bench{}", std::process::id());
    bench_tenant(&archive, &tenant).await?;
    let mut out = Vec::with_capacity(runs);
    for run in 1..=runs {
        eprintln!("bench: ingesting ({run} of {runs})…");
        out.push(transfer_once(&archive, &tenant, sip, work).await?);
    }
    Ok(out)
}

/// A tenant taking the bench SIPs (`build_sip`): its archival agency and agreement.
pub(super) async fn bench_tenant(archive: &Archive, tenant: &str) -> anyhow::Result<()> {
    archive.refs.add_tenant(tenant, "bench", "BENCH-AA").await?;
    let agreement = Agreement {
        id: "BENCH".into(),
        version: 0,
        name: "bench".into(),
        transferring_agencies: vec!["BENCH-TA".into()],
        profile: None,
        allowed_formats: vec![],
        format_mismatch: Severity::Warn,
        unidentified_format: Severity::Warn,
        disallowed_format: Severity::Reject,
        flow: None,
        active: true,
        updated_at: chrono::Utc::now(),
        rng: None,
    };
    archive.refs.put_versioned(tenant, AGREEMENT, agreement).await?;
    Ok(())
}

pub(super) async fn transfer_once(
    archive: &Arc<Archive>,
    tenant: &str,
    sip: &Path,
    work: &Path,
) -> anyhow::Result<Run> {
    let spooled = tempfile::NamedTempFile::new_in(work.join("spool"))?.into_temp_path();
    std::fs::copy(sip, &spooled)?;
    let size = std::fs::metadata(&spooled)?.len();
    let start = Instant::now();
    let started_at = chrono::Utc::now();
    let t = archipel_archive::ingest::submit(archive, &Principal::dev_superuser(), tenant, spooled, size).await?;
    loop {
        let now = archipel_archive::ingest::transfer(archive, tenant, &t.id).await?;
        if now.status.is_final() {
            if now.status == TransferStatus::Ko {
                bail!("the bench SIP was rejected: {:?}", now.errors);
            }
            let took = start.elapsed();
            // Each step records when it ended; the reply and logbook come after the last one.
            let mut steps = Vec::new();
            let mut before = started_at;
            for step in &now.steps {
                steps.push((step.name.clone(), (step.at - before).as_seconds_f64().max(0.0)));
                before = step.at;
            }
            let end = started_at + chrono::Duration::from_std(took).unwrap_or_default();
            steps.push(("reply".to_owned(), (end - before).as_seconds_f64().max(0.0)));
            return Ok((took, steps));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
