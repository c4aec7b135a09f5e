//! Version tables as real databases have them (altered by hand, read-only,
//! two on the search_path), and `stamp` cleaning up rows missing on disk.

use predicates::prelude::*;

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, ProjectBuilder};

fn dmig(p: &Project, db: &TestDb) -> assert_cmd::Command {
    let mut cmd = p.dmig();
    cmd.env("DATABASE_URL", db.url());
    cmd
}

fn two() -> ProjectBuilder {
    project("two")
        .migration("1_a", "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"))
        .migration("2_b", "CREATE TABLE b (id INT);\n", Some("DROP TABLE b;\n"))
}

/// Diesel's version table, as diesel_migrations creates it.
fn diesel_table(db: &TestDb) {
    db.psql(dmig::dialect::postgres::VERSION_TABLE_DDL);
}

fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn a_null_run_on_is_shown_as_unknown_and_every_command_works() {
    let p = two().build();
    let db = TestDb::new("null_run_on");
    diesel_table(&db);
    db.psql(
        "ALTER TABLE __diesel_schema_migrations ALTER COLUMN run_on DROP NOT NULL;\n\
         INSERT INTO __diesel_schema_migrations (version, run_on) VALUES ('1', NULL);\n\
         CREATE TABLE a (id INT);",
    );
    let current = stdout(dmig(&p, &db).args(["current", "-v"]));
    assert_eq!(current, "1  unknown\n");
    let json = stdout(dmig(&p, &db).args(["current", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["applied"][0]["run_on"], serde_json::Value::Null);
    dmig(&p, &db)
        .arg("status")
        .assert()
        .success()
        // Written without dmig: applied, with no checksum to verify.
        .stdout(predicate::str::contains("unverified  1        1_a"));
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.versions(), ["1", "2"]);
    dmig(&p, &db).args(["downgrade", "base"]).assert().success();
    assert!(db.versions().is_empty());
}

#[test]
fn an_extra_not_null_column_is_named_before_anything_runs() {
    let p = two().build();
    let db = TestDb::new("extra_column");
    diesel_table(&db);
    db.psql("ALTER TABLE __diesel_schema_migrations ADD COLUMN applied_by TEXT NOT NULL");
    let out = dmig(&p, &db).arg("upgrade").assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("public.__diesel_schema_migrations")
            && stderr.contains("`applied_by`")
            && stderr.contains("DEFAULT"),
        "{stderr}"
    );
    assert!(!stderr.contains("1_a"), "blamed on the revision: {stderr}");
    // Nothing ran: not even the first revision's table.
    assert_eq!(db.psql("SELECT to_regclass('a') IS NULL"), "t");
    // The same for a stamp; reading still works.
    dmig(&p, &db)
        .args(["stamp", "head"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("`applied_by`"));
    dmig(&p, &db).arg("status").assert().success();
    // A default is enough.
    db.psql(
        "ALTER TABLE __diesel_schema_migrations ALTER COLUMN applied_by SET DEFAULT current_user",
    );
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.versions(), ["1", "2"]);
}

#[test]
fn a_version_table_without_run_on_is_read() {
    let p = two().build();
    let db = TestDb::new("no_run_on");
    diesel_table(&db);
    db.psql(
        "ALTER TABLE __diesel_schema_migrations DROP COLUMN run_on;\n\
         INSERT INTO __diesel_schema_migrations (version) VALUES ('1');\n\
         CREATE TABLE a (id INT);",
    );
    assert_eq!(
        stdout(dmig(&p, &db).args(["current", "-v"])),
        "1  unknown\n"
    );
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.versions(), ["1", "2"]);
}

fn read_only(db: &TestDb) {
    db.psql(&format!(
        "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
        db.name()
    ));
}

