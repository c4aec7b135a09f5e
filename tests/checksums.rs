//! dmig's companion table `__dmig_revisions`: written online and by scripts
//! in each revision's transaction, read by `status` and `check` to tell an
//! applied revision whose up.sql changed (`changed`) from one nothing was
//! recorded for (`unverified`), and invisible to Diesel's own tools.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, ProjectBuilder, SAMPLE_VERSIONS};

fn dmig(p: &Project, db: &TestDb) -> assert_cmd::Command {
    let mut cmd = p.dmig();
    cmd.env("DATABASE_URL", db.url());
    cmd
}

/// `sha256sum` of a file.
fn sha256_of(path: &Path) -> String {
    let bytes = fs::read(path).expect("read file");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Three small transactional revisions.
fn three() -> ProjectBuilder {
    project("three")
        .migration("1_a", "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"))
        .migration("2_b", "CREATE TABLE b (id INT);\n", Some("DROP TABLE b;\n"))
        .migration("3_c", "CREATE TABLE c (id INT)", Some("DROP TABLE c;\n"))
}

fn json(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output).expect("JSON on stdout")
}

fn companion_exists(db: &TestDb) -> bool {
    db.psql("SELECT to_regclass('__dmig_revisions') IS NOT NULL") == "t"
}

#[test]
fn online_upgrade_records_each_revision_and_downgrade_forgets_it() {
    let p = project("sample").sample().build();
    let db = TestDb::new("checksums_online_rows");
    dmig(&p, &db).arg("upgrade").assert().success();
    let mut dirs = p.list("migrations");
    dirs.sort();
    let rows = db.psql(
        "SELECT version, up_sha256, coalesce(down_sha256, '-'), mode, applied_by = current_user, \
         duration IS NOT NULL, dmig_version = $$0.1.0$$ FROM __dmig_revisions ORDER BY version",
    );
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(rows.len(), SAMPLE_VERSIONS.len(), "{rows:?}");
    for ((row, version), dir) in rows.iter().zip(SAMPLE_VERSIONS).zip(&dirs) {
        let dir = p.path().join("migrations").join(dir);
        let want = format!(
            "{version}|{}|{}|online|t|t|t",
            sha256_of(&dir.join("up.sql")),
            sha256_of(&dir.join("down.sql"))
        );
        assert_eq!(*row, want);
    }
    // Beside the version table, in its schema.
    assert_eq!(
        db.psql(
            "SELECT relnamespace::regnamespace FROM pg_class WHERE relname = '__dmig_revisions'"
        ),
        "public"
    );

    // Going down deletes the row with Diesel's, non-transactional head included.
    dmig(&p, &db).args(["downgrade", "-2"]).assert().success();
    let versions: Vec<String> = db
        .companion_rows()
        .expect("table")
        .iter()
        .map(|r| r.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(versions, SAMPLE_VERSIONS[..3]);
    assert_eq!(db.versions(), SAMPLE_VERSIONS[..3]);
}

#[test]
fn an_edited_applied_revision_is_changed_until_the_edit_is_reverted() {
    let p = three().build();
    let db = TestDb::new("checksums_changed");
    dmig(&p, &db).arg("upgrade").assert().success();
    dmig(&p, &db).arg("check").assert().code(0);

    let up = p.path().join("migrations/2_b/up.sql");
    let original = fs::read(&up).expect("read");
    fs::write(&up, "CREATE TABLE b (id BIGINT);\n").expect("edit");

    let out = dmig(&p, &db).arg("status").assert().success();
    let listing = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("changed ") && l.contains("2_b") && l.contains("changed since")),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("applied ") && l.contains("1_a")),
        "{listing}"
    );

    let out = dmig(&p, &db)
        .args(["status", "--format", "json"])
        .assert()
        .success();
    let doc = json(&out.get_output().stdout);
    let b = &doc["revisions"][1];
    assert_eq!(b["name"], "2_b");
    assert_eq!(b["state"], "applied");
    assert_eq!(b["checksum"], "changed");
    assert_eq!(b["up_sha256"], sha256_of(&up).as_str());
    assert_ne!(b["applied_up_sha256"], b["up_sha256"]);
    assert_eq!(doc["revisions"][0]["checksum"], "verified");

    let out = dmig(&p, &db).arg("check").assert().code(3);
    let said = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        said.contains("changed since applied") && said.contains("2_b"),
        "{said}"
    );
    let out = dmig(&p, &db)
        .args(["check", "--format", "json"])
        .assert()
        .code(3);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["changed"], serde_json::json!(["2_b"]));

    // A byte order mark alone is no change; the edit reverted, all is well.
    let mut marked = b"\xef\xbb\xbf".to_vec();
    marked.extend_from_slice(&original);
    fs::write(&up, &marked).expect("mark");
    dmig(&p, &db).arg("check").assert().code(0);
    fs::write(&up, &original).expect("revert the edit");
    dmig(&p, &db).arg("check").assert().code(0);
}

