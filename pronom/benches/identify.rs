//! Throughput of identification, against Siegfried (`pygfried`) measured in the same run.
//!
//! `cargo bench -p archipel-pronom --bench identify` (release build). Needs `../shared/pronom`;
//! compares with `python3 -m pygfried`-style calls when `pip install pygfried` has been done.
//! Prints figures and ratios; asserts nothing about timings.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use archipel_pronom::{collect_files, Identifier, SignatureFiles};

/// Rounds over the suite; the best round counts (least disturbed by other work on the machine).
const ROUNDS: usize = 5;

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/pronom");
    let suite = dir.join("skeleton-suite");
    let Ok(files) = SignatureFiles::in_dir(&dir) else {
        println!("SKIP: no signature files in {}", dir.display());
        return;
    };
    if !suite.is_dir() {
        println!("SKIP: no skeleton suite in {}", suite.display());
        return;
    }
    let t = Instant::now();
    let id = Identifier::load(&files.droid, &files.container).expect("signatures load");
    println!("load signatures: {:.0} ms", ms(t.elapsed()));
    let mut reference = measure_dir(&id, "skeleton suite", &suite);
    // Any other directory (real files, say) with PRONOM_BENCH_DIR=/path.
    if let Some(extra) = std::env::var_os("PRONOM_BENCH_DIR") {
        reference |= measure_dir(&id, "PRONOM_BENCH_DIR", Path::new(&extra));
    }
    println!();
    large_files(&id, reference);
}