#[test]
fn a_read_only_database_answers_every_read_and_a_no_op_upgrade() {
    let p = two().build();
    let db = TestDb::new("read_only");
    dmig(&p, &db).arg("upgrade").assert().success();
    read_only(&db);
    let commands: [&[&str]; 6] = [
        &["status"],
        &["current", "-v"],
        &["check"],
        &["history", "--online"],
        &["upgrade"],
        &["stamp", "head"],
    ];
    for args in commands {
        dmig(&p, &db).args(args).assert().success();
    }
    // A fresh read-only database: no version table, and none is created.
    let fresh = TestDb::new("read_only_fresh");
    read_only(&fresh);
    let empty = project("empty").build();
    for args in [&["status"][..], &["current"], &["check"], &["upgrade"]] {
        dmig(&empty, &fresh).args(args).assert().success();
    }
    assert_eq!(
        fresh.psql("SELECT to_regclass('__diesel_schema_migrations') IS NULL"),
        "t"
    );
}

#[test]
fn an_upgrade_with_work_on_a_read_only_database_says_so() {
    let p = two().build();
    let db = TestDb::new("read_only_work");
    dmig(&p, &db).args(["upgrade", "1"]).assert().success();
    read_only(&db);
    let out = dmig(&p, &db).arg("upgrade").assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("is read-only"), "{stderr}");
    assert!(stderr.contains("default_transaction_read_only"), "{stderr}");
    assert!(!stderr.contains("2_b` failed"), "{stderr}");
    // A fresh one: the version table is not created either.
    let fresh = TestDb::new("read_only_work_fresh");
    read_only(&fresh);
    dmig(&p, &fresh)
        .arg("upgrade")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is read-only"));
    assert_eq!(
        fresh.psql("SELECT to_regclass('__diesel_schema_migrations') IS NULL"),
        "t"
    );
}

