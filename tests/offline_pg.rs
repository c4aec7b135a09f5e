//! Rendered scripts executed by a real psql against a real PostgreSQL: the
//! promise a DBA relies on when handed `sql-out/*.sql`.

use std::path::Path;

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, SAMPLE_VERSIONS};

fn render_and_run(p: &Project, db: &TestDb, args: &[&str]) {
    db.run_script(&p.render(args));
}

#[test]
fn sample_upgrade_script_builds_the_schema_and_version_rows() {
    let p = project("sample").sample().build();
    let db = TestDb::new("offline_sample_up");
    render_and_run(&p, &db, &["upgrade", "--sql"]);
    assert_eq!(db.versions(), SAMPLE_VERSIONS);
    let tables = db.psql(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
    );
    assert_eq!(
        tables,
        "__diesel_schema_migrations,__dmig_revisions,comments,posts,users"
    );
    // The trigger function works: an update moves updated_at.
    db.psql("UPDATE users SET updated_at = '2000-01-01' WHERE email = 'ada@example.com'");
    db.psql("UPDATE users SET role = 'member' WHERE email = 'ada@example.com'");
    let moved =
        db.psql("SELECT updated_at > '2001-01-01' FROM users WHERE email = 'ada@example.com'");
    assert_eq!(moved, "t");
    assert_eq!(db.psql("SELECT post_count(1)"), "1");
    // The backfill ran, and the CONCURRENTLY indexes exist and are valid.
    assert_eq!(
        db.psql("SELECT display_name FROM users ORDER BY id LIMIT 1"),
        "ada"
    );
    let indexes = db.psql(
        "SELECT string_agg(c.relname || ':' || i.indisvalid, ',' ORDER BY c.relname) \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relname IN ('posts_author_id_idx', 'comments_post_id_idx')",
    );
    assert_eq!(
        indexes,
        "comments_post_id_idx:true,posts_author_id_idx:true"
    );
    // run_on is filled by the column default, as Diesel does it.
    assert_eq!(
        db.psql("SELECT count(*) FROM __diesel_schema_migrations WHERE run_on IS NOT NULL"),
        "5"
    );
}

#[test]
fn sample_up_down_up_gives_identical_dumps_and_down_returns_to_empty() {
    let p = project("sample").sample().build();
    let db = TestDb::new("offline_sample_cycle");
    let empty = db.schema_dump_without_version_table();
    render_and_run(&p, &db, &["upgrade", "--sql"]);
    let first_up = db.schema_dump();
    render_and_run(&p, &db, &["downgrade", "--sql", "head:base"]);
    assert_eq!(db.versions(), Vec::<String>::new());
    assert_eq!(db.schema_dump_without_version_table(), empty);
    render_and_run(&p, &db, &["upgrade", "--sql"]);
    assert_eq!(db.schema_dump(), first_up);
}

#[test]
fn ranges_compose_to_the_full_upgrade() {
    let p = project("sample").sample().build();
    let whole = TestDb::new("offline_whole");
    render_and_run(&p, &whole, &["upgrade", "--sql"]);
    let pieces = TestDb::new("offline_pieces");
    render_and_run(&p, &pieces, &["upgrade", "--sql", "+2"]);
    assert_eq!(pieces.versions(), SAMPLE_VERSIONS[..2]);
    render_and_run(
        &p,
        &pieces,
        &[
            "upgrade",
            "--sql",
            "2024-01-02:2024-01-04",
            "--transaction",
            "single",
        ],
    );
    render_and_run(&p, &pieces, &["upgrade", "--sql", "20240104080000:head"]);
    assert_eq!(pieces.versions(), SAMPLE_VERSIONS);
    assert_eq!(pieces.schema_dump(), whole.schema_dump());
    // And back down one step at a time.
    render_and_run(&p, &pieces, &["downgrade", "--sql", "head:-1"]);
    assert_eq!(pieces.versions(), SAMPLE_VERSIONS[..4]);
}