/// Files/s and MB/s over a directory, ours and pygfried's; whether pygfried was measured.
fn measure_dir(id: &Identifier, label: &str, dir: &Path) -> bool {
    let paths: Vec<PathBuf> = collect_files(&[dir.to_owned()]).into_iter().map(|(p, _)| p).collect();
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!(
        "\n{label}: {} files, {:.1} MB ({})",
        paths.len(),
        bytes as f64 / 1e6,
        dir.display()
    );
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let ours_1 = best_of(|| {
        for p in &paths {
            let _ = id.identify_path(p);
        }
    });
    let ours_n = best_of(|| {
        let _ = id.identify_all_with(&[dir.to_owned()], threads);
    });
    let list = write_list(&paths);
    let sf = pygfried(&list, threads);
    println!("{:<44} {:>10} {:>10} {:>12}", "", "files/s", "MB/s", "vs pygfried");
    let n = paths.len() as f64;
    let row = |name: &str, d: Duration, reference: Option<f64>| {
        let fps = n / d.as_secs_f64();
        let ratio = reference
            .map(|r| format!("{:.1}x", fps / r))
            .unwrap_or_else(|| "-".into());
        println!(
            "{name:<44} {fps:>10.0} {:>10.1} {ratio:>12}",
            bytes as f64 / 1e6 / d.as_secs_f64()
        );
    };
    if let Some(s) = &sf {
        row("pygfried identify() loop (1 thread)", secs(s.sequential), None);
        row(
            &format!("pygfried identify_many(workers={threads})"),
            secs(s.parallel),
            None,
        );
    } else {
        println!("pygfried not available (pip install pygfried): no reference measured");
    }
    row(
        "archipel-pronom, 1 thread",
        ours_1,
        sf.as_ref().map(|s| n / s.sequential),
    );
    row(
        &format!("archipel-pronom, {threads} threads"),
        ours_n,
        sf.as_ref().map(|s| n / s.parallel),
    );
    sf.is_some()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn best_of(mut f: impl FnMut()) -> Duration {
    f(); // warm the page cache and the allocator
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("ROUNDS > 0")
}

fn write_list(paths: &[PathBuf]) -> tempfile::NamedTempFile {
    let mut list = tempfile::NamedTempFile::new().expect("temp file");
    for p in paths {
        writeln!(list, "{}", p.display()).expect("write list");
    }
    list.flush().expect("flush list");
    list
}

struct Reference {
    sequential: f64,
    parallel: f64,
}

/// Times pygfried over the same files: a loop of `identify()`, and `identify_many()` with one
/// worker per core; best of [`ROUNDS`] each, after one warm-up round.
fn pygfried(list: &tempfile::NamedTempFile, threads: usize) -> Option<Reference> {
    let script = format!(
        r#"
import sys, time, pygfried
paths = [l.rstrip("\n") for l in open(sys.argv[1])]
s = pygfried.Scanner()
def best(f):
    f()
    r = []
    for _ in range({ROUNDS}):
        t = time.perf_counter(); f(); r.append(time.perf_counter() - t)
    return min(r)
def seq():
    for p in paths:
        try:
            s.identify(p)
        except Exception:
            pass
print(best(seq), best(lambda: s.identify_many(paths, workers={threads})))
"#
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(list.path())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().filter_map(|s| s.parse::<f64>().ok());
    Some(Reference {
        sequential: it.next()?,
        parallel: it.next()?,
    })
}

/// pygfried on one file: best of [`ROUNDS`] (each reads the file through the page cache).
fn pygfried_one(path: &Path) -> Option<f64> {
    let script = format!(
        r#"
import sys, time, pygfried
s = pygfried.Scanner()
best = None
for _ in range({ROUNDS}):
    t = time.perf_counter(); r = s.identify(sys.argv[1]); d = time.perf_counter() - t
    best = d if best is None else min(best, d)
print(best, r)
"#
    );
    let out = Command::new("python3").arg("-c").arg(script).arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let d = parts.next()?.parse().ok()?;
    println!(
        "  pygfried: {} in {:.2} ms (best of {ROUNDS})",
        parts.next().unwrap_or("?"),
        d * 1e3
    );
    Some(d)
}

/// 1 GiB files (sparse: no disk space used for the hole), identified without reading them whole.
fn large_files(id: &Identifier, reference: bool) {
    const GIB: u64 = 1 << 30;
    let dir = tempfile::tempdir().expect("temp dir");
    let pdf = dir.path().join("large.pdf");
    {
        let mut f = std::fs::File::create(&pdf).expect("create");
        f.write_all(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").expect("write");
        f.seek(SeekFrom::Start(GIB - 6)).expect("seek");
        f.write_all(b"%%EOF\n").expect("write");
    }
    let docx = dir.path().join("large.docx");
    write_large_docx(&docx, GIB);
    for path in [&pdf, &docx] {
        let len = std::fs::metadata(path).expect("metadata").len();
        let mut found = None;
        let d = best_of(|| found = Some(id.identify_path(path).expect("identified")));
        let found = found.expect("ran");
        println!(
            "{} ({:.2} GiB): {} ({}) in {:.2} ms (best of {ROUNDS}), {} bytes read ({:.4} % of the file), {:.0} MB/s apparent",
            path.file_name().unwrap_or_default().to_string_lossy(),
            len as f64 / GIB as f64,
            found.puid.as_deref().unwrap_or("UNKNOWN"),
            found.basis,
            ms(d),
            found.bytes_read,
            100.0 * found.bytes_read as f64 / len as f64,
            len as f64 / 1e6 / d.as_secs_f64()
        );
        if reference {
            if let Some(sf) = pygfried_one(path) {
                println!("  ratio: {:.1}x pygfried's speed", sf / d.as_secs_f64());
            }
        }
    }
}

/// A ZIP laid out like a DOCX: `[Content_Types].xml`, then a stored 1 GiB entry left as a hole,
/// then the central directory. (The big entry's CRC is not computed: nothing reads it.)
fn write_large_docx(path: &Path, size: u64) {
    let ct = br#"<?xml version="1.0"?><Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let mut f = std::fs::File::create(path).expect("create");
    let mut central = Vec::new();
    let mut entries = 0u16;
    let mut add = |f: &mut std::fs::File, central: &mut Vec<u8>, name: &[u8], data: Option<&[u8]>, len: u32| {
        let offset = f.stream_position().expect("position") as u32;
        let crc = data.map(crc32).unwrap_or(0);
        let mut h = Vec::new();
        h.extend_from_slice(b"PK\x03\x04");
        h.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        h.extend_from_slice(&crc.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
        h.extend_from_slice(&len.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(name);
        f.write_all(&h).expect("write");
        match data {
            Some(d) => f.write_all(d).expect("write"),
            None => {
                f.seek(SeekFrom::Current(i64::from(len))).expect("seek");
            }
        }
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&len.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&[0; 12]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
        entries += 1;
    };
    add(&mut f, &mut central, b"[Content_Types].xml", Some(ct), ct.len() as u32);
    let big = u32::try_from(size - 4096).expect("under 4 GiB");
    add(&mut f, &mut central, b"word/media/big.bin", None, big);
    let cd_offset = f.stream_position().expect("position") as u32;
    f.write_all(&central).expect("write");
    let mut end = Vec::new();
    end.extend_from_slice(b"PK\x05\x06");
    end.extend_from_slice(&[0, 0, 0, 0]);
    end.extend_from_slice(&entries.to_le_bytes());
    end.extend_from_slice(&entries.to_le_bytes());
    end.extend_from_slice(&(central.len() as u32).to_le_bytes());
    end.extend_from_slice(&cd_offset.to_le_bytes());
    end.extend_from_slice(&[0, 0]);
    f.write_all(&end).expect("write");
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
