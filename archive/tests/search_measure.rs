//! Rough throughput and latency, printed, not asserted: run with
//! `cargo test -p archipel-archive --test search_measure -- --ignored --nocapture`.

mod search_support;

use std::time::{Duration, Instant};

use archipel_archive::search::{SearchQuery, TenantIndex, UnitDoc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use search_support::{day, unit};

const UNITS: usize = 10_000;
const BATCH: usize = 1_000;
const QUERIES: usize = 300;
const VOCABULARY: &[&str] = &[
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
    "appel",
    "offres",
    "budget",
    "primitif",
    "compte",
    "administratif",
    "arrêté",
    "permis",
    "construire",
    "urbanisme",
    "élection",
    "liste",
    "électorale",
    "recensement",
    "population",
    "police",
    "hygiène",
    "assainissement",
    "eau",
    "forêt",
    "bâtiment",
    "église",
    "presbytère",
    "cimetière",
    "concession",
    "personnel",
    "carrière",
    "paie",
    "subvention",
    "association",
    "fête",
    "préfecture",
    "sous-préfecture",
    "correspondance",
    "rapport",
    "procès-verbal",
    "séance",
    "commission",
    "syndicat",
    "intercommunal",
    "département",
    "région",
    "agriculture",
    "industrie",
    "commerce",
    "foire",
    "halle",
    "octroi",
];

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| *VOCABULARY.choose(rng).unwrap_or(&"x"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn units(rng: &mut StdRng) -> Vec<UnitDoc> {
    (0..UNITS)
        .map(|i| {
            let start = rng.gen_range(1800..2024);
            let title_len = rng.gen_range(3..10);
            UnitDoc {
                description: words(rng, 30),
                text: words(rng, 120),
                keywords: (0..3).map(|_| words(rng, 1)).collect(),
                flow: Some(["actes", "marches", "helios"][i % 3].to_string()),
                start_date: Some(day(start, 1, 1)),
                end_date: Some(day(start + rng.gen_range(0..30), 12, 31)),
                ..unit(&format!("unit-{i}"), &words(rng, title_len))
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn measure(label: &str, index: &TenantIndex, all: &[UnitDoc], rng: &mut StdRng) {
    let started = Instant::now();
    for batch in all.chunks(BATCH) {
        index.upsert(batch).unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "{label}: indexed {} units in batches of {BATCH} in {elapsed:.2?} ({:.0} units/s)",
        all.len(),
        all.len() as f64 / elapsed.as_secs_f64()
    );
    let started = Instant::now();
    for unit in all.iter().take(50) {
        index.upsert(std::slice::from_ref(unit)).unwrap();
    }
    println!(
        "{label}: one-unit upsert (a commit each): {:.2?} per call",
        started.elapsed() / 50
    );

    for (kind, filtered) in [("text", false), ("text+flow+dates", true)] {
        let mut latencies = Vec::with_capacity(QUERIES);
        let mut hits = 0;
        for _ in 0..QUERIES {
            let n = rng.gen_range(1..3);
            let mut req = SearchQuery::text(words(rng, n));
            if filtered {
                let from = rng.gen_range(1800..2020);
                req.flow = Some("actes".into());
                req.from = Some(day(from, 1, 1));
                req.to = Some(day(from + 10, 12, 31));
            }
            let started = Instant::now();
            hits += index.search(&req).unwrap().total;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!(
            "{label}: {kind} query over {} units, page of 20: p50 {:.2?}, p95 {:.2?}, max {:.2?} (mean total {})",
            index.count(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies[latencies.len() - 1],
            hits / QUERIES
        );
    }
}

#[test]
#[ignore = "a measurement, not a check: run with --ignored --nocapture"]
fn indexing_rate_and_query_latency_for_ten_thousand_units() {
    let mut rng = StdRng::seed_from_u64(7);
    let all = units(&mut rng);
    measure("ram", &TenantIndex::in_ram().unwrap(), &all, &mut rng);
    let dir = tempfile::tempdir().unwrap();
    measure(
        "disk",
        &TenantIndex::open_or_create(dir.path()).unwrap(),
        &all,
        &mut rng,
    );
}
