//! The seam between the runner and a database system. The runner (lock,
//! plan, apply, report) is written once against [`Backend`]; each database
//! implements it on its diesel-async connection type: PostgreSQL on
//! `AsyncPgConnection` ([`super::pg`]). MySQL (`AsyncMysqlConnection`) and
//! SQLite (`SyncConnectionWrapper<SqliteConnection>`) fit the same shape:
//! both are `AsyncConnection`s that diesel-async pools with bb8 and that
//! `AsyncMigrationHarness` drives; MySQL's lock is `GET_LOCK(name, 0)` polled
//! on its own session, SQLite's a lock file or `BEGIN IMMEDIATE` on a
//! connection of its own, and their version tables are Diesel's too.
//!
//! Transaction control needs nothing here: diesel-async's
//! `AsyncConnection::TransactionManager` is generic already.

use std::fmt;
use std::future::Future;

use diesel_async::pooled_connection::PoolError;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, SimpleAsyncConnection};

use super::{ConnectOptions, OnlineError};
use crate::dialect::{Dialect, VersionTable};
use crate::model::{Applied, Recorded};

/// Who holds the migration lock, as far as the database can tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockHolder {
    /// The holder's server process (PostgreSQL's backend pid).
    pub pid: Option<i64>,
    /// Its `application_name` (`dmig`, `psql`, ...), when set.
    pub application: Option<String>,
    /// Its client address, when it connected over TCP.
    pub client: Option<String>,
}

impl fmt::Display for LockHolder {
    /// `pid 4711 (psql, 10.0.0.5)`; parts the database did not say are left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid}")?,
            None => f.write_str("another session")?,
        }
        let details: Vec<String> = [&self.application, &self.client]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .map(|s| crate::model::printable(s).into_owned())
            .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        Ok(())
    }
}

/// The version table as a run found it, with what decides how it can be
/// read and written: tables altered by hand differ from Diesel's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTable {
    /// The table, schema-qualified.
    pub table: VersionTable,
    /// Whether it has Diesel's `run_on` column (rows read without it say
    /// nothing of when they were applied).
    pub has_run_on: bool,
    /// Columns other than `version` that are NOT NULL without a default:
    /// the version row Diesel writes (`version` only) cannot fill them.
    pub unfillable: Vec<String>,
}

/// Why the database refuses writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOnly {
    /// A standby in recovery: only the primary takes writes.
    Standby,
    /// `transaction_read_only` is on (`default_transaction_read_only` set
    /// for the database, the role or the connection).
    Setting,
}

/// What a revision's statement waits for, as the lock's session saw it
/// while the statement waited (`pg_locks`, `pg_blocking_pids`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockWait {
    /// What it waits to lock: `table public.t`, `transaction 1234`, ...
    pub object: String,
    /// The lock mode asked for (`AccessExclusiveLock`), when known.
    pub mode: Option<String>,
    /// The sessions it waits for (holders, or sessions queued ahead).
    pub blockers: Vec<LockHolder>,
    /// How long the statement had waited when seen.
    pub waited: std::time::Duration,
}

impl fmt::Display for LockWait {
    /// `a lock on table public.t held by pid 4711 (psql, 10.0.0.5)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a lock on {}", crate::model::printable(&self.object))?;
        if !self.blockers.is_empty() {
            let blockers: Vec<String> = self.blockers.iter().map(|b| b.to_string()).collect();
            write!(f, " held by {}", blockers.join(", "))?;
        }
        Ok(())
    }
}

