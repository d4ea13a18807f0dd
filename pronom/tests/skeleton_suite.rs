//! Every file of the skeleton suite identified, accuracy per category printed with every miss
//! and its reason, and floors asserted so that a regression fails.
//!
//! Reference on the same files (docs/pronom.md): Siegfried 1.11.9 (pygfried 2.2.0, its own
//! DROID V125 signatures) matches 98.3 % of fmt, 98.6 % of x-fmt, 100 % of containers, and
//! reports an error on 33 files. The issue quotes 97.9 / 98.6 / 100 %.

mod common;

use archipel_pronom::suite;

/// Per category: (folder, lowest accepted accuracy in percent). Achieved with DROID V118 and
/// container signatures 20240501: 100 % in each; the floors allow one or two files of slack.
const FLOORS: [(&str, f64); 3] = [("fmt", 99.8), ("x-fmt", 99.6), ("containers", 99.6)];

#[test]
fn skeleton_suite_accuracy() {
    let Some(id) = common::identifier() else { return };
    let dir = common::shared_dir().join("skeleton-suite");
    if !dir.is_dir() {
        eprintln!("SKIP: {} not found", dir.display());
        return;
    }
    let report = suite::run(id, &dir).expect("the suite directory is readable");
    println!("{report}");
    for (name, floor) in FLOORS {
        let cat = report
            .category(name)
            .unwrap_or_else(|| panic!("no {name} folder in {}", dir.display()));
        assert!(cat.total > 0, "{name} is empty");
        assert!(
            cat.accuracy() >= floor,
            "{name}: {:.2} % is below the floor of {floor} %",
            cat.accuracy()
        );
    }
    assert_eq!(report.errors(), 0, "no file may fail with an error");
}
