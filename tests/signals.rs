//! Interrupts and idle sessions against a real PostgreSQL: Ctrl-C, SIGTERM
//! and SIGHUP during an online run (the running statement is cancelled on
//! the server, the lock is held until the work session is idle, the run
//! reports what remains), and server timeouts that would end dmig's idle
//! lock session. The tests drive the `dmig` binary and send real signals.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use dmig::dialect::postgres::LOCK_KEY;

use crate::reliability::{active_queries, advisory_locks, rev, table_exists, version};
use crate::support::pg::{self, TestDb};
use crate::support::process::{dmig, run, spawn, wait_until, GENEROUS};
use crate::support::project::project;

/// The server's version as a number (`150004`).
fn server_version(db: &TestDb) -> u32 {
    db.psql("SHOW server_version_num")
        .parse()
        .expect("a version number")
}

// ---------------------------------------------------------------------------
// Idle sessions

#[test]
fn idle_session_timeout_does_not_end_the_lock_session_during_a_long_revision() {
    let db = TestDb::new("idle_session");
    if server_version(&db) < 140000 {
        eprintln!("skipped: idle_session_timeout exists from PostgreSQL 14 on");
        return;
    }
    // Every new session of the database dies after 2 s of idling; the
    // lock's session idles for the 3 s of the first revision, and the check
    // before the second revision would find it gone.
    db.psql(&format!(
        "ALTER DATABASE \"{}\" SET idle_session_timeout = '2s'",
        db.name()
    ));
    let p = project("idle_session")
        .migration(&rev(1, "slow"), "SELECT pg_sleep(3);\n", None)
        .migration(&rev(2, "b"), "CREATE TABLE b (id int);\n", None)
        .build();
    let out = run(dmig(&p, &db.url(), &["upgrade"]));
    out.assert_success().assert_no_panic();
    assert_eq!(db.versions(), [version(1), version(2)]);
    assert!(table_exists(&db, "b"));
    assert_eq!(advisory_locks(&db), 0);

    // `redo` runs on a pooled work session (its pair shares a session); the
    // lock's session idles through a 3 s down.sql.
    std::fs::write(
        p.path()
            .join(format!("migrations/{}/down.sql", rev(2, "b"))),
        "DROP TABLE b;\nSELECT pg_sleep(3);\n",
    )
    .expect("write down.sql");
    let out = run(dmig(&p, &db.url(), &["redo"]));
    out.assert_success().assert_no_panic();
    assert_eq!(db.versions(), [version(1), version(2)]);
}

// ---------------------------------------------------------------------------
// Signals during an online run

/// A psql session that ran `sql` (which prints one line when done) and
/// stays open, holding whatever `sql` took, until dropped.
struct Holder {
    child: Child,
    _stdin: ChildStdin,
}

