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
//! Each test gets its own database from [`TestDb::new`], dropped in `Drop`.
//! Admin work goes through the `psql` binary, so no driver is needed here.

// Not every test module uses every helper.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{self, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const URL_ENV: &str = "DMIG_TEST_DATABASE_URL";
const INSTALL_HINT: &str = "install them with `apt-get install postgresql`, \
    or set DMIG_TEST_DATABASE_URL to the admin URL of a running server";
/// The free port we pick can be taken by someone else before postgres binds it.
const START_ATTEMPTS: u32 = 5;
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

/// Locates a PostgreSQL client binary such as `psql` or `pg_dump`.
///
/// Looks under `/usr/lib/postgresql/*/bin`, `/usr/pgsql-*/bin` and `PATH`, and
/// prefers the binary of the server's major version, else the closest newer
/// one, since `pg_dump` refuses servers newer than itself. Starts the
/// throwaway cluster if it is not running yet.
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
    match find_client(name, Some(major)) {
        Ok(path) => {
            found.insert(name.to_owned(), path.clone());
            path
        }
        Err(message) => panic!("{message}"),
    }
}

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
        let url = with_database(admin, &name);
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

    /// [`TestDb::schema_dump`] without the `__diesel_schema_migrations` table.
    pub fn schema_dump_without_version_table(&self) -> String {
        self.dump(&["-T", "__diesel_schema_migrations"])
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

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("not a postgres:// URL: `{}`", redact(url)));
    let (before_query, query) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
    let authority = before_query
        .split_once('/')
        .map_or(before_query, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

/// `url` with its password hidden, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// A client binary ready to run: no stdin, and a connect timeout.
fn client(name: &str) -> Command {
    let mut cmd = Command::new(pg_bin(name));
    cmd.env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .stdin(Stdio::null());
    cmd
}

fn psql_command(url: &str) -> Command {
    let mut cmd = client("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url]);
    cmd
}

fn checked_psql(url: &str, sql: &str, what: &str) -> String {
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

fn external_server(url: &str) -> Result<Server, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "{URL_ENV} must be a postgres:// URL, not `{}`",
            redact(url)
        ));
    }
    let psql = find_client("psql", None)?;
    let out = Command::new(&psql)
        .args(["-X", "-At", "-d", url, "-c", "SHOW server_version_num"])
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{}`: {error}", psql.display()))?;
    if !out.status.success() {
        return Err(format!(
            "cannot connect to {URL_ENV} ({}): {}",
            redact(url),
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

/// A directory with `initdb`, `pg_ctl` and `postgres` of one release.
struct ServerBinaries {
    dir: PathBuf,
    major: u32,
}

fn start_cluster() -> Result<Server, String> {
    let started = Instant::now();
    let cluster = init_cluster("", "max_connections = 200\n")?;
    let port = cluster.start_on_free_port()?;
    eprintln!(
        "dmig tests: PostgreSQL {} cluster on 127.0.0.1:{port} in {} (ready in {} ms)",
        cluster.bin.major,
        cluster.dir.display(),
        started.elapsed().as_millis()
    );
    Ok(Server {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        major: cluster.bin.major,
    })
}

/// A cluster initialised in a fresh dir (watched, so it goes away with this
/// process), configured but not yet started.
struct NewCluster {
    bin: ServerBinaries,
    as_root: bool,
    dir: PathBuf,
    data: PathBuf,
}

/// `initdb` a throwaway cluster: local only, durability traded for speed,
/// plus `settings` (postgresql.conf lines). `label` names it in errors.
fn init_cluster(label: &str, settings: &str) -> Result<NewCluster, String> {
    let bin = server_binaries()?;
    let as_root = is_root();
    let dir = cluster_dir(as_root)?;
    // Before anything runs in the dir, so a failed start is cleaned up too.
    spawn_watchdog(&dir, &bin.dir.join("pg_ctl"), as_root)?;

    let data = dir.join("data");
    let out = server_command(as_root, &bin.dir.join("initdb"), &dir)
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
        .arg("--no-sync")
        .output()
        .map_err(|error| format!("cannot run initdb: {error}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb of the {label}cluster in `{}` failed (as root the dir must be reachable \
             by `nobody`; try TMPDIR=/tmp): {}",
            data.display(),
            stderr(&out)
        ));
    }

    let socket_dir = dir.display().to_string().replace('\'', "''");
    let settings = format!(
        "\n# dmig test cluster: local only, durability traded for speed\n\
         listen_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{socket_dir}'\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         {settings}"
    );
    fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut conf| conf.write_all(settings.as_bytes()))
        .map_err(|error| format!("cannot write postgresql.conf: {error}"))?;
    Ok(NewCluster {
        bin,
        as_root,
        dir,
        data,
    })
}

impl NewCluster {
    /// Start on a free port of 127.0.0.1, trying another when someone took
    /// the one we picked before postgres could bind it.
    fn start_on_free_port(&self) -> Result<u16, String> {
        let pg_ctl = self.bin.dir.join("pg_ctl");
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port()?;
            match pg_ctl_start(self.as_root, &pg_ctl, &self.dir, &self.data, port) {
                Ok(()) => return Ok(port),
                Err(message) => {
                    let port_taken = message.contains("could not bind")
                        || message.contains("Address already in use");
                    if !port_taken || attempt == START_ATTEMPTS {
                        return Err(format!("pg_ctl start failed: {message}"));
                    }
                }
            }
        }
        unreachable!("the last attempt returns")
    }
}

/// `initdb` and `postgres` refuse to run as root, so as root they run as
/// `nobody`, in the cluster dir so they never need access to ours.
fn server_command(as_root: bool, program: &Path, dir: &Path) -> Command {
    let mut argv = if as_root {
        unprivileged_prefix()
    } else {
        Vec::new()
    };
    argv.push(program.into());
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(dir).stdin(Stdio::null());
    cmd
}

/// The argv prefix that runs a command as `nobody`: `runuser` (util-linux),
/// else `su`, which passes the program and its args to `sh` unquoted.
fn unprivileged_prefix() -> Vec<OsString> {
    let prefix: &[&str] = if which("runuser").is_some() {
        &["runuser", "-u", "nobody", "--"]
    } else {
        &["su", "-s", "/bin/sh", "nobody", "-c", "exec \"$0\" \"$@\""]
    };
    prefix.iter().map(OsString::from).collect()
}

/// Stops the cluster and removes `dir` once this process has exited, however
/// it exits. Its own process group keeps it alive through a Ctrl-C.
fn spawn_watchdog(dir: &Path, pg_ctl: &Path, as_root: bool) -> Result<(), String> {
    const SCRIPT: &str = r#"pid=$1 dir=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
"$@" >/dev/null 2>&1
rm -rf "$dir""#;
    let mut cmd = Command::new("sh");
    cmd.args(["-c", SCRIPT, "dmig-pg-watchdog"])
        .arg(process::id().to_string())
        .arg(dir);
    if as_root {
        cmd.args(unprivileged_prefix());
    }
    cmd.arg(pg_ctl)
        .args(["stop", "-m", "immediate", "-D"])
        .arg(dir.join("data"))
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|error| format!("cannot start the cluster watchdog: {error}"))
}

fn cluster_dir(as_root: bool) -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("dmig-pg-{}-{nanos}", process::id()));
    fs::create_dir(&dir)
        .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)))
        .map_err(|error| format!("cannot create `{}`: {error}", dir.display()))?;
    if as_root {
        chown_to_nobody(&dir)?;
    }
    Ok(dir)
}

/// Hand `path` to `nobody`, the user the servers run as when we are root.
fn chown_to_nobody(path: &Path) -> Result<(), String> {
    let out = Command::new("chown")
        .arg("nobody")
        .arg(path)
        .output()
        .map_err(|error| format!("cannot run chown: {error}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "cannot chown `{}` to nobody: {}",
            path.display(),
            stderr(&out)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))
}

fn is_root() -> bool {
    // The effective uid is the third field of `Uid:` in /proc/self/status.
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|line| line.starts_with("Uid:")) {
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The newest release whose `initdb`, `pg_ctl` and `postgres` sit together.
/// Symlinks (such as `/usr/local/bin/initdb`) are followed to the real
/// directory, because `pg_ctl` looks for `postgres` beside itself.
fn server_binaries() -> Result<ServerBinaries, String> {
    let mut best: Option<ServerBinaries> = None;
    let mut seen = Vec::new();
    for dir in versioned_dirs().into_iter().chain(path_dirs()) {
        let Ok(initdb) = fs::canonicalize(dir.join("initdb")) else {
            continue;
        };
        let Some(dir) = initdb.parent().map(Path::to_path_buf) else {
            continue;
        };
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir.clone());
        if !["pg_ctl", "postgres"]
            .iter()
            .all(|name| is_executable(&dir.join(name)))
        {
            continue;
        }
        let Some(major) = major_version(&initdb) else {
            continue;
        };
        if best.as_ref().is_none_or(|best| major > best.major) {
            best = Some(ServerBinaries { dir, major });
        }
    }
    best.ok_or_else(|| {
        format!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH \
             or under /usr/lib/postgresql/*/bin; {INSTALL_HINT}"
        )
    })
}

/// Finds client binary `name`: the one of `server_major`, else the closest
/// newer, else the newest. Paths are kept as found, not canonicalized:
/// Debian's `/usr/bin/psql` is a link to `pg_wrapper`, which dispatches on
/// the name it was called by.
fn find_client(name: &str, server_major: Option<u32>) -> Result<PathBuf, String> {
    let mut seen = Vec::new();
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for dir in versioned_dirs().into_iter().chain(path_dirs()) {
        let path = dir.join(name);
        if !is_executable(&path) {
            continue;
        }
        let real = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&real) {
            continue;
        }
        seen.push(real);
        if let Some(major) = major_version(&path) {
            found.push((major, path));
        }
    }
    // `min_by_key` keeps the first of equals, so a versioned dir beats a
    // PATH entry of the same release.
    let newest = || found.iter().min_by_key(|(major, _)| Reverse(*major));
    let pick = match server_major {
        Some(server) => found
            .iter()
            .find(|(major, _)| *major == server)
            .or_else(|| {
                found
                    .iter()
                    .filter(|(major, _)| *major > server)
                    .min_by_key(|(major, _)| *major)
            })
            .or_else(newest),
        None => newest(),
    };
    pick.map(|(_, path)| path.clone()).ok_or_else(|| {
        format!(
            "no PostgreSQL `{name}` found on PATH or under /usr/lib/postgresql/*/bin; \
             {INSTALL_HINT}"
        )
    })
}

/// `bin` dirs of installed releases, newest first: Debian's
/// `/usr/lib/postgresql/<ver>/bin` and PGDG RPM's `/usr/pgsql-<ver>/bin`.
fn versioned_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(Vec<u32>, PathBuf)> = Vec::new();
    let roots: [(&str, &str, &str); 2] = [
        ("/usr/lib/postgresql", "", "bin"),
        ("/usr", "pgsql-", "bin"),
    ];
    for (root, prefix, bin) in roots {
        let Ok(entries) = fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(version) = name.strip_prefix(prefix) else {
                continue;
            };
            let Ok(version) = version
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
            else {
                continue;
            };
            dirs.push((version, entry.path().join(bin)));
        }
    }
    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    dirs.into_iter().map(|(_, dir)| dir).collect()
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default()
}

/// `name` on PATH or in the sbin dirs, which a non-login root PATH may lack.
fn which(name: &str) -> Option<PathBuf> {
    path_dirs()
        .into_iter()
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The major version from `<bin> --version`, e.g. 15 from
/// `psql (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` or 17 from `17devel`.
fn major_version(bin: &Path) -> Option<u32> {
    let out = Command::new(bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let token = text
        .split_whitespace()
        .find(|token| token.starts_with(|c: char| c.is_ascii_digit()))?;
    let digits: String = token.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

// ---------------------------------------------------------------------------
// A second throwaway cluster with TLS, for the connection tests.

/// The role on the TLS cluster that logs in with a password (`scram-sha-256`).
pub const TLS_PASSWORD_USER: &str = "dmig_scram";
/// Its password.
pub const TLS_PASSWORD: &str = "correct-horse-battery";
/// The role on the TLS cluster that logs in with a client certificate (`cert`).
pub const TLS_CERT_USER: &str = "dmig_cert";

/// A throwaway cluster with `ssl = on`, always started by the tests (even
/// with `DMIG_TEST_DATABASE_URL` set), once per test process, on a free port
/// of 127.0.0.1, and stopped by the same watchdog as the main cluster.
///
/// Its certificates are made with rcgen at start: a CA, a server
/// certificate for `localhost` and `127.0.0.1`, a client certificate for
/// [`TLS_CERT_USER`], and a second CA that signed nothing the server uses.
/// `pg_hba.conf`: [`TLS_CERT_USER`] only over TLS with `cert`,
/// [`TLS_PASSWORD_USER`] with `scram-sha-256`, everyone else `trust`.
pub struct TlsServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// PEM of the CA that signed the server and client certificates.
    pub ca_cert: PathBuf,
    /// PEM of an unrelated CA.
    pub other_ca_cert: PathBuf,
    /// PEM client certificate for [`TLS_CERT_USER`], signed by `ca_cert`.
    pub client_cert: PathBuf,
    /// Its PKCS#8 PEM key.
    pub client_key: PathBuf,
}

impl TlsServer {
    /// `postgres://user[:password]@host:port/postgres` followed by `query`
    /// (give it with its `?`).
    pub fn url(&self, host: &str, user: &str, password: Option<&str>, query: &str) -> String {
        let password = password.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "postgres://{user}{password}@{host}:{}/postgres{query}",
            self.port
        )
    }

    /// A path as a URL query value (percent-encoded).
    pub fn query_path(path: &Path) -> String {
        let mut out = String::new();
        for byte in path.display().to_string().bytes() {
            if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
}

/// The TLS cluster, started on first use.
pub fn tls_server() -> &'static TlsServer {
    static TLS_SERVER: OnceLock<Result<TlsServer, String>> = OnceLock::new();
    match TLS_SERVER.get_or_init(start_tls_cluster) {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

/// The test server's admin URL with its database replaced by `database`.
pub fn admin_url_with_database(database: &str) -> String {
    with_database(&server().admin_url, database)
}

/// The PEM files of the TLS cluster, made with rcgen.
struct TlsFiles {
    ca_cert: String,
    other_ca_cert: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn make_tls_files() -> Result<TlsFiles, rcgen::Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    fn ca(name: &str) -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        CertifiedIssuer::self_signed(params, KeyPair::generate()?)
    }
    let ca_issuer = ca("dmig test ca")?;
    let other_ca = ca("dmig unrelated ca")?;

    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &ca_issuer)?;

    let mut client = CertificateParams::new(Vec::new())?;
    client
        .distinguished_name
        .push(DnType::CommonName, TLS_CERT_USER);
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate()?;
    let client_cert = client.signed_by(&client_key, &ca_issuer)?;

    Ok(TlsFiles {
        ca_cert: ca_issuer.pem(),
        other_ca_cert: other_ca.pem(),
        server_cert: server_cert.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    })
}

