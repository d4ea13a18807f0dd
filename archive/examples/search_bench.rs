//! Search index at scale: load N synthetic units through the real sync path, then report the process's memory,
//! the index's size on disk, a restart, an incremental change, and query latency (p50/p99) for representative
//! queries. A measurement, not a test (docs/performance.md, "Search index").
//!
//! ```sh
//! cargo run --release -p archipel-archive --example search_bench                   # 100 000 units
//! cargo run --release -p archipel-archive --example search_bench -- --units 1000000 --dir /var/tmp/sb
//! ```
//!
//! What it measures: the index side of one archive front (`search::sync` into an on-disk `TenantIndex`, then
//! `TenantIndex::search`) in this one process. The catalog is an in-memory generator standing in for the cluster:
//! units are made on demand, AIP by AIP, so the process holds no more of the catalog than a front would. Not
//! measured: reading descriptors from the cluster, HTTP, authorisation and the logbook entry of each search.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use archipel_archive::search::{
    sync, CatalogSource, CommittedAip, HoldFilter, RuleDoc, RuleFilter, SearchError, SearchQuery, TenantIndex, UnitDoc,
};
use chrono::{NaiveDate, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const UNITS_PER_AIP: usize = 100;
const WORDS: &[&str] = &[
    "délibération",
    "conseil",
    "municipal",
    "registre",
    "état",
    "civil",
    "naissance",
    "mariage",
    "décès",
    "cadastre",
    "plan",
    "parcelle",
    "voirie",
    "travaux",
    "école",
    "marché",
    "public",
    "budget",
    "primitif",
    "compte",
    "administratif",
    "arrêté",
    "permis",
    "construire",
    "urbanisme",
    "élection",
    "recensement",
    "police",
    "assainissement",
    "eau",
    "forêt",
    "bâtiment",
    "église",
    "cimetière",
    "concession",
    "personnel",
    "carrière",
    "paie",
    "subvention",
    "association",
    "préfecture",
    "correspondance",
    "rapport",
    "séance",
    "commission",
    "syndicat",
    "département",
    "région",
    "mandat",
    "titre",
    "bordereau",
    "facture",
];
const LEVELS: &[&str] = &["RecordGrp", "File", "File", "Item", "Item", "Item"];
const FLOWS: &[&str] = &["actes", "helios", "marches"];

/// The catalog: `aips` AIPs of [`UNITS_PER_AIP`] units, generated from the AIP number, minus removed ones.
struct Generated {
    aips: usize,
    removed: std::sync::Mutex<Vec<usize>>,
    generation: std::sync::atomic::AtomicI64,
}

fn aip_id(n: usize) -> String {
    format!("aip-{n:08}")
}

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| *WORDS.choose(rng).unwrap_or(&"x"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn units_of(aip: usize) -> Vec<UnitDoc> {
    let mut rng = StdRng::seed_from_u64(aip as u64);
    let flow = FLOWS[aip % FLOWS.len()];
    let agency = format!("FRAD{:03}", rng.gen_range(1..60));
    (0..UNITS_PER_AIP)
        .map(|i| {
            let year = rng.gen_range(1950..2025);
            let start = day(year, rng.gen_range(1..13), 1);
            let appraisal_years = [5u32, 10, 30, 50][rng.gen_range(0..4)];
            let mut rules = vec![
                RuleDoc {
                    category: "AppraisalRule".into(),
                    rule_id: format!("APP-{appraisal_years}"),
                    end_date: start.checked_add_months(chrono::Months::new(12 * appraisal_years)),
                    final_action: Some(if rng.gen_bool(0.6) { "Destroy" } else { "Keep" }.into()),
                },
                RuleDoc {
                    category: "AccessRule".into(),
                    rule_id: "ACC-25".into(),
                    end_date: start.checked_add_months(chrono::Months::new(12 * 25)),
                    final_action: None,
                },
            ];
            if rng.gen_bool(0.01) {
                rules.push(RuleDoc {
                    category: "HoldRule".into(),
                    rule_id: "HOLD-CONTENTIEUX".into(),
                    end_date: rng.gen_bool(0.5).then(|| day(rng.gen_range(2020..2035), 1, 1)),
                    final_action: None,
                });
            }
            let title_len = rng.gen_range(3..9);
            UnitDoc {
                unit_id: format!("{}-{i:03}", aip_id(aip)),
                sip_unit_id: format!("ID{i}"),
                transfer_id: format!("tr-{aip}"),
                aip_id: aip_id(aip),
                parent_id: None,
                flow: Some(flow.into()),
                title: words(&mut rng, title_len),
                description: words(&mut rng, 20),
                description_level: LEVELS[rng.gen_range(0..LEVELS.len())].into(),
                start_date: Some(start),
                end_date: Some(day(year + rng.gen_range(0..5), 12, 31)),
                originating_agency: agency.clone(),
                keywords: (0..3).map(|_| words(&mut rng, 1)).collect(),
                text: words(&mut rng, 60),
                ingested_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default(),
                rules,
                communicable_from: None,
            }
        })
        .collect()
}

#[async_trait::async_trait]
impl CatalogSource for Generated {
    type Error = SearchError;

    async fn generation(&self) -> Result<i64, SearchError> {
        Ok(self.generation.load(std::sync::atomic::Ordering::SeqCst))
    }

    async fn committed_after(&self, after: &str, limit: usize) -> Result<Vec<CommittedAip>, SearchError> {
        let first = match after.strip_prefix("aip-") {
            Some(n) => n.parse::<usize>().map_or(0, |n| n + 1),
            None => 0,
        };
        let removed = self.removed.lock().unwrap_or_else(|p| p.into_inner());
        Ok((first..self.aips)
            .filter(|n| !removed.contains(n))
            .take(limit)
            .map(|n| CommittedAip {
                aip_id: aip_id(n),
                units: UNITS_PER_AIP,
            })
            .collect())
    }

    async fn units(&self, aip: &str) -> Result<Vec<UnitDoc>, SearchError> {
        Ok(aip
            .strip_prefix("aip-")
            .and_then(|n| n.parse().ok())
            .map(units_of)
            .unwrap_or_default())
    }
}

/// Resident memory of this process from /proc: (total, anonymous, file-backed incl. the mmapped index, peak).
fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or("?".to_string(), |kb| format!("{} MiB", kb / 1024))
    };
    format!(
        "RSS {} (anon {}, file {}), peak {}",
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:"),
        field("VmHWM:")
    )
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * p) as usize)
        .copied()
        .unwrap_or_default()
}

