//! A throwaway pgbouncer in front of a test server, for the tests of dmig
//! behind a connection pooler (where session state, advisory locks and
//! prepared statements behave differently in transaction mode).
//!
//! Each [`PgBouncer`] is a process of its own: its ini, auth, pid and log
//! files sit in a fresh temp dir (owned by `nobody` when we are root, since
//! pgbouncer refuses to run as root), it listens on a free port of 127.0.0.1
//! and no unix socket, and it is killed and its dir removed in `Drop`, or by
//! the watchdog if the test process dies first. It never touches the system
//! pgbouncer that Debian's package may have started (other port, other pid
//! and config files).

#![allow(dead_code)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::support::pg::daemon::{free_port, is_root, server_command, server_dir, spawn_watchdog};
use crate::support::pg::{checked_psql, stderr, which};

const INSTALL_HINT: &str = "install it with `apt-get install pgbouncer` (.ci/run does)";
/// The free port we pick can be taken by someone else before pgbouncer binds it.
const START_ATTEMPTS: u32 = 5;
/// `pgbouncer -d` returns before it listens; this bounds the wait for it.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How pgbouncer hands server connections to clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    /// A client keeps one server connection until it disconnects.
    Session,
    /// A client holds a server connection only for one transaction.
    Transaction,
}

impl PoolMode {
    /// The `pool_mode` value in pgbouncer.ini.
    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
        }
    }
}

/// A running pgbouncer whose `[databases] *` wildcard forwards every database
/// name to one upstream server. Auth is `trust`, and the only user it knows
/// is `postgres` (the test clusters' superuser).
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
    pid: u32,
    mode: PoolMode,
}