fn write_file(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    fs::write(path, text)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(mode)))
        .map_err(|error| format!("cannot write `{}`: {error}", path.display()))
}

fn start_tls_cluster() -> Result<TlsServer, String> {
    let started = Instant::now();
    let cluster = init_cluster("TLS ", "")?;
    let (bin, as_root, dir, data) = (&cluster.bin, cluster.as_root, &cluster.dir, &cluster.data);

    let files = make_tls_files().map_err(|error| format!("rcgen failed: {error}"))?;
    // The server's files sit beside the data dir; postgres wants its key
    // owned by the user it runs as, mode 0600.
    let server_cert = dir.join("server.crt");
    let server_key = dir.join("server.key");
    let server_ca = dir.join("ca.crt");
    write_file(&server_cert, &files.server_cert, 0o644)?;
    write_file(&server_key, &files.server_key, 0o600)?;
    write_file(&server_ca, &files.ca_cert, 0o644)?;
    if as_root {
        chown_to_nobody(&server_key)?;
    }
    let client_dir = dir.join("client");
    fs::create_dir(&client_dir)
        .map_err(|error| format!("cannot create `{}`: {error}", client_dir.display()))?;
    let ca_cert = client_dir.join("ca.crt");
    let other_ca_cert = client_dir.join("other-ca.crt");
    let client_cert = client_dir.join("client.crt");
    let client_key = client_dir.join("client.key");
    write_file(&ca_cert, &files.ca_cert, 0o644)?;
    write_file(&other_ca_cert, &files.other_ca_cert, 0o644)?;
    write_file(&client_cert, &files.client_cert, 0o644)?;
    write_file(&client_key, &files.client_key, 0o600)?;

    let quote = |path: &Path| path.display().to_string().replace('\'', "''");
    let settings = format!(
        "max_connections = 50\n\
         ssl = on\n\
         ssl_cert_file = '{}'\n\
         ssl_key_file = '{}'\n\
         ssl_ca_file = '{}'\n",
        quote(&server_cert),
        quote(&server_key),
        quote(&server_ca)
    );
    fs::OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .and_then(|mut conf| conf.write_all(settings.as_bytes()))
        .map_err(|error| format!("cannot write postgresql.conf: {error}"))?;
    // First match wins. Truncating keeps the file's owner (the server's user).
    let hba = format!(
        "local   all  all                        trust\n\
         hostssl all  {TLS_CERT_USER}      127.0.0.1/32  cert\n\
         host    all  {TLS_CERT_USER}      127.0.0.1/32  reject\n\
         host    all  {TLS_PASSWORD_USER}     127.0.0.1/32  scram-sha-256\n\
         host    all  all                127.0.0.1/32  trust\n"
    );
    fs::write(data.join("pg_hba.conf"), hba)
        .map_err(|error| format!("cannot write pg_hba.conf: {error}"))?;

    let port = cluster.start_on_free_port()?;

    let psql = find_client("psql", Some(bin.major))?;
    let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let sql = format!(
        "CREATE ROLE {TLS_PASSWORD_USER} LOGIN PASSWORD '{TLS_PASSWORD}'; \
         CREATE ROLE {TLS_CERT_USER} LOGIN;"
    );
    let out = Command::new(&psql)
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &admin,
            "-c",
            &sql,
        ])
        .env("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECS)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run `{}`: {error}", psql.display()))?;
    if !out.status.success() {
        return Err(format!(
            "cannot create the roles of the TLS cluster: {}",
            stderr(&out)
        ));
    }
    eprintln!(
        "dmig tests: PostgreSQL {} TLS cluster on 127.0.0.1:{port} in {} (ready in {} ms)",
        bin.major,
        dir.display(),
        started.elapsed().as_millis()
    );
    Ok(TlsServer {
        port,
        ca_cert,
        other_ca_cert,
        client_cert,
        client_key,
    })
}

