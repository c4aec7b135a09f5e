//! Proof that the pgbouncer helper (`support/pgbouncer.rs`) works, so a
//! broken pooler setup fails here and not as a puzzling migrator failure.
//! Without pgbouncer installed they are skipped with a note, so `cargo test`
//! needs only the PostgreSQL server; `.ci/run` installs pgbouncer and sets
//! `DMIG_TEST_REQUIRE_PGBOUNCER=1`, under which a missing pgbouncer fails.

use std::fs;
use std::process::{Command, Stdio};

use crate::support::pg::{pg_bin, PrivateServer};
use crate::support::pgbouncer::{self, PgBouncer, PoolMode};

/// `SELECT 1` through a pgbouncer in `mode`, which the console confirms,
/// on the upstream's databases (reached through the `*` wildcard); the
/// process is gone once the helper is dropped.
fn select_1_through(mode: PoolMode) {
    if !pgbouncer::usable(&format!("select_1_through_pgbouncer ({mode:?})")) {
        return;
    }
    let server = PrivateServer::start();
    let bouncer = PgBouncer::start("127.0.0.1", server.port(), mode);
    assert_eq!(bouncer.psql("postgres", "SELECT 1"), "1");

    let config = bouncer.admin("SHOW CONFIG");
    let pool_mode = format!("pool_mode|{}|", mode.as_str());
    assert!(
        config.lines().any(|line| line.starts_with(&pool_mode)),
        "pgbouncer runs in another pool mode than {mode:?}:\n{config}"
    );
    let pools = bouncer.admin("SHOW POOLS");
    assert!(
        pools
            .lines()
            .any(|line| line.starts_with("postgres|postgres|")),
        "the query did not go through a pool of pgbouncer:\n{pools}"
    );

    server.psql("postgres", "CREATE DATABASE only_upstream");
    assert_eq!(
        bouncer.psql("only_upstream", "SELECT current_database()"),
        "only_upstream"
    );

    // Gone with Drop: the process, and any use of its port. (Not "connect
    // is refused": a SYN racing the listener's close may still be answered.)
    let (pid, url) = (bouncer.pid(), bouncer.url("postgres"));
    drop(bouncer);
    let state = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state
            .rsplit_once(") ")
            .is_none_or(|(_, rest)| rest.starts_with('Z')),
        "pgbouncer {pid} still runs after Drop: {state}"
    );
    let out = Command::new(pg_bin("psql"))
        .args(["-X", "-At", "-d", &url, "-c", "SELECT 1"])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::null())
        .output()
        .expect("run psql");
    assert!(
        !out.status.success(),
        "psql still gets through {url} after Drop"
    );
}

#[test]
fn select_1_through_pgbouncer_in_session_mode() {
    select_1_through(PoolMode::Session);
}

#[test]
fn select_1_through_pgbouncer_in_transaction_mode() {
    select_1_through(PoolMode::Transaction);
}
