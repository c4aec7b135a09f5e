//! Reliability against a real PostgreSQL: one migrator at a time, crashes,
//! a server stopped mid-run, and connections that fail. Tests that need
//! several processes, signals or a stopped server drive the `dmig` binary.
//!
//! Nothing here measures speed: waits poll the database for a state, with
//! generous upper bounds, and a process that hangs fails its test.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use dmig::dialect::postgres::LOCK_KEY;

use crate::support::pg::{self, PrivateServer, TestDb, TLS_PASSWORD, TLS_PASSWORD_USER};
use crate::support::process::{dmig, run, spawn, wait_until, Finished, Running, GENEROUS};
use crate::support::project::{project, Project, ProjectBuilder};

/// `<14-digit version>_<name>`, the `i`-th revision.
pub(crate) fn rev(i: usize, name: &str) -> String {
    format!("{:014}_{name}", 20240000000000u64 + i as u64)
}

/// The version of [`rev`]`(i, ..)`.
pub(crate) fn version(i: usize) -> String {
    format!("{:014}", 20240000000000u64 + i as u64)
}

/// Sessions of `db` (other than the asking one) whose current or last
/// statement starts with `prefix` and that are running it now.
pub(crate) fn active_queries(db: &TestDb, prefix: &str) -> usize {
    db.psql(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE '{prefix}%'"
    ))
    .parse()
    .expect("a count")
}

/// Advisory locks held in `db`: dmig's lock is the only one these tests take.
pub(crate) fn advisory_locks(db: &TestDb) -> usize {
    db.psql(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .parse()
    .expect("a count")
}

pub(crate) fn table_exists(db: &TestDb, table: &str) -> bool {
    db.psql(&format!("SELECT to_regclass('{table}') IS NOT NULL")) == "t"
}

/// A PL/pgSQL loop that waits (at most 30 s) until `condition` holds; it
/// clears the statistics snapshot on each turn, as pg_stat_activity is
/// otherwise read once per transaction.
fn wait_in_sql(condition: &str) -> String {
    format!(
        "DO $$\n\
         DECLARE deadline timestamptz := clock_timestamp() + interval '30 seconds';\n\
         BEGIN\n\
         \x20 LOOP\n\
         \x20   PERFORM pg_stat_clear_snapshot();\n\
         \x20   EXIT WHEN ({condition}) OR clock_timestamp() > deadline;\n\
         \x20   PERFORM pg_sleep(0.05);\n\
         \x20 END LOOP;\n\
         END $$;\n"
    )
}

/// How many other sessions of this database wait for dmig's lock: their
/// last statement was dmig's poll (or its look-up of the holder) and they
/// hold no advisory lock.
const WAITING_MIGRATORS: &str = "SELECT count(*) FROM pg_stat_activity \
     WHERE datname = current_database() AND pid <> pg_backend_pid() \
     AND (query LIKE 'SELECT pg_try_advisory_lock(%' OR query LIKE 'SELECT pid FROM pg_locks%') \
     AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)";

// ---------------------------------------------------------------------------
// One migrator at a time

#[test]
fn eight_concurrent_upgrades_apply_every_revision_exactly_once() {
    const MIGRATORS: usize = 8;
    const REVISIONS: usize = 50;
    // Revision 1 holds the lock until the seven others are seen polling for
    // it, so every run below really contends; each revision logs itself in
    // `applied_log`; every 10th runs outside a transaction with
    // CREATE INDEX CONCURRENTLY while the others poll.
    let mut b = project("eight");
    for i in 1..=REVISIONS {
        let mut up = String::new();
        if i == 1 {
            up.push_str("CREATE TABLE applied_log (revision int NOT NULL);\n");
            up.push_str(&wait_in_sql(&format!(
                "({WAITING_MIGRATORS}) >= {}",
                MIGRATORS - 1
            )));
        }
        up.push_str(&format!(
            "CREATE TABLE t{i} (id bigserial PRIMARY KEY, a text);\n\
             INSERT INTO applied_log (revision) VALUES ({i});\n"
        ));
        b = if i % 10 == 0 {
            up.push_str(&format!("CREATE INDEX CONCURRENTLY t{i}_a ON t{i} (a);\n"));
            b.migration_no_tx(&rev(i, &format!("t{i}")), &up, None)
        } else {
            up.push_str(&format!("CREATE INDEX t{i}_a ON t{i} (a);\n"));
            b.migration(&rev(i, &format!("t{i}")), &up, None)
        };
    }
    let p = b.build();
    let db = TestDb::new("eight_migrators");

    let running: Vec<Running> = (0..MIGRATORS)
        .map(|_| spawn(dmig(&p, &db.url(), &["upgrade"])))
        .collect();
    let finished: Vec<Finished> = running.into_iter().map(|r| r.finish(GENEROUS)).collect();

    for f in &finished {
        f.assert_success().assert_no_panic();
        assert!(
            !f.stderr.to_lowercase().contains("error"),
            "error output:\n{}",
            f.stderr
        );
    }
    let all: String = finished.iter().map(|f| f.stderr.as_str()).collect();
    for i in 1..=REVISIONS {
        let line = format!("applied {} ", rev(i, &format!("t{i}")));
        assert_eq!(all.matches(&line).count(), 1, "`{line}` in:\n{all}");
    }
    let upgraded = finished
        .iter()
        .filter(|f| {
            f.stderr
                .contains(&format!("upgraded {REVISIONS} revision(s)"))
        })
        .count();
    let idle = finished
        .iter()
        .filter(|f| f.stderr.contains("nothing to do"))
        .count();
    assert_eq!((upgraded, idle), (1, MIGRATORS - 1), "{all}");
    let waited = finished
        .iter()
        .filter(|f| {
            f.stderr
                .contains("waiting for the migration lock, held by pid")
        })
        .count();
    assert_eq!(waited, MIGRATORS - 1, "{all}");

    assert_eq!(db.versions().len(), REVISIONS);
    assert_eq!(
        db.psql("SELECT count(*) || ' ' || count(DISTINCT revision) FROM applied_log"),
        format!("{REVISIONS} {REVISIONS}")
    );
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_index WHERE NOT indisvalid"),
        "0"
    );
    assert_eq!(advisory_locks(&db), 0);
}

