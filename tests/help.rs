//! The help of every command, snapshotted (`tests/help/snapshots/`), and
//! what it must and must not offer: an option appears only where it does
//! something, the top level lists exit codes and environment variables, and
//! no `[env: NAME=]` clutter reads as "set to empty".

use std::path::Path;

use assert_cmd::Command;

/// Every command path, the top level first.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["upgrade"],
    &["downgrade"],
    &["redo"],
    &["stamp"],
    &["current"],
    &["history"],
    &["status"],
    &["check"],
    &["revision"],
    &["show"],
    &["init"],
    &["database"],
    &["database", "setup"],
    &["database", "reset"],
    &["database", "drop"],
    &["verify"],
    &["completions"],
];

fn help(path: &[&str]) -> String {
    let output = Command::new(assert_cmd::cargo::cargo_bin!("dmig"))
        .args(path)
        .arg("--help")
        // A fixed width and no colour: the snapshots must not depend on the terminal.
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env("DATABASE_URL", "postgres://u:secret@db/app")
        .output()
        .expect("run dmig --help");
    assert!(
        output.status.success(),
        "{path:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 help")
}

#[test]
fn every_command_has_its_help_snapshotted() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/help/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for path in COMMANDS {
            let name = if path.is_empty() {
                "dmig".to_owned()
            } else {
                format!("dmig {}", path.join(" "))
            };
            insta::assert_snapshot!(name.replace(' ', "_"), help(path), &name);
        }
    });
}

#[test]
fn options_appear_only_where_they_do_something() {
    for path in COMMANDS {
        let text = help(path);
        assert!(
            !text.contains("[env: "),
            "{path:?} shows env clutter:\n{text}"
        );
        assert!(!text.contains("secret"), "{path:?} shows the URL:\n{text}");
    }
    for offline_only in [
        &["init"][..],
        &["show"],
        &["completions"],
        &["verify"],
        &["history"],
    ] {
        let text = help(offline_only);
        let offers_url = text
            .lines()
            .any(|l| l.trim_start().starts_with("--database-url"));
        // history offers it only with --online.
        if offline_only == ["history"] {
            assert!(text.contains("With --online: the database URL"), "{text}");
        } else {
            assert!(
                !offers_url,
                "{offline_only:?} offers --database-url:\n{text}"
            );
        }
    }
    for read_only in [&["current"][..], &["status"], &["check"]] {
        let text = help(read_only);
        assert!(!text.contains("--lock-wait"), "{read_only:?}:\n{text}");
        assert!(!text.contains("--transaction"), "{read_only:?}:\n{text}");
        assert!(!text.contains("--retries"), "{read_only:?}:\n{text}");
    }
    assert!(!help(&["stamp"]).contains("--transaction"));
    // Retries are for revisions that run: a stamp runs none.
    assert!(!help(&["stamp"]).contains("--retries"));
    let top = help(&[]);
    for needed in [
        "Exit codes:",
        "  3    check:",
        "Environment:",
        "DATABASE_URL",
        "DMIG_LOG",
        "NO_COLOR",
    ] {
        assert!(
            top.contains(needed),
            "the top-level help lacks {needed:?}:\n{top}"
        );
    }
}
