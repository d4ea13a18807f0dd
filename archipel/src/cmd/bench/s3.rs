//! `archipel bench s3`: the same workloads through the S3 gateway and through the client crate,
//! on the same cluster in the same run; every gateway figure is printed as a ratio to its
//! client-crate twin (issue #23's targets: ≥ 0.9 for large objects, ≥ 0.8 for small ones).
//!
//! The gateway runs as its own process (`archipel s3 serve`), as in service; requests are
//! signed here with SigV4 (UNSIGNED-PAYLOAD, as SDKs send over TLS) and sent with reqwest.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use archipel_client::Client;
use archipel_s3::signer::{Signer, Unsigned, UNSIGNED_PAYLOAD};
use futures::StreamExt;

use super::report::{Report, Summary};
use super::workload::{self, Large, Small};

#[derive(clap::Args)]
pub struct S3BenchArgs {
    /// Use this cluster instead of starting a local 3-site x 2-node one.
    #[arg(long, env = "ARCHIPEL_CLUSTER")]
    pub cluster: Option<String>,
    /// Size of the large object (e.g. 1GiB).
    #[arg(long, default_value = "1GiB")]
    pub large: String,
    /// Number of 64 KiB objects written then read.
    #[arg(long, default_value_t = 1000)]
    pub small_count: usize,
    /// Concurrent clients for small objects.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Where the local cluster and the large file are written.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Repeat the whole measurement this many times and report each figure's median.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub runs: u32,
    #[arg(long)]
    pub json: bool,
}

const SMALL: usize = 64 << 10;
const BUCKET: &str = "bench-s3";
/// The client-crate workloads write here (as `archipel bench` does).
const DIRECT_NS: &str = "bench";

