//! Guarded scripts (the default for `--sql`) run by a real psql on a real
//! PostgreSQL, in the states a DBA meets: run twice, run after online dmig
//! went halfway, run without `-v ON_ERROR_STOP=1`, run where it cannot start,
//! run next to an online migrator, run past a trigger that wants a lock.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::online::{assert_same_database, dmig, generated, offline};
use crate::support::pg::{pg_bin, TestDb};
use crate::support::project::{project, Project, SAMPLE_VERSIONS};

/// dmig's migration lock.
const LOCK_KEY: i64 = 3888674113241835903;

/// Render `args` into `name` in the project (so several scripts can sit side by side).
fn render_to(p: &Project, name: &str, args: &[&str]) -> PathBuf {
    let out = p.path().join(name);
    p.dmig()
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    out
}

/// `psql -X -f script` as a DBA types it: without `-v ON_ERROR_STOP=1`.
fn psql_f(db: &TestDb, script: &Path) -> Command {
    let mut cmd = Command::new(pg_bin("psql"));
    cmd.env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .args(["-X", "-d", &db.url(), "-f"])
        .arg(script);
    cmd
}

fn run_psql_f(db: &TestDb, script: &Path) -> Output {
    psql_f(db, script).output().expect("run psql -f")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Versions with their `run_on`: a second run must not touch either.
fn rows(db: &TestDb) -> String {
    db.psql("SELECT string_agg(version || ' ' || run_on, ',' ORDER BY version) FROM __diesel_schema_migrations")
}

fn tables(db: &TestDb) -> String {
    db.psql(
        "SELECT coalesce(string_agg(schemaname || '.' || tablename, ',' ORDER BY 1), '') FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
}

/// The pid holding dmig's lock on `db`, once someone does (waits up to 20 s).
fn lock_holder(db: &TestDb) -> String {
    let started = Instant::now();
    loop {
        let pid = db.psql(&format!(
            "SELECT coalesce(min(pid)::text, '') FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             AND classid::bigint = ({LOCK_KEY} >> 32) & 4294967295 AND objid::bigint = {LOCK_KEY} & 4294967295"
        ));
        if !pid.is_empty() {
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nobody took the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait for a child this test started, with a bound so a hang fails the test.
fn finish(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("poll child").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{what} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect output")
}

#[test]
fn a_guarded_script_run_twice_changes_nothing_the_second_time() {
    let p = project("twice").sample().build();
    let db = TestDb::new("guarded_twice");
    let up = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let first = run_psql_f(&db, &up);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(!text(&first.stdout).contains("skipping"));
    assert_eq!(db.versions(), SAMPLE_VERSIONS);
    let (before, dump) = (rows(&db), db.schema_dump());

    let second = run_psql_f(&db, &up);
    assert!(second.status.success(), "{}", text(&second.stderr));
    let out = text(&second.stdout);
    for version in SAMPLE_VERSIONS {
        assert!(
            out.contains(&format!("skipping upgrade {version} (")),
            "{out}"
        );
    }
    assert!(out.contains(
        "skipping upgrade 20240105000000 (2024-01-05-000000_index_posts_concurrently): already applied"
    ));
    assert_eq!(rows(&db), before);
    assert_eq!(db.schema_dump(), dump);

    // Down twice: the second run finds nothing applied and changes nothing.
    let down = render_to(&p, "down.sql", &["downgrade", "--sql", "head:base"]);
    for _ in 0..2 {
        let run = run_psql_f(&db, &down);
        assert!(run.status.success(), "{}", text(&run.stderr));
    }
    assert!(db.versions().is_empty());
    assert_eq!(
        tables(&db),
        "public.__diesel_schema_migrations,public.__dmig_revisions"
    );
}

#[test]
fn a_guarded_script_refuses_to_run_inside_psqls_single_transaction() {
    let p = project("dash_one").sample().build();
    let db = TestDb::new("guarded_dash_one");
    let up = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let run = psql_f(&db, &up)
        .arg("--single-transaction")
        .output()
        .expect("run psql -1");
    assert_eq!(run.status.code(), Some(3));
    assert!(
        text(&run.stderr).contains("this script runs its own transactions: run it with psql -f, not inside one (psql -1 or --single-transaction)"),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(tables(&db), "");
}

#[test]
fn a_guarded_script_applies_only_what_online_dmig_left() {
    let p = generated(30).build();
    let half = TestDb::new("guarded_half");
    let whole = TestDb::new("guarded_whole");
    dmig(&p, &half)
        .args(["upgrade", "20240000000015", "-q"])
        .assert()
        .success();
    dmig(&p, &whole).args(["upgrade", "-q"]).assert().success();
    let script = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let run = run_psql_f(&half, &script);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    assert_eq!(out.matches("skipping upgrade").count(), 15, "{out}");
    assert!(out.contains("skipping upgrade 20240000000015 ("));
    assert!(!out.contains("skipping upgrade 20240000000016 ("));
    assert_same_database(&whole, &half);
}

#[test]
fn forgetting_on_error_stop_cannot_record_a_failed_revision_and_a_rerun_resumes() {
    // Revision 2 runs outside a transaction and fails: the unique index
    // cannot be built over the duplicates revision 1 wrote.
    let p = project("stop")
        .migration(
            "1_data",
            "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1), (1);\n",
            Some("DROP TABLE t;\n"),
        )
        .migration_no_tx(
            "2_unique",
            "CREATE UNIQUE INDEX CONCURRENTLY t_a ON t (a);\n",
            Some("DROP INDEX CONCURRENTLY t_a;\n"),
        )
        .migration(
            "3_after",
            "CREATE TABLE after (id INT);\n",
            Some("DROP TABLE after;\n"),
        )
        .build();

    // The plain script, run so, records the failed revision and goes on.
    let plain = render_to(&p, "plain.sql", &["upgrade", "--sql", "--plain"]);
    let unguarded = TestDb::new("stop_plain");
    run_psql_f(&unguarded, &plain);
    assert_eq!(unguarded.versions(), ["1", "2", "3"]);

    let db = TestDb::new("stop_guarded");
    let script = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let run = run_psql_f(&db, &script);
    assert_eq!(run.status.code(), Some(3), "{}", text(&run.stderr));
    assert!(
        text(&run.stderr).contains("could not create unique index \"t_a\""),
        "{}",
        text(&run.stderr)
    );
    assert_eq!(db.versions(), ["1"]);
    assert_eq!(
        tables(&db),
        "public.__diesel_schema_migrations,public.__dmig_revisions,public.t",
        "nothing after revision 2 ran"
    );

    // The DBA fixes the data and drops the invalid index; the same script resumes.
    db.psql("DROP INDEX t_a");
    db.psql("DELETE FROM t WHERE ctid <> (SELECT min(ctid) FROM t)");
    let rerun = run_psql_f(&db, &script);
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    let out = text(&rerun.stdout);
    assert!(
        out.contains("skipping upgrade 1 (1_data): already applied"),
        "{out}"
    );
    assert!(!out.contains("skipping upgrade 2"), "{out}");
    assert_eq!(db.versions(), ["1", "2", "3"]);
}

#[test]
fn a_script_that_cannot_start_here_is_refused_before_anything_runs() {
    let p = project("refused").sample().build();
    let refused = |db: &TestDb, script: &Path, says: &str| {
        let (versions, dump) = (db.versions(), db.schema_dump());
        let run = run_psql_f(db, script);
        assert_eq!(run.status.code(), Some(3), "{}", text(&run.stdout));
        let stderr = text(&run.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("the script changed nothing"), "{stderr}");
        assert!(!stderr.contains("CONTEXT"), "{stderr}");
        assert!(!text(&run.stdout).contains("BEGIN"), "nothing ran");
        assert_eq!(db.versions(), versions);
        assert_eq!(db.schema_dump(), dump);
    };

    // A range that starts after revisions this database does not have.
    let middle = render_to(&p, "middle.sql", &["upgrade", "--sql", "2024-01-03:head"]);
    let fresh = TestDb::new("refused_fresh");
    refused(
        &fresh,
        &middle,
        "this script starts at 20240103100000 and needs every revision up to it applied, but the database has no __diesel_schema_migrations on the search_path",
    );
    assert_eq!(tables(&fresh), "", "not even the version table");
    let db = TestDb::new("refused_one");
    dmig(&p, &db).args(["upgrade", "+1"]).assert().success();
    refused(
        &db,
        &middle,
        "needs every revision up to it applied; not applied: 20240102090000, 20240103100000",
    );

    // Applied versions newer than the script's range that it does not know.
    let up = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let ahead = TestDb::new("refused_ahead");
    dmig(&p, &ahead).arg("upgrade").assert().success();
    ahead.psql("INSERT INTO __diesel_schema_migrations (version) VALUES ('20990101000000')");
    refused(
        &ahead,
        &up,
        "newer than 20240105000000 that this script does not know (rendered from an older migrations directory?), render it again; found 20990101000000",
    );
    // Known ones are fine: an upgrade to the middle of a database at head does nothing.
    let to_middle = render_to(
        &p,
        "to_middle.sql",
        &["upgrade", "--sql", "base:2024-01-02"],
    );
    let at_head = TestDb::new("refused_at_head");
    dmig(&p, &at_head).arg("upgrade").assert().success();
    let run = run_psql_f(&at_head, &to_middle);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(at_head.versions(), SAMPLE_VERSIONS);

    // A downgrade while revisions newer than its FROM are applied.
    let down = render_to(&p, "down.sql", &["downgrade", "--sql", "2024-01-03:base"]);
    refused(
        &at_head,
        &down,
        "this script reverts from 20240103100000 down, but the database has newer versions applied that it cannot revert first; render it from the version the database is at; found 20240104080000, 20240105000000",
    );
}

#[test]
fn the_version_table_is_looked_up_once_as_online_runs_do() {
    let p = project("search_path")
        .migration("1_a", "CREATE TABLE a (id INT);\n", Some("DROP TABLE a;\n"))
        .migration("2_b", "CREATE TABLE b (id INT);\n", Some("DROP TABLE b;\n"))
        .migration(
            "3_c",
            "CREATE SCHEMA elsewhere;\nSET search_path TO elsewhere;\nCREATE TABLE c (id INT);\n",
            Some("DROP SCHEMA elsewhere CASCADE;\n"),
        )
        .build();
    let db = TestDb::new("guarded_search_path");
    db.psql("CREATE SCHEMA app");
    db.psql(&format!(
        "ALTER DATABASE {} SET search_path = app, public",
        db.name()
    ));
    dmig(&p, &db).args(["upgrade", "+1"]).assert().success();
    let script = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let run = run_psql_f(&db, &script);
    assert!(run.status.success(), "{}", text(&run.stderr));
    // Every row went to the table online dmig made, in app, even after
    // revision 3 moved the search_path.
    assert_eq!(
        db.psql(
            "SELECT string_agg(version, ',' ORDER BY version) FROM app.__diesel_schema_migrations"
        ),
        "1,2,3"
    );
    assert_eq!(
        tables(&db),
        "app.__diesel_schema_migrations,app.__dmig_revisions,app.a,app.b,elsewhere.c"
    );

    // A second one on the search_path: refused by both modes, naming both.
    db.psql("CREATE TABLE public.__diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, run_on TIMESTAMP NOT NULL DEFAULT now())");
    let down = render_to(&p, "down.sql", &["downgrade", "--sql", "head:base"]);
    let run = run_psql_f(&db, &down);
    assert_eq!(run.status.code(), Some(3));
    let both = "found two version tables on the search_path: app.__diesel_schema_migrations and public.__diesel_schema_migrations";
    assert!(text(&run.stderr).contains(both), "{}", text(&run.stderr));
    dmig(&p, &db)
        .args(["downgrade", "base"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(both));
    assert_eq!(
        db.psql("SELECT count(*) FROM app.__diesel_schema_migrations"),
        "3"
    );
}

#[test]
fn plain_scripts_still_leave_what_online_runs_leave() {
    let p = project("plain").sample().build();
    let on = TestDb::new("plain_online");
    let off = TestDb::new("plain_offline");
    dmig(&p, &on).arg("upgrade").assert().success();
    let script = p.render(&["upgrade", "--sql", "--plain"]);
    let text = std::fs::read_to_string(&script).expect("script");
    assert!(!text.contains("\\if") && !text.contains("\\set") && !text.contains("pg_advisory"));
    assert!(text.contains("takes no migration lock"), "{text}");
    off.run_script(&script);
    assert_same_database(&on, &off);
    dmig(&p, &on).args(["downgrade", "base"]).assert().success();
    offline(&p, &off, &["downgrade", "--sql", "head:base", "--plain"]);
    assert_same_database(&on, &off);
}

#[test]
fn a_script_gives_up_on_a_held_lock_naming_the_holder() {
    let p = project("held").sample().build();
    let db = TestDb::new("guarded_lock_held");
    // Another session holds the lock, idle, for a while.
    let holder = Command::new(pg_bin("psql"))
        .args(["-X", "-q", "-d", &db.url()])
        .args(["-c", &format!("SELECT pg_advisory_lock({LOCK_KEY})")])
        .args(["-c", "\\! sleep 20"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the holder");
    let pid = lock_holder(&db);
    let script = render_to(&p, "up.sql", &["upgrade", "--sql", "--lock-wait", "1"]);
    let started = Instant::now();
    let run = run_psql_f(&db, &script);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(run.status.code(), Some(3));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "waiting for the migration lock (advisory lock {LOCK_KEY}), held by pid {pid} (psql"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "gave up after 1s waiting for the migration lock (advisory lock {LOCK_KEY}), held by pid {pid} (psql"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("CONTEXT"), "{stderr}");
    assert_eq!(tables(&db), "", "it wrote nothing");
    let mut holder = holder;
    holder.kill().expect("stop the holder");
    holder.wait().expect("reap the holder");
}

#[test]
fn an_online_run_waiting_for_a_script_says_psql_holds_the_lock() {
    let p = project("waits")
        .migration(
            "1_slow",
            "CREATE TABLE slow (id INT);\nSELECT pg_sleep(1.5);\n",
            None,
        )
        .migration("2_next", "CREATE TABLE next (id INT);\n", None)
        .build();
    let db = TestDb::new("online_waits_for_script");
    let script = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let psql = psql_f(&db, &script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start psql");
    let pid = lock_holder(&db);
    dmig(&p, &db)
        .arg("upgrade")
        .assert()
        .success()
        .stderr(predicates::str::contains(format!(
            "waiting for the migration lock, held by pid {pid} (psql"
        )));
    let run = finish(psql, "psql");
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_eq!(db.versions(), ["1", "2"]);
}

#[test]
fn online_and_a_script_started_together_apply_each_revision_once() {
    // Revision 2 runs outside a transaction: two migrators applying it
    // would write its rows twice (seen: 2, 3, 2).
    let p = project("race")
        .migration("1_table", "CREATE TABLE t (n INT);\n", None)
        .migration_no_tx(
            "2_rows",
            "INSERT INTO t VALUES (2);\nSELECT pg_sleep(0.4);\nINSERT INTO t VALUES (3);\n",
            None,
        )
        .migration("3_more", "INSERT INTO t VALUES (4);\n", None)
        .build();
    let script = render_to(&p, "up.sql", &["upgrade", "--sql"]);
    let db = TestDb::new("guarded_race");
    for round in 0..20 {
        db.psql("DROP TABLE IF EXISTS t, __diesel_schema_migrations");
        let online = Command::new(assert_cmd::cargo::cargo_bin!("dmig"))
            .current_dir(p.path())
            .env("DATABASE_URL", db.url())
            .env_remove("MIGRATION_DIRECTORY")
            .env_remove("DIESEL_CONFIG_FILE")
            .arg("upgrade")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dmig");
        // psql starts faster than dmig: every other round, let dmig take
        // the lock first, so each side loses ten times.
        if round % 2 == 1 {
            lock_holder(&db);
        }
        let psql = psql_f(&db, &script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start psql");
        let online = finish(online, "dmig upgrade");
        let psql = finish(psql, "psql");
        let (online_err, psql_err) = (text(&online.stderr), text(&psql.stderr));
        assert!(online.status.success(), "round {round}: {online_err}");
        assert!(psql.status.success(), "round {round}: {psql_err}");
        assert_eq!(db.versions(), ["1", "2", "3"], "round {round}");
        assert_eq!(
            db.psql("SELECT string_agg(n::text, ',' ORDER BY n) FROM t"),
            "2,3,4",
            "round {round}"
        );
        // The loser waited, and said for whom.
        let online_waited = online_err.contains("waiting for the migration lock, held by pid ");
        let psql_waited = psql_err.contains("waiting for the migration lock (advisory lock");
        assert!(
            online_waited != psql_waited,
            "round {round}: one of them waits for the other\n{online_err}\n{psql_err}"
        );
        if round % 2 == 1 {
            assert!(psql_waited, "round {round}: dmig took the lock first");
        }
        if online_waited {
            assert!(online_err.contains(" (psql"), "{online_err}");
            assert!(
                text(&online.stderr).contains("nothing to do"),
                "{online_err}"
            );
        } else {
            assert!(psql_err.contains("held by pid "), "{psql_err}");
            assert_eq!(text(&psql.stdout).matches("skipping upgrade").count(), 3);
        }
    }
}

/// Lemmy puts a trigger on the version table that refuses writes from a
/// session without `pg_advisory_lock(0)`; its revisions then only apply with
/// `--init-sql 'SELECT pg_advisory_lock(0)'`, online and offline alike.
#[test]
fn init_sql_gets_revisions_past_a_trigger_that_wants_a_lock() {
    let p = project("lemmy")
        .migration(
            "1_guard",
            "CREATE FUNCTION forbid_unlocked_migration() RETURNS trigger LANGUAGE plpgsql AS $$\n\
             BEGIN\n\
                 IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid()\n\
                                AND locktype = 'advisory' AND objid = 0 AND granted) THEN\n\
                     RAISE EXCEPTION 'migrations must hold pg_advisory_lock(0)';\n\
                 END IF;\n\
                 RETURN NULL;\n\
             END\n\
             $$;\n\
             CREATE TRIGGER forbid_unlocked_migration AFTER INSERT OR UPDATE OR DELETE\n\
                 ON __diesel_schema_migrations FOR EACH STATEMENT EXECUTE FUNCTION forbid_unlocked_migration();\n",
            Some("DROP FUNCTION forbid_unlocked_migration() CASCADE;\n"),
        )
        .migration(
            "2_users",
            "CREATE TABLE users (id INT);\n",
            Some("DROP TABLE users;\n"),
        )
        .migration(
            "3_posts",
            "CREATE TABLE posts (id INT);\n",
            Some("DROP TABLE posts;\n"),
        )
        .build();
    let init = ["--init-sql", "SELECT pg_advisory_lock(0)"];
    let on = TestDb::new("lemmy_online");
    let off = TestDb::new("lemmy_offline");
    // The guard itself goes in with the lock; after it, nothing goes in without.
    dmig(&p, &on)
        .args(["upgrade", "+1"])
        .args(init)
        .assert()
        .success();
    dmig(&p, &on)
        .arg("upgrade")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "migrations must hold pg_advisory_lock(0)",
        ));
    assert_eq!(on.versions(), ["1"]);
    dmig(&p, &on).arg("upgrade").args(init).assert().success();
    assert_eq!(on.versions(), ["1", "2", "3"]);

    let first = render_to(
        &p,
        "first.sql",
        &["upgrade", "--sql", "+1", init[0], init[1]],
    );
    let rest = render_to(&p, "rest.sql", &["upgrade", "--sql"]);
    let rest_locked = render_to(
        &p,
        "rest_locked.sql",
        &["upgrade", "--sql", init[0], init[1]],
    );
    assert!(
        std::fs::read_to_string(&rest_locked)
            .expect("script")
            .contains("\nSELECT pg_advisory_lock(0);\n"),
        "--init-sql goes at the top of the script"
    );
    off.run_script(&first);
    let run = run_psql_f(&off, &rest);
    assert_eq!(run.status.code(), Some(3));
    assert!(text(&run.stderr).contains("migrations must hold pg_advisory_lock(0)"));
    assert_eq!(off.versions(), ["1"]);
    let run = run_psql_f(&off, &rest_locked);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_same_database(&on, &off);

    // And back down, which deletes rows: with the lock only.
    dmig(&p, &on)
        .args(["downgrade", "base"])
        .args(init)
        .assert()
        .success();
    let down = render_to(
        &p,
        "down.sql",
        &["downgrade", "--sql", "head:base", init[0], init[1]],
    );
    off.run_script(&down);
    assert_same_database(&on, &off);
}
