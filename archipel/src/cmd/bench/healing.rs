//! Background work: scrub speed and its cost on foreground latency; repair speed (a drain).

use std::time::{Duration, Instant};

use anyhow::bail;
use archipel_client::{Client, Consistency};

use super::cpu::{Meter, Spent};
use super::workload::percentile;

pub struct Healing {
    pub scrub_mbps: f64,
    pub p99_idle_ms: f64,
    pub p99_scrubbing_ms: f64,
    pub repair_bytes: u64,
    pub repair_mbps: f64,
    /// CPU spent during the drain.
    pub repair_cpu: Spent,
}

/// p99 of 64 KiB GETs over the objects the small-object run stored.
async fn get_p99(client: &Client, n: usize) -> anyhow::Result<f64> {
    let mut lat = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        let mut sink = tokio::io::sink();
        client
            .get_object("bench", &format!("small/{}/{i}", 64 << 10), 0, None, &mut sink, None)
            .await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    Ok(percentile(&lat, 0.99))
}

fn scrub_bytes(nodes: &[archipel_client::proto::worker::NodeWorkers]) -> (u64, u64) {
    let mut bytes = 0;
    let mut cycles = 0;
    for n in nodes {
        for w in n.workers.iter().filter(|w| w.name == "scrub") {
            bytes += w.bytes_done;
            cycles += w.cycles_completed;
        }
    }
    (bytes, cycles)
}

/// `stored` is how many 64 KiB objects the small-object run left to read.
pub async fn measure(client: &Client, stored: usize, meter: &Meter) -> anyhow::Result<Healing> {
    // 1000 samples: the p99 is the 10th worst, not the 3rd, so one stall does not decide it.
    let samples = stored.min(1000);
    let p99_idle_ms = get_p99(client, samples).await?;
    let (_, cycles_before) = scrub_bytes(&client.cluster_workers("scrub", "", 0).await?);
    let start = Instant::now();
    client.cluster_workers("scrub", "start", 0).await?;
    let p99_scrubbing_ms = get_p99(client, samples).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let bytes = loop {
        let (bytes, cycles) = scrub_bytes(&client.cluster_workers("scrub", "", 0).await?);
        if cycles >= cycles_before + 6 {
            break bytes;
        }
        if Instant::now() > deadline {
            bail!("the scrub cycle did not finish within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let scrub_mbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e6;

    // Repair speed: drain the last node, which rebuilds all its shards on the others.
    let victim = 6u64;
    let repair_bytes = shard_bytes_on(client, victim).await?;
    let cpu = meter.sample();
    let start = Instant::now();
    client.drain_node(victim).await?;
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let marker = client.meta_get("sys.drain", b"6", Consistency::Linearizable).await?;
        let (pending, _) = client
            .meta_scan("sys.damaged", b"", b"", 10_000, Consistency::Linearizable)
            .await?;
        if marker.is_some() && pending.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!("the drain did not finish within an hour");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let repair_mbps = repair_bytes as f64 / start.elapsed().as_secs_f64() / 1e6;
    let repair_cpu = meter.since(&cpu);
    Ok(Healing {
        scrub_mbps,
        p99_idle_ms,
        p99_scrubbing_ms,
        repair_bytes,
        repair_mbps,
        repair_cpu,
    })
}

/// Bytes of the shards that `node` holds in the bench namespace, from the manifests: each
/// shard of a k+m object holds ceil(stripe / k) bytes per stripe.
async fn shard_bytes_on(client: &Client, node: u64) -> anyhow::Result<u64> {
    let mut total = 0u64;
    let mut after = String::new();
    loop {
        let (objects, more) = client.list_objects("bench", "", &after, 1000).await?;
        for o in &objects {
            let k: u64 = o.storage.split_once('+').and_then(|(k, _)| k.parse().ok()).unwrap_or(0);
            if k == 0 || o.stripe_size == 0 {
                continue; // inline
            }
            let full = o.size / o.stripe_size;
            let tail = o.size % o.stripe_size;
            let per_shard = full * o.stripe_size.div_ceil(k) + tail.div_ceil(k);
            total += per_shard * o.shards.iter().filter(|s| s.node_id == node).count() as u64;
        }
        match (more, objects.last()) {
            (true, Some(last)) => after = last.key.clone(),
            _ => return Ok(total),
        }
    }
}
