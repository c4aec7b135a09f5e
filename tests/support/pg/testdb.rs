//! [`TestDb`]: a database of its own for each test on the shared server, so
//! tests run in parallel without seeing each other's tables, and a failed
//! test leaves nothing behind for the next run.

use std::path::Path;
use std::process::{self, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use super::client::{checked_psql, client, psql_command, stderr};
use super::{server, url};

/// A database of its own for one test, created on the test server and
/// dropped (`WITH (FORCE)`, so open connections do not block it) in `Drop`.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates a database named `dmig_<hint>_<pid>_<n>` (sanitized, at most 63
    /// bytes, PostgreSQL's limit), unique across tests and test processes.
    pub fn new(hint: &str) -> TestDb {
        let admin = &server().admin_url;
        let name = database_name(hint);
        // A killed earlier run on an external server can leave the same name
        // behind once the pid comes round again.
        let out = psql_command(admin)
            .arg("-c")
            .arg(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .arg("-c")
            .arg(format!("CREATE DATABASE \"{name}\""))
            .output()
            .expect("run psql to create a test database");
        assert!(
            out.status.success(),
            "cannot create test database `{name}`: {}",
            stderr(&out)
        );
        let url = url::with_database(admin, &name);
        TestDb { name, url }
    }

    /// The URL of this database: the admin URL with the database name
    /// replaced, so user, password, host, port and query are kept.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `psql -X -v ON_ERROR_STOP=1 -f path` and returns its output
    /// without judging it, so tests can check failures too.
    pub fn psql_file(&self, path: &Path) -> Output {
        client("psql")
            .args(["-X", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-f"])
            .arg(path)
            .output()
            .expect("run psql -f")
    }

    /// Run a script with `psql -v ON_ERROR_STOP=1 -f`; panics with psql's
    /// stderr when it fails.
    pub fn run_script(&self, path: &Path) {
        let output = self.psql_file(path);
        assert!(
            output.status.success(),
            "psql -f {} failed:\n{}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Runs `sql` with `psql -At -c`, panicking with psql's stderr on
    /// failure, and returns the trimmed output.
    pub fn psql(&self, sql: &str) -> String {
        checked_psql(&self.url, sql, &format!("database `{}`", self.name))
    }

    /// Runs `sql` with `psql -At -c` and returns its output without judging it.
    pub fn try_psql(&self, sql: &str) -> Output {
        psql_command(&self.url)
            .args(["-At", "-c", sql])
            .output()
            .expect("run psql -c")
    }

    /// `pg_dump --schema-only --no-owner --no-privileges`, without the lines
    /// that differ between two dumps of the same schema: `-- Dumped from/by`
    /// and the `\restrict`/`\unrestrict` lines with random keys of newer
    /// pg_dump releases.
    pub fn schema_dump(&self) -> String {
        self.dump(&[])
    }

    /// [`TestDb::schema_dump`] without the bookkeeping tables
    /// (`__diesel_schema_migrations`, dmig's `__dmig_revisions`).
    pub fn schema_dump_without_version_table(&self) -> String {
        self.dump(&["-T", "__diesel_schema_migrations", "-T", "__dmig_revisions"])
    }

    /// The applied versions in `__diesel_schema_migrations`, in order; empty
    /// when the table does not exist.
    pub fn versions(&self) -> Vec<String> {
        if self.psql("SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL") != "t" {
            return Vec::new();
        }
        self.psql("SELECT version FROM __diesel_schema_migrations ORDER BY version")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The rows of dmig's companion table `__dmig_revisions`, in order, as
    /// `version up_sha256 down_sha256 applied_by` (`-` for a null); `None`
    /// when the table does not exist.
    pub fn companion_rows(&self) -> Option<Vec<String>> {
        if self.psql("SELECT to_regclass('__dmig_revisions') IS NOT NULL") != "t" {
            return None;
        }
        let rows = self.psql(
            "SELECT version || ' ' || up_sha256 || ' ' || coalesce(down_sha256, '-') || ' ' || applied_by \
             FROM __dmig_revisions ORDER BY version",
        );
        Some(rows.lines().map(str::to_owned).collect())
    }

    fn dump(&self, extra: &[&str]) -> String {
        let out = client("pg_dump")
            .args(["--schema-only", "--no-owner", "--no-privileges"])
            .args(extra)
            .args(["-d", &self.url])
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump of `{}` failed: {}",
            self.name,
            stderr(&out)
        );
        let text = String::from_utf8(out.stdout).expect("pg_dump output is UTF-8");
        text.lines()
            .filter(|line| {
                !(line.starts_with("-- Dumped from ")
                    || line.starts_with("-- Dumped by ")
                    || line.starts_with("\\restrict")
                    || line.starts_with("\\unrestrict"))
            })
            .flat_map(|line| [line, "\n"])
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // No panic here: Drop also runs while a failing test unwinds, and a
        // second panic would abort the whole test binary.
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        match psql_command(&server().admin_url)
            .args(["-c", &sql])
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "cannot drop test database `{}`: {}",
                self.name,
                stderr(&out)
            ),
            Err(error) => eprintln!("cannot run psql to drop `{}`: {error}", self.name),
        }
    }
}

fn database_name(hint: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    const PREFIX: &str = "dmig_";
    let suffix = format!(
        "_{}_{}",
        process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut stem: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        stem.push_str("db");
    }
    // ASCII only by now, so truncating by bytes cannot split a character.
    stem.truncate(63 - PREFIX.len() - suffix.len());
    format!("{PREFIX}{stem}{suffix}")
}