#[test]
fn a_waiting_migrator_does_not_deadlock_create_index_concurrently() {
    // A blocking pg_advisory_lock in the waiter holds a snapshot, which the
    // holder's CREATE INDEX CONCURRENTLY waits for: neither would finish
    // (golang-migrate#960). Revision 2 starts its index only once the
    // second migrator is seen polling for the lock.
    let p = project("cic")
        .migration(
            &rev(1, "big_table"),
            "CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 200000) AS g;\n",
            None,
        )
        .migration_no_tx(
            &rev(2, "index_concurrently"),
            &format!(
                "{}CREATE INDEX CONCURRENTLY big_v_idx ON big (v);\n",
                wait_in_sql(&format!("({WAITING_MIGRATORS}) >= 1"))
            ),
            None,
        )
        .build();
    let db = TestDb::new("cic_waiter");

    let first = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the first migrator runs revision 2", GENEROUS, || {
        active_queries(&db, "DO $$") == 1
    });
    let second = spawn(dmig(&p, &db.url(), &["upgrade"]));
    let first = first.finish(GENEROUS);
    let second = second.finish(GENEROUS);

    first.assert_success().assert_no_panic();
    second.assert_success().assert_no_panic();
    assert!(
        first
            .stderr
            .contains(&format!("applied {} ", rev(2, "index_concurrently"))),
        "{}",
        first.stderr
    );
    assert!(
        second
            .stderr
            .contains("waiting for the migration lock, held by pid"),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("nothing to do"), "{}", second.stderr);
    assert_eq!(
        db.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'big_v_idx'::regclass"),
        "t"
    );
    assert_eq!(db.versions(), [version(1), version(2)]);
}

