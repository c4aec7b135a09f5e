//! Online mode against a real PostgreSQL: every command, and parity with the
//! offline script run by psql.

use std::path::Path;

use predicates::prelude::*;

use crate::support::pg::TestDb;
use crate::support::project::{project, Project, ProjectBuilder, SAMPLE_VERSIONS};

pub(crate) fn dmig(p: &Project, db: &TestDb) -> assert_cmd::Command {
    let mut cmd = p.dmig();
    cmd.env("DATABASE_URL", db.url());
    cmd
}

/// Render `args` offline and run the script with psql on `db`.
pub(crate) fn offline(p: &Project, db: &TestDb, args: &[&str]) {
    db.run_script(&p.render(args));
}

pub(crate) fn assert_same_database(online: &TestDb, offline: &TestDb) {
    assert_eq!(online.versions(), offline.versions(), "version rows differ");
    assert_eq!(
        online.companion_rows(),
        offline.companion_rows(),
        "companion rows differ"
    );
    assert_eq!(
        online.schema_dump(),
        offline.schema_dump(),
        "schemas differ"
    );
}

/// `n` revisions, each a 5-column table with an index and a foreign key to
/// the previous one; every 10th runs outside a transaction with a CONCURRENTLY index.
pub fn generated(n: usize) -> ProjectBuilder {
    let mut b = project("generated");
    for i in 1..=n {
        let name = format!("{:014}_table_{i}", 20240000000000u64 + i as u64);
        let fk = if i > 1 {
            format!(",\n    prev_id BIGINT REFERENCES t{} (id)", i - 1)
        } else {
            String::new()
        };
        let up = format!(
            "CREATE TABLE t{i} (\n    id BIGSERIAL PRIMARY KEY,\n    a TEXT,\n    b INT,\n    c TIMESTAMPTZ DEFAULT now(){fk}\n);\n"
        );
        if i % 10 == 0 {
            b = b.migration_no_tx(
                &name,
                &format!("{up}CREATE INDEX CONCURRENTLY t{i}_b_idx ON t{i} (b);\n"),
                Some(&format!("DROP TABLE t{i};\n")),
            );
        } else {
            b = b.migration(
                &name,
                &format!("{up}CREATE INDEX t{i}_a_idx ON t{i} (a);\n"),
                Some(&format!("DROP TABLE t{i};\n")),
            );
        }
    }
    b
}

#[test]
fn sample_online_and_offline_leave_the_same_database() {
    let p = project("sample").sample().build();
    let on = TestDb::new("parity_sample_online");
    let off = TestDb::new("parity_sample_offline");
    dmig(&p, &on)
        .arg("upgrade")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "applied 2024-01-05-000000_index_posts_concurrently",
        ));
    offline(&p, &off, &["upgrade", "--sql"]);
    assert_eq!(on.versions(), SAMPLE_VERSIONS);
    assert_same_database(&on, &off);

    // A middle range: down to 2024-01-02 online, head:2024-01-02 offline.
    dmig(&p, &on)
        .args(["downgrade", "2024-01-02"])
        .assert()
        .success();
    offline(&p, &off, &["downgrade", "--sql", "head:2024-01-02"]);
    assert_eq!(on.versions(), SAMPLE_VERSIONS[..2]);
    assert_same_database(&on, &off);

    // Down to base: back to an empty schema on both.
    let empty = TestDb::new("parity_empty").schema_dump_without_version_table();
    dmig(&p, &on).args(["downgrade", "base"]).assert().success();
    offline(&p, &off, &["downgrade", "--sql", "2024-01-02:base"]);
    assert!(on.versions().is_empty());
    assert_eq!(on.schema_dump_without_version_table(), empty);
    assert_same_database(&on, &off);
}

