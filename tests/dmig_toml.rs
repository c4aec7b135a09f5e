//! `dmig.toml` and `DMIG_*`: dmig's own settings below the flags
//! (flag > `DMIG_*` > `dmig.toml` > default), found as documented, and
//! reaching the run.

use predicates::prelude::*;

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, ProjectBuilder};

const SEEN: &str = "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout;\n";

fn one() -> ProjectBuilder {
    project("dmig_toml").migration("1_seen", SEEN, None)
}

/// The script of `upgrade --sql`, rendered in `dir` of the project.
fn script(p: &Project, dir: &str, extra: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = p.dmig();
    cmd.current_dir(p.path().join(dir))
        .args(["upgrade", "--sql"])
        .args(extra);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn a_flag_beats_the_environment_which_beats_dmig_toml() {
    let p = one()
        .file(
            "dmig.toml",
            "lock_timeout = \"1s\"\nstatement_timeout = \"9min\"\n",
        )
        .build();
    let file = script(&p, ".", &[], &[]);
    assert!(
        file.contains("SET lock_timeout = '1s';\nSET statement_timeout = '9min';\n"),
        "{file}"
    );
    let env = script(&p, ".", &[], &[("DMIG_LOCK_TIMEOUT", "2s")]);
    assert!(
        env.contains("SET lock_timeout = '2s';\nSET statement_timeout = '9min';"),
        "{env}"
    );
    let flag = script(
        &p,
        ".",
        &["--lock-timeout", "3s"],
        &[("DMIG_LOCK_TIMEOUT", "2s")],
    );
    assert!(
        flag.contains("SET lock_timeout = '3s';\nSET statement_timeout = '9min';"),
        "{flag}"
    );
    // Arrays and enumerations too: the flag replaces the file's list.
    let p = one()
        .file(
            "dmig.toml",
            "init_sql = [\"SET work_mem = '7MB'\", \"SET jit = off\"]\ntransaction = \"single\"\n",
        )
        .build();
    let file = script(&p, ".", &[], &[]);
    assert!(
        file.contains("SET work_mem = '7MB';\nSET jit = off;")
            && file.contains("one transaction for the whole script"),
        "{file}"
    );
    let flag = script(
        &p,
        ".",
        &[
            "--init-sql",
            "SET jit = on",
            "--transaction",
            "per-revision",
        ],
        &[],
    );
    assert!(
        flag.contains("SET jit = on") && !flag.contains("work_mem"),
        "{flag}"
    );
    assert!(flag.contains("one transaction per revision"), "{flag}");
    // A flag typed with its default value still beats the file.
    let p = one()
        .file("dmig.toml", "transaction = \"single\"\n")
        .build();
    assert!(script(&p, ".", &["--transaction", "per-revision"], &[])
        .contains("one transaction per revision"));
}

#[test]
fn unknown_keys_and_bad_values_name_the_key_and_the_file() {
    let p = one().file("dmig.toml", "lock_timout = \"2s\"\n").build();
    p.dmig()
        .args(["upgrade", "--sql"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("unknown key `lock_timout` in `"))
        .stderr(predicate::str::contains(
            "dmig.toml`; the keys are: lock_timeout,",
        ));
    let p = one().file("dmig.toml", "lock_wait = \"long\"\n").build();
    p.dmig()
        .args(["upgrade", "--sql"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`lock_wait` in `"))
        .stderr(predicate::str::contains(
            "dmig.toml`: expected a whole number, 0 or more",
        ));
    let p = one().build();
    p.dmig()
        .args(["upgrade", "--sql"])
        .env("DMIG_CHECKSUMS", "maybe")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "environment variable DMIG_CHECKSUMS: expected true or false",
        ));
    // Commands that take no setting of dmig.toml are not stopped by it.
    let broken = project("broken")
        .file("dmig.toml", "nonsense = 1\n")
        .build();
    broken.dmig().arg("init").assert().success();
    broken.dmig().arg("history").assert().success();
}