#[test]
fn rows_written_without_dmig_are_unverified_and_no_failure() {
    let p = three().build();
    let db = TestDb::new("checksums_unverified");
    dmig(&p, &db)
        .args(["upgrade", "2_b", "--no-checksums"])
        .assert()
        .success();
    assert!(!companion_exists(&db), "--no-checksums created the table");
    let out = dmig(&p, &db).arg("status").assert().success();
    let listing = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        listing.contains("unverified  1") && listing.contains("unverified  2"),
        "{listing}"
    );
    // A row Diesel's CLI would write, by hand.
    db.psql("INSERT INTO __diesel_schema_migrations (version) VALUES ('3')");
    let out = dmig(&p, &db).arg("check").assert().code(0);
    let said = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(said.contains("3 applied revision(s) unverified"), "{said}");
    let out = dmig(&p, &db)
        .args(["check", "--format", "json"])
        .assert()
        .code(0);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["unverified"], serde_json::json!(["1_a", "2_b", "3_c"]));
    assert_eq!(doc["changed"], serde_json::json!([]));

    // The next run with checksums records what it applies; older rows stay unverified.
    db.psql("DELETE FROM __diesel_schema_migrations WHERE version = '3'");
    dmig(&p, &db).arg("upgrade").assert().success();
    let out = dmig(&p, &db)
        .args(["status", "--format", "json"])
        .assert()
        .success();
    let doc = json(&out.get_output().stdout);
    let words: Vec<&str> = doc["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| r["checksum"].as_str().unwrap_or("null"))
        .collect();
    assert_eq!(words, ["unverified", "unverified", "verified"]);
}

#[test]
fn read_only_commands_never_create_the_companion_table() {
    let p = three().build();
    let db = TestDb::new("checksums_read_only");
    let read_only: [&[&str]; 4] = [
        &["status"],
        &["check"],
        &["current"],
        &["history", "--online"],
    ];
    for args in read_only {
        // check exits 3 (all pending), the others 0.
        let code = dmig(&p, &db)
            .args(args)
            .output()
            .expect("run")
            .status
            .code();
        assert!(matches!(code, Some(0 | 3)), "{args:?}: {code:?}");
    }
    assert!(!companion_exists(&db));
    assert!(db.versions().is_empty());
    dmig(&p, &db)
        .args(["upgrade", "--no-checksums"])
        .assert()
        .success();
    for args in read_only {
        dmig(&p, &db).args(args).assert().success();
    }
    assert!(!companion_exists(&db));
    // A run with nothing to do writes nothing, the table neither.
    dmig(&p, &db).arg("upgrade").assert().success();
    assert!(!companion_exists(&db));
}