impl Holder {
    fn new(db: &TestDb, sql: &str) -> Holder {
        let mut child = Command::new(pg::pg_bin("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", &db.url()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn psql");
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(stdin, "{sql}").expect("write to psql");
        stdin.flush().expect("flush psql's stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read psql's answer");
        assert!(!line.trim().is_empty(), "psql did not answer `{sql}`");
        Holder {
            child,
            _stdin: stdin,
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sessions of `db` (other than the asking one) running a statement whose
/// text contains `text`.
fn running_statements(db: &TestDb, text: &str) -> usize {
    db.psql(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '%{text}%'"
    ))
    .parse()
    .expect("a count")
}

/// dmig's sessions of `db` that wait for a lock.
fn dmig_sessions_waiting(db: &TestDb) -> usize {
    db.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = 'dmig' AND wait_event_type = 'Lock'",
    )
    .parse()
    .expect("a count")
}

#[test]
fn ctrl_c_cancels_a_non_transactional_statement_and_keeps_the_lock_until_it_stopped() {
    let slow = rev(2, "slow");
    let p = project("sigint_no_tx")
        .migration(&rev(1, "t"), "CREATE TABLE t (id int);\n", None)
        .migration_no_tx(&slow, "INSERT INTO t SELECT 1 FROM pg_sleep(5);\n", None)
        .build();
    let db = TestDb::new("sigint_no_tx");
    let first = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the INSERT runs", GENEROUS, || {
        active_queries(&db, "INSERT INTO t SELECT 1 FROM pg_sleep(5)") == 1
    });
    first.signal("INT");
    // Started at once: it may take the lock only once the first has
    // stopped its INSERT, so the revision runs exactly once more.
    let second = spawn(dmig(&p, &db.url(), &["upgrade", "--lock-wait", "60"]));
    let stopped = first.finish(GENEROUS);
    stopped.assert_code(130).assert_no_panic();
    for expected in [
        "interrupted: cancelling the running statement on the server".to_owned(),
        format!(
            "interrupted during revision `{slow}` (upgrade): its running statement was cancelled on the server"
        ),
        "canceling statement due to user request".to_owned(),
        "statement: INSERT INTO t SELECT 1 FROM pg_sleep(5);".to_owned(),
        "no statement of it completed before the failure; its version was not recorded".to_owned(),
        format!("applied before it in this run (and still applied): {}", rev(1, "t")),
    ] {
        assert!(stopped.stderr.contains(&expected), "{expected}\n{}", stopped.stderr);
    }
    // The cancelled INSERT left nothing (the second's is still sleeping).
    assert_eq!(db.psql("SELECT count(*) FROM t"), "0");
    assert_eq!(db.versions(), [version(1)]);

    second.finish(GENEROUS).assert_success();
    assert_eq!(
        db.psql("SELECT count(*) FROM t"),
        "1",
        "the revision ran twice"
    );
    assert_eq!(db.versions(), [version(1), version(2)]);
    assert_eq!(advisory_locks(&db), 0);
}

#[test]
fn sigterm_cancels_an_alter_table_queued_behind_a_lock() {
    let alter = rev(2, "alter");
    let p = project("sigterm_alter")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .build();
    let db = TestDb::new("sigterm_alter");
    run(dmig(&p, &db.url(), &["upgrade"])).assert_success();
    let p = project("sigterm_alter")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .migration(&alter, "ALTER TABLE a ADD COLUMN b int;\n", None)
        .build();
    // An application reads the table in a long transaction.
    let reader = Holder::new(
        &db,
        "BEGIN; LOCK TABLE a IN ACCESS SHARE MODE; SELECT 'locked';",
    );
    let running = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the ALTER waits for its lock", GENEROUS, || {
        dmig_sessions_waiting(&db) == 1
    });
    running.signal("TERM");
    let stopped = running.finish(GENEROUS);
    stopped.assert_code(143).assert_no_panic();
    // Nothing of dmig's is left queued for the table (a queued ALTER would
    // stall every application query on it), and the lock is free.
    assert_eq!(dmig_sessions_waiting(&db), 0, "{}", stopped.stderr);
    assert_eq!(running_statements(&db, "ALTER TABLE a"), 0);
    assert_eq!(advisory_locks(&db), 0);
    assert!(
        stopped.stderr.contains(&format!(
            "interrupted during revision `{alter}` (upgrade): its running statement was cancelled on the server"
        )) && stopped
            .stderr
            .contains("the revision was rolled back: nothing of it remains"),
        "{}",
        stopped.stderr
    );
    assert_eq!(db.versions(), [version(1)]);
    drop(reader);
    assert_eq!(
        db.psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'a' AND column_name = 'b'"),
        "0"
    );
}