/// A `psql` session holding dmig's advisory lock on `db` until dropped.
struct LockHolder {
    pub(crate) child: Child,
    stdin: Option<ChildStdin>,
    pid: i32,
}

impl LockHolder {
    fn new(db: &TestDb) -> LockHolder {
        let mut child = Command::new(pg::pg_bin("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", &db.url()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn psql");
        let mut stdin = child.stdin.take().expect("piped stdin");
        writeln!(
            stdin,
            "SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock({LOCK_KEY})) AS locked;"
        )
        .expect("write to psql");
        stdin.flush().expect("flush psql's stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("read the holder's pid");
        let pid = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("psql printed `{line}` instead of its pid"));
        LockHolder {
            child,
            stdin: Some(stdin),
            pid,
        }
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        // End of input ends the session, and with it the lock.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn a_held_lock_makes_upgrade_give_up_naming_the_key_and_holder() {
    let p = project("lock_timeout")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .build();
    let db = TestDb::new("lock_timeout");
    // Advisory locks are per database: the same key held on other
    // databases of the server neither blocks dmig nor is named as the
    // holder. (pg_locks lists them in hash order, so with several a holder
    // look-up that ignores the database would mostly name the wrong one.)
    let elsewhere: Vec<TestDb> = (0..3)
        .map(|_| TestDb::new("lock_timeout_elsewhere"))
        .collect();
    let decoys: Vec<LockHolder> = elsewhere.iter().map(LockHolder::new).collect();
    let holder = LockHolder::new(&db);

    let out = run(dmig(&p, &db.url(), &["upgrade", "--lock-wait", "1"]));
    out.assert_code(1).assert_no_panic();
    assert!(out.elapsed < Duration::from_secs(30), "{:?}", out.elapsed);
    assert!(
        out.stderr.contains(&format!(
            "waiting for the migration lock, held by pid {} (psql, 127.0.0.1)\n",
            holder.pid
        )),
        "{}",
        out.stderr
    );
    let error: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(error.len(), 1, "{}", out.stderr);
    assert!(
        error[0].contains(&format!("advisory lock {LOCK_KEY}")),
        "{}",
        error[0]
    );
    assert!(
        error[0].contains(&format!("held by pid {} (psql, 127.0.0.1)", holder.pid)),
        "{}",
        error[0]
    );
    assert!(error[0].contains("--lock-wait"), "{}", error[0]);
    assert!(db.versions().is_empty());
    assert!(!table_exists(&db, "a"));

    // Once the holder's session ends, the same command goes through, the
    // decoys still holding the key elsewhere.
    drop(holder);
    run(dmig(&p, &db.url(), &["upgrade", "--lock-wait", "30"])).assert_success();
    assert_eq!(db.versions(), [version(1)]);
    drop(decoys);
}

#[test]
fn the_lock_is_released_when_dmig_exits() {
    let p = project("release")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .migration(&rev(2, "broken"), "SELECT * FROM no_such_table;\n", None)
        .build();
    let db = TestDb::new("lock_release");

    // Success: the run ends, and so does the lock.
    let ok = run(dmig(&p, &db.url(), &["upgrade", &rev(1, "a")]));
    ok.assert_success();
    assert_eq!(advisory_locks(&db), 0);

    // A failed revision releases it too: the next run gets it at once
    // (--lock-wait 0 gives up at the first poll that finds it taken) and
    // fails on the revision again, not on the lock.
    for _ in 0..2 {
        let failed = run(dmig(&p, &db.url(), &["upgrade", "--lock-wait", "0"]));
        failed.assert_code(1).assert_no_panic();
        assert!(
            failed
                .stderr
                .contains(&format!("revision `{}` failed", rev(2, "broken"))),
            "{}",
            failed.stderr
        );
        assert!(!failed.stderr.contains("waiting"), "{}", failed.stderr);
        assert_eq!(advisory_locks(&db), 0);
    }
    assert_eq!(db.versions(), [version(1)]);
}

// ---------------------------------------------------------------------------
// Crashes

#[test]
fn kill_9_mid_revision_leaves_no_trace_and_frees_the_lock() {
    let slow = rev(2, "slow");
    let p = project("kill")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .migration(
            &slow,
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(5);\n",
            None,
        )
        .build();
    let db = TestDb::new("kill_9");

    let running = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the slow revision runs", GENEROUS, || {
        active_queries(&db, "SELECT pg_sleep(5)") == 1
    });
    let killed = running.kill();
    assert!(!killed.status.success());
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed.status),
        Some(9)
    );

    // The lock session was idle: the server sees it gone at once. The
    // revision's session finishes its pg_sleep first; then it finds the
    // client gone and rolls back.
    wait_until(
        "the migration lock is free",
        Duration::from_secs(30),
        || advisory_locks(&db) == 0,
    );
    wait_until(
        "the killed revision's session ends",
        Duration::from_secs(30),
        || active_queries(&db, "SELECT pg_sleep(5)") == 0,
    );
    assert!(!table_exists(&db, "slow"));
    assert_eq!(db.versions(), [version(1)]);

    // A rerun (with the sleep gone) completes.
    fs::write(
        p.path().join(format!("migrations/{slow}/up.sql")),
        "CREATE TABLE slow (id int);\n",
    )
    .expect("rewrite the slow revision");
    let rerun = run(dmig(&p, &db.url(), &["upgrade", "--lock-wait", "30"]));
    rerun.assert_success();
    assert!(!rerun.stderr.contains("waiting"), "{}", rerun.stderr);
    assert_eq!(db.versions(), [version(1), version(2)]);
    assert!(table_exists(&db, "slow"));
}