#[test]
fn generated_corpus_of_200_online_and_offline_agree() {
    let p = generated(200).build();
    let on = TestDb::new("parity_200_online");
    let off = TestDb::new("parity_200_offline");
    dmig(&p, &on)
        .args(["upgrade", "--quiet"])
        .assert()
        .success()
        .stderr("");
    offline(&p, &off, &["upgrade", "--sql"]);
    assert_eq!(on.versions().len(), 200);
    assert_same_database(&on, &off);
    dmig(&p, &on)
        .args(["downgrade", "20240000000050", "-q"])
        .assert()
        .success();
    offline(&p, &off, &["downgrade", "--sql", "head:20240000000050"]);
    assert_eq!(on.versions().len(), 50);
    assert_same_database(&on, &off);
    dmig(&p, &on)
        .args(["downgrade", "base", "-q"])
        .assert()
        .success();
    offline(&p, &off, &["downgrade", "--sql", "20240000000050:base"]);
    assert!(on.versions().is_empty());
    assert_same_database(&on, &off);
}

#[test]
fn single_transaction_online_matches_offline() {
    let p = generated(9).build();
    let on = TestDb::new("single_online");
    let off = TestDb::new("single_offline");
    dmig(&p, &on)
        .args(["upgrade", "--transaction", "single"])
        .assert()
        .success();
    offline(&p, &off, &["upgrade", "--sql", "--transaction", "single"]);
    assert_eq!(on.versions().len(), 9);
    assert_same_database(&on, &off);
}

#[test]
fn single_transaction_refuses_non_transactional_revision_before_running() {
    let p = generated(10).build();
    let db = TestDb::new("single_refused");
    dmig(&p, &db)
        .args(["upgrade", "--transaction", "single"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--transaction single cannot include revision `20240000000010_table_10`",
        ));
    assert!(db.versions().is_empty());
    assert_eq!(db.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations'"), "0");
}

#[test]
fn diesel_written_rows_are_understood_and_dmig_rows_are_diesels() {
    let p = project("sample").sample().build();
    let db = TestDb::new("interop_rows");
    // Exactly what diesel_migrations does: its DDL, then INSERT (version) per revision.
    db.psql(&format!(
        "{}\nINSERT INTO __diesel_schema_migrations (version) VALUES ('20240101120000');",
        dmig::dialect::postgres::VERSION_TABLE_DDL
    ));
    db.psql_file(
        &p.path()
            .join("migrations/2024-01-01-120000_create_users/up.sql"),
    );
    dmig(&p, &db)
        .args(["status"])
        .assert()
        .success()
        // Diesel recorded no checksum: applied, unverified.
        .stdout(predicate::str::contains(
            "unverified  20240101120000  2024-01-01-120000_create_users",
        ))
        .stdout(predicate::str::contains("pending     20240102090000"));
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(db.versions(), SAMPLE_VERSIONS);
    // Same columns, types and defaults as Diesel's table.
    let columns = db.psql(
        "SELECT string_agg(column_name || ' ' || data_type || ' ' || coalesce(column_default, '-'), ', ' ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_name = '__diesel_schema_migrations'",
    );
    assert_eq!(
        columns,
        "version character varying -, run_on timestamp without time zone CURRENT_TIMESTAMP"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn diesel_sees_dmig_online_database_as_fully_applied() {
    use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection};
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};

    let p = project("sample").sample().build();
    let db = TestDb::new("interop_diesel_online");
    dmig(&p, &db).arg("upgrade").assert().success();
    let conn = AsyncPgConnection::establish(&db.url())
        .await
        .expect("connect");
    let migrations =
        FileBasedMigrations::from_path(p.path().join("migrations")).expect("diesel reads it");
    let mut harness = AsyncMigrationHarness::new(conn);
    assert!(harness
        .pending_migrations(migrations)
        .expect("pending")
        .is_empty());
}

#[test]
fn two_concurrently_indexes_in_one_non_transactional_revision() {
    let p = project("cic")
        .migration(
            "1_table",
            "CREATE TABLE t (a INT, b INT);\n",
            Some("DROP TABLE t;\n"),
        )
        .migration_no_tx(
            "2_indexes",
            "CREATE INDEX CONCURRENTLY t_a ON t (a);\nCREATE INDEX CONCURRENTLY t_b ON t (b);\n",
            Some("DROP INDEX CONCURRENTLY t_b;\nDROP INDEX CONCURRENTLY t_a;\n"),
        )
        .build();
    let db = TestDb::new("cic_two");
    dmig(&p, &db).arg("upgrade").assert().success();
    assert_eq!(
        db.psql("SELECT string_agg(indexrelid::regclass::text || ':' || indisvalid, ',' ORDER BY 1) FROM pg_index WHERE indrelid = 't'::regclass"),
        "t_a:true,t_b:true"
    );
    dmig(&p, &db).args(["downgrade", "-1"]).assert().success();
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass"),
        "0"
    );
    assert_eq!(db.versions(), ["1"]);
}

