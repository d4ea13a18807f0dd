//! Measures small-object PUT/GET rates against a running cluster, to choose the inline
//! threshold (see docs/erasure-coding.md). Usage:
//!   ARCHIPEL_CLUSTER=… cargo run --example small_objects -- SIZE_BYTES COUNT CONCURRENCY

use std::sync::Arc;
use std::time::Instant;

use archipel_client::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let size: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(4096);
    let count: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(500);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(8);
    let cluster = std::env::var("ARCHIPEL_CLUSTER")?;
    let client = Arc::new(Client::from_list(&cluster)?);
    client.create_namespace("bench-small", None, 0).await?;
    let data = Arc::new(vec![0x5au8; size]);
    let run = format!("{}", std::process::id());
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, data, run) = (client.clone(), data.clone(), run.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in (w..count).step_by(concurrency) {
                let t = Instant::now();
                client
                    .put_object("bench-small", &format!("{run}/{size}/{i}"), data.as_slice(), None, None)
                    .await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, archipel_client::ClientError>(latencies)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let put_secs = start.elapsed().as_secs_f64();
    lat.sort_by(|a, b| a.total_cmp(b));
    let start = Instant::now();
    for i in 0..count.min(200) {
        let mut out = Vec::new();
        client
            .get_object("bench-small", &format!("{run}/{size}/{i}"), 0, None, &mut out, None)
            .await?;
    }
    let get_rate = count.min(200) as f64 / start.elapsed().as_secs_f64();
    let info = client.stat_object("bench-small", &format!("{run}/{size}/0")).await?;
    println!(
        "size {size:>8} B  storage {:<7} put {:>7.0}/s  p50 {:>6.1} ms  p99 {:>6.1} ms  get (1 client) {:>6.0}/s",
        info.storage,
        count as f64 / put_secs,
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        get_rate
    );
    Ok(())
}
