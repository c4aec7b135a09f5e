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
    /// first used, in the runtime that uses it, and then runs `setup`.
    fn dedicated_session(url: &str, setup: Vec<String>) -> Self::Dedicated;

    /// The migration lock as this database names it, for messages
    /// (`advisory lock 3888674113241835903`).
    fn lock_name() -> String;

    /// Try once to take the migration lock for this session; `true` when held.
    fn try_lock(conn: &mut Self) -> impl Future<Output = Result<bool, OnlineError>> + Send;

    /// Release the migration lock (ending the session releases it too).
    fn unlock(conn: &mut Self) -> impl Future<Output = Result<(), OnlineError>> + Send;

    /// Who holds the migration lock, when another session does.
    fn lock_holder(conn: &mut Self) -> impl Future<Output = Option<LockHolder>> + Send;

    /// Whether the session still answers (a lock lives as long as its session).
    fn ping(conn: &mut Self) -> impl Future<Output = bool> + Send;

    /// The version table this session sees, without creating it; `None`
    /// when there is none.
    fn find_version_table(
        conn: &mut Self,
    ) -> impl Future<Output = Result<Option<VersionTable>, OnlineError>> + Send;

    /// Create the version table (Diesel's DDL) and return it as found after.
    fn create_version_table(
        conn: &mut Self,
    ) -> impl Future<Output = Result<VersionTable, OnlineError>> + Send;

    /// The rows of the version table, sorted by version.
    fn read_applied(
        conn: &mut Self,
        table: &VersionTable,
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

    /// The SQLSTATE of an error, where the driver keeps one.
    fn sqlstate(error: &diesel::result::Error) -> Option<&'static str>;
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
}