#[test]
fn search_path_change_does_not_break_bookkeeping() {
    let p = project("search_path")
        .migration(
            "1_schema",
            "CREATE SCHEMA app;\nSET search_path TO app;\nCREATE TABLE things (id INT);\n",
            Some("DROP SCHEMA app CASCADE;\n"),
        )
        .migration(
            "2_after",
            "CREATE TABLE public_thing (id INT);\n",
            Some("DROP TABLE public_thing;\n"),
        )
        .build();
    let on = TestDb::new("search_path_online");
    let off = TestDb::new("search_path_offline");
    dmig(&p, &on).arg("upgrade").assert().success();
    offline(&p, &off, &["upgrade", "--sql"]);
    assert_eq!(on.versions(), ["1", "2"]);
    assert_eq!(on.psql("SELECT to_regclass('app.things') IS NOT NULL AND to_regclass('public.public_thing') IS NOT NULL"), "t");
    assert_eq!(
        on.psql("SELECT to_regclass('app.__diesel_schema_migrations') IS NULL"),
        "t"
    );
    assert_same_database(&on, &off);
    dmig(&p, &on).args(["downgrade", "base"]).assert().success();
    assert!(on.versions().is_empty());
}

#[test]
fn current_status_history_and_check() {
    let p = project("sample").sample().build();
    let db = TestDb::new("inspect");
    dmig(&p, &db)
        .arg("current")
        .assert()
        .success()
        .stdout("base\n");
    dmig(&p, &db)
        .arg("check")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "5 revision(s) pending: 2024-01-01-120000_create_users",
        ));
    // Read commands do not create the version table.
    assert_eq!(
        db.psql("SELECT to_regclass('__diesel_schema_migrations') IS NULL"),
        "t"
    );
    dmig(&p, &db).args(["upgrade", "+2"]).assert().success();
    dmig(&p, &db)
        .arg("current")
        .assert()
        .success()
        .stdout("20240102090000\n");
    let verbose = dmig(&p, &db)
        .args(["current", "--verbose"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&verbose.stdout);
    assert_eq!(text.lines().count(), 2);
    assert!(text.starts_with("20240101120000  20"), "{text}");
    let json = dmig(&p, &db)
        .args(["current", "--format", "json"])
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(json["current"], "20240102090000");
    assert_eq!(json["applied"][1]["version"], "20240102090000");

    let status = dmig(&p, &db)
        .args(["status", "--format", "json"])
        .output()
        .expect("run");
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(status["current"], "20240102090000");
    assert_eq!(status["head"], "20240105000000");
    assert_eq!(status["revisions"][0]["state"], "applied");
    assert_eq!(status["revisions"][2]["state"], "pending");
    assert_eq!(status["revisions"][4]["run_in_transaction"], false);
    dmig(&p, &db)
        .args(["history", "--online"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "STATE     VERSION         NAME\npending   20240105000000  2024-01-05-000000_index_posts_concurrently  (head)\n",
        ));
    dmig(&p, &db).arg("upgrade").assert().success();
    // At head, `current` says so, as Alembic's does.
    dmig(&p, &db)
        .arg("current")
        .assert()
        .success()
        .stdout("20240105000000 (head)\n");
    let json = dmig(&p, &db)
        .args(["current", "--format", "json"])
        .output()
        .expect("run");
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(json["dmig"], 1);
    assert_eq!(json["head"], json["current"]);
    dmig(&p, &db).arg("check").assert().success();
    let check = dmig(&p, &db)
        .args(["check", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(check.status.code(), Some(0));
    let check: serde_json::Value = serde_json::from_slice(&check.stdout).expect("json");
    assert_eq!(check["ok"], true);

    // An applied version missing on disk: status shows it, check fails, downgrade refuses.
    db.psql("INSERT INTO __diesel_schema_migrations (version) VALUES ('20991231000000')");
    dmig(&p, &db)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "missing   20991231000000  (applied ",
        ));
    dmig(&p, &db)
        .arg("check")
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "applied but missing from the migrations directory: 20991231000000",
        ));
    let before = db.schema_dump();
    dmig(&p, &db)
        .args(["downgrade", "base"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "version `20991231000000` is applied but missing",
        ));
    assert_eq!(db.schema_dump(), before);
}