pub async fn run(args: S3BenchArgs) -> anyhow::Result<std::process::ExitCode> {
    let large = archipel_node::size::parse_size(&args.large)
        .map_err(anyhow::Error::msg)
        .context("--large")?;
    if args.concurrency == 0 || args.small_count == 0 {
        bail!("--concurrency and --small-count must be at least 1");
    }
    let mut reports = Vec::new();
    for run in 1..=args.runs {
        eprintln!("bench s3: run {run} of {}", args.runs);
        reports.push(run_once(&args, large).await?);
    }
    Summary::of(&reports).print(args.json)?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run_once(args: &S3BenchArgs, large: u64) -> anyhow::Result<Report> {
    let work = super::work_dir(args.dir.as_deref())?;
    let (owned, addrs) = match &args.cluster {
        Some(list) => (None, list.clone()),
        None => {
            eprintln!("bench s3: starting a local 3-site x 2-node cluster…");
            let c = super::cluster::LocalCluster::start(&work.path().join("cluster")).await?;
            let addrs = c.addrs.clone();
            (Some(c), addrs)
        }
    };
    let client = Arc::new(crate::cmd::cert::client_for(&addrs, None)?);
    if let Err(e) = client.create_namespace(DIRECT_NS, None, 0).await {
        if owned.is_some() || !matches!(e, archipel_client::ClientError::Conflict(_)) {
            return Err(e.into());
        }
    }
    let gateway = GatewayProcess::start(&client, &addrs, work.path()).await?;
    gateway.create_bucket().await?;

    let file = work.path().join("large.bin");
    workload::write_large_file(&file, large).await?;
    let mut report = Report::default();
    eprintln!("bench s3: large object ({large} bytes), client crate then gateway…");
    // The client crate's CPU is not compared here: only throughput ratios.
    let meter = super::cpu::Meter::client_only();
    let direct = workload::large_from(&client, &file, large, &meter).await?;
    let through = gateway.large(&file, large).await?;
    report.s3_large(&through, &direct);
    let _ = tokio::fs::remove_file(&file).await;

    eprintln!(
        "bench s3: {} objects of 64 KiB, {} clients, client crate then gateway…",
        args.small_count, args.concurrency
    );
    let direct = workload::small(&client, SMALL, args.small_count, args.concurrency, &meter).await?;
    let through = gateway.small(args.small_count, args.concurrency).await?;
    report.s3_small(&through, &direct);
    drop(gateway);
    if let Some(c) = owned {
        c.stop();
    }
    Ok(report)
}

/// `archipel s3 serve` on a free port, with one access key of tenant `bench`.
struct GatewayProcess {
    child: Child,
    s3: S3Http,
}

/// Signed requests to the gateway; cheap to clone (one connection pool).
#[derive(Clone)]
struct S3Http {
    endpoint: String,
    host: String,
    signer: Signer,
    http: reqwest::Client,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::ops::Deref for GatewayProcess {
    type Target = S3Http;
    fn deref(&self) -> &S3Http {
        &self.s3
    }
}

impl GatewayProcess {
    async fn start(client: &Arc<Client>, addrs: &str, work: &Path) -> anyhow::Result<Self> {
        let seal_path = work.join("s3-seal.key");
        let seal = archipel_s3::SealKey::load_or_create(&seal_path)?;
        let key = archipel_s3::Keys::new(Arc::clone(client), seal)
            .create("bench", false)
            .await?;
        let exe = std::env::current_exe().context("cannot find the archipel executable")?;
        let tls = crate::cmd::cert::tls_dir_for(addrs, None);
        let mut cmd = Command::new(exe);
        cmd.args([
            "s3",
            "serve",
            "--cluster",
            addrs,
            "--listen",
            "127.0.0.1:0",
            "--seal-key",
        ])
        .arg(&seal_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        if let Some(dir) = tls {
            cmd.env(archipel_client::TLS_DIR_ENV, dir);
        }
        let mut child = cmd.spawn().context("cannot start `archipel s3 serve`")?;
        let stdout = child.stdout.take().context("no stdout from archipel s3 serve")?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let Some(endpoint) = line.trim().strip_prefix("ARCHIPEL_S3=") else {
            let _ = child.kill();
            bail!("`archipel s3 serve` did not start (it printed {line:?})");
        };
        let host = endpoint.trim_start_matches("http://").to_owned();
        Ok(Self {
            s3: S3Http {
                endpoint: endpoint.to_owned(),
                host,
                signer: Signer::new(&key.access_key, &key.secret_key),
                http: reqwest::Client::builder().pool_max_idle_per_host(64).build()?,
            },
            child,
        })
    }
}

impl S3Http {
    fn signed(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let auth = self.signer.sign(
            &Unsigned {
                method: method.as_str(),
                host: &self.host,
                path,
                query: &[],
                headers,
                payload_sha256: UNSIGNED_PAYLOAD,
            },
            now,
        );
        let url = format!("{}{}", self.endpoint, archipel_s3::signer::uri_encode(path, true));
        let mut req = self.http.request(method, url);
        for (k, v) in headers.iter().copied() {
            req = req.header(k, v);
        }
        for (k, v) in auth {
            req = req.header(k, v);
        }
        req
    }

    async fn create_bucket(&self) -> anyhow::Result<()> {
        let res = self
            .signed(reqwest::Method::PUT, &format!("/{BUCKET}"), &[])
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        if !status.is_success() && !body.contains("BucketAlreadyOwnedByYou") {
            bail!("creating bucket {BUCKET} through the gateway failed: {status} {body}");
        }
        Ok(())
    }

    async fn put(&self, key: &str, body: reqwest::Body, len: u64) -> anyhow::Result<()> {
        let len = len.to_string();
        let res = self
            .signed(
                reqwest::Method::PUT,
                &format!("/{BUCKET}/{key}"),
                &[("content-length", &len)],
            )
            .body(body)
            .send()
            .await?;
        if !res.status().is_success() {
            let status = res.status();
            bail!("PUT {key}: {status} {}", res.text().await.unwrap_or_default());
        }
        Ok(())
    }

    /// GETs `key`, discarding the bytes; returns how many came.
    async fn get(&self, key: &str) -> anyhow::Result<u64> {
        let res = self
            .signed(reqwest::Method::GET, &format!("/{BUCKET}/{key}"), &[])
            .send()
            .await?;
        if !res.status().is_success() {
            let status = res.status();
            bail!("GET {key}: {status} {}", res.text().await.unwrap_or_default());
        }
        let mut n = 0u64;
        let mut stream = res.bytes_stream();
        while let Some(chunk) = stream.next().await {
            n += chunk?.len() as u64;
        }
        Ok(n)
    }

    async fn large(&self, file: &Path, bytes: u64) -> anyhow::Result<Large> {
        let f = tokio::fs::File::open(file).await?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(f, 1 << 20));
        let start = Instant::now();
        self.put("large", body, bytes).await?;
        let put_mbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
        let start = Instant::now();
        let got = self.get("large").await?;
        let get_mbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
        if got != bytes {
            bail!("GET large returned {got} bytes, {bytes} were stored");
        }
        Ok(Large {
            bytes,
            put_mbps,
            get_mbps,
            cpu: None,
        })
    }

    /// `count` PUTs then GETs of 64 KiB objects from `concurrency` workers, each its own task
    /// (as the client-crate workload runs them).
    async fn small(&self, count: usize, concurrency: usize) -> anyhow::Result<Small> {
        let data = Arc::new(vec![0xa5u8; SMALL]);
        let (put_per_sec, put_lat) = self.workers(count, concurrency, Some(data)).await?;
        let (get_per_sec, get_lat) = self.workers(count, concurrency, None).await?;
        Ok(Small {
            count,
            put_per_sec,
            get_per_sec,
            put_p50_ms: workload::percentile(&put_lat, 0.5),
            put_p99_ms: workload::percentile(&put_lat, 0.99),
            get_p50_ms: workload::percentile(&get_lat, 0.5),
            get_p99_ms: workload::percentile(&get_lat, 0.99),
            cpu: None,
        })
    }

    /// PUTs `data` (or GETs, when None) to `small/0..count`; objects per second and sorted
    /// latencies in ms.
    async fn workers(
        &self,
        count: usize,
        concurrency: usize,
        data: Option<Arc<Vec<u8>>>,
    ) -> anyhow::Result<(f64, Vec<f64>)> {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..concurrency {
            let (s3, data) = (self.clone(), data.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                for i in (w..count).step_by(concurrency) {
                    let key = format!("small/{i}");
                    let t = Instant::now();
                    match &data {
                        Some(d) => {
                            s3.put(&key, reqwest::Body::from(d.as_ref().clone()), d.len() as u64)
                                .await?
                        }
                        None => {
                            let n = s3.get(&key).await?;
                            if n != SMALL as u64 {
                                bail!("GET {key} returned {n} bytes, {SMALL} were stored");
                            }
                        }
                    }
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let mut all = Vec::with_capacity(count);
        for t in tasks {
            all.extend(t.await??);
        }
        all.sort_by(|a, b| a.total_cmp(b));
        Ok((count as f64 / start.elapsed().as_secs_f64(), all))
    }
}
