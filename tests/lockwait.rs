//! Lock waits of revisions against a real PostgreSQL: the classic migration
//! outage (an `ALTER TABLE` queued behind a long reader stalls every query on
//! the table) bounded by `--lock-timeout` and healed by `--retries`; the
//! blocker named when dmig gives up; a long wait told while it goes on.
//!
//! Nothing here measures speed: bounds are generous and only keep a broken
//! build from hanging.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use dmig::dialect::{PgDuration, SessionSettings};
use dmig::online::{Events, LockWait, Retry, RunOptions};

use crate::support::pg::TestDb;
use crate::support::process::{dmig, spawn, wait_until, PsqlSession};
use crate::support::project::{project, Project};

/// A bound for waits on work that takes a second or two on an idle machine.
const GENEROUS: Duration = Duration::from_secs(60);

const REVISION: &str = "20240000000001_add_c";
const VERSION: &str = "20240000000001";

/// A database with a table `t` of one row.
fn table_db(hint: &str) -> TestDb {
    let db = TestDb::new(hint);
    db.psql("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    db
}

/// A project whose one revision adds column `c` to `t`.
fn alter_project(transactional: bool) -> Project {
    let up = "ALTER TABLE t ADD COLUMN c int;\n";
    let builder = project("lockwait");
    if transactional {
        builder.migration(REVISION, up, None).build()
    } else {
        builder.migration_no_tx(REVISION, up, None).build()
    }
}

/// A session that read `t` in a transaction it keeps open: it holds
/// `ACCESS SHARE` on `t` until it commits or ends.
fn long_reader(db: &TestDb) -> PsqlSession {
    let mut reader = PsqlSession::open(&db.url());
    assert_eq!(reader.query("BEGIN; SELECT count(*) FROM t;"), "1");
    reader
}

/// Whether dmig's ALTER waits for a lock now.
fn alter_waits(db: &TestDb) -> bool {
    db.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND query LIKE '%ALTER TABLE t ADD COLUMN c%'",
    ) != "0"
}

fn has_column_c(db: &TestDb) -> bool {
    db.psql(
        "SELECT count(*) FROM information_schema.columns \
         WHERE table_name = 't' AND column_name = 'c'",
    ) == "1"
}

#[test]
fn a_long_reader_no_longer_stalls_the_table_and_a_retry_applies_the_revision_once() {
    let db = table_db("lockwait_outage");
    let p = alter_project(true);
    let mut reader = long_reader(&db);
    let mut running = spawn(dmig(
        &p,
        &db.url(),
        &[
            "upgrade",
            "--lock-timeout",
            "500ms",
            "--retries",
            "10",
            "--format",
            "json",
        ],
    ));
    wait_until("dmig's ALTER waits for the reader", GENEROUS, || {
        alter_waits(&db)
    });

    // The application's query on t, issued while the ALTER waits: it queues
    // behind the ALTER's request (without lock_timeout it would wait for the
    // reader to end), and goes through once the ALTER gives up its turn.
    let started = Instant::now();
    assert_eq!(db.psql("SELECT count(*) FROM t"), "1");
    let stalled = started.elapsed();
    assert!(
        stalled < Duration::from_secs(5),
        "the application's query waited {stalled:?}"
    );

    // A few attempts fail while the reader goes on; once it ends, a retry
    // goes through.
    thread::sleep(Duration::from_secs(2));
    assert!(running.running(), "dmig stopped while the reader held t");
    reader.send("COMMIT;");
    let out = running.finish(GENEROUS);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("lock timeout in {REVISION} (it waited for a lock on table public.t held by pid {} (psql", reader.pid)),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("rolled back; retrying (1/10) in "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("applied {REVISION}")),
        "{}",
        out.stderr
    );
    assert_eq!(db.versions(), [VERSION]);
    assert!(has_column_c(&db));
    // The run report counts the retries the revision took.
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON report");
    let retries = report["steps"][0]["retries"].as_u64().expect("a count");
    assert!(
        (1..=10).contains(&retries),
        "{retries} retries; stderr:\n{}",
        out.stderr
    );
    assert!(out
        .stderr
        .contains(&format!("rolled back; retrying ({retries}/10) in ")));
    assert_eq!(report["run_retries"], 0);
}

#[test]
fn retries_used_up_fail_naming_the_table_and_the_blocker_and_change_nothing() {
    let db = table_db("lockwait_exhausted");
    let p = alter_project(true);
    let reader = long_reader(&db);
    let out = spawn(dmig(
        &p,
        &db.url(),
        &["upgrade", "--lock-timeout", "500ms", "--retries", "2"],
    ))
    .finish(GENEROUS);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    for retry in ["(1/2)", "(2/2)"] {
        assert!(
            out.stderr
                .contains(&format!("rolled back; retrying {retry}")),
            "{}",
            out.stderr
        );
    }
    let error = &out.stderr[out.stderr.find("error:").expect("an error")..];
    for needed in [
        "[55P03] canceling statement due to lock timeout".to_owned(),
        format!(
            "it waited for a lock on table public.t held by pid {} (psql, 127.0.0.1)",
            reader.pid
        ),
        "gave up after 3 attempt(s) (--retries 2)".to_owned(),
        "the revision was rolled back: nothing of it remains".to_owned(),
    ] {
        assert!(error.contains(&needed), "{needed:?} missing from:\n{error}");
    }
    assert!(db.versions().is_empty());
    assert!(!has_column_c(&db));
    drop(reader);
}

