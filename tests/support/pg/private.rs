//! [`PrivateServer`]: a cluster for one test alone, which it may stop and
//! start again (crash and reconnect tests) without disturbing the tests that
//! share the main server.

use std::fs;
use std::path::PathBuf;
use std::process::Stdio;

use super::client::{checked_psql, stderr};
use super::cluster::{init_cluster, pg_ctl_start};
use super::daemon::server_command;

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

impl PrivateServer {
    /// Restart the server as a standby (a `standby.signal` and no primary
    /// to follow): it stays in recovery, answering read-only sessions, as a
    /// hot standby does.
    pub fn restart_as_standby(&self) {
        self.stop();
        fs::write(self.data.join("standby.signal"), "").expect("write standby.signal");
        self.start_again();
        assert_eq!(self.psql("postgres", "SELECT pg_is_in_recovery()"), "t");
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
