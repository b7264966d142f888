//! The book shows `results/reference.md` (the table) and `src/lab1/chart.svg`
//! (the chart). Both must be exactly what `lab1-chart` makes of
//! `results/reference.json`, the saved real run: never edited by hand, never
//! left behind when the JSON or the chart code changes.

use std::path::Path;
use std::process::Command;

fn generated(flag: &str) -> String {
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/reference.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lab1-chart")).arg(flag).arg(&json).output().expect("cannot run lab1-chart");
    assert!(out.status.success(), "lab1-chart {flag} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `shown` is relative to this crate; `from_root` is the same file from the
/// repository root, for the message.
fn check(flag: &str, shown: &str, from_root: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(shown);
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        on_disk == generated(flag),
        "{shown} is not what `lab1-chart {flag} results/reference.json` prints: regenerate it with\n  cargo run -p lab1-measure --bin lab1-chart -- {flag} listings/lab1-measure/results/reference.json > {from_root}"
    );
}

#[test]
fn the_books_table_is_generated_from_the_reference_run() {
    check("--markdown", "results/reference.md", "listings/lab1-measure/results/reference.md");
}

#[test]
fn the_books_chart_is_generated_from_the_reference_run() {
    check("--svg", "../../src/lab1/chart.svg", "src/lab1/chart.svg");
}
