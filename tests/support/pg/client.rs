//! Running the client binaries (`psql`, `pg_dump`) against the test servers:
//! always without stdin and with a connect timeout, so a dead server fails a
//! test instead of hanging it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

use super::{binaries, server, CONNECT_TIMEOUT_SECS};

/// Locates a PostgreSQL client binary such as `psql` or `pg_dump`.
///
/// `DMIG_TEST_PG_CLIENT_BIN`'s, else `DMIG_TEST_PG_BIN`'s when that dir has
/// it, else the one of the shared server's major under
/// `/usr/lib/postgresql/*/bin`, `/usr/pgsql-*/bin` or `PATH`, else the
/// closest newer one, since `pg_dump` refuses servers newer than itself.
/// Starts the throwaway cluster if it is not running yet.
pub fn pg_bin(name: &str) -> PathBuf {
    static FOUND: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let major = server().major;
    let mut found = FOUND
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(path) = found.get(name) {
        return path.clone();
    }
    match binaries::find_client(name, Some(major)) {
        Ok(path) => {
            found.insert(name.to_owned(), path.clone());
            path
        }
        Err(message) => panic!("{message}"),
    }
}

/// A client's stderr, trimmed, for messages.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A client binary ready to run: no stdin, and a connect timeout.
pub(super) fn client(name: &str) -> Command {
    let mut cmd = Command::new(pg_bin(name));
    cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .stdin(Stdio::null());
    cmd
}

/// `psql` on `url` that stops at the first error and reads no `~/.psqlrc`.
pub(super) fn psql_command(url: &str) -> Command {
    let mut cmd = client("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    cmd
}

/// Runs `sql` on `url` with `psql -At -c`, panicking with psql's stderr (and
/// `what`, naming the server) on failure; returns the trimmed output.
pub(crate) fn checked_psql(url: &str, sql: &str, what: &str) -> String {
    let out = psql_command(url)
        .args(["-At", "-c", sql])
        .output()
        .expect("run psql -c");
    assert!(
        out.status.success(),
        "psql on {what} failed for `{sql}`: {}",
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
