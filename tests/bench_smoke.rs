//! The benchmark harness (`bench/run.py`) still works: a quick offline run on
//! a tiny corpus with the debug binary writes a results table with a numeric
//! median. Benchmarks themselves never run in CI; this only checks the harness.

use std::path::Path;
use std::process::Command;

/// Parses a duration cell such as `2.89 ms` or `1.204 s` into milliseconds.
fn millis(cell: &str) -> Option<f64> {
    let (number, unit) = cell.trim().split_once(' ')?;
    let value: f64 = number.parse().ok()?;
    match unit {
        "ms" => Some(value),
        "s" => Some(value * 1000.0),
        _ => None,
    }
}

#[test]
fn quick_offline_run_writes_a_results_table() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("RESULTS.md");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/run.py");
    let output = Command::new("python3")
        .arg(&script)
        .args([
            "--quick",
            "--only",
            "offline",
            "--dmig",
            env!("CARGO_BIN_EXE_dmig"),
        ])
        .arg("--work")
        .arg(dir.path().join("work"))
        .arg("--out")
        .arg(&results)
        .output()
        .expect("run python3 bench/run.py");
    assert!(
        output.status.success(),
        "bench/run.py failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&results).expect("RESULTS.md written");
    assert!(
        text.contains(
            "| group | N | command | wall median | wall min–max | × floor | CPU median | instructions | peak RSS median |"
        ),
        "no table header in:\n{text}"
    );
    let row = text
        .lines()
        .find(|line| line.starts_with("| offline | 20 | dmig upgrade --sql |"))
        .unwrap_or_else(|| panic!("no offline render row in:\n{text}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let median = millis(cells[4]).unwrap_or_else(|| panic!("median is not a duration: {row}"));
    assert!(median > 0.0, "{row}");
    let cpu = millis(cells[7]).unwrap_or_else(|| panic!("CPU is not a duration: {row}"));
    assert!(cpu > 0.0, "{row}");
    assert!(cells[9].ends_with(" MiB"), "peak RSS is not in MiB: {row}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("| offline | 20 | cat up.sql (floor) |")),
        "no floor row in:\n{text}"
    );
}