#[test]
fn stamp_script_writes_only_version_rows() {
    let p = project("sample").sample().build();
    let db = TestDb::new("offline_stamp");
    let empty = db.schema_dump_without_version_table();
    render_and_run(&p, &db, &["stamp", "--sql", "2024-01-03"]);
    assert_eq!(db.versions(), SAMPLE_VERSIONS[..3]);
    assert_eq!(db.schema_dump_without_version_table(), empty);
    render_and_run(&p, &db, &["stamp", "--sql", "2024-01-03:base"]);
    assert_eq!(db.versions(), Vec::<String>::new());
}

#[test]
fn tricky_files_run_as_written() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/render/basic");
    let db = TestDb::new("offline_traps");
    let out = tempfile::tempdir().expect("tempdir");
    for (args, versions) in [
        (vec!["upgrade", "--sql"], 4),
        (vec!["downgrade", "--sql", "head:base"], 0),
        (
            vec![
                "upgrade",
                "--sql",
                "base:2024-01-02",
                "--transaction",
                "single",
            ],
            2,
        ),
    ] {
        let script = out.path().join("script.sql");
        assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("dmig"))
            .current_dir(&fixture)
            .env_remove("MIGRATION_DIRECTORY")
            .env_remove("DIESEL_CONFIG_FILE")
            .args(&args)
            .arg("--out")
            .arg(&script)
            .assert()
            .success();
        db.run_script(&script);
        assert_eq!(db.versions().len(), versions, "{args:?}");
        if versions == 4 {
            assert_eq!(
                db.psql("INSERT INTO traps DEFAULT VALUES RETURNING secret || '|' || quoted || '|' || note"),
                "$pbkdf2-sha512$25000$abc$|it's -- not a comment;|déjà vu; naïve café"
            );
            assert_eq!(db.psql("SELECT traps_count()"), "1");
        }
    }
}

#[test]
fn failing_script_stops_at_the_failing_revision_and_keeps_earlier_ones() {
    let p = project("fail")
        .migration("1_ok", "CREATE TABLE ok (id INT);\n", None)
        .migration(
            "2_bad",
            "CREATE TABLE half (id INT);\nSELECT no_such_function();\n",
            None,
        )
        .migration("3_never", "CREATE TABLE never (id INT);\n", None)
        .build();
    let db = TestDb::new("offline_fail");
    let out = p.path().join("script.sql");
    p.dmig()
        .args(["upgrade", "--sql", "--out"])
        .arg(&out)
        .assert()
        .success();
    let output = db.psql_file(&out);
    assert!(!output.status.success());
    assert_eq!(db.versions(), ["1"]);
    // The failed revision's companion row rolled back with its transaction.
    let recorded = db.companion_rows().expect("companion table");
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].starts_with("1 "), "{recorded:?}");
    let tables = db.psql(
        "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'",
    );
    assert_eq!(tables, "__diesel_schema_migrations,__dmig_revisions,ok");
}

/// Diesel's own code (diesel_migrations' `MigrationHarness`, driven through
/// diesel-async's `AsyncMigrationHarness`) must see a database brought up by
/// the offline script as fully applied.
#[tokio::test(flavor = "multi_thread")]
async fn diesel_sees_offline_migrated_database_as_fully_applied() {
    use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};

    let p = project("sample").sample().build();
    let db = TestDb::new("offline_diesel_interop");
    render_and_run(&p, &db, &["upgrade", "--sql"]);
    let conn = AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect");
    let migrations = FileBasedMigrations::from_path(p.path().join("migrations"))
        .expect("diesel reads the directory");
    let mut harness = AsyncMigrationHarness::new(conn);
    let pending = harness.pending_migrations(migrations).expect("pending");
    assert!(pending.is_empty(), "diesel sees {} pending", pending.len());
    let mut applied: Vec<String> = harness
        .applied_migrations()
        .expect("applied")
        .iter()
        .map(|v| v.to_string())
        .collect();
    applied.sort();
    assert_eq!(applied, SAMPLE_VERSIONS);
}
