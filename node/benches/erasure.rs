//! Reed-Solomon throughput: reed-solomon-simd against reed-solomon-erasure, at Archipel's profiles.
//!
//! `cargo bench -p archipel-node --bench erasure`. Each library is called directly on the same data
//! shards; the `Codec` column is Archipel's API (`archipel_node::erasure`, on the library chosen from
//! these figures), allocations and copies included.
//! Encode: k data shards in, m parity shards out. Decode: the worst case, the first m data shards
//! lost, rebuilt from the k that remain (data and parity). Throughput is MB (10^6 bytes) of stripe per
//! second; each figure is the median of 5 samples of `ARCHIPEL_BENCH_MS` (default 100) ms each.
//! Results are in docs/ec-library.md.

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use archipel_node::ec_profile::EcProfile;
use archipel_node::erasure::Codec;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use reed_solomon_erasure::galois_8::ReedSolomon;
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

const PROFILES: [(u8, u8); 4] = [(4, 2), (5, 3), (3, 3), (8, 4)];
const STRIPES: [usize; 2] = [4 << 20, 1 << 20];
const SAMPLES: usize = 5;

fn main() {
    let sample = Duration::from_millis(
        std::env::var("ARCHIPEL_BENCH_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(100),
    );
    print_machine();
    println!(
        "{:<7} {:>6} {:<7} {:>10} {:>12} {:>13} {:>10}",
        "profile", "stripe", "op", "simd MB/s", "erasure MB/s", "simd/erasure", "Codec MB/s"
    );
    // glibc serves big allocations with mmap, and a fresh mapping page-faults on first touch, until
    // the first free of a big block raises its mmap and trim thresholds, as happens early in a
    // running node. Do that here, so the first row's Codec figures are not of a cold allocator.
    drop(black_box(vec![1u8; 16 << 20]));
    let started = Instant::now();
    for stripe_len in STRIPES {
        for (k, m) in PROFILES {
            bench_profile(k, m, stripe_len, sample);
        }
    }
    println!("(whole bench: {:.1} s)", started.elapsed().as_secs_f64());
}

fn bench_profile(k: u8, m: u8, stripe_len: usize, sample: Duration) {
    let profile = EcProfile { data: k, parity: m };
    let codec = Codec::new(profile).unwrap();
    let (k, m) = (k as usize, m as usize);
    // reed-solomon-simd wants even shard lengths; both libraries get the same buffers.
    let shard_len = stripe_len.div_ceil(k).next_multiple_of(2);
    let mut stripe = vec![0u8; stripe_len];
    StdRng::seed_from_u64(stripe_len as u64 + k as u64).fill_bytes(&mut stripe);
    let mut padded = stripe.clone();
    padded.resize(k * shard_len, 0);
    let data: Vec<Vec<u8>> = padded.chunks(shard_len).map(<[u8]>::to_vec).collect();
    let lost = m.min(k); // the first `lost` data shards are missing when decoding

    // reed-solomon-simd: one encoder and one decoder, reused across stripes as Codec does.
    let mut simd_parity = vec![vec![0u8; shard_len]; m];
    let mut encoder = ReedSolomonEncoder::new(k, m, shard_len).unwrap();
    let mut simd_encode = || {
        for shard in &data {
            encoder.add_original_shard(shard).unwrap();
        }
        let out = encoder.encode().unwrap();
        for (parity, recovery) in simd_parity.iter_mut().zip(out.recovery_iter()) {
            parity.copy_from_slice(recovery);
        }
    };
    let simd_enc = measure(stripe_len, sample, &mut simd_encode);

    let mut simd_out = vec![vec![0u8; shard_len]; lost];
    let mut decoder = ReedSolomonDecoder::new(k, m, shard_len).unwrap();
    let mut simd_decode = || {
        for (i, shard) in data.iter().enumerate().skip(lost) {
            decoder.add_original_shard(i, shard).unwrap();
        }
        for (i, shard) in simd_parity.iter().enumerate().take(lost) {
            decoder.add_recovery_shard(i, shard).unwrap();
        }
        let out = decoder.decode().unwrap();
        for (i, restored) in out.restored_original_iter() {
            simd_out[i].copy_from_slice(restored);
        }
    };
    let simd_dec = measure(stripe_len, sample, &mut simd_decode);
    assert!(simd_out.iter().zip(&data).all(|(a, b)| a == b), "simd decode is wrong");

    // reed-solomon-erasure: same data shards, its own parity (the two codes differ).
    let rs = ReedSolomon::new(k, m).unwrap();
    let mut erasure_parity = vec![vec![0u8; shard_len]; m];
    let erasure_enc = measure(stripe_len, sample, &mut || {
        rs.encode_sep(&data, &mut erasure_parity).unwrap()
    });

    let mut work: Vec<Vec<u8>> = data.iter().chain(&erasure_parity).cloned().collect();
    let mut erasure_decode = || {
        let mut shards: Vec<(&mut [u8], bool)> = work
            .iter_mut()
            .enumerate()
            .map(|(i, s)| (s.as_mut_slice(), i >= lost))
            .collect();
        rs.reconstruct_data(&mut shards).unwrap();
    };
    let erasure_dec = measure(stripe_len, sample, &mut erasure_decode);
    assert!(
        work[..k].iter().zip(&data).all(|(a, b)| a == b),
        "erasure decode is wrong"
    );

    // Archipel's Codec, allocations and copies included.
    let codec_enc = measure(stripe_len, sample, &mut || {
        black_box(codec.encode(black_box(&stripe)).unwrap());
    });
    let shards: Vec<Option<Bytes>> = codec
        .encode(&stripe)
        .unwrap()
        .into_iter()
        .enumerate()
        .map(|(i, s)| (i >= lost).then_some(s))
        .collect();
    let codec_dec = measure(stripe_len, sample, &mut || {
        black_box(codec.decode(black_box(&shards), stripe_len).unwrap());
    });
    assert_eq!(codec.decode(&shards, stripe_len).unwrap(), stripe);

    let mib = stripe_len >> 20;
    for (op, simd, erasure, codec) in [
        ("encode", simd_enc, erasure_enc, codec_enc),
        ("decode", simd_dec, erasure_dec, codec_dec),
    ] {
        println!(
            "{:<7} {:>6} {op:<7} {simd:>10.0} {erasure:>12.0} {:>13.2} {codec:>10.0}",
            profile.to_string(),
            format!("{mib} MiB"),
            simd / erasure,
        );
    }
    let _ = std::io::stdout().flush();
}

/// Runs `f` once to warm up, then SAMPLES times for at least `sample` each; returns the median
/// throughput in MB/s of stripe data.
fn measure(stripe_len: usize, sample: Duration, f: &mut dyn FnMut()) -> f64 {
    f();
    let mut rates: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            let mut runs = 0u32;
            while runs < 2 || start.elapsed() < sample {
                f();
                runs += 1;
            }
            runs as f64 * stripe_len as f64 / start.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[SAMPLES / 2]
}

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("CPU: {model}, {cores} cores available");
    #[cfg(target_arch = "x86_64")]
    {
        let features: Vec<&str> = [
            ("ssse3", is_x86_feature_detected!("ssse3")),
            ("avx2", is_x86_feature_detected!("avx2")),
            ("avx512f", is_x86_feature_detected!("avx512f")),
            ("avx512bw", is_x86_feature_detected!("avx512bw")),
            ("gfni", is_x86_feature_detected!("gfni")),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        let engine = if is_x86_feature_detected!("avx2") {
            "Avx2"
        } else if is_x86_feature_detected!("ssse3") {
            "Ssse3"
        } else {
            "NoSimd"
        };
        println!("SIMD: {}; reed-solomon-simd engine: {engine}", features.join(" "));
    }
}