/// What differs per database system, implemented on its diesel-async
/// connection type. Every method works on one session; the runner decides
/// which session does what (one holds the lock, one migrates) and when.
pub trait Backend: AsyncConnection + SimpleAsyncConnection + Send + Sized + 'static {
    /// The session state a run saves at its start and restores after a
    /// revision that may have changed it (PostgreSQL: `search_path`).
    type SessionState: Send + Sync;

    /// The bb8 connection manager [`Backend::connect_pool`] builds on
    /// (diesel-async's `AsyncDieselConnectionManager`).
    type Manager: Manager<Connection = Self>;

    /// A work session the harness can own on a thread of its own, opened by
    /// [`Backend::dedicated_session`] on first use (PostgreSQL:
    /// [`super::pg::local::LocalSession`]).
    type Dedicated: AsyncConnection<Backend = <Self as diesel_async::AsyncConnectionCore>::Backend>
        + Send
        + 'static;

    /// The database system's name, for messages.
    const NAME: &'static str;

    /// The bookkeeping SQL of this database system.
    fn dialect() -> &'static dyn Dialect;

    /// Open a pool with the two sessions a run needs (one holds the lock,
    /// one migrates), both opened right away so that a wrong host, password
    /// or database fails at once with a message naming them (never the
    /// password).
    fn connect_pool(
        url: &str,
        options: &ConnectOptions,
    ) -> impl Future<Output = Result<bb8::Pool<Self::Manager>, OnlineError>> + Send;

    /// A work session to `url` for [`Backend::Dedicated`]; it connects when
    /// first used, in the runtime that uses it, runs `setup` and
    /// [`Backend::prepare_work_session`], and stores its process id in `pid`.
    fn dedicated_session(url: &str, setup: Vec<String>, pid: WorkPid) -> Self::Dedicated;

    /// Ask the server, from this session, to cancel the statement the
    /// session `pid` runs (PostgreSQL: `pg_cancel_backend`); a session with
    /// no statement running is left alone.
    fn cancel_statement(
        conn: &mut Self,
        pid: i64,
    ) -> impl Future<Output = Result<(), OnlineError>> + Send;

    /// End the session `pid` (PostgreSQL: `pg_terminate_backend`): its
    /// transaction rolls back.
    fn terminate_session(
        conn: &mut Self,
        pid: i64,
    ) -> impl Future<Output = Result<(), OnlineError>> + Send;

    /// Whether the session `pid` still runs something (a statement, or an
    /// open transaction); `false` when it is idle or gone.
    fn session_busy(
        conn: &mut Self,
        pid: i64,
    ) -> impl Future<Output = Result<bool, OnlineError>> + Send;

    /// The server process serving the session now (PostgreSQL:
    /// `pg_backend_pid()`): what the lock's session watches while revisions
    /// run, and how a pooler that hands server sessions out per transaction
    /// shows itself ([`super::pooler`]).
    fn session_pid(conn: &mut Self) -> impl Future<Output = Result<i64, OnlineError>> + Send;

    /// What session `pid` waits to lock, asked from another session (the
    /// lock's, idle while it holds the lock); `None` when it waits for none.
    fn lock_wait(conn: &mut Self, pid: i64) -> impl Future<Output = Option<LockWait>> + Send;

    /// The migration lock as this database names it, for messages
    /// (`advisory lock 3888674113241835903`).
    fn lock_name() -> String;

    /// Try once to take the migration lock for this session; `true` when held.
    fn try_lock(conn: &mut Self) -> impl Future<Output = Result<bool, OnlineError>> + Send;

    /// Ready the lock's session for a run: nothing of the server's may end
    /// it for idling while it holds the lock through a long revision
    /// (PostgreSQL: `idle_session_timeout` off for the session).
    fn prepare_lock_session(
        conn: &mut Self,
    ) -> impl Future<Output = Result<(), OnlineError>> + Send;

    /// Ready a work session (PostgreSQL: `idle_session_timeout` off, as it
    /// idles while the run waits for the lock) and return its server
    /// process id, which [`Backend::cancel_statement`] acts on.
    fn prepare_work_session(
        conn: &mut Self,
    ) -> impl Future<Output = Result<i64, OnlineError>> + Send;

    /// Give a pooled work session back as it came: undo
    /// [`Backend::prepare_work_session`] and the run's session settings
    /// (`--lock-timeout`, `--statement-timeout`). Best effort.
    fn release_work_session(conn: &mut Self) -> impl Future<Output = ()> + Send;

    /// Release the migration lock and undo [`Backend::prepare_lock_session`]
    /// (ending the session releases it too).
    fn unlock(conn: &mut Self) -> impl Future<Output = Result<(), OnlineError>> + Send;

    /// Who holds the migration lock, when another session does.
    fn lock_holder(conn: &mut Self) -> impl Future<Output = Option<LockHolder>> + Send;

    /// Whether the session still answers (a lock lives as long as its session).
    fn ping(conn: &mut Self) -> impl Future<Output = bool> + Send;

    /// The version table this session sees, without creating it; `None`
    /// when there is none.
    fn find_version_table(
        conn: &mut Self,
    ) -> impl Future<Output = Result<Option<FoundTable>, OnlineError>> + Send;

    /// Whether this session's transactions are read-only, and why; `None`
    /// when it can write. Asked only by a run that has something to write.
    fn read_only(
        conn: &mut Self,
    ) -> impl Future<Output = Result<Option<ReadOnly>, OnlineError>> + Send;

    /// Create the version table (Diesel's DDL) and return it as found after.
    fn create_version_table(
        conn: &mut Self,
    ) -> impl Future<Output = Result<VersionTable, OnlineError>> + Send;

    /// The rows of the version table, sorted by version.
    fn read_applied(
        conn: &mut Self,
        table: &FoundTable,
    ) -> impl Future<Output = Result<Vec<Applied>, OnlineError>> + Send;

    /// The rows of dmig's companion table beside `table`, without creating
    /// it; `None` when there is no such table.
    fn read_recorded(
        conn: &mut Self,
        table: &VersionTable,
    ) -> impl Future<Output = Result<Option<Vec<Recorded>>, OnlineError>> + Send;

    /// Save the state [`Backend::restore_sql`] puts back.
    fn save_session(
        conn: &mut Self,
    ) -> impl Future<Output = Result<Self::SessionState, OnlineError>> + Send;

    /// The statement to run after a revision whose SQL is `revision_sql`,
    /// before its version row is written, when that SQL may have changed the
    /// session state; `None` when nothing needs restoring.
    fn restore_sql(state: &Self::SessionState, revision_sql: &str) -> Option<String>;

    /// Objects a failed non-transactional revision may have left behind
    /// (PostgreSQL: invalid indexes of a failed `CREATE INDEX CONCURRENTLY`).
    fn leftovers(conn: &mut Self) -> impl Future<Output = Result<Vec<String>, OnlineError>> + Send;

    /// Whether an error means the session is gone (rather than the SQL failing).
    fn is_connection_lost(error: &diesel::result::Error) -> bool;

    /// Whether an error says a lock could not be had in time (PostgreSQL:
    /// SQLSTATE 55P03, from `lock_timeout` or `NOWAIT`): a transactional
    /// revision that fails so is rolled back whole and may be retried.
    fn is_lock_not_available(error: &diesel::result::Error) -> bool;

    /// The SQLSTATE of an error, where the driver keeps one.
    fn sqlstate(error: &diesel::result::Error) -> Option<&'static str>;
}

