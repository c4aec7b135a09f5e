//! dmig behind pgbouncer (`support/pgbouncer.rs`): session pooling works as a
//! direct connection does; transaction pooling, which would leave the
//! migration lock on a shared server session and collide prepared
//! statements, is refused before anything is written. Skipped with a note
//! without pgbouncer (see `pgbouncer_smoke.rs`).

use std::time::Duration;

use crate::support::pg::PrivateServer;
use crate::support::pgbouncer::{self, PgBouncer, PoolMode};
use crate::support::process::{dmig, spawn};
use crate::support::project::{project, Project};

const GENEROUS: Duration = Duration::from_secs(60);

fn two_revisions() -> Project {
    project("poolers")
        .migration("20240000000001_a", "CREATE TABLE a (id int);\n", None)
        .migration(
            "20240000000002_b",
            "CREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n",
            None,
        )
        .build()
}

#[test]
fn through_session_pooling_upgrade_works_and_status_is_right() {
    if !pgbouncer::usable("through_session_pooling_upgrade_works_and_status_is_right") {
        return;
    }
    let server = PrivateServer::start();
    server.psql("postgres", "CREATE DATABASE app");
    let bouncer = PgBouncer::start("127.0.0.1", server.port(), PoolMode::Session);
    let p = two_revisions();
    let url = bouncer.url("app");

    let out = spawn(dmig(&p, &url, &["upgrade"])).finish(GENEROUS);
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(
        server.psql(
            "app",
            "SELECT string_agg(version, ' ' ORDER BY version) FROM __diesel_schema_migrations"
        ),
        "20240000000001 20240000000002"
    );
    assert_eq!(server.psql("app", "SELECT count(*) FROM b"), "1");

    let status = spawn(dmig(&p, &url, &["status"])).finish(GENEROUS);
    assert!(status.status.success(), "{}", status.stderr);
    let applied = status
        .stdout
        .lines()
        .filter(|l| l.starts_with("applied"))
        .count();
    assert_eq!(applied, 2, "{}", status.stdout);

    // A second run through the same pooler has nothing to do, and the lock
    // went with dmig's sessions.
    let again = spawn(dmig(&p, &url, &["upgrade"])).finish(GENEROUS);
    assert!(again.status.success(), "{}", again.stderr);
    assert!(again.stderr.contains("nothing to do"), "{}", again.stderr);
    assert_eq!(
        server.psql(
            "app",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        ),
        "0"
    );
}

#[test]
fn through_transaction_pooling_upgrade_is_refused_before_anything_is_written() {
    if !pgbouncer::usable(
        "through_transaction_pooling_upgrade_is_refused_before_anything_is_written",
    ) {
        return;
    }
    let server = PrivateServer::start();
    server.psql("postgres", "CREATE DATABASE app");
    let bouncer = PgBouncer::start("127.0.0.1", server.port(), PoolMode::Transaction);
    let p = two_revisions();
    let url = bouncer.url("app");

    for args in [
        &["upgrade"][..],
        &["upgrade", "--transaction", "single"],
        &["stamp", "head"],
    ] {
        let out = spawn(dmig(&p, &url, args)).finish(GENEROUS);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", out.stderr);
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {}", out.stderr);
        for needed in [
            "dmig needs a session of its own (a direct or session-pooled connection)",
            &format!(
                "but postgres://postgres@127.0.0.1:{}/app is pooled per transaction",
                bouncer.port()
            ),
            "pool_mode = session",
        ] {
            assert!(
                errors[0].contains(needed),
                "{args:?}: {needed:?} missing from {}",
                errors[0]
            );
        }
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    // A read-only command may get through; when the pooler breaks it, the
    // error says why, not the driver's words.
    for _ in 0..5 {
        let status = spawn(dmig(&p, &url, &["status"])).finish(GENEROUS);
        assert!(
            !status.stderr.contains("prepared statement \"s"),
            "{}",
            status.stderr
        );
        if !status.status.success() {
            assert!(
                status.stderr.contains("dmig needs a session of its own"),
                "{}",
                status.stderr
            );
        }
    }
    // Nothing written, no lock left on a pooled server session.
    assert_eq!(
        server.psql(
            "app",
            "SELECT to_regclass('__diesel_schema_migrations') IS NULL"
        ),
        "t"
    );
    assert_eq!(server.psql("app", "SELECT to_regclass('a') IS NULL"), "t");
    assert_eq!(
        server.psql(
            "app",
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
        ),
        "0"
    );
}
