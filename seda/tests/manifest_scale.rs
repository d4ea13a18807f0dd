//! Large transfers: a generated manifest with many units and objects parses, checks and
//! flattens; the ignored variant prints timings for a 90k-unit transfer.

mod common;

use std::time::Instant;

use archipel_seda::manifest::{parse, ParseLimits};
use archipel_seda::validate::{check_structure, units_in_order};

use common::{binary, transfer, unit};

/// `n` items, each a group + object + unit; every 100th unit is a series holding links to
/// the next 99 items, so the graph has both nesting and links.
fn big_manifest(n: usize) -> String {
    let mut objects = String::new();
    let mut units = String::new();
    for i in 0..n {
        objects.push_str(&binary(&format!("G{i}"), &format!("O{i}"), &format!("content/{i}.pdf")));
        if i % 100 == 0 {
            units.push_str(&format!("<ArchiveUnit id=\"S{i}\"><Content><DescriptionLevel>Series</DescriptionLevel><Title>Série {i}</Title></Content>"));
            for j in i + 1..(i + 100).min(n) {
                units.push_str(&format!(
                    "<ArchiveUnit id=\"L{j}\"><ArchiveUnitRefId>U{j}</ArchiveUnitRefId></ArchiveUnit>"
                ));
            }
            units.push_str(&unit(&format!("U{i}"), "first", &format!("G{i}")));
            units.push_str("</ArchiveUnit>");
        } else {
            units.push_str(&unit(&format!("U{i}"), &format!("Pièce {i}"), &format!("G{i}")));
        }
    }
    transfer("2.1", &objects, &units)
}

fn run(n: usize) -> (usize, [f64; 3]) {
    let xml = big_manifest(n);
    let t0 = Instant::now();
    let t = parse(xml.as_bytes(), &ParseLimits::default()).unwrap();
    let t1 = Instant::now();
    let errors = check_structure(&t);
    let t2 = Instant::now();
    let flat = units_in_order(&t).unwrap();
    let t3 = Instant::now();
    assert_eq!(errors, []);
    assert_eq!(flat.len(), n + n.div_ceil(100));
    assert_eq!(t.binary_objects().len(), n);
    // U5 sits at the top level and is linked from series S0.
    let u5 = flat.iter().find(|f| f.unit.id == "U5").unwrap();
    assert_eq!(u5.parent_ids, ["S0"]);
    let secs = |a: Instant, b: Instant| (b - a).as_secs_f64();
    (xml.len(), [secs(t0, t1), secs(t1, t2), secs(t2, t3)])
}

#[test]
fn ten_thousand_items() {
    run(10_000);
}

#[test]
#[ignore = "timing run: cargo test --release -p archipel-seda --test manifest_scale -- --ignored --nocapture"]
fn ninety_thousand_items_timed() {
    let n = 90_000; // ~61 MiB: just under the default 64 MiB limit
    let (bytes, [parse, check, flatten]) = run(n);
    println!(
        "{n} units + {n} objects, {:.1} MiB: parse {parse:.2}s ({:.0} MiB/s), check {check:.2}s, flatten {flatten:.2}s",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1048576.0 / parse
    );
}