/// Issue 9, case 2: connected as `postgres` with the default search_path
/// `"$user", public`, a revision creating schema `postgres` must not split
/// the version table.
#[test]
fn a_schema_named_after_the_user_does_not_split_the_version_table() {
    let user = crate::support::pg::admin_psql("SELECT current_user");
    assert_eq!(user, "postgres", "the test connects as postgres");
    let p = project("user_schema")
        .migration(
            "1_schema",
            "CREATE SCHEMA postgres;\nCREATE TABLE one (id INT);\n",
            Some("DROP SCHEMA postgres; DROP TABLE one;\n"),
        )
        .build();
    let db = TestDb::new("user_schema");
    dmig(&p, &db).arg("upgrade").assert().success();
    std::fs::create_dir_all(p.path().join("migrations/2_more")).expect("mkdir");
    std::fs::write(
        p.path().join("migrations/2_more/up.sql"),
        "CREATE TABLE two (id INT);\n",
    )
    .expect("write");
    dmig(&p, &db).arg("upgrade").assert().success();
    dmig(&p, &db).arg("upgrade").assert().success();
    dmig(&p, &db).arg("check").assert().success();
    assert_eq!(
        db.psql("SELECT to_regclass('postgres.__diesel_schema_migrations') IS NULL"),
        "t"
    );
    assert_eq!(
        db.psql("SELECT string_agg(version, ',' ORDER BY version) FROM public.__diesel_schema_migrations"),
        "1,2"
    );
    // Two tables on the search_path: refused, naming both, before anything.
    db.psql(
        "CREATE TABLE postgres.__diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    );
    for args in [
        &["upgrade"][..],
        &["status"],
        &["current"],
        &["stamp", "base"],
    ] {
        dmig(&p, &db)
            .args(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(
                "postgres.__diesel_schema_migrations and public.__diesel_schema_migrations",
            ));
    }
    assert_eq!(
        db.psql("SELECT count(*) FROM public.__diesel_schema_migrations"),
        "2"
    );
}

/// A project whose version table also holds row `9`, a revision deleted
/// from disk (issue 9, case 12).
fn with_missing_row(db: &TestDb) -> Project {
    let p = two().build();
    dmig(&p, db).arg("upgrade").assert().success();
    db.psql("INSERT INTO __diesel_schema_migrations (version) VALUES ('9')");
    p
}

#[test]
fn stamp_says_which_rows_missing_on_disk_it_left_and_purge_deletes_them() {
    let db = TestDb::new("stamp_purge");
    let p = with_missing_row(&db);
    let out = dmig(&p, &db).args(["stamp", "base"]).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(
            "left 1 row(s) in the version table whose revision is missing from the migrations directory: 9; `dmig stamp base --purge` deletes them"
        ),
        "{stderr}"
    );
    assert_eq!(db.versions(), ["9"]);
    assert_eq!(stdout(dmig(&p, &db).arg("current")), "9\n");
    // Again: nothing to stamp, but the row is still named.
    dmig(&p, &db)
        .args(["stamp", "base"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "nothing to do: the database is at base",
        ))
        .stderr(predicate::str::contains(
            "missing from the migrations directory: 9;",
        ));
    // --purge: the table ends as reported, in JSON too.
    let json = stdout(dmig(&p, &db).args(["stamp", "base", "--purge", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["purged"], serde_json::json!(["9"]));
    assert_eq!(json["missing_on_disk"], serde_json::json!([]));
    assert!(db.versions().is_empty());
    assert_eq!(stdout(dmig(&p, &db).arg("current")), "base\n");
}

#[test]
fn stamp_purge_with_revisions_to_stamp_names_both() {
    let db = TestDb::new("stamp_purge_head");
    let p = with_missing_row(&db);
    dmig(&p, &db).args(["stamp", "1"]).assert().success();
    assert_eq!(db.versions(), ["1", "9"]);
    dmig(&p, &db)
        .args(["stamp", "head", "--purge"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "stamped 1 revision(s) from 1 to 2",
        ))
        .stderr(predicate::str::contains(
            "purged 1 row(s) whose revision is missing from the migrations directory: 9",
        ))
        .stderr(predicate::str::contains("left").not());
    assert_eq!(db.versions(), ["1", "2"]);
    let json = stdout(dmig(&p, &db).args(["stamp", "head", "--purge", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["purged"], serde_json::json!([]));
}

#[test]
fn stamp_sql_purge_deletes_what_is_not_on_disk_and_agrees_with_online() {
    let online = TestDb::new("stamp_purge_online");
    let offline = TestDb::new("stamp_purge_offline");
    let p = with_missing_row(&online);
    dmig(&p, &offline).arg("upgrade").assert().success();
    offline.psql("INSERT INTO __diesel_schema_migrations (version) VALUES ('9')");
    let script = p.render(&["stamp", "--sql", "2:1", "--purge"]);
    let text = std::fs::read_to_string(&script).expect("read");
    assert!(
        text.contains(
            "DELETE FROM :\"dmig_schema\".__diesel_schema_migrations WHERE version NOT IN ('1', '2');"
        ),
        "{text}"
    );
    offline.run_script(&script);
    dmig(&p, &online)
        .args(["stamp", "1", "--purge"])
        .assert()
        .success();
    assert_eq!(offline.versions(), ["1"]);
    assert_eq!(online.versions(), offline.versions());
    // Without --purge the script leaves such rows alone, as online does.
    let plain = p.render(&["stamp", "--sql", "1:2"]);
    assert!(!std::fs::read_to_string(&plain)
        .expect("read")
        .contains("NOT IN"));
}

#[test]
fn a_standby_answers_every_read_and_refuses_work_naming_the_primary() {
    let server = crate::support::pg::PrivateServer::start();
    server.psql("postgres", "CREATE DATABASE app");
    let url = server.url("app");
    let p = two().build();
    let run = |args: &[&str]| {
        let mut cmd = p.dmig();
        cmd.env("DATABASE_URL", &url).args(args);
        cmd
    };
    run(&["upgrade", "1"]).assert().success();
    server.restart_as_standby();
    run(&["status"]).assert().success();
    run(&["current"]).assert().success();
    run(&["history", "--online"]).assert().success();
    run(&["check"]).assert().code(3);
    run(&["upgrade", "1"]).assert().success();
    run(&["upgrade"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the database is read-only (a standby in recovery), so this upgrade cannot write its 1 step(s); nothing was run; connect to the primary",
        ));
    assert_eq!(
        server.psql(
            "app",
            "SELECT string_agg(version, ',') FROM __diesel_schema_migrations"
        ),
        "1"
    );
}
