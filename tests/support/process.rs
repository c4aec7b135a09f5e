//! Processes a test runs alongside each other: `dmig` started in the
//! background with its output collected, and `psql` sessions held open on
//! a pipe (a long reader, an application query).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::support::pg;
use crate::support::project::Project;

/// A bound for waits on work that takes a second or two on an idle machine.
pub const GENEROUS: Duration = Duration::from_secs(60);

/// `dmig args` in the project, against `url`, as a plain process.
pub fn dmig(p: &Project, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("dmig"));
    cmd.current_dir(p.path())
        .env_remove("MIGRATION_DIRECTORY")
        .env_remove("DIESEL_CONFIG_FILE")
        .env_remove("DMIG_LOG")
        .env("DATABASE_URL", url)
        .args(args)
        .stdin(Stdio::null());
    cmd
}

/// A started process whose output threads collect, so it never blocks on a
/// full pipe; killed when dropped unfinished (a failing test).
pub struct Running {
    child: Child,
    output: Option<(JoinHandle<String>, JoinHandle<String>)>,
    started: Instant,
}

/// What a finished process did.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

fn collect(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Start `cmd` with its output collected.
pub fn spawn(mut cmd: Command) -> Running {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = collect(child.stdout.take().expect("piped stdout"));
    let stderr = collect(child.stderr.take().expect("piped stderr"));
    Running {
        child,
        output: Some((stdout, stderr)),
        started,
    }
}

impl Running {
    /// Wait for the exit; kill it and fail the test after `within`.
    pub fn finish(mut self, within: Duration) -> Finished {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll the child") {
                break status;
            }
            if self.started.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self
                    .output
                    .take()
                    .and_then(|(_, stderr)| stderr.join().ok())
                    .unwrap_or_default();
                panic!("the process did not finish within {within:?}; its stderr:\n{stderr}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.started.elapsed();
        let (stdout, stderr) = self.output.take().expect("output not taken yet");
        Finished {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
            elapsed,
        }
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL, as `kill -9`, and what it had printed.
    pub fn kill(mut self) -> Finished {
        self.child.kill().expect("SIGKILL the process");
        self.finish(GENEROUS)
    }

    /// Send `signal` (`INT`, `TERM`, `HUP`), as `kill -s` does.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} failed");
    }
}

/// Run `cmd` to its end (at most [`GENEROUS`]).
pub fn run(cmd: Command) -> Finished {
    spawn(cmd).finish(GENEROUS)
}

impl Finished {
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.success(),
            "the process failed ({}):\n{}",
            self.status,
            self.stderr
        );
        self
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "unexpected exit; stderr:\n{}",
            self.stderr
        );
        self
    }

    pub fn assert_no_panic(&self) -> &Self {
        assert!(
            !self.stderr.contains("panicked") && !self.stdout.contains("panicked"),
            "the process panicked:\n{}",
            self.stderr
        );
        self
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `psql` session kept open on a pipe, as an application's connection:
/// statements go in one by one, and a statement's one-line answer is read
/// back. Its session ends when dropped.
pub struct PsqlSession {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// The session's `pg_backend_pid()`.
    pub pid: i32,
}

impl PsqlSession {
    /// A session to `url` (its `application_name` is psql's).
    pub fn open(url: &str) -> PsqlSession {
        let mut child = Command::new(pg::pg_bin("psql"))
            .args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn psql");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut session = PsqlSession {
            child,
            stdin: Some(stdin),
            stdout,
            pid: 0,
        };
        session.pid = session
            .query("SELECT pg_backend_pid();")
            .parse()
            .expect("a pid");
        session
    }

    /// Send `sql` without waiting for anything.
    pub fn send(&mut self, sql: &str) {
        let stdin = self.stdin.as_mut().expect("open session");
        writeln!(stdin, "{sql}").expect("write to psql");
        stdin.flush().expect("flush psql's stdin");
    }

    /// Send `sql` and read the one line it prints.
    pub fn query(&mut self, sql: &str) -> String {
        self.send(sql);
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read psql's answer");
        line.trim().to_owned()
    }
}

impl Drop for PsqlSession {
    fn drop(&mut self) {
        // End of input ends the session (and rolls back what it holds).
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Poll `check` every 20 ms until it holds; fail the test after `within`.
pub fn wait_until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < within,
            "gave up after {within:?} waiting until {what}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