#[test]
fn dmig_toml_is_found_beside_diesel_toml_else_upward() {
    let p = one()
        .folder("app/deeper")
        .file("dmig.toml", "lock_timeout = \"1s\"\n")
        .file(
            "db/diesel.toml",
            "[migrations_directory]\ndir = \"../migrations\"\n",
        )
        .file("db/dmig.toml", "lock_timeout = \"4s\"\n")
        .build();
    // Upward from a subdirectory (no diesel.toml on the way up).
    assert!(script(&p, "app/deeper", &[], &[]).contains("SET lock_timeout = '1s';"));
    // Beside the diesel.toml in use, wherever dmig runs.
    assert!(script(
        &p,
        "app/deeper",
        &["--config-file", "../../db/diesel.toml"],
        &[]
    )
    .contains("SET lock_timeout = '4s';"));
    // DMIG_LOG=debug names it.
    p.dmig()
        .current_dir(p.path().join("app"))
        .args(["upgrade", "--sql"])
        .env("DMIG_LOG", "debug")
        .assert()
        .success()
        .stderr(
            predicate::str::contains("dmig settings file").and(predicate::str::contains(format!(
                "{}",
                p.path().join("dmig.toml").display()
            ))),
        );
}

#[test]
fn init_writes_a_commented_dmig_toml_that_parses() {
    let p = project("init").build();
    p.dmig()
        .arg("init")
        .assert()
        .success()
        .stderr(predicate::str::contains("created dmig.toml"));
    let written = p.read("dmig.toml");
    assert_eq!(written, dmig::settings_file::REFERENCE);
    assert!(
        written
            .lines()
            .all(|line| line.is_empty() || line.starts_with('#')),
        "every key commented out"
    );
    // It parses, and changes nothing.
    assert!(!script(&p, ".", &[], &[]).contains("SET lock_timeout"));
    std::fs::write(p.path().join("dmig.toml"), "lock_wait = 5\n").expect("write");
    p.dmig()
        .arg("init")
        .assert()
        .success()
        .stderr(predicate::str::contains("kept dmig.toml (already exists)"));
    assert_eq!(p.read("dmig.toml"), "lock_wait = 5\n");
}

#[test]
fn settings_from_dmig_toml_reach_the_revisions_online() {
    let p = one()
        .file(
            "dmig.toml",
            "lock_timeout = \"3s\"\nconnect_timeout = 5\nlock_wait = 7\n",
        )
        .build();
    let db = TestDb::new("dmig_toml_online");
    p.dmig()
        .env("DATABASE_URL", db.url())
        .arg("upgrade")
        .assert()
        .success();
    assert_eq!(db.psql("SELECT lock_timeout FROM seen"), "3s");
    // Read commands take connect_timeout from it too (and still work).
    p.dmig()
        .env("DATABASE_URL", db.url())
        .arg("check")
        .assert()
        .success();
}

#[test]
fn strict_from_dmig_toml_steers_an_online_upgrade() {
    let p = project("strict")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .migration("3_c", "CREATE TABLE c (id INT);\n", None)
        .file("dmig.toml", "strict = true\n")
        .build();
    let db = TestDb::new("dmig_toml_strict");
    let upgrade = |env: &[(&str, &str)]| {
        let mut cmd = p.dmig();
        cmd.env("DATABASE_URL", db.url()).arg("upgrade");
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd
    };
    upgrade(&[]).assert().success();
    std::fs::create_dir_all(p.path().join("migrations/2_b")).expect("mkdir");
    std::fs::write(
        p.path().join("migrations/2_b/up.sql"),
        "CREATE TABLE b (id INT);\n",
    )
    .expect("write");
    upgrade(&[])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "is pending but older than the newest applied",
        ));
    assert_eq!(db.versions(), ["1", "3"]);
    // The environment says otherwise, and wins over the file.
    upgrade(&[("DMIG_STRICT", "false")]).assert().success();
    assert_eq!(db.versions(), ["1", "2", "3"]);
}