#[test]
fn a_lost_lock_session_stops_the_run_before_the_next_revision() {
    // Revision 2 sleeps; meanwhile the lock's own session is terminated
    // (the work session lives on). Another migrator could now take the lock,
    // so dmig must not start revision 3.
    let p = project("lock_lost")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .migration(
            &rev(2, "slow"),
            "CREATE TABLE slow (id int);\nSELECT pg_sleep(1.5);\n",
            None,
        )
        .migration(&rev(3, "c"), "CREATE TABLE c (id int);\n", None)
        .build();
    let db = TestDb::new("lock_lost");
    let running = spawn(dmig(&p, &db.url(), &["upgrade"]));
    wait_until("the slow revision runs", GENEROUS, || {
        active_queries(&db, "SELECT pg_sleep(1.5)") == 1
    });
    let terminated = db.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' \
         AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    );
    assert_eq!(terminated, "1", "the lock's session was not found");
    let finished = running.finish(GENEROUS);
    finished.assert_code(1).assert_no_panic();
    assert!(
        finished.stderr.contains(&format!(
            "lost the migration lock (its session ended) before revision `{}`",
            rev(3, "c")
        )) && finished.stderr.contains(&format!(
            "completed before it: {}, {}",
            rev(1, "a"),
            rev(2, "slow")
        )),
        "{}",
        finished.stderr
    );
    // It says what may have ended the session.
    assert!(
        finished.stderr.contains("idle_session_timeout")
            && finished.stderr.contains("pg_terminate_backend")
            && finished.stderr.contains("pooler"),
        "{}",
        finished.stderr
    );
    // Revision 2 committed (it was running when the lock went); 3 never started.
    assert_eq!(db.versions(), [version(1), version(2)]);
    assert!(!table_exists(&db, "c"));
    run(dmig(&p, &db.url(), &["upgrade"])).assert_success();
    assert_eq!(db.versions(), [version(1), version(2), version(3)]);
}

/// `dmig status --format json` on `url`: each revision's state, oldest first.
fn states(p: &Project, url: &str) -> Vec<String> {
    let out = run(dmig(p, url, &["status", "--format", "json"]));
    out.assert_success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("status JSON");
    json["revisions"]
        .as_array()
        .expect("a revisions array")
        .iter()
        .map(|r| r["state"].as_str().expect("a state").to_owned())
        .collect()
}