#[test]
fn no_checksums_scripts_never_name_the_companion_table() {
    let p = three().build();
    let script = p.render(&["upgrade", "--sql", "--no-checksums"]);
    assert!(!fs::read_to_string(&script)
        .expect("script")
        .contains("__dmig_revisions"));
    let db = TestDb::new("checksums_script_off");
    db.run_script(&script);
    assert_eq!(db.versions(), ["1", "2", "3"]);
    assert!(!companion_exists(&db));

    // With checksums (the default) the script records what online would.
    let on = TestDb::new("checksums_script_on_online");
    dmig(&p, &on).arg("upgrade").assert().success();
    let off = TestDb::new("checksums_script_on_offline");
    off.run_script(&p.render(&["upgrade", "--sql"]));
    assert_eq!(on.companion_rows(), off.companion_rows());
    assert_eq!(
        off.psql("SELECT string_agg(mode, ',') FROM __dmig_revisions"),
        "offline,offline,offline"
    );
}

#[test]
fn stamp_records_and_forgets_companion_rows() {
    let p = three().build();
    let db = TestDb::new("checksums_stamp");
    dmig(&p, &db).args(["stamp", "2_b"]).assert().success();
    assert_eq!(
        db.psql("SELECT string_agg(version || ':' || mode || ':' || (duration IS NULL), ',' ORDER BY version) FROM __dmig_revisions"),
        "1:stamp:true,2:stamp:true"
    );
    dmig(&p, &db).arg("check").assert().code(3);
    dmig(&p, &db).args(["stamp", "1_a"]).assert().success();
    assert_eq!(
        db.psql("SELECT string_agg(version, ',') FROM __dmig_revisions"),
        "1"
    );
    // A stamp script does the same.
    let off = TestDb::new("checksums_stamp_offline");
    off.run_script(&p.render(&["stamp", "--sql", "base:1_a"]));
    assert_eq!(db.companion_rows(), off.companion_rows());
}

/// Diesel's harness sees a dmig database fully applied, and a revert done
/// by Diesel (which knows nothing of the companion table) leaves an orphan
/// row that dmig ignores and removes on its next writing run.
#[tokio::test(flavor = "multi_thread")]
async fn a_revert_by_diesel_leaves_an_orphan_that_dmig_ignores_and_cleans() {
    use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};

    let p = three().build();
    let db = TestDb::new("checksums_diesel_revert");
    dmig(&p, &db).arg("upgrade").assert().success();
    let migrations =
        || FileBasedMigrations::from_path(p.path().join("migrations")).expect("diesel reads it");
    let conn = AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect");
    let mut harness = AsyncMigrationHarness::new(conn);
    assert!(harness
        .pending_migrations(migrations())
        .expect("pending")
        .is_empty());
    harness
        .revert_last_migration(migrations())
        .expect("diesel reverts 3_c");
    drop(harness);
    assert_eq!(db.versions(), ["1", "2"]);
    assert_eq!(
        db.companion_rows().expect("table").len(),
        3,
        "the orphan of 3"
    );

    // dmig reads past it: 3_c is pending, nothing changed or unverified.
    let out = dmig(&p, &db)
        .args(["status", "--format", "json"])
        .assert()
        .success();
    let doc = json(&out.get_output().stdout);
    let words: Vec<String> = doc["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .map(|r| format!("{}/{}", r["state"], r["checksum"]))
        .collect();
    assert_eq!(
        words,
        [
            "\"applied\"/\"verified\"",
            "\"applied\"/\"verified\"",
            "\"pending\"/null"
        ]
    );
    let out = dmig(&p, &db).arg("check").assert().code(3);
    let said = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(!said.contains("changed"), "{said}");

    // The next writing run removes it (here a downgrade of 2_b).
    dmig(&p, &db).args(["downgrade", "-1"]).assert().success();
    let rows = db.companion_rows().expect("table");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].starts_with("1 "), "{rows:?}");
    // And an upgrade applies both again, recorded afresh.
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.companion_rows().expect("table").len(), 3);
    dmig(&p, &db).arg("check").assert().code(0);
}