#[test]
fn a_statement_waiting_over_a_second_says_what_it_waits_for_and_who_holds_it() {
    let db = table_db("lockwait_told");
    let p = alter_project(true);
    let mut reader = long_reader(&db);
    let running = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("dmig's ALTER waits for the reader", GENEROUS, || {
        alter_waits(&db)
    });
    // The outage without --lock-timeout: a query on t waits behind the ALTER
    // for as long as the reader goes on.
    let app = db.try_psql("SET statement_timeout = '1500ms'; SELECT count(*) FROM t");
    assert!(
        !app.status.success() && String::from_utf8_lossy(&app.stderr).contains("statement timeout"),
        "the query went through: {app:?}"
    );
    reader.send("COMMIT;");
    let out = running.finish(GENEROUS);
    assert!(out.status.success(), "{}", out.stderr);
    let told = format!(
        "waiting for a lock on table public.t held by pid {} (psql, 127.0.0.1)\n",
        reader.pid
    );
    assert_eq!(out.stderr.matches(&told).count(), 1, "{}", out.stderr);
    assert_eq!(db.versions(), [VERSION]);
}

#[test]
fn a_non_transactional_revision_is_not_retried_and_the_error_says_why() {
    let db = table_db("lockwait_no_tx");
    let p = alter_project(false);
    let reader = long_reader(&db);
    let out = spawn(dmig(
        &p,
        &db.url(),
        &["upgrade", "--lock-timeout", "500ms", "--retries", "5"],
    ))
    .finish(GENEROUS);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr);
    assert!(!out.stderr.contains("retrying"), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "not retried: the revision runs outside a transaction (run_in_transaction = false)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!("held by pid {}", reader.pid)),
        "{}",
        out.stderr
    );
    assert!(db.versions().is_empty());
}

#[test]
fn a_single_transaction_run_is_retried_whole() {
    let db = table_db("lockwait_single");
    let p = project("lockwait_single")
        .migration("20240000000000_u", "CREATE TABLE u (id int);\n", None)
        .migration(REVISION, "ALTER TABLE t ADD COLUMN c int;\n", None)
        .build();
    let mut reader = long_reader(&db);
    let running = spawn(dmig(
        &p,
        &db.url(),
        &[
            "upgrade",
            "--transaction",
            "single",
            "--lock-timeout",
            "300ms",
            "--retries",
            "10",
            "--format",
            "json",
        ],
    ));
    wait_until("dmig's ALTER waits for the reader", GENEROUS, || {
        alter_waits(&db)
    });
    thread::sleep(Duration::from_millis(1500));
    reader.send("COMMIT;");
    let out = running.finish(GENEROUS);
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the run's transaction was rolled back; retrying the run (1/10)"),
        "{}",
        out.stderr
    );
    assert_eq!(db.versions(), ["20240000000000", VERSION]);
    assert!(has_column_c(&db));
    // The report counts the run's retries; its steps ran once, in the last.
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON report");
    assert!(
        report["run_retries"].as_u64().expect("a count") >= 1,
        "{report}"
    );
    assert_eq!(report["steps"][1]["retries"], 0, "{report}");
}

/// The retries an application's [`Events`] heard of.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<String>>>);

impl Events for Heard {
    fn retrying(&mut self, retry: &Retry<'_>) {
        let wait = retry.wait.map(LockWait::to_string).unwrap_or_default();
        self.0
            .lock()
            .expect("not poisoned")
            .push(format!("{} {}: {wait}", retry.revision, retry.retry));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_pool_retries_a_revision_through_run_options() {
    use diesel_async::pooled_connection::bb8::Pool;
    use diesel_async::pooled_connection::AsyncDieselConnectionManager;
    use diesel_async::AsyncPgConnection;

    let db = table_db("lockwait_library");
    let p = alter_project(true);
    let mut reader = long_reader(&db);
    let reader_pid = reader.pid;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(db.url());
    let pool = Pool::builder()
        .max_size(2)
        .build(manager)
        .await
        .expect("pool");
    let revisions = dmig::source::discover(&p.path().join("migrations"))
        .expect("discover")
        .revisions;
    let options = RunOptions {
        session: SessionSettings {
            lock_timeout: Some(PgDuration::parse("500ms").expect("a duration")),
            ..SessionSettings::default()
        },
        retries: 10,
        ..RunOptions::default()
    };
    let ender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(1500));
        reader.send("COMMIT;");
        reader
    });
    let mut heard = Heard::default();
    let outcome = dmig::online::migrate(
        &pool,
        &revisions,
        &dmig::plan::Request::upgrade_to_head(),
        &options,
        &mut heard,
    )
    .await
    .expect("migrate");
    drop(ender.join().expect("the reader's thread"));
    assert_eq!(outcome.steps.len(), 1);
    let heard = heard.0.lock().expect("not poisoned").clone();
    assert!(!heard.is_empty(), "no retry reported");
    assert_eq!(outcome.steps[0].retries as usize, heard.len(), "{heard:?}");
    assert!(
        heard[0].starts_with(&format!("{REVISION} 1: ")),
        "{heard:?}"
    );
    let named = format!("a lock on table public.t held by pid {reader_pid}");
    assert!(heard.iter().any(|h| h.contains(&named)), "{heard:?}");
    assert_eq!(db.versions(), [VERSION]);
}