#[test]
fn an_interrupted_transactional_revision_is_rolled_back_and_reported() {
    let slow = rev(1, "slow");
    let p = project("sighup_tx")
        .migration(
            &slow,
            "CREATE TABLE x (id int);\nSELECT pg_sleep(30);\n",
            None,
        )
        .build();
    // On the dedicated work session (SIGHUP), and with --transaction single
    // on a pooled one (SIGTERM).
    for (signal, code, args, expected) in [
        (
            "HUP",
            129,
            &["upgrade"][..],
            "the revision was rolled back: nothing of it remains\n  nothing was applied before it in this run",
        ),
        (
            "TERM",
            143,
            &["upgrade", "--transaction", "single"][..],
            "the whole run was one transaction: it was rolled back, nothing changed",
        ),
    ] {
        let db = TestDb::new("sighup_tx");
        let running = spawn(dmig(&p, &db.url(), args));
        wait_until("the revision sleeps", GENEROUS, || {
            active_queries(&db, "SELECT pg_sleep(30)") == 1
        });
        running.signal(signal);
        let stopped = running.finish(GENEROUS);
        stopped.assert_code(code).assert_no_panic();
        assert!(
            stopped.stderr.contains(&format!(
                "interrupted during revision `{slow}` (upgrade): its running statement was cancelled on the server"
            )) && stopped.stderr.contains(expected),
            "{signal}: {}",
            stopped.stderr
        );
        assert_eq!(active_queries(&db, "SELECT pg_sleep(30)"), 0);
        assert!(!table_exists(&db, "x"));
        assert!(db.versions().is_empty());
        assert_eq!(advisory_locks(&db), 0);
    }
}

#[test]
fn a_second_signal_exits_at_once() {
    // The revision swallows every cancel for 20 s, so the first signal's
    // cancel does not stop it and dmig waits.
    let p = project("second_signal")
        .migration(&rev(1, "stubborn"), &stubborn(20), None)
        .build();
    let db = TestDb::new("second_signal");
    let mut running = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the revision runs", GENEROUS, || {
        running_statements(&db, "query_canceled") == 1
    });
    running.signal("INT");
    std::thread::sleep(Duration::from_secs(1));
    assert!(running.running(), "the first signal ended dmig");
    running.signal("INT");
    let stopped = running.finish(GENEROUS);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&stopped.status),
        Some(2),
        "{}",
        stopped.stderr
    );
    assert!(
        stopped
            .stderr
            .contains("interrupted: cancelling the running statement on the server"),
        "{}",
        stopped.stderr
    );
    assert!(db.versions().is_empty());
}

/// A `DO` block that swallows every cancel for `seconds`. PL/pgSQL checks
/// for interrupts before each statement, so a cancel that lands between two
/// iterations of the inner loop, outside its handler, is caught by the outer
/// one, and the outer loop starts the inner one again.
fn stubborn(seconds: u32) -> String {
    format!(
        "DO $$\n\
         DECLARE deadline timestamptz := clock_timestamp() + interval '{seconds} seconds';\n\
         BEGIN\n\
         \x20 WHILE clock_timestamp() < deadline LOOP\n\
         \x20   BEGIN\n\
         \x20     WHILE clock_timestamp() < deadline LOOP\n\
         \x20       BEGIN\n\
         \x20         PERFORM pg_sleep(0.1);\n\
         \x20       EXCEPTION WHEN query_canceled THEN NULL;\n\
         \x20       END;\n\
         \x20     END LOOP;\n\
         \x20   EXCEPTION WHEN query_canceled THEN NULL;\n\
         \x20   END;\n\
         \x20 END LOOP;\n\
         END $$;\n"
    )
}

#[test]
fn a_statement_that_ignores_the_cancel_has_its_session_terminated_before_the_lock_goes() {
    // Non-transactional: its first statement completes and stays; the
    // second swallows cancels for longer than dmig waits.
    let half = rev(1, "half");
    let p = project("terminate")
        .migration_no_tx(
            &half,
            &format!("CREATE TABLE t1 (id int);\n{}", stubborn(120)),
            None,
        )
        .build();
    let db = TestDb::new("terminate");
    let running = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the DO block runs", GENEROUS, || {
        running_statements(&db, "query_canceled") == 1
    });
    running.signal("INT");
    let stopped = running.finish(GENEROUS);
    stopped.assert_code(130).assert_no_panic();
    for expected in [
        "the statement did not stop within 30s of the cancel: terminating its session".to_owned(),
        format!("interrupted during revision `{half}` (upgrade)"),
        "the revision is non-transactional and is half-applied: 1 statement(s) completed"
            .to_owned(),
        "completed: line 1: CREATE TABLE t1 (id int);".to_owned(),
        "its session was terminated".to_owned(),
    ] {
        assert!(
            stopped.stderr.contains(&expected),
            "{expected}\n{}",
            stopped.stderr
        );
    }
    // The block is gone with its session before dmig let go of the lock.
    assert_eq!(running_statements(&db, "query_canceled"), 0);
    assert_eq!(advisory_locks(&db), 0);
    assert!(table_exists(&db, "t1"));
    assert!(db.versions().is_empty());
}

