//! The machine's limits, on the same disk, with no network and no Raft: for writes, BLAKE3 +
//! Reed-Solomon + fsync'd shard writes; for reads, the same shards read back uncached, each stripe
//! verified, the object reassembled and hashed; and the disk's raw fsync'd write and uncached read.
//! The two pipelines also give their CPU time per GiB, the reference for the cluster's.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use archipel_node::ec_profile::EcProfile;
use archipel_node::erasure::Codec;

use super::cpu::{self, Spent};

/// Stripe size of the default configuration.
const STRIPE: usize = 4 << 20;

pub struct Limit {
    pub profile: EcProfile,
    /// Object bytes per second through hash + encode + fsync'd shard files.
    pub pipeline_mbps: f64,
    /// Object bytes per second through uncached reads of the data shards, per-stripe BLAKE3
    /// checks, reassembly and the whole-object BLAKE3.
    pub read_pipeline_mbps: f64,
    /// CPU seconds per GiB of object through the write pipeline (this process, all threads).
    pub write_cpu_per_gib: f64,
    /// The same through the read pipeline.
    pub read_cpu_per_gib: f64,
    pub disk_write_mbps: f64,
    pub disk_read_mbps: f64,
}

fn mbps(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs.max(1e-9) / 1e6
}

pub async fn measure(dir: &Path, bytes: u64) -> anyhow::Result<Limit> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || measure_blocking(&dir, bytes)).await?
}

fn measure_blocking(dir: &Path, bytes: u64) -> anyhow::Result<Limit> {
    let profile = EcProfile::new(3, 3).map_err(anyhow::Error::msg)?;
    let codec = Codec::new(profile)?;
    let mut stripe = vec![0u8; STRIPE];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in stripe.chunks_mut(8) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
    let stripes = (bytes as usize).div_ceil(STRIPE);

    // The pipeline: what one node would do for a whole object, minus network and Raft.
    let mut files: Vec<std::fs::File> = (0..profile.total())
        .map(|i| std::fs::File::create(dir.join(format!("limit.{i}"))))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    let cpu_start = cpu::own_secs();
    let mut hasher = blake3::Hasher::new();
    for _ in 0..stripes {
        hasher.update(&stripe);
        let shards = codec.encode(&stripe)?;
        for (f, s) in files.iter_mut().zip(&shards) {
            f.write_all(s)?;
        }
    }
    for f in &files {
        f.sync_all()?;
    }
    let pipeline_mbps = mbps((stripes * STRIPE) as u64, start.elapsed().as_secs_f64());
    let object_bytes = (stripes * STRIPE) as u64;
    let write_cpu_per_gib = Spent::per_gib(cpu::own_secs() - cpu_start, object_bytes);
    drop(files);
    let cpu_start = cpu::own_secs();
    let read_pipeline_mbps = read_pipeline(dir, &codec, profile, stripes)?;
    let read_cpu_per_gib = Spent::per_gib(cpu::own_secs() - cpu_start, object_bytes);

    // Raw disk: sequential fsync'd write, then a read with the page cache dropped.
    let path = dir.join("limit.raw");
    let mut f = std::fs::File::create(&path)?;
    let start = Instant::now();
    for _ in 0..stripes {
        f.write_all(&stripe)?;
    }
    f.sync_all()?;
    let disk_write_mbps = mbps((stripes * STRIPE) as u64, start.elapsed().as_secs_f64());
    drop(f);
    let mut f = std::fs::File::open(&path)?;
    drop_cache(&f);
    let start = Instant::now();
    let mut buf = vec![0u8; STRIPE];
    let mut read = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        read += n as u64;
    }
    let disk_read_mbps = mbps(read, start.elapsed().as_secs_f64());
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with("limit.") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(Limit {
        profile,
        pipeline_mbps,
        read_pipeline_mbps,
        write_cpu_per_gib,
        read_cpu_per_gib,
        disk_write_mbps,
        disk_read_mbps,
    })
}

/// Asks the kernel to forget the file's cached pages, so the next read comes from the disk.
fn drop_cache(f: &std::fs::File) {
    // SAFETY: fd is open; advice only.
    unsafe { libc::posix_fadvise(std::os::fd::AsRawFd::as_raw_fd(f), 0, 0, libc::POSIX_FADV_DONTNEED) };
}

/// A GET's work without the network: the k data shards written by the write pipeline read back
/// uncached, stripe by stripe, each checked with BLAKE3, reassembled and hashed whole.
fn read_pipeline(dir: &Path, codec: &Codec, profile: EcProfile, stripes: usize) -> anyhow::Result<f64> {
    let k = profile.data as usize;
    let shard_len = codec.shard_len(STRIPE);
    let mut files: Vec<std::fs::File> = (0..k)
        .map(|i| std::fs::File::open(dir.join(format!("limit.{i}"))))
        .collect::<Result<_, _>>()?;
    for f in &files {
        drop_cache(f);
    }
    let start = Instant::now();
    let mut hasher = blake3::Hasher::new();
    let mut shard = vec![0u8; shard_len];
    let mut stripe = Vec::with_capacity(k * shard_len);
    let mut checked = 0u64;
    for _ in 0..stripes {
        stripe.clear();
        for f in &mut files {
            f.read_exact(&mut shard)?;
            checked ^= blake3::hash(&shard).as_bytes()[0] as u64;
            stripe.extend_from_slice(&shard);
        }
        stripe.truncate(STRIPE);
        hasher.update(&stripe);
    }
    std::hint::black_box((checked, hasher.finalize()));
    Ok(mbps((stripes * STRIPE) as u64, start.elapsed().as_secs_f64()))
}
