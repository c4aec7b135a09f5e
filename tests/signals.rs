//! Interrupts and idle sessions against a real PostgreSQL: Ctrl-C, SIGTERM
//! and SIGHUP during an online run (the running statement is cancelled on
//! the server, the lock is held until the work session is idle, the run
//! reports what remains), and server timeouts that would end dmig's idle
//! lock session. The tests drive the `dmig` binary and send real signals.

use crate::reliability::{advisory_locks, dmig, rev, run, table_exists, version};
use crate::support::pg::TestDb;
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