/// Where a dedicated work session puts its server process id once it has
/// connected (0 until then), for the lock's session to watch it.
#[derive(Debug, Clone, Default)]
pub struct WorkPid(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl WorkPid {
    /// Record the session's pid.
    pub fn set(&self, pid: i64) {
        self.0.store(pid, std::sync::atomic::Ordering::Relaxed);
    }

    /// The pid, once known.
    pub fn get(&self) -> Option<i64> {
        Some(self.0.load(std::sync::atomic::Ordering::Relaxed)).filter(|pid| *pid != 0)
    }
}

/// A bb8 connection manager for a [`Backend`]: what the runner takes
/// connections from. Every diesel-async manager is one, the application's
/// own pool included.
pub trait Manager: bb8::ManageConnection<Error = PoolError, Connection: Backend> {}

impl<M> Manager for M
where
    M: bb8::ManageConnection<Error = PoolError>,
    M::Connection: Backend,
{
}

/// The harness the runner drives for a pool of `M`.
pub type Harness<M> = AsyncMigrationHarness<bb8::PooledConnection<'static, M>>;

/// The harness the runner drives on a dedicated session (see [`Backend::Dedicated`]).
pub type DedicatedHarness<M> =
    AsyncMigrationHarness<<<M as bb8::ManageConnection>::Connection as Backend>::Dedicated>;

/// The diesel backend of `M`'s connections (`diesel::pg::Pg`, ...).
pub type DieselBackend<M> =
    <<M as bb8::ManageConnection>::Connection as diesel_async::AsyncConnectionCore>::Backend;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_holders_are_named_with_what_is_known() {
        let full = LockHolder {
            pid: Some(4711),
            application: Some("psql".into()),
            client: Some("10.0.0.5".into()),
        };
        assert_eq!(full.to_string(), "pid 4711 (psql, 10.0.0.5)");
        let bare = LockHolder {
            pid: Some(7),
            application: Some(String::new()),
            client: None,
        };
        assert_eq!(bare.to_string(), "pid 7");
        assert_eq!(LockHolder::default().to_string(), "another session");
    }

    #[test]
    fn lock_waits_name_the_object_and_every_blocker() {
        let wait = LockWait {
            object: "table public.t".into(),
            mode: Some("AccessExclusiveLock".into()),
            blockers: vec![
                LockHolder {
                    pid: Some(4711),
                    application: Some("psql".into()),
                    client: Some("10.0.0.5".into()),
                },
                LockHolder {
                    pid: Some(12),
                    ..LockHolder::default()
                },
            ],
            waited: std::time::Duration::from_secs(1),
        };
        assert_eq!(
            wait.to_string(),
            "a lock on table public.t held by pid 4711 (psql, 10.0.0.5), pid 12"
        );
    }
}