// ---------------------------------------------------------------------------
// A private cluster that one test may stop and start.

/// A throwaway cluster for one test alone, always started by the tests (even
/// with `DMIG_TEST_DATABASE_URL` set), so that it can be stopped and started
/// again without disturbing the tests that share the main server. It listens
/// on a free port of 127.0.0.1 with `trust` auth, is stopped and removed in
/// `Drop`, and by the same watchdog as the main cluster if the test process
/// dies first.
pub struct PrivateServer {
    dir: PathBuf,
    data: PathBuf,
    pg_ctl: PathBuf,
    as_root: bool,
    port: u16,
}

impl PrivateServer {
    /// Creates and starts the cluster, panicking with the reason on failure.
    pub fn start() -> PrivateServer {
        start_private_cluster().unwrap_or_else(|message| panic!("{message}"))
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` on `database` with `psql -At -c`, panicking with psql's
    /// stderr on failure, and returns the trimmed output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        checked_psql(&self.url(database), sql, "the private cluster")
    }

    /// `pg_ctl stop -m fast`: open sessions are terminated, as in a
    /// maintenance shutdown. Waits until the server is down.
    pub fn stop(&self) {
        let out = server_command(self.as_root, &self.pg_ctl, &self.dir)
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-t", "60", "-m", "fast", "stop"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success(),
            "pg_ctl stop of the private cluster failed: {}",
            stderr(&out)
        );
    }

    /// Starts the stopped server again on the same port; waits until it
    /// accepts connections.
    pub fn start_again(&self) {
        if let Err(message) =
            pg_ctl_start(self.as_root, &self.pg_ctl, &self.dir, &self.data, self.port)
        {
            panic!("restarting the private cluster failed: {message}");
        }
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        // No panic here: Drop also runs while a failing test unwinds.
        let stopped = server_command(self.as_root, &self.pg_ctl, &self.dir)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(error) = stopped {
            eprintln!("cannot run pg_ctl to stop the private cluster: {error}");
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `pg_ctl start -w` on `port`; the error carries pg_ctl's stderr and the log.
fn pg_ctl_start(
    as_root: bool,
    pg_ctl: &Path,
    dir: &Path,
    data: &Path,
    port: u16,
) -> Result<(), String> {
    let log = dir.join("server.log");
    let _ = fs::remove_file(&log);
    let out = server_command(as_root, pg_ctl, dir)
        .arg("-D")
        .arg(data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "60", "-o", &format!("-p {port}"), "start"])
        .output()
        .map_err(|error| format!("cannot run pg_ctl: {error}"))?;
    if out.status.success() {
        return Ok(());
    }
    let log_text = fs::read_to_string(&log).unwrap_or_default();
    Err(format!("{}\n{log_text}", stderr(&out)))
}

fn start_private_cluster() -> Result<PrivateServer, String> {
    let cluster = init_cluster("private ", "max_connections = 30\nshared_buffers = 16MB\n")?;
    let port = cluster.start_on_free_port()?;
    Ok(PrivateServer {
        pg_ctl: cluster.bin.dir.join("pg_ctl"),
        dir: cluster.dir,
        data: cluster.data,
        as_root: cluster.as_root,
        port,
    })
}
