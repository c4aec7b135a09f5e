//! The binary as a user runs it: every offline command, its errors and exit
//! codes, and that stdout carries only what was asked for.

use predicates::prelude::*;

use crate::support::project::project;

const UP1: &str = "CREATE TABLE a (id INT PRIMARY KEY);\n";
const DOWN1: &str = "DROP TABLE a;\n";
const UP2: &str = "CREATE TABLE b (id INT PRIMARY KEY, a_id INT REFERENCES a (id));\n";
const DOWN2: &str = "DROP TABLE b;\n";

fn two() -> crate::support::project::ProjectBuilder {
    project("two")
        .migration("2024-01-01-000000_create_a", UP1, Some(DOWN1))
        .migration("2024-01-02-000000_create_b", UP2, Some(DOWN2))
}

#[test]
fn upgrade_sql_prints_only_the_script_on_stdout() {
    let p = two().build();
    let out = p.dmig().args(["upgrade", "--sql"]).assert().success();
    let output = out.get_output();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("-- dmig "), "{stdout}");
    assert!(stdout.contains(
        "INSERT INTO :\"dmig_schema\".__diesel_schema_migrations (version) VALUES ('20240102000000');"
    ));
    assert!(
        output.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn offline_commands_never_need_a_database_url() {
    let p = two().build();
    // A URL that cannot be reached must not matter: nothing connects.
    p.dmig()
        .env("DATABASE_URL", "postgres://nobody:secret@127.0.0.1:1/none")
        .args(["upgrade", "--sql"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn out_dir_gets_a_file_named_after_direction_and_range() {
    let p = two().folder("sql-out").build();
    p.dmig()
        .args(["upgrade", "--sql", "--out", "sql-out"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("upgrade_base_20240102000000.sql"));
    p.dmig()
        .args(["downgrade", "--sql", "head:base", "--out", "sql-out/"])
        .assert()
        .success();
    assert_eq!(
        p.list("sql-out"),
        [
            "downgrade_20240102000000_base.sql",
            "upgrade_base_20240102000000.sql"
        ]
    );
    let script = p.read("sql-out/upgrade_base_20240102000000.sql");
    let stdout = p
        .dmig()
        .args(["upgrade", "--sql"])
        .output()
        .expect("run")
        .stdout;
    assert_eq!(
        script.as_bytes(),
        stdout.as_slice(),
        "file and stdout differ"
    );
}

#[test]
fn out_file_is_written_and_failure_leaves_the_old_file_untouched() {
    let p = two().build();
    p.dmig()
        .args(["upgrade", "--sql", "--out", "out.sql"])
        .assert()
        .success();
    let before = p.read("out.sql");
    assert!(before.contains("create_b"));
    // A downgrade crossing a revision without down.sql fails before writing.
    std::fs::remove_file(
        p.path()
            .join("migrations/2024-01-01-000000_create_a/down.sql"),
    )
    .expect("rm");
    p.dmig()
        .args(["downgrade", "--sql", "head:base", "--out", "out.sql"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "revision `2024-01-01-000000_create_a` has no down.sql",
        ));
    assert_eq!(p.read("out.sql"), before);
    let leftovers: Vec<_> = p
        .list(".")
        .into_iter()
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[test]
fn single_transaction_refuses_non_transactional_revision() {
    let p = two()
        .migration_no_tx(
            "2024-01-03-000000_index",
            "CREATE INDEX CONCURRENTLY b_a_id ON b (a_id);\n",
            Some("DROP INDEX CONCURRENTLY b_a_id;\n"),
        )
        .build();
    p.dmig()
        .args(["upgrade", "--sql", "--transaction", "single"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "--transaction single cannot include revision `2024-01-03-000000_index`",
        ));
    p.dmig()
        .args([
            "upgrade",
            "--sql",
            "base:2024-01-02",
            "--transaction",
            "single",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("-- dmig").and(predicate::str::contains(
                "one transaction for the whole script",
            )),
        );
}

#[test]
fn usage_errors_exit_2() {
    let p = two().build();
    p.dmig()
        .args(["upgrade", "--sql", "--online"])
        .assert()
        .code(2);
    p.dmig()
        .args(["upgrade", "--out", "x.sql"])
        .assert()
        .code(2);
    p.dmig()
        .args(["upgrade", "--sql", "--transaction", "sometimes"])
        .assert()
        .code(2);
    p.dmig().args(["frobnicate"]).assert().code(2);
    p.dmig()
        .args(["downgrade", "--sql", "base"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs a FROM:TO range"));
    p.dmig().args(["revision"]).assert().code(2);
}

#[test]
fn target_errors_name_the_target_and_candidates() {
    let p = two().build();
    p.dmig()
        .args(["upgrade", "--sql", "2025"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "unknown target `2025`; candidates: 2024-01-02-000000_create_b",
        ));
    p.dmig()
        .args(["upgrade", "--sql", "2024-01"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "ambiguous target `2024-01`; candidates: 2024-01-01-000000_create_a, 2024-01-02-000000_create_b",
        ));
    p.dmig()
        .args(["upgrade", "--sql", "head:base"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "range `head:base` is backwards for upgrade",
        ));
    p.dmig()
        .args(["downgrade", "--sql", "base:head"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "range `base:head` is backwards for downgrade",
        ));
    p.dmig()
        .args(["upgrade", "--sql", "+3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("target `+3` is out of range"));
}

/// Each bad project: (what, builder tweak, expected message fragment naming the culprit).
#[test]
fn bad_input_is_refused_with_the_culprit_named_and_no_output_file() {
    type Tweak =
        fn(crate::support::project::ProjectBuilder) -> crate::support::project::ProjectBuilder;
    let cases: Vec<(&str, Tweak, &str)> = vec![
        (
            "duplicate version",
            |b| b.migration("20240102000000_again", UP1, None),
            "duplicate version `20240102000000`",
        ),
        (
            "empty revision directory",
            |b| b.folder("migrations/2024-01-03-000000_empty"),
            "2024-01-03-000000_empty` is empty",
        ),
        (
            "no up.sql",
            |b| b.file("migrations/2024-01-03-000000_x/down.sql", DOWN1),
            "2024-01-03-000000_x` has no up.sql",
        ),
        (
            "non-UTF-8 SQL",
            |b| {
                b.file(
                    "migrations/2024-01-03-000000_latin1/up.sql",
                    b"SELECT '\xe9t\xe9';".as_slice(),
                )
            },
            "2024-01-03-000000_latin1/up.sql` is not valid UTF-8",
        ),
        (
            "quote in version",
            |b| b.migration("2024'03_q", UP1, None),
            "invalid version \"2024'03\"",
        ),
        (
            "malformed metadata.toml",
            |b| {
                b.migration("2024-01-03-000000_m", UP1, None).file(
                    "migrations/2024-01-03-000000_m/metadata.toml",
                    "run_in_transaction = maybe",
                )
            },
            "2024-01-03-000000_m/metadata.toml",
        ),
        (
            "malformed diesel.toml",
            |b| b.file("diesel.toml", "[migrations_directory\ndir = 1"),
            "invalid config file `",
        ),
        (
            "empty up.sql",
            |b| b.migration("2024-01-03-000000_e", "", None),
            "2024-01-03-000000_e/up.sql` contains no SQL statement",
        ),
        (
            "comment-only up.sql",
            |b| b.migration("2024-01-03-000000_c", "-- Your SQL goes here\n", None),
            "2024-01-03-000000_c/up.sql` contains no SQL statement",
        ),
        (
            "unterminated string",
            |b| b.migration("2024-01-03-000000_u", "SELECT 'oops;\n", None),
            "2024-01-03-000000_u/up.sql",
        ),
    ];
    for (what, tweak, expected) in cases {
        let p = tweak(two()).build();
        let assert = p
            .dmig()
            .args(["upgrade", "--sql", "--out", "out.sql"])
            .assert()
            .code(1);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.contains(expected),
            "{what}: expected {expected:?} in {stderr:?}"
        );
        assert!(stderr.starts_with("error: "), "{what}: {stderr}");
        assert!(
            !p.path().join("out.sql").exists(),
            "{what}: out.sql was written"
        );
    }
}

#[test]
fn version_with_whitespace_is_named() {
    let p = two().migration("2024 03_q", UP1, None).build();
    p.dmig().args(["upgrade", "--sql"]).assert().code(1).stderr(
        predicate::str::contains("invalid version \"2024 03\"")
            .and(predicate::str::contains("2024 03_q")),
    );
}

#[test]
fn metadata_without_key_warns_on_stderr_only() {
    let p = two()
        .migration("2024-01-03-000000_quirk", "SELECT 1;\n", None)
        .file(
            "migrations/2024-01-03-000000_quirk/metadata.toml",
            "# empty\n",
        )
        .build();
    let assert = p.dmig().args(["upgrade", "--sql"]).assert().success();
    let output = assert.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "warning: metadata.toml without `run_in_transaction` in 2024-01-03-000000_quirk"
        ),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("-- run_in_transaction = false"), "{stdout}");
    assert!(!stdout.contains("warning"));
}

#[test]
fn revision_name_with_newline_cannot_escape_its_comment() {
    let p = two()
        .migration("2024-01-03-000000_evil\nDROP TABLE a;", "SELECT 1;\n", None)
        .build();
    let assert = p.dmig().args(["upgrade", "--sql"]).assert().success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(
        stdout.contains("-- Running upgrade 20240103000000 (2024-01-03-000000_evil?DROP TABLE a;)"),
        "{stdout}"
    );
    assert!(
        !stdout.lines().any(|l| l.starts_with("DROP TABLE a")),
        "{stdout}"
    );
}

#[test]
fn history_lists_newest_first() {
    let p = two()
        .migration_no_tx(
            "2024-01-03-000000_idx",
            "CREATE INDEX CONCURRENTLY i ON a (id);\n",
            None,
        )
        .build();
    p.dmig().args(["history"]).assert().success().stdout(
        "VERSION         TRANSACTION  DOWN  NAME\n\
         20240103000000  no           no    2024-01-03-000000_idx\n\
         20240102000000  yes          yes   2024-01-02-000000_create_b\n\
         20240101000000  yes          yes   2024-01-01-000000_create_a\n",
    );
    let assert = p
        .dmig()
        .args(["history", "--format", "json"])
        .assert()
        .success();
    let json: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("json");
    assert_eq!(json["revisions"][0]["name"], "2024-01-03-000000_idx");
    assert_eq!(json["revisions"][0]["run_in_transaction"], false);
    assert_eq!(json["revisions"][2]["has_down"], true);
}

#[test]
fn show_prints_up_or_down_verbatim() {
    let p = two().build();
    p.dmig()
        .args(["show", "2024-01-02"])
        .assert()
        .success()
        .stdout(UP2);
    p.dmig()
        .args(["show", "head", "--down"])
        .assert()
        .success()
        .stdout(DOWN2);
    p.dmig()
        .args(["show", "20240101000000_create_a"])
        .assert()
        .code(1);
    p.dmig()
        .args(["show", "2024-01-01-000000_create_a"])
        .assert()
        .success()
        .stdout(UP1);
    p.dmig().args(["show", "base"]).assert().code(2);
}

#[test]
fn revision_creates_a_diesel_style_directory() {
    let p = two().build();
    let assert = p
        .dmig()
        .args([
            "revision",
            "-m",
            "Add users.email index",
            "--no-transaction",
        ])
        .assert()
        .success();
    let created = String::from_utf8_lossy(&assert.get_output().stdout)
        .trim()
        .to_string();
    let name = created
        .strip_prefix("migrations/")
        .expect("under migrations/");
    let (stamp, slug) = name.split_once('_').expect("timestamp_slug");
    assert_eq!(slug, "add_users_email_index");
    assert_eq!(stamp.len(), "2024-01-01-000000".len());
    assert!(
        stamp.chars().all(|c| c.is_ascii_digit() || c == '-'),
        "{stamp}"
    );
    let files = p.list(&created);
    assert_eq!(files, ["down.sql", "metadata.toml", "up.sql"]);
    // The new revision is discovered; its template holds no SQL yet, so rendering it is refused.
    p.dmig()
        .args(["upgrade", "--sql"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("contains no SQL statement"));
}

#[test]
fn init_creates_and_never_overwrites() {
    let p = project("init").file("diesel.toml", "# mine\n").build();
    std::fs::remove_dir(p.path().join("migrations")).expect("rmdir");
    p.dmig().arg("init").assert().success().stderr(
        predicate::str::contains("kept diesel.toml")
            .and(predicate::str::contains("created migrations")),
    );
    assert_eq!(p.read("diesel.toml"), "# mine\n");
    assert_eq!(
        p.list("."),
        ["diesel.toml", "dmig.toml", "migrations", "sql-out"]
    );
}

#[test]
fn migration_dir_comes_from_flag_env_or_diesel_toml() {
    let p = project("dirs")
        .file(
            "diesel.toml",
            "[migrations_directory]\ndir = \"db/migrations\"\n",
        )
        .file("db/migrations/1_from_toml/up.sql", "SELECT 1;\n")
        .file("other/2_from_flag/up.sql", "SELECT 2;\n")
        .folder("sub")
        .build();
    let from_toml = p
        .dmig()
        .current_dir(p.path().join("sub"))
        .args(["history"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&from_toml.stdout).contains("1_from_toml"));
    let from_flag = p
        .dmig()
        .args(["history", "--migration-dir", "other"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&from_flag.stdout).contains("2_from_flag"));
    let from_env = p
        .dmig()
        .env("MIGRATION_DIRECTORY", "other")
        .args(["history"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&from_env.stdout).contains("2_from_flag"));
    p.dmig()
        .args(["history", "--config-file", "missing.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "config file `missing.toml` does not exist",
        ));
}

#[test]
fn help_and_version() {
    let p = two().build();
    p.dmig()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("upgrade").and(predicate::str::contains("downgrade")));
    p.dmig()
        .arg("--version")
        .assert()
        .success()
        .stdout(format!("dmig {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn options_that_do_nothing_for_a_command_are_refused_there() {
    let p = two().build();
    let url = "postgres://nobody@127.0.0.1:1/none";
    for (args, culprit) in [
        (&["current", "--lock-wait", "5"][..], "--lock-wait"),
        (&["status", "--quiet"][..], "--quiet"),
        (
            &["stamp", "head", "--transaction", "single"][..],
            "--transaction",
        ),
        (&["upgrade", "--sql", "--strict"][..], "--strict"),
        (
            &["upgrade", "--sql", "--plain", "--lock-wait", "5"][..],
            "--lock-wait",
        ),
        (&["upgrade", "--plain"][..], "--plain"),
        (
            &["downgrade", "--sql", "head:base", "--connect-timeout", "3"][..],
            "--connect-timeout",
        ),
        (
            &["history", "--connect-timeout", "3"][..],
            "--connect-timeout",
        ),
        (&["upgrade", "--out", "x.sql"][..], "--out"),
    ] {
        p.dmig()
            .env("DATABASE_URL", url)
            .args(args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(culprit));
    }
}

#[test]
fn revisions_take_a_name_never_collide_and_follow_diesels_options() {
    let p = two().build();
    // diesel's `migration generate NAME`, twice in the same second or not:
    // distinct versions, in creation order, and every later command works.
    let mut made = Vec::new();
    for name in ["new_users", "new_posts"] {
        let out = p.dmig().args(["revision", name]).assert().success();
        made.push(
            String::from_utf8_lossy(&out.get_output().stdout)
                .trim()
                .to_string(),
        );
    }
    assert_ne!(made[0], made[1]);
    let history = p.dmig().arg("history").assert().success();
    let listing = String::from_utf8_lossy(&history.get_output().stdout).to_string();
    let at = |name: &str| {
        listing
            .find(name)
            .unwrap_or_else(|| panic!("{name} in {listing}"))
    };
    assert!(
        at("_new_posts") < at("_new_users"),
        "newest first:\n{listing}"
    );
    // The template down.sql holds no statement: history says no down.
    for line in listing.lines().filter(|l| l.contains("_new_")) {
        assert!(line.contains("  no    "), "{line}");
    }
    // --version and --no-down.
    p.dmig()
        .args([
            "revision",
            "-m",
            "pinned",
            "--version",
            "20300101000000",
            "--no-down",
        ])
        .assert()
        .success()
        .stdout("migrations/20300101000000_pinned\n");
    assert_eq!(p.list("migrations/20300101000000_pinned"), ["up.sql"]);
    p.dmig()
        .args(["revision", "again", "--version", "2030-01-01-000000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "version `2030-01-01-000000` is taken by a revision in the migrations directory",
        ));
    // Both forms at once is a usage error; so is neither.
    p.dmig().args(["revision", "a", "-m", "b"]).assert().code(2);
}

#[test]
fn revision_without_a_migrations_directory_says_to_run_init() {
    let p = project("bare").build();
    std::fs::remove_dir(p.path().join("migrations")).expect("no migrations/");
    p.dmig()
        .args(["revision", "first"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("run `dmig init`"));
    assert!(!p.path().join("migrations").exists());
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    let p = two().build();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = p.dmig().args(["completions", shell]).assert().success();
        let script = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        for command in ["upgrade", "downgrade", "stamp", "revision", "completions"] {
            assert!(
                script.contains(command),
                "{shell} completions lack {command}"
            );
        }
        if shell == "bash" {
            let path = p.path().join("dmig.bash");
            std::fs::write(&path, &script).expect("write");
            let check = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output()
                .expect("bash -n");
            assert!(
                check.status.success(),
                "{}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    p.dmig().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn init_in_a_subdirectory_completes_the_project_above() {
    let p = project("nested")
        .file(
            "diesel.toml",
            "[migrations_directory]\ndir = \"db/migrations\"\n",
        )
        .folder("src/deep")
        .build();
    std::fs::remove_dir(p.path().join("migrations")).expect("not this one");
    p.dmig()
        .current_dir(p.path().join("src/deep"))
        .arg("init")
        .assert()
        .success();
    assert!(p.path().join("db/migrations").is_dir());
    assert!(p.path().join("sql-out").is_dir());
    assert!(
        !p.path().join("src/deep/diesel.toml").exists(),
        "no second project"
    );
    assert!(!p.path().join("src/deep/migrations").exists());
}

#[test]
fn show_without_revisions_says_there_are_none() {
    let p = project("empty").build();
    p.dmig()
        .args(["show", "head"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "there are no revisions in `migrations`",
        ));
}

#[test]
fn a_malformed_env_file_is_a_warning_naming_file_and_line() {
    let p = two()
        .file(
            ".env",
            "MIGRATION_DIRECTORY=migrations\nthis line is not valid\n",
        )
        .build();
    p.dmig()
        .arg("history")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "/.env` line 2 is not `NAME=value`; it is ignored",
        ));
}

#[test]
fn color_follows_the_flag_the_terminal_and_no_color() {
    let p = two().build();
    let failing = ["show", "nope"];
    // Not a terminal: no colour unless asked for.
    let plain = p.dmig().args(failing).output().expect("run");
    assert!(String::from_utf8_lossy(&plain.stderr).starts_with("error: unknown target"));
    let forced = p
        .dmig()
        .args(["--color", "always"])
        .args(failing)
        .output()
        .expect("run");
    let forced = String::from_utf8_lossy(&forced.stderr);
    assert!(forced.contains("\x1b["), "{forced:?}");
    assert!(forced.contains("error:"), "{forced:?}");
    let never = p
        .dmig()
        .args(failing)
        .arg("--color=never")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("run");
    assert!(!String::from_utf8_lossy(&never.stderr).contains('\x1b'));
    // NO_COLOR wins over a terminal: run on a pseudo-terminal with `script`.
    let command = format!(
        "NO_COLOR=1 {} show nope",
        assert_cmd::cargo::cargo_bin!("dmig").display()
    );
    let tty = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(p.path())
        .output()
        .expect("run script (util-linux)");
    let screen = String::from_utf8_lossy(&tty.stdout);
    assert!(screen.contains("error: unknown target"), "{screen:?}");
    assert!(!screen.contains("\x1b["), "{screen:?}");
    p.dmig()
        .args(["--color", "sometimes", "history"])
        .assert()
        .code(2);
}
