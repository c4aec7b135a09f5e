//! Rendered scripts, snapshotted: one fixture project per case under
//! `tests/render/<case>/migrations/`, rendered through the CLI exactly as a
//! user would, snapshots beside it in `tests/render/<case>/snapshots/`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/render")
        .join(case)
}

/// Render with `args` in the case's directory; stdout must be the whole script.
fn render(case: &str, args: &[&str]) -> String {
    let output = Command::new(assert_cmd::cargo::cargo_bin!("dmig"))
        .current_dir(case_dir(case))
        .env_remove("DATABASE_URL")
        .env_remove("MIGRATION_DIRECTORY")
        .env_remove("DIESEL_CONFIG_FILE")
        .args(args)
        .output()
        .expect("run dmig");
    assert!(
        output.status.success(),
        "dmig {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 script")
}

fn check(case: &str, name: &str, args: &[&str]) {
    let script = render(case, args);
    // Byte-identical across runs: render twice.
    assert_eq!(
        script,
        render(case, args),
        "rendering {args:?} is not deterministic"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(case_dir(case).join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_description(args.join(" "));
    settings.bind(|| insta::assert_snapshot!(name, script));
}

#[test]
fn upgrade_base_to_head() {
    check("basic", "upgrade_base_head", &["upgrade", "--sql"]);
}

#[test]
fn upgrade_middle_range() {
    check(
        "basic",
        "upgrade_1_to_3",
        &["upgrade", "--sql", "20240101000000:2024-01-03-000000"],
    );
}

#[test]
fn upgrade_relative_targets() {
    check("basic", "upgrade_plus_2", &["upgrade", "--sql", "+2"]);
    check(
        "basic",
        "upgrade_from_2_plus_1",
        &["upgrade", "--sql", "2024-01-02:+1"],
    );
}

#[test]
fn downgrade_head_to_base() {
    check(
        "basic",
        "downgrade_head_base",
        &["downgrade", "--sql", "head:base"],
    );
}

#[test]
fn downgrade_relative() {
    check(
        "basic",
        "downgrade_head_minus_1",
        &["downgrade", "--sql", "head:-1"],
    );
}

#[test]
fn stamp_up_and_down() {
    check("basic", "stamp_base_2", &["stamp", "--sql", "2024-01-02"]);
    check(
        "basic",
        "stamp_head_1",
        &["stamp", "--sql", "head:20240101000000"],
    );
}

#[test]
fn single_transaction() {
    check(
        "basic",
        "upgrade_single_transaction",
        &[
            "upgrade",
            "--sql",
            "base:2024-01-02",
            "--transaction",
            "single",
        ],
    );
}

#[test]
fn non_transactional_revision_alone() {
    check(
        "basic",
        "upgrade_non_transactional",
        &["upgrade", "--sql", "2024-01-02:2024-01-03"],
    );
}

#[test]
fn plain_script_for_other_tools() {
    check("basic", "upgrade_plain", &["upgrade", "--sql", "--plain"]);
    check(
        "basic",
        "downgrade_plain_lock_timeout",
        &[
            "downgrade",
            "--sql",
            "head:base",
            "--plain",
            "--lock-timeout",
            "2s",
        ],
    );
}

#[test]
fn guarded_script_with_session_settings() {
    check(
        "basic",
        "upgrade_session_settings",
        &[
            "upgrade",
            "--sql",
            "+1",
            "--lock-wait",
            "5",
            "--lock-timeout",
            "2s",
            "--init-sql",
            "SELECT pg_advisory_lock(0)",
        ],
    );
}
