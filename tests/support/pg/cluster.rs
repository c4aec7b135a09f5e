//! One init/start path for every cluster the tests start (the shared, TLS
//! and private ones): `initdb` in a fresh watched dir, settings for a local
//! throwaway server, and `pg_ctl start` on a free port of 127.0.0.1.

use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::binaries::{server_binaries, ServerBinaries};
use super::client::stderr;
use super::daemon::{free_port, is_root, server_command, server_dir, spawn_watchdog};

/// The free port we pick can be taken by someone else before postgres binds it.
const START_ATTEMPTS: u32 = 5;

/// A cluster initialised in a fresh dir (watched, so it goes away with this
/// process), configured but not yet started.
pub(super) struct NewCluster {
    pub(super) bin: &'static ServerBinaries,
    pub(super) as_root: bool,
    pub(super) dir: PathBuf,
    pub(super) data: PathBuf,
}

/// `initdb` a throwaway cluster: local only, durability traded for speed,
/// plus `settings` (postgresql.conf lines). `label` names it in errors.
pub(super) fn init_cluster(label: &str, settings: &str) -> Result<NewCluster, String> {
    let bin = server_binaries()?;
    let as_root = is_root();
    let dir = server_dir("dmig-pg", as_root)?;
    let data = dir.join("data");
    // Before anything runs in the dir, so a failed start is cleaned up too.
    spawn_watchdog(
        &dir,
        &immediate_stop(as_root, &bin.dir.join("pg_ctl"), &data),
    )?;

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
    pub(super) fn start_on_free_port(&self) -> Result<u16, String> {
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

/// `pg_ctl start -w` on `port`; the error carries pg_ctl's stderr and the log.
pub(super) fn pg_ctl_start(
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

/// The argv of `pg_ctl stop -m immediate` for the watchdog, as `nobody` when
/// we are root (pg_ctl refuses root too).
fn immediate_stop(as_root: bool, pg_ctl: &Path, data: &Path) -> Vec<OsString> {
    let mut argv = if as_root {
        super::daemon::unprivileged_prefix()
    } else {
        Vec::new()
    };
    argv.push(pg_ctl.into());
    argv.extend(["stop", "-m", "immediate", "-D"].map(OsString::from));
    argv.push(data.into());
    argv
}