fn four_revisions(third: &str, transactional: bool) -> ProjectBuilder {
    let b = project("stopped")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .migration(&rev(2, "b"), "CREATE TABLE b (id int);\n", None);
    let b = if transactional {
        b.migration(&rev(3, "slow"), third, None)
    } else {
        b.migration_no_tx(&rev(3, "slow"), third, None)
    };
    b.migration(&rev(4, "d"), "CREATE TABLE d (id int);\n", None)
}

#[test]
fn a_server_stopped_mid_run_is_a_lost_connection_and_status_tells_the_truth() {
    let server = PrivateServer::start();
    let slow_sql = "CREATE TABLE slow (id int);\nSELECT pg_sleep(60);\n";
    let transactional = four_revisions(slow_sql, true).build();
    let non_transactional = four_revisions(slow_sql, false).build();
    for db in ["per_revision", "single", "non_transactional"] {
        server.psql("postgres", &format!("CREATE DATABASE {db}"));
    }
    let runs = [
        spawn(dmig(
            &transactional,
            &server.url("per_revision"),
            &["upgrade"],
        )),
        spawn(dmig(
            &transactional,
            &server.url("single"),
            &["upgrade", "--transaction", "single"],
        )),
        spawn(dmig(
            &non_transactional,
            &server.url("non_transactional"),
            &["upgrade"],
        )),
    ];
    wait_until("all three runs sleep in revision 3", GENEROUS, || {
        server.psql(
            "postgres",
            "SELECT count(*) FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(60)%'",
        ) == "3"
    });
    server.stop();
    let [per_revision, single, non_tx] = runs.map(|r| r.finish(GENEROUS));

    let lost = format!("connection lost during revision `{}`", rev(3, "slow"));
    for out in [&per_revision, &single, &non_tx] {
        out.assert_code(1).assert_no_panic();
        assert!(out.stderr.contains(&lost), "{}", out.stderr);
        assert!(
            out.stderr.contains("up.sql:2:1: terminating connection"),
            "{}",
            out.stderr
        );
    }
    assert!(
        per_revision
            .stderr
            .contains("the revision was rolled back: nothing of it remains"),
        "{}",
        per_revision.stderr
    );
    let before = per_revision
        .stderr
        .lines()
        .find(|l| l.contains("before it in this run"))
        .unwrap_or_else(|| panic!("no earlier revisions listed:\n{}", per_revision.stderr));
    assert!(
        before.contains(&rev(1, "a")) && before.contains(&rev(2, "b")),
        "{before}"
    );
    assert!(
        single
            .stderr
            .contains("the whole run was one transaction: it was rolled back, nothing changed"),
        "{}",
        single.stderr
    );
    assert!(
        non_tx
            .stderr
            .contains("half-applied: 1 statement(s) completed before the failure"),
        "{}",
        non_tx.stderr
    );

    // While it is down, a command says so in one line.
    let down = run(dmig(
        &transactional,
        &server.url("per_revision"),
        &["status"],
    ));
    down.assert_code(1).assert_no_panic();
    assert_eq!(
        down.stderr.trim_end(),
        format!(
            "error: cannot connect to 127.0.0.1:{}/per_revision as postgres: connection refused",
            server.port()
        )
    );

    server.start_again();
    let applied = |n: usize| -> Vec<String> {
        (1..=4)
            .map(|i| if i <= n { "applied" } else { "pending" }.to_owned())
            .collect()
    };
    assert_eq!(
        states(&transactional, &server.url("per_revision")),
        applied(2)
    );
    assert_eq!(states(&transactional, &server.url("single")), applied(0));
    assert_eq!(
        states(&non_transactional, &server.url("non_transactional")),
        applied(2)
    );
    let has_slow = |db: &str| server.psql(db, "SELECT to_regclass('slow') IS NOT NULL");
    assert_eq!(has_slow("per_revision"), "f");
    assert_eq!(has_slow("single"), "f");
    // Half-applied, as reported: the table is there, the version is not.
    assert_eq!(has_slow("non_transactional"), "t");

    // Reruns, with the sleep gone, complete.
    for (p, sql) in [
        (&transactional, "CREATE TABLE slow (id int);\n"),
        (
            &non_transactional,
            "CREATE TABLE IF NOT EXISTS slow (id int);\n",
        ),
    ] {
        fs::write(
            p.path()
                .join(format!("migrations/{}/up.sql", rev(3, "slow"))),
            sql,
        )
        .expect("rewrite the slow revision");
    }
    for (p, db, args) in [
        (&transactional, "per_revision", &["upgrade"][..]),
        (
            &transactional,
            "single",
            &["upgrade", "--transaction", "single"][..],
        ),
        (&non_transactional, "non_transactional", &["upgrade"][..]),
    ] {
        run(dmig(p, &server.url(db), args)).assert_success();
        assert_eq!(states(p, &server.url(db)), applied(4), "{db}");
    }
}

