//! A real PostgreSQL for the integration tests, never a mock.
//!
//! With `DMIG_TEST_DATABASE_URL` set to an admin URL (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`) the tests use that server.
//! Otherwise the first test that needs a database starts a throwaway cluster
//! with the local server binaries (`initdb`, `pg_ctl`, `postgres`) in a temp
//! dir, on a free port of 127.0.0.1, and every test of the process shares it.
//! Rust never drops statics, so a detached watchdog stops the cluster and
//! removes its dir once the test process is gone.
//!
//! Which binaries (see `binaries.rs`):
//! - `DMIG_TEST_PG_BIN=/path/to/bin` names the directory whose `initdb`,
//!   `pg_ctl` and `postgres` start every cluster the tests start: the shared
//!   one, the TLS one ([`tls_server`]) and each [`PrivateServer`]. Without it
//!   the newest release installed (`/usr/lib/postgresql/*/bin`,
//!   `/usr/pgsql-*/bin`, `PATH`) is used. When `DMIG_TEST_DATABASE_URL` is set
//!   too, the URL wins for the shared server; the TLS and private clusters
//!   still come from `DMIG_TEST_PG_BIN`.
//! - `DMIG_TEST_PG_CLIENT_BIN=/path/to/bin` names the directory of `psql`
//!   and `pg_dump`. Without it they come from `DMIG_TEST_PG_BIN` when that
//!   directory has them, else from the installed release of the server's
//!   major or the closest newer one (`pg_dump` refuses servers newer than
//!   itself).
//!
//! Each test gets its own database from [`TestDb::new`], dropped in `Drop`.
//! Admin work goes through the `psql` binary, so no driver is needed here.
//!
//! The files: `binaries.rs` finds the binaries, `cluster.rs` initialises and
//! starts a cluster, `daemon.rs` holds what any throwaway server process
//! needs (its dir, a free port, `nobody`, the watchdog; `pgbouncer.rs` uses
//! it too), `client.rs` runs `psql`, `url.rs` edits URLs, and `testdb.rs`,
//! `tls.rs` and `private.rs` are the three things tests ask for.

// Not every test module uses every helper.
#![allow(dead_code)]

mod binaries;
mod client;
mod cluster;
pub(crate) mod daemon;
mod private;
mod testdb;
mod tls;
mod url;

use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

pub(crate) use binaries::which;
pub use binaries::{server_binaries_dir, server_binaries_major};
pub use client::pg_bin;
pub(crate) use client::{checked_psql, stderr};
pub use private::PrivateServer;
pub use testdb::TestDb;
pub use tls::{tls_server, TlsServer, TLS_CERT_USER, TLS_PASSWORD, TLS_PASSWORD_USER};

const URL_ENV: &str = "DMIG_TEST_DATABASE_URL";
/// Without it a dead server hangs the test instead of failing it.
const CONNECT_TIMEOUT_SECS: &str = "10";

/// The server all tests of this process use.
struct Server {
    admin_url: String,
    major: u32,
}

/// A failed start is kept as its message so every test fails fast with it,
/// instead of each one trying to start a cluster again.
static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn server() -> &'static Server {
    let server = SERVER.get_or_init(|| match std::env::var(URL_ENV) {
        Ok(url) if !url.trim().is_empty() => external_server(url.trim()),
        _ => start_cluster(),
    });
    match server {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// The admin URL of the test server: `DMIG_TEST_DATABASE_URL`, or the
/// throwaway cluster's `postgres` database (started on first use).
pub fn admin_url() -> String {
    server().admin_url.clone()
}

/// Runs `sql` on the admin database with `psql -At -c`, panicking with
/// psql's stderr on failure, and returns the trimmed output.
pub fn admin_psql(sql: &str) -> String {
    checked_psql(&server().admin_url, sql, "the admin database")
}

/// The test server's admin URL with its database replaced by `database`.
pub fn admin_url_with_database(database: &str) -> String {
    url::with_database(&server().admin_url, database)
}

/// True when the shared server is `DMIG_TEST_DATABASE_URL`'s, not a cluster
/// the tests started (so `DMIG_TEST_PG_BIN` does not apply to it).
pub fn uses_external_server() -> bool {
    std::env::var(URL_ENV).is_ok_and(|url| !url.trim().is_empty())
}

fn external_server(url: &str) -> Result<Server, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "{URL_ENV} must be a postgres:// URL, not `{}`",
            url::redact(url)
        ));
    }
    let psql = binaries::find_client("psql", None)?;
    let out = Command::new(&psql)
        .args(["-X", "-At", "-d", url, "-c", "SHOW server_version_num"])
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{}`: {error}", psql.display()))?;
    if !out.status.success() {
        return Err(format!(
            "cannot connect to {URL_ENV} ({}): {}",
            url::redact(url),
            stderr(&out)
        ));
    }
    let version = String::from_utf8_lossy(&out.stdout);
    let version: u32 = version
        .trim()
        .parse()
        .map_err(|_| format!("unexpected server_version_num `{}`", version.trim()))?;
    Ok(Server {
        admin_url: url.to_owned(),
        major: version / 10_000,
    })
}

fn start_cluster() -> Result<Server, String> {
    let started = Instant::now();
    let cluster = cluster::init_cluster("", "max_connections = 200\n")?;
    let port = cluster.start_on_free_port()?;
    eprintln!(
        "dmig tests: PostgreSQL {} cluster on 127.0.0.1:{port} in {} (ready in {} ms; \
         server binaries in {})",
        cluster.bin.version,
        cluster.dir.display(),
        started.elapsed().as_millis(),
        cluster.bin.dir.display()
    );
    Ok(Server {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        major: cluster.bin.major,
    })
}