struct Args {
    units: usize,
    queries: usize,
    dir: Option<PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        units: 100_000,
        queries: 200,
        dir: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--units" => out.units = value()?.parse().map_err(|e| format!("--units: {e}"))?,
            "--queries" => out.queries = value()?.parse().map_err(|e| format!("--queries: {e}"))?,
            "--dir" => out.dir = Some(PathBuf::from(value()?)),
            other => {
                return Err(format!(
                    "unknown argument {other}; use --units N --queries N --dir PATH"
                ))
            }
        }
    }
    Ok(out)
}

type Make = Box<dyn Fn(&mut StdRng) -> SearchQuery>;

fn queries() -> Vec<(&'static str, Make)> {
    vec![
        (
            "all units, facets only (limit 0)",
            Box::new(|_| SearchQuery {
                limit: 0,
                ..SearchQuery::default()
            }),
        ),
        (
            "one or two words",
            Box::new(|r| {
                let n = r.gen_range(1..3);
                SearchQuery::text(words(r, n))
            }),
        ),
        (
            "words + flow + date range",
            Box::new(|r| {
                let from = r.gen_range(1950..2020);
                SearchQuery {
                    flow: Some("actes".into()),
                    from: Some(day(from, 1, 1)),
                    to: Some(day(from + 5, 12, 31)),
                    ..SearchQuery::text(words(r, 1))
                }
            }),
        ),
        (
            "appraisal ended before Y, Destroy",
            Box::new(|r| SearchQuery {
                rules: RuleFilter {
                    category: Some("AppraisalRule".into()),
                    final_action: Some("Destroy".into()),
                    end_to: Some(day(r.gen_range(1990..2030), 12, 31)),
                    ..RuleFilter::default()
                },
                ..SearchQuery::default()
            }),
        ),
        (
            "agency + rule id",
            Box::new(|r| SearchQuery {
                originating_agency: Some(format!("FRAD{:03}", r.gen_range(1..60))),
                rule_id: Some("APP-10".into()),
                ..SearchQuery::default()
            }),
        ),
        (
            "under a hold today",
            Box::new(|_| SearchQuery {
                hold: Some(HoldFilter {
                    held: true,
                    on: Utc::now().date_naive(),
                }),
                ..SearchQuery::default()
            }),
        ),
    ]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let temp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().join("index"));
    let aips = args.units.div_ceil(UNITS_PER_AIP);
    let catalog = Generated {
        aips,
        removed: Default::default(),
        generation: 1.into(),
    };
    println!(
        "search bench: {} units in {aips} AIPs of {UNITS_PER_AIP}, index in {}",
        aips * UNITS_PER_AIP,
        dir.display()
    );
    println!("start: {}", rss());

    let started = Instant::now();
    let index = Arc::new(TenantIndex::open_or_create(&dir)?);
    let report = sync(&index, &catalog).await?;
    let took = started.elapsed();
    println!(
        "initial sync: {} units in {took:.1?} ({:.0} units/s); index {} MiB on disk; {}",
        report.added_units,
        report.added_units as f64 / took.as_secs_f64(),
        dir_size(&dir) >> 20,
        rss()
    );

    drop(index);
    let started = Instant::now();
    let index = Arc::new(TenantIndex::open_or_create(&dir)?);
    let report = sync(&index, &catalog).await?;
    println!(
        "restart: reopened ({:?}) and synced (up to date: {}) in {:.1?}; {} units",
        index.outcome(),
        report.up_to_date,
        started.elapsed(),
        index.count()
    );

    catalog.removed.lock().unwrap_or_else(|p| p.into_inner()).push(aips / 2);
    catalog.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let started = Instant::now();
    let report = sync(&index, &catalog).await?;
    println!(
        "incremental: one AIP removed ({} AIPs gone, {} added) in {:.1?}, every committed AIP id paged through",
        report.removed_aips,
        report.added_aips,
        started.elapsed()
    );

    let mut rng = StdRng::seed_from_u64(7);
    println!("| query | p50 | p99 | max | mean matches |");
    println!("|---|---|---|---|---|");
    for (name, make) in queries() {
        let mut latencies = Vec::with_capacity(args.queries);
        let mut matches = 0usize;
        for _ in 0..args.queries {
            let query = make(&mut rng);
            let started = Instant::now();
            matches += index.search(&query)?.total;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!(
            "| {name} | {:.1?} | {:.1?} | {:.1?} | {} |",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().copied().unwrap_or_default(),
            matches / args.queries.max(1)
        );
    }
    println!("after queries: {}", rss());
    Ok(())
}