// ---------------------------------------------------------------------------
// Connections that fail

/// Runs `dmig upgrade` against `url` and checks the failure: exit 1 within
/// 15 s, one line on stderr that starts `error: ` and contains `expected`,
/// and `secret` nowhere in the output.
fn assert_connect_failure(p: &Project, url: &str, extra: &[&str], expected: &str, secret: &str) {
    let mut args = vec!["upgrade"];
    args.extend_from_slice(extra);
    let out = spawn(dmig(p, url, &args)).finish(Duration::from_secs(15));
    out.assert_code(1).assert_no_panic();
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "expected one line:\n{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim_end(), format!("error: {expected}"));
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        !out.stderr.contains(secret) && !out.stdout.contains(secret),
        "the password shows:\n{}",
        out.stderr
    );
}

fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    listener.local_addr().expect("its address").port()
}

#[test]
fn connection_failures_exit_1_with_one_line_naming_the_target_never_the_password() {
    let p = project("connect")
        .migration(&rev(1, "a"), "CREATE TABLE a (id int);\n", None)
        .build();
    let secret = "s3cret-pa55word";

    let port = closed_port();
    assert_connect_failure(
        &p,
        &format!("postgres://app:{secret}@127.0.0.1:{port}/appdb"),
        &[],
        &format!("cannot connect to 127.0.0.1:{port}/appdb as app: connection refused"),
        secret,
    );

    // The kernel completes the TCP handshake into the backlog; nobody ever
    // answers the startup message.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = silent.local_addr().expect("its address").port();
    assert_connect_failure(
        &p,
        &format!("postgres://app:{secret}@127.0.0.1:{port}/appdb"),
        &["--connect-timeout", "1"],
        &format!("cannot connect to 127.0.0.1:{port}/appdb as app: no answer within 1s"),
        secret,
    );
    drop(silent);

    let tls = pg::tls_server();
    assert_connect_failure(
        &p,
        &tls.url("127.0.0.1", TLS_PASSWORD_USER, Some(secret), ""),
        &[],
        &format!(
            "cannot connect to 127.0.0.1:{}/postgres as {TLS_PASSWORD_USER}: \
             password authentication failed for user \"{TLS_PASSWORD_USER}\"",
            tls.port
        ),
        secret,
    );

    // The right password, a database that does not exist.
    let missing = format!("dmig_no_such_db_{}", std::process::id());
    assert_connect_failure(
        &p,
        &format!(
            "postgres://{TLS_PASSWORD_USER}:{TLS_PASSWORD}@127.0.0.1:{}/{missing}",
            tls.port
        ),
        &[],
        &format!(
            "cannot connect to 127.0.0.1:{}/{missing} as {TLS_PASSWORD_USER}: \
             database \"{missing}\" does not exist",
            tls.port
        ),
        TLS_PASSWORD,
    );

    assert_connect_failure(
        &p,
        &format!("postgres://app:{secret}@127.0.0.1:notaport/appdb"),
        &[],
        "invalid database URL `postgres://app:***@127.0.0.1:notaport/appdb`: \
         invalid port `notaport` in the database URL: expected a number from 1 to 65535",
        secret,
    );
}
