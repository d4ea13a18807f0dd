//! Foreground workloads through the client crate: one large object, many small ones.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use archipel_client::Client;
use tokio::io::AsyncWriteExt;

use super::cpu::{Meter, Spent};

pub struct Large {
    pub bytes: u64,
    pub put_mbps: f64,
    pub get_mbps: f64,
    /// None where the workload was not metered (the S3 gateway's).
    pub cpu: Option<PutGetCpu>,
}

/// CPU spent by the PUT phase and by the GET phase.
#[derive(Clone, Copy)]
pub struct PutGetCpu {
    pub put: Spent,
    pub get: Spent,
}

pub struct Small {
    pub count: usize,
    pub put_per_sec: f64,
    pub get_per_sec: f64,
    pub put_p50_ms: f64,
    pub put_p99_ms: f64,
    pub get_p50_ms: f64,
    pub get_p99_ms: f64,
    pub cpu: Option<PutGetCpu>,
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub async fn large(client: &Client, dir: &Path, bytes: u64, meter: &Meter) -> anyhow::Result<Large> {
    let path = dir.join("large.bin");
    write_large_file(&path, bytes).await?;
    let result = large_from(client, &path, bytes, meter).await;
    let _ = tokio::fs::remove_file(&path).await;
    result
}

/// A file of `bytes` pseudo-random (incompressible) bytes.
pub async fn write_large_file(path: &Path, bytes: u64) -> anyhow::Result<()> {
    let mut f = tokio::fs::File::create(path).await?;
    let mut block = vec![0u8; 4 << 20];
    let mut written = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    while written < bytes {
        for chunk in block.chunks_mut(8) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
        }
        let n = (bytes - written).min(block.len() as u64) as usize;
        f.write_all(&block[..n]).await?;
        written += n as u64;
    }
    f.sync_all().await?;
    Ok(())
}

/// PUT of the file at `path` as `bench/large`, then its GET, through the client crate.
pub async fn large_from(client: &Client, path: &Path, bytes: u64, meter: &Meter) -> anyhow::Result<Large> {
    let cpu = meter.sample();
    let start = Instant::now();
    client.put_object_file("bench", "large", path, None).await?;
    let put_mbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
    let put = meter.since(&cpu);
    let cpu = meter.sample();
    let start = Instant::now();
    let mut sink = tokio::io::sink();
    client.get_object("bench", "large", 0, None, &mut sink, None).await?;
    let get_mbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
    let get = meter.since(&cpu);
    Ok(Large {
        bytes,
        put_mbps,
        get_mbps,
        cpu: Some(PutGetCpu { put, get }),
    })
}

/// `count` objects of `size` bytes, from `concurrency` clients; then read back the same way.
pub async fn small(
    client: &Client,
    size: usize,
    count: usize,
    concurrency: usize,
    meter: &Meter,
) -> anyhow::Result<Small> {
    let client = Arc::new(crate::cmd::cert::client_for(&client.endpoints().join(","), None)?);
    let data = Arc::new(vec![0xa5u8; size]);
    let run = |get: bool| {
        let client = client.clone();
        let data = data.clone();
        async move {
            let start = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..concurrency {
                let (client, data) = (client.clone(), data.clone());
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for i in (w..count).step_by(concurrency) {
                        let key = format!("small/{size}/{i}");
                        let t = Instant::now();
                        if get {
                            let mut sink = tokio::io::sink();
                            client.get_object("bench", &key, 0, None, &mut sink, None).await?;
                        } else {
                            client.put_object("bench", &key, data.as_slice(), None, None).await?;
                        }
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok::<_, archipel_client::ClientError>(lat)
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await??);
            }
            all.sort_by(|a, b| a.total_cmp(b));
            Ok::<_, anyhow::Error>((count as f64 / start.elapsed().as_secs_f64(), all))
        }
    };
    let cpu = meter.sample();
    let (put_per_sec, put_lat) = run(false).await?;
    let put = meter.since(&cpu);
    let cpu = meter.sample();
    let (get_per_sec, get_lat) = run(true).await?;
    let get = meter.since(&cpu);
    Ok(Small {
        count,
        put_per_sec,
        get_per_sec,
        put_p50_ms: percentile(&put_lat, 0.5),
        put_p99_ms: percentile(&put_lat, 0.99),
        get_p50_ms: percentile(&get_lat, 0.5),
        get_p99_ms: percentile(&get_lat, 0.99),
        cpu: Some(PutGetCpu { put, get }),
    })
}