impl PgBouncer {
    /// Starts pgbouncer in front of `upstream_host:upstream_port` (a host
    /// name, an address, or a unix socket dir), panicking with the reason on
    /// failure, and with how to install it when it is not installed.
    pub fn start(upstream_host: &str, upstream_port: u16, mode: PoolMode) -> PgBouncer {
        start_pgbouncer(upstream_host, upstream_port, mode)
            .unwrap_or_else(|message| panic!("{message}"))
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The pid of the pgbouncer process.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The pool mode it was started with.
    pub fn mode(&self) -> PoolMode {
        self.mode
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`, through pgbouncer.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `sql` on `database` through pgbouncer with `psql -At -c`,
    /// panicking with psql's stderr on failure; returns the trimmed output.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        checked_psql(&self.url(database), sql, "pgbouncer")
    }

    /// Runs an admin console command (`SHOW POOLS`, `SHOW CONFIG`, ...) on
    /// pgbouncer's own `pgbouncer` database.
    pub fn admin(&self, command: &str) -> String {
        checked_psql(&self.url("pgbouncer"), command, "the pgbouncer console")
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // No panic here: Drop also runs while a failing test unwinds.
        // SIGKILL, because what SIGTERM means changed in pgbouncer 1.23 (from
        // immediate to wait-for-clients), and nothing of a test pooler needs
        // a graceful end: the kernel closes its sockets.
        match Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .output()
        {
            Ok(out) if out.status.success() => wait_until_gone(self.pid),
            Ok(out) => eprintln!("cannot kill pgbouncer {}: {}", self.pid, stderr(&out)),
            Err(error) => eprintln!("cannot run kill for pgbouncer {}: {error}", self.pid),
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The variable that makes a missing pgbouncer a failure (`.ci/run` sets it).
pub const REQUIRE_ENV: &str = "DMIG_TEST_REQUIRE_PGBOUNCER";

/// Whether the tests that need pgbouncer can run. `cargo test` on a machine
/// with only the PostgreSQL server needs to pass (the README's command), so
/// without pgbouncer they say so on stderr and return early; with
/// `DMIG_TEST_REQUIRE_PGBOUNCER=1`, as in CI, they run and fail with the
/// install hint instead.
pub fn usable(test: &str) -> bool {
    if which("pgbouncer").is_some() || std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1") {
        return true;
    }
    eprintln!(
        "skipped {test}: pgbouncer is not installed ({INSTALL_HINT}; {REQUIRE_ENV}=1 makes this a failure)"
    );
    false
}

fn start_pgbouncer(host: &str, upstream_port: u16, mode: PoolMode) -> Result<PgBouncer, String> {
    let program = which("pgbouncer").ok_or_else(|| {
        format!("pgbouncer is not installed (not on PATH nor in /usr/sbin); {INSTALL_HINT}")
    })?;
    // The value goes into a libpq-style `key=value` list unquoted.
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || "'\"=\\".contains(c)) {
        return Err(format!("unusable upstream host `{host}` for pgbouncer"));
    }
    let as_root = is_root();
    let dir = server_dir("dmig-pgbouncer", as_root)?;
    let pidfile = dir.join("pgbouncer.pid");
    spawn_watchdog(&dir, &kill_by_pidfile(&pidfile))?;
    let auth_file = dir.join("userlist.txt");
    // With `trust` pgbouncer checks no password, but the user must be listed.
    write(&auth_file, "\"postgres\" \"\"\n")?;

    let ini = dir.join("pgbouncer.ini");
    let log = dir.join("pgbouncer.log");
    for attempt in 1..=START_ATTEMPTS {
        let port = free_port()?;
        write(&ini, &config(host, upstream_port, mode, port, &dir))?;
        // A file left by an earlier attempt must not pass for this one's.
        let _ = fs::remove_file(&log);
        let _ = fs::remove_file(&pidfile);
        let out = server_command(as_root, &program, &dir)
            .arg("-d")
            .arg(&ini)
            .output()
            .map_err(|error| format!("cannot run `{}`: {error}", program.display()))?;
        if !out.status.success() {
            return Err(format!(
                "pgbouncer -d failed: {}\n{}",
                stderr(&out),
                fs::read_to_string(&log).unwrap_or_default()
            ));
        }
        match wait_until_listening(&log, &pidfile, port)? {
            Some(pid) => {
                return Ok(PgBouncer {
                    dir,
                    port,
                    pid,
                    mode,
                })
            }
            None if attempt < START_ATTEMPTS => continue,
            None => break,
        }
    }
    Err(format!(
        "pgbouncer found no free port in {START_ATTEMPTS} attempts:\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    ))
}

/// pgbouncer.ini for one instance. Every path is in `dir`, and there is no
/// unix socket, so nothing can collide with a system pgbouncer.
fn config(host: &str, upstream_port: u16, mode: PoolMode, port: u16, dir: &Path) -> String {
    let dir = dir.display();
    format!(
        "; dmig test pgbouncer\n\
         [databases]\n\
         * = host={host} port={upstream_port}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = trust\n\
         auth_file = {dir}/userlist.txt\n\
         admin_users = postgres\n\
         pool_mode = {}\n\
         pidfile = {dir}/pgbouncer.pid\n\
         logfile = {dir}/pgbouncer.log\n\
         max_client_conn = 200\n\
         default_pool_size = 20\n\
         ; the default 15 s would stall tests that restart the upstream server\n\
         server_login_retry = 1\n",
        mode.as_str()
    )
}

/// Waits for the log line saying pgbouncer listens on `port`, and returns
/// its pid; `None` when someone else had taken the port (try another).
fn wait_until_listening(log: &Path, pidfile: &Path, port: u16) -> Result<Option<u32>, String> {
    let listening = format!("listening on 127.0.0.1:{port}");
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let text = fs::read_to_string(log).unwrap_or_default();
        if text.contains("Address already in use") {
            return Ok(None);
        }
        if text.contains("FATAL") {
            return Err(format!("pgbouncer did not start:\n{text}"));
        }
        let pid = fs::read_to_string(pidfile)
            .ok()
            .and_then(|pid| pid.trim().parse().ok());
        if let (Some(pid), true) = (pid, text.lines().any(|line| line.ends_with(&listening))) {
            return Ok(Some(pid));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "pgbouncer did not listen on 127.0.0.1:{port} within {} s:\n{text}",
                READY_TIMEOUT.as_secs()
            ));
        }
        sleep(Duration::from_millis(20));
    }
}

/// The watchdog's argv: kill whatever pid the pidfile names, if any.
fn kill_by_pidfile(pidfile: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = [
        "sh",
        "-c",
        r#"pid=$(cat "$1" 2>/dev/null) && kill -KILL "$pid""#,
        "dmig-pgbouncer-stop",
    ]
    .map(OsString::from)
    .to_vec();
    argv.push(pidfile.into());
    argv
}

/// Waits (at most 5 s) until `pid` is gone or a zombie: nothing may reap
/// a daemon whose parent exited (PID 1 of a container often does not).
fn wait_until_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let stat = format!("/proc/{pid}/stat");
    while Instant::now() < deadline {
        match fs::read_to_string(&stat) {
            // The state follows the `(comm)` field, which may hold spaces.
            Ok(text)
                if text
                    .rsplit_once(") ")
                    .is_some_and(|(_, rest)| !rest.starts_with('Z')) =>
            {
                sleep(Duration::from_millis(20));
            }
            _ => return,
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|error| format!("cannot write `{}`: {error}", path.display()))
}