#[test]
fn stamp_online_sets_rows_without_running_sql() {
    let p = project("sample").sample().build();
    let db = TestDb::new("stamp_online");
    let empty = db.schema_dump_without_version_table();
    dmig(&p, &db)
        .args(["stamp", "2024-01-03"])
        .assert()
        .success();
    assert_eq!(db.versions(), SAMPLE_VERSIONS[..3]);
    assert_eq!(db.schema_dump_without_version_table(), empty);
    dmig(&p, &db).args(["stamp", "base"]).assert().success();
    assert!(db.versions().is_empty());
}

#[test]
fn out_of_order_is_applied_with_a_warning_or_refused_with_strict() {
    let p = project("ooo")
        .migration("1_a", "CREATE TABLE a (id INT);\n", None)
        .migration("3_c", "CREATE TABLE c (id INT);\n", None)
        .build();
    let db = TestDb::new("out_of_order");
    dmig(&p, &db).arg("upgrade").assert().success();
    std::fs::create_dir_all(p.path().join("migrations/2_b")).expect("mkdir");
    std::fs::write(
        p.path().join("migrations/2_b/up.sql"),
        "CREATE TABLE b (id INT);\n",
    )
    .expect("write");
    dmig(&p, &db)
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "pending   2        2_b  (out of order",
        ));
    dmig(&p, &db)
        .args(["upgrade", "--strict"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "revision `2_b` is pending but older than the newest applied revision",
        ));
    assert_eq!(db.versions(), ["1", "3"]);
    dmig(&p, &db)
        .arg("upgrade")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: applying 1 revision(s) older than the newest applied one (out of order): 2_b",
        ));
    assert_eq!(db.versions(), ["1", "2", "3"]);
}

