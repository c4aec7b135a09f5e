//! What every throwaway server process of the tests needs, PostgreSQL's or
//! pgbouncer's: a temp dir of its own, a free port of 127.0.0.1, running as
//! `nobody` when we are root (both refuse to run as root), and a watchdog
//! that stops it and removes its dir once the test process is gone, because
//! Rust never drops statics and a killed test never runs `Drop`.

use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{self, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use super::binaries::which;
use super::client::stderr;

/// `program` ready to run in `dir` without stdin; as root, as `nobody`, so
/// that it never needs access to anything of ours outside `dir`.
pub(crate) fn server_command(as_root: bool, program: &Path, dir: &Path) -> Command {
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
pub(crate) fn unprivileged_prefix() -> Vec<OsString> {
    let prefix: &[&str] = if which("runuser").is_some() {
        &["runuser", "-u", "nobody", "--"]
    } else {
        &["su", "-s", "/bin/sh", "nobody", "-c", "exec \"$0\" \"$@\""]
    };
    prefix.iter().map(OsString::from).collect()
}

/// Runs `stop` (an argv) and removes `dir` once this process has exited,
/// however it exits. Its own process group keeps it alive through a Ctrl-C.
/// Spawn it before anything runs in `dir`, so a failed start is cleaned up too.
pub(crate) fn spawn_watchdog(dir: &Path, stop: &[OsString]) -> Result<(), String> {
    const SCRIPT: &str = r#"pid=$1 dir=$2; shift 2
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
"$@" >/dev/null 2>&1
rm -rf "$dir""#;
    Command::new("sh")
        .args(["-c", SCRIPT, "dmig-pg-watchdog"])
        .arg(process::id().to_string())
        .arg(dir)
        .args(stop)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|error| format!("cannot start the watchdog of `{}`: {error}", dir.display()))
}

/// A fresh dir `<tmp>/<prefix>-<pid>-<nanos>`, mode 0755, owned by `nobody`
/// when we are root so the server can write its files there.
pub(crate) fn server_dir(prefix: &str, as_root: bool) -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", process::id()));
    fs::create_dir(&dir)
        .and_then(|()| fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)))
        .map_err(|error| format!("cannot create `{}`: {error}", dir.display()))?;
    if as_root {
        chown_to_nobody(&dir)?;
    }
    Ok(dir)
}

/// Hand `path` to `nobody`, the user the servers run as when we are root.
pub(crate) fn chown_to_nobody(path: &Path) -> Result<(), String> {
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

/// A port of 127.0.0.1 free right now. Someone can take it before our server
/// binds it, so callers retry with another when the bind fails.
pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))
}

pub(crate) fn is_root() -> bool {
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