#[test]
fn a_signal_while_waiting_for_the_lock_ends_the_wait_with_nothing_applied() {
    let p = project("signal_lock_wait")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .build();
    let db = TestDb::new("signal_lock_wait");
    let holder = Holder::new(
        &db,
        &format!("SELECT pg_advisory_lock({LOCK_KEY}), 'locked';"),
    );
    let running = spawn(dmig(&p, &db.url(), &["upgrade", "--lock-wait", "120"]));
    wait_until("dmig polls for the lock", GENEROUS, || {
        running_statements(&db, "pg_try_advisory_lock") > 0
            || db.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'dmig' AND query LIKE 'SELECT pg_try_advisory_lock%'",
            ) != "0"
    });
    running.signal("INT");
    let stopped = running.finish(GENEROUS);
    stopped.assert_code(130).assert_no_panic();
    assert!(
        stopped
            .stderr
            .contains("interrupted while waiting for the migration lock: nothing was applied"),
        "{}",
        stopped.stderr
    );
    assert!(db.versions().is_empty());
    assert!(!table_exists(&db, "a"));
    drop(holder);
}

// ---------------------------------------------------------------------------
// The library's token

#[tokio::test(flavor = "multi_thread")]
async fn an_application_cancels_a_run_on_its_own_pool_through_the_token() {
    use dmig::online::cancel::Stage;
    use dmig::online::{Cancel, OnlineError, RunOptions};

    let slow = rev(2, "slow");
    let p = project("library_cancel")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .migration(
            &slow,
            "CREATE TABLE x (id int);\nSELECT pg_sleep(30);\n",
            None,
        )
        .build();
    let db = std::sync::Arc::new(TestDb::new("library_cancel"));
    let revisions = dmig::source::discover(&p.path().join("migrations"))
        .expect("discover")
        .revisions;
    let pool = dmig::online::connect_pool(&db.url(), &dmig::online::ConnectOptions::default())
        .await
        .expect("connect");
    let cancel = Cancel::new();
    let options = RunOptions {
        cancel: cancel.clone(),
        ..RunOptions::default()
    };
    // The application's shutdown, once the slow revision runs.
    let watcher = {
        let db = std::sync::Arc::clone(&db);
        tokio::task::spawn_blocking(move || {
            wait_until("the revision sleeps", GENEROUS, || {
                active_queries(&db, "SELECT pg_sleep(30)") == 1
            });
            cancel.cancel();
        })
    };
    let request = dmig::plan::Request::upgrade_to_head();
    let result = dmig::online::migrate(
        &pool,
        &revisions,
        &request,
        &options,
        &mut dmig::online::Silent,
    )
    .await;
    watcher.await.expect("the watcher");
    let Err(OnlineError::Interrupted(report)) = result else {
        panic!("not interrupted: {result:?}");
    };
    let Stage::During(failure) = &report.stage else {
        panic!("not stopped during the revision: {report}");
    };
    assert_eq!(failure.name, slow);
    assert_eq!(report.completed, [rev(1, "a")]);
    assert!(options.cancel.is_handled());
    assert!(
        report
            .to_string()
            .contains("the revision was rolled back: nothing of it remains"),
        "{report}"
    );
    assert_eq!(active_queries(&db, "SELECT pg_sleep(30)"), 0);
    assert!(!table_exists(&db, "x"));
    assert_eq!(db.versions(), [version(1)]);
    assert_eq!(advisory_locks(&db), 0);
}