#[test]
fn usage_errors_online() {
    let p = project("sample").sample().build();
    p.dmig()
        .arg("upgrade")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no database URL"));
    let db = TestDb::new("usage_online");
    dmig(&p, &db)
        .args(["upgrade", "base:head"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("ranges are for rendering SQL"));
    dmig(&p, &db)
        .args(["upgrade", "--online", "--sql"])
        .assert()
        .code(2);
    dmig(&p, &db)
        .args(["upgrade", "--online"])
        .assert()
        .success();
}

#[test]
fn database_url_from_dotenv() {
    let db = TestDb::new("dotenv");
    let p = project("sample")
        .sample()
        .file(".env", format!("DATABASE_URL={}\n", db.url()))
        .build();
    p.dmig().arg("upgrade").assert().success();
    assert_eq!(db.versions(), SAMPLE_VERSIONS);
}

#[test]
fn passwords_never_appear_in_output() {
    let p = project("sample").sample().build();
    let secret = "s3cr3t-pa55word";
    for level in ["off", "info", "debug", "trace"] {
        for (url, args) in [
            (
                format!("postgres://alice:{secret}@127.0.0.1:1/db"),
                vec!["upgrade"],
            ),
            (
                format!("postgres://alice:{secret}@127.0.0.1:1/db?connect_timeout=1"),
                vec!["status", "--format", "json"],
            ),
            (format!("postgres://alice:{secret}@[::1"), vec!["current"]),
            (
                format!("postgresql://alice:{secret}@127.0.0.1:1/db?sslmode=require"),
                vec!["check"],
            ),
        ] {
            let output = p
                .dmig()
                .env("DMIG_LOG", level)
                .arg("--database-url")
                .arg(&url)
                .args(&args)
                .output()
                .expect("run");
            assert_eq!(output.status.code(), Some(1), "{args:?} {level}");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(
                !all.contains(secret),
                "password leaked at DMIG_LOG={level}: {all}"
            );
            assert!(all.contains("error: "), "{all}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn application_migrates_at_startup_through_its_own_pool() {
    use diesel_async::pooled_connection::bb8::Pool;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;
    use diesel_async::{AsyncPgConnection, RunQueryDsl};

    let db = TestDb::new("library_api");
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(db.url());
    let pool = Pool::builder()
        .max_size(4)
        .build(manager)
        .await
        .expect("pool");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let revisions = dmig::plan::discover(&dir).expect("discover").revisions;
    let outcome = dmig::online::upgrade_to_head(&pool, &revisions)
        .await
        .expect("migrate");
    assert_eq!(outcome.steps.len(), 5);
    // Same pool, new table.
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = pool.get().await.expect("conn");
    let count: Count = diesel::sql_query("SELECT count(*) AS n FROM users")
        .get_result(&mut conn)
        .await
        .expect("query");
    assert_eq!(count.n, 3);
    drop(conn);
    // Second start: nothing to do.
    let again = dmig::online::upgrade_to_head(&pool, &revisions)
        .await
        .expect("again");
    assert!(again.steps.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_revisions_migrate_like_the_directory() {
    use diesel_async::pooled_connection::bb8::Pool;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;
    use diesel_async::AsyncPgConnection;

    static MIGRATIONS: dmig::embed::Dir<'static> =
        dmig::embed::include_dir!("$CARGO_MANIFEST_DIR/migrations");
    let db = TestDb::new("library_embedded");
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(db.url());
    let pool = Pool::builder()
        .max_size(2)
        .build(manager)
        .await
        .expect("pool");
    let revisions = dmig::embed::revisions(&MIGRATIONS).expect("embedded");
    dmig::online::upgrade_to_head(&pool, &revisions)
        .await
        .expect("migrate");
    assert_eq!(db.versions(), SAMPLE_VERSIONS);
}

#[test]
fn session_settings_match_between_online_and_the_script() {
    // Diesel's connections run in UTC and UTF8; psql takes the database's
    // defaults. The script sets the same, so data written by revisions agree.
    let p = project("session")
        .migration(
            "1_settings",
            "CREATE TABLE session_settings AS SELECT current_setting('TimeZone') AS tz, \
             current_setting('client_encoding') AS enc, 'déjà'::text AS word;\n",
            None,
        )
        .build();
    let on = TestDb::new("session_online");
    let off = TestDb::new("session_offline");
    for db in [&on, &off] {
        db.psql(&format!(
            "ALTER DATABASE {} SET timezone = 'America/New_York'",
            db.name()
        ));
        db.psql(&format!(
            "ALTER DATABASE {} SET client_encoding = 'LATIN1'",
            db.name()
        ));
    }
    dmig(&p, &on).arg("upgrade").assert().success();
    offline(&p, &off, &["upgrade", "--sql"]);
    let read = "SELECT tz || ' ' || enc || ' ' || encode(convert_to(word, 'UTF8'), 'hex') FROM session_settings";
    assert_eq!(on.psql(read), "UTC UTF8 64c3a96ac3a0");
    assert_eq!(off.psql(read), on.psql(read));
    assert_same_database(&on, &off);
}

#[test]
fn session_settings_flags_reach_the_revisions_online_and_in_the_script() {
    let p = project("session_flags")
        .migration(
            "1_settings",
            "CREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_timeout, \
             current_setting('statement_timeout') AS statement_timeout, \
             current_setting('work_mem') AS work_mem;\n",
            None,
        )
        .build();
    let flags = [
        "--lock-timeout",
        "1500ms",
        "--statement-timeout",
        "2min",
        "--init-sql",
        "SET work_mem = '7MB'",
    ];
    let on = TestDb::new("session_flags_online");
    let off = TestDb::new("session_flags_offline");
    let mut upgrade = vec!["upgrade"];
    upgrade.extend(flags);
    dmig(&p, &on).args(&upgrade).assert().success();
    let mut render = vec!["upgrade", "--sql"];
    render.extend(flags);
    let script = p.render(&render);
    let text = std::fs::read_to_string(&script).expect("script");
    assert!(
        text.contains("SET lock_timeout = '1500ms';\nSET statement_timeout = '2min';\nSET work_mem = '7MB';\n"),
        "{text}"
    );
    off.run_script(&script);
    let read = "SELECT lock_timeout || ' ' || statement_timeout || ' ' || work_mem FROM seen";
    assert_eq!(on.psql(read), "1500ms 2min 7MB");
    assert_eq!(off.psql(read), on.psql(read));
    assert_same_database(&on, &off);

    // Without --init-sql the revisions run on a session of their own: it
    // gets the timeouts too.
    let dedicated = TestDb::new("session_flags_dedicated");
    dmig(&p, &dedicated)
        .args([
            "upgrade",
            "--lock-timeout",
            "1500ms",
            "--statement-timeout",
            "2min",
        ])
        .assert()
        .success();
    assert_eq!(
        dedicated.psql("SELECT lock_timeout || ' ' || statement_timeout FROM seen"),
        "1500ms 2min"
    );
}

#[test]
fn durations_are_checked_before_anything_runs() {
    let p = project("bad_duration").sample().build();
    let db = TestDb::new("bad_duration");
    dmig(&p, &db)
        .args(["upgrade", "--lock-timeout", "5 minutes"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid duration `5 minutes`"));
    assert!(db.versions().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pool_too_small_for_the_lock_and_the_work_is_refused_at_once() {
    use diesel_async::pooled_connection::bb8::Pool;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;
    use diesel_async::AsyncPgConnection;

    let db = TestDb::new("library_pool_of_one");
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(db.url());
    let pool = Pool::builder()
        .max_size(1)
        .connection_timeout(std::time::Duration::from_secs(60))
        .build(manager)
        .await
        .expect("pool");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let revisions = dmig::source::discover(&dir).expect("discover").revisions;
    let started = std::time::Instant::now();
    let error = dmig::online::upgrade_to_head(&pool, &revisions)
        .await
        .expect_err("a pool of one");
    // Not the pool's 60 s timeout: refused before anything waits.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(
        error.to_string(),
        "the connection pool holds at most 1 connection(s) but a run needs 2 at once (one holds the migration lock); build it with max_size(2) or more"
    );
    assert!(db.versions().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_current_thread_runtime_is_an_error_not_a_panic() {
    use diesel_async::pooled_connection::bb8::Pool;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;
    use diesel_async::AsyncPgConnection;

    let db = TestDb::new("library_current_thread");
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(db.url());
    let pool = Pool::builder()
        .max_size(2)
        .build(manager)
        .await
        .expect("pool");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let revisions = dmig::source::discover(&dir).expect("discover").revisions;
    let error = dmig::online::upgrade_to_head(&pool, &revisions)
        .await
        .expect_err("current-thread runtime");
    assert!(
        error
            .to_string()
            .starts_with("dmig migrates on tokio's multi-thread runtime"),
        "{error}"
    );
    assert!(db.versions().is_empty());
}

#[test]
fn downgrade_reverts_one_by_default_and_all_with_all() {
    let p = project("revert_default").sample().build();
    let db = TestDb::new("revert_default");
    dmig(&p, &db).arg("upgrade").assert().success();
    dmig(&p, &db).arg("downgrade").assert().success();
    assert_eq!(db.versions(), SAMPLE_VERSIONS[..4]);
    dmig(&p, &db)
        .args(["downgrade", "--all"])
        .assert()
        .success();
    assert!(db.versions().is_empty());
    dmig(&p, &db)
        .args(["downgrade", "--all", "base"])
        .assert()
        .code(2);
}

fn redo_project() -> Project {
    project("redo")
        .migration(
            "1_a",
            "CREATE TABLE a (id INT PRIMARY KEY);\n",
            Some("DROP TABLE a;\n"),
        )
        .migration(
            "2_b",
            "CREATE TABLE b (id INT PRIMARY KEY);\n",
            Some("DROP TABLE b;\n"),
        )
        .build()
}

#[test]
fn redo_reverts_and_reapplies_the_newest_in_one_transaction() {
    let p = redo_project();
    let db = TestDb::new("redo");
    dmig(&p, &db).arg("upgrade").assert().success();
    db.psql("INSERT INTO a VALUES (1); INSERT INTO b VALUES (1);");
    dmig(&p, &db)
        .arg("redo")
        .assert()
        .success()
        .stderr(predicate::str::contains("reverted 2_b"))
        .stderr(predicate::str::contains("applied 2_b"))
        .stderr(predicate::str::contains("redid 1 revision(s) above 1"));
    assert_eq!(db.versions(), ["1", "2"]);
    assert_eq!(db.psql("SELECT count(*) FROM b"), "0", "b was recreated");
    assert_eq!(db.psql("SELECT count(*) FROM a"), "1", "a was left alone");
    dmig(&p, &db).args(["redo", "-n", "2"]).assert().success();
    assert_eq!(db.psql("SELECT count(*) FROM a"), "0");

    // An up.sql that fails on the way back: the revert is rolled back too.
    db.psql("INSERT INTO b VALUES (7);");
    std::fs::write(
        p.path().join("migrations/2_b/up.sql"),
        "CREATE TABLE b (id INT PRIMARY KEY);\nSELECT 1/0;\n",
    )
    .expect("break up.sql");
    dmig(&p, &db)
        .arg("redo")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "the whole run was one transaction",
        ));
    assert_eq!(db.versions(), ["1", "2"]);
    assert_eq!(db.psql("SELECT id FROM b"), "7", "nothing changed");
}

#[test]
fn redo_sql_renders_the_pair_and_psql_agrees_with_online() {
    let p = redo_project();
    let on = TestDb::new("redo_online");
    let off = TestDb::new("redo_offline");
    for db in [&on, &off] {
        dmig(&p, db).arg("upgrade").assert().success();
    }
    dmig(&p, &on).arg("redo").assert().success();
    let script = p.render(&["redo", "--sql"]);
    let text = std::fs::read_to_string(&script).expect("script");
    let down = text
        .find("-- Running downgrade 2 (2_b)")
        .expect("the revert");
    let up = text.find("-- Running upgrade 2 (2_b)").expect("the apply");
    assert!(down < up, "{text}");
    assert!(
        text.contains("one transaction for the whole script"),
        "{text}"
    );
    off.run_script(&script);
    assert_same_database(&on, &off);
}

#[test]
fn upgrade_downgrade_stamp_and_redo_report_json_on_request() {
    let p = redo_project();
    let db = TestDb::new("run_json");
    let run = |args: &[&str]| -> serde_json::Value {
        let out = dmig(&p, &db).args(args).output().expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON document on stdout")
    };
    let up = run(&["upgrade", "--format", "json"]);
    assert_eq!(up["dmig"], 1);
    assert_eq!(up["command"], "upgrade");
    assert_eq!(up["from"], serde_json::Value::Null);
    assert_eq!(up["to"], "2");
    assert_eq!(up["steps"][0]["name"], "1_a");
    assert_eq!(up["steps"][1]["direction"], "up");
    assert!(up["steps"][1]["duration_ms"].as_f64().expect("a number") > 0.0);
    let redo = run(&["redo", "--format", "json", "--quiet"]);
    let directions: Vec<_> = redo["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["direction"].clone())
        .collect();
    assert_eq!(directions, ["down", "up"]);
    let down = run(&["downgrade", "--format", "json"]);
    assert_eq!(
        (down["from"].clone(), down["to"].clone()),
        ("2".into(), "1".into())
    );
    let stamp = run(&["stamp", "base", "--format", "json"]);
    assert_eq!(stamp["steps"][0]["direction"], "down");
    assert!(db.versions().is_empty());
    let nothing = run(&["upgrade", "base", "--format", "json"]);
    assert_eq!(nothing["steps"], serde_json::json!([]));
    // As diesel's `migration revert`: at base there is nothing to revert.
    dmig(&p, &db)
        .args(["downgrade", "--format", "json"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("target `-1` is out of range"));
}

#[test]
fn upgrade_to_a_target_below_the_database_points_to_downgrade() {
    let p = redo_project();
    let db = TestDb::new("upgrade_past");
    dmig(&p, &db).arg("upgrade").assert().success();
    dmig(&p, &db)
        .args(["upgrade", "1"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "nothing to do: the database is at 2, past 1; to go back to it, run `dmig downgrade 1`",
        ));
    assert_eq!(db.versions(), ["1", "2"]);
}

#[test]
fn dmig_log_debug_says_what_dmig_decided_and_keeps_dependencies_quiet() {
    let p = redo_project();
    let db = TestDb::new("log_debug");
    let out = dmig(&p, &db)
        .env("DMIG_LOG", "debug")
        .arg("upgrade")
        .output()
        .expect("run");
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    for decided in [
        "configuration",
        "migration_dir=",
        "connecting",
        "planned",
        "migration lock held",
    ] {
        assert!(log.contains(decided), "no {decided:?} in:\n{log}");
    }
    assert!(
        log.contains(&db.name().to_string()),
        "the database is named:\n{log}"
    );
    // tokio-postgres's own debug lines (every statement, with parameters)
    // stay off unless asked for by target.
    assert!(!log.contains("executing statement"), "{log}");
    let asked = dmig(&p, &db)
        .env("DMIG_LOG", "tokio_postgres=debug")
        .arg("status")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&asked.stderr).contains("executing statement"));

    let bad = dmig(&p, &db)
        .env("DMIG_LOG", "debug=loud=x")
        .arg("status")
        .output()
        .expect("run");
    assert!(bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr)
        .starts_with("warning: ignoring DMIG_LOG=\"debug=loud=x\""));
}

#[test]
fn database_setup_reset_and_drop_as_diesel_does() {
    let p = project("database_commands").sample().build();
    // A name no test database has: the commands create it.
    let name = format!("dmig_setup_{}", std::process::id());
    let url = crate::support::pg::admin_url_with_database(&name);
    let admin = |sql: &str| crate::support::pg::admin_psql(sql);
    admin(&format!("DROP DATABASE IF EXISTS \"{name}\""));
    let run = |args: &[&str]| {
        let mut cmd = p.dmig();
        cmd.env("DATABASE_URL", &url).args(args);
        cmd
    };
    run(&["database", "setup"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "created database `{name}`"
        )));
    let exists = format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'");
    assert_eq!(admin(&exists), "1");
    let in_db = |sql: &str| {
        let out = std::process::Command::new(crate::support::pg::pg_bin("psql"))
            .args(["-X", "-At", "-d", &url, "-c", sql])
            .output()
            .expect("psql");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(
        in_db("SELECT count(*) FROM __diesel_schema_migrations"),
        "5"
    );
    // Again: it exists, nothing pending.
    run(&["database", "setup"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "database `{name}` exists"
        )));
    // reset and drop refuse without --yes, naming what they would drop.
    for action in ["reset", "drop"] {
        run(&["database", action])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("drops `{name}`")))
            .stderr(predicate::str::contains("pass --yes"));
    }
    in_db("CREATE TABLE scratch (id int)");
    run(&["database", "reset", "--yes"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "dropped database `{name}`"
        )));
    assert_eq!(in_db("SELECT to_regclass('scratch') IS NULL"), "t");
    assert_eq!(
        in_db("SELECT count(*) FROM __diesel_schema_migrations"),
        "5"
    );
    run(&["database", "drop", "--yes"]).assert().success();
    assert_eq!(admin(&exists), "0");
}

#[test]
fn a_long_revision_shows_a_live_line_on_a_terminal_and_none_elsewhere() {
    let p = project("live")
        .migration("1_slow", "SELECT pg_sleep(2.5);\n", None)
        .build();
    let on_tty = TestDb::new("live_tty");
    // `script` (util-linux) runs dmig on a pseudo-terminal.
    let command = format!(
        "{} --database-url '{}' upgrade",
        assert_cmd::cargo::cargo_bin!("dmig").display(),
        on_tty.url()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(p.path())
        .env_remove("DATABASE_URL")
        .output()
        .expect("run script (util-linux)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = String::from_utf8_lossy(&out.stdout);
    // While the revision runs: its name and its elapsed time, before it ends.
    let live = screen
        .find("upgrade 1_slow 1s")
        .unwrap_or_else(|| panic!("no live line in {screen:?}"));
    let done = screen
        .find("applied 1_slow")
        .expect("the line of the completed revision");
    assert!(live < done, "{screen:?}");

    let plain = TestDb::new("live_plain");
    let out = dmig(&p, &plain).arg("upgrade").output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\x1b') && !stderr.contains('\r'),
        "{stderr:?}"
    );
    assert!(stderr.starts_with("applied 1_slow  "), "{stderr:?}");
}
