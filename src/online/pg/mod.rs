//! PostgreSQL: [`Backend`] for diesel-async's `AsyncPgConnection`.
//!
//! - [`conninfo`]: connection settings read as libpq reads them (URL or
//!   keyword string, the `PG*` environment, the password file);
//! - [`url`]: reading a database URL, redacting it;
//! - [`connect`]: opening connections and naming what failed;
//! - [`tls`]: rustls for `sslmode`;
//! - `introspect` (feature `autogenerate`): the catalogs read for
//!   `revision --autogenerate`, scratch databases;
//! - this module: the pool, the advisory lock, the version table and the
//!   session state, as the runner needs them.

pub mod connect;
pub mod conninfo;
pub mod database;
#[cfg(feature = "autogenerate")]
pub mod introspect;
pub mod local;
pub mod tls;
pub mod url;

pub use connect::{
    establish, pool_manager, pool_manager_with_errors, ConnectError, LastConnectError,
};
pub use conninfo::ConnectTarget;
pub use url::{redact_url, target, with_database};

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::QueryableByName;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use super::backend::{Backend, FoundTable, LockHolder, LockWait, ReadOnly, WorkPid};
use super::error::query_failed;
use super::{ConnectOptions, OnlineError};
use crate::dialect::postgres::{self as sql, Postgres, LOCK_KEY};
use crate::dialect::{Dialect, VersionTable, VERSION_TABLE};
use crate::model::{Applied, Recorded, Version};

/// A pool of diesel-async PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;

/// Build a bb8 pool for `url` (TLS when the URL asks for it) holding the
/// connections a command needs (`options.sessions`: one for the lock, one
/// for the work), opened right away and side by side: a wrong host, port,
/// password or database fails at once with a message naming them (never the
/// password), where bb8 would retry in the background until its timeout and
/// lose the reason.
pub async fn connect_pool(url: &str, options: &ConnectOptions) -> Result<PgPool, OnlineError> {
    let sessions = options.sessions.max(1);
    let manager = connect::pool_manager(url, options.connect_timeout);
    let opened = (0..sessions).map(|_| connect::establish(url, options.connect_timeout));
    let conns = futures_util::future::try_join_all(opened).await?;
    let pool = Pool::builder()
        .max_size(sessions)
        .min_idle(Some(0))
        .connection_timeout(options.connect_timeout + Duration::from_secs(1))
        .build_unchecked(manager);
    // A fresh pool has room for all of them; `add` only hands one back when full.
    for conn in conns {
        let _ = pool.add(conn);
    }
    Ok(pool)
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
    #[diesel(sql_type = Nullable<Text>)]
    application: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    client: Option<String>,
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = BigInt)]
    pid: i64,
}

/// `function(pid)`: `pg_cancel_backend` or `pg_terminate_backend`.
async fn signal_session(
    conn: &mut AsyncPgConnection,
    function: &str,
    pid: i64,
) -> Result<(), DieselError> {
    diesel::sql_query(format!("SELECT {function}($1::int) AS locked"))
        .bind::<BigInt, _>(pid)
        .get_result::<Locked>(conn)
        .await
        .map(drop)
}

/// See [`Backend::prepare_work_session`].
async fn prepare_work_session(conn: &mut AsyncPgConnection) -> Result<i64, DieselError> {
    let row: Pid = diesel::sql_query(sql::WORK_SESSION_SQL)
        .get_result(conn)
        .await?;
    Ok(row.pid)
}

/// One row of [`sql::LOCK_WAIT_SQL`].
#[derive(QueryableByName)]
struct WaitRow {
    #[diesel(sql_type = Nullable<Text>)]
    object: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    mode: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    waited_ms: Option<i64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    blocker: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    application: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    client: Option<String>,
}

/// The messages of SQLSTATE 55P03 (lock_not_available): diesel-async keeps
/// the message but not the code. `lock_timeout` and `NOWAIT` (tables, rows).
fn is_lock_not_available_message(message: &str) -> bool {
    message.starts_with("canceling statement due to lock timeout")
        || message.starts_with("could not obtain lock on ")
}

#[derive(QueryableByName)]
struct OneText {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

#[derive(QueryableByName)]
struct RecordedRow {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    up_sha256: String,
    #[diesel(sql_type = Nullable<Text>)]
    down_sha256: Option<String>,
}

#[derive(QueryableByName)]
struct AppliedRow {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Nullable<Text>)]
    run_on: Option<String>,
}

#[derive(QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Bool)]
    has_run_on: bool,
    #[diesel(sql_type = Nullable<Array<Text>>)]
    unfillable: Option<Vec<String>>,
}

#[derive(QueryableByName)]
struct Writable {
    #[diesel(sql_type = Bool)]
    standby: bool,
    #[diesel(sql_type = Bool)]
    read_only: bool,
}

/// Every schema on the search_path, in order, that holds a version table,
/// with the table's shape: whether it has `run_on`, and the columns a
/// version row cannot fill (NOT NULL, no default, not identity or generated).
const FIND_VERSION_TABLE_SQL: &str = "SELECT n.nspname::text AS schema, \
     EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
             AND NOT a.attisdropped AND a.attname = 'run_on') AS has_run_on, \
     ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 \
           AND NOT a.attisdropped AND a.attnotnull AND NOT a.atthasdef \
           AND a.attidentity = '' AND a.attgenerated = '' AND a.attname <> 'version' \
           ORDER BY a.attnum) AS unfillable \
     FROM unnest(current_schemas(false)) WITH ORDINALITY AS s(name, position) \
     JOIN pg_namespace n ON n.nspname = s.name \
     JOIN pg_class c ON c.relnamespace = n.oid \
     WHERE c.relname = $1 AND c.relkind IN ('r', 'p') ORDER BY s.position";

/// The session state a run restores: `search_path` as the run found it.
#[derive(Debug, Clone)]
pub struct PgSession {
    search_path: Option<String>,
}

impl Backend for AsyncPgConnection {
    type SessionState = PgSession;
    type Manager = AsyncDieselConnectionManager<AsyncPgConnection>;
    type Dedicated = local::LocalSession;

    const NAME: &'static str = "PostgreSQL";

    fn dialect() -> &'static dyn Dialect {
        &Postgres
    }

    async fn connect_pool(url: &str, options: &ConnectOptions) -> Result<PgPool, OnlineError> {
        connect_pool(url, options).await
    }

    fn dedicated_session(url: &str, setup: Vec<String>, pid: WorkPid) -> local::LocalSession {
        let url = url.to_owned();
        local::LocalSession::new(Box::new(move || {
            Box::pin(async move {
                let mut conn = connect::establish_untimed(&url)
                    .await
                    .map_err(|error| error.to_string())?;
                if !setup.is_empty() {
                    conn.batch_execute(&setup.join("\n"))
                        .await
                        .map_err(|error| format!("cannot set the session up: {error}"))?;
                }
                let backend = prepare_work_session(&mut conn)
                    .await
                    .map_err(|error| format!("cannot set the session up: {error}"))?;
                pid.set(backend);
                Ok(conn)
            })
        }))
    }

    async fn session_pid(conn: &mut Self) -> Result<i64, OnlineError> {
        let row: Pid = diesel::sql_query(sql::SESSION_PID_SQL)
            .get_result(conn)
            .await
            .map_err(query_failed("read the session's server process"))?;
        Ok(row.pid)
    }

    async fn lock_wait(conn: &mut Self, pid: i64) -> Option<LockWait> {
        let rows: Vec<WaitRow> = diesel::sql_query(sql::LOCK_WAIT_SQL)
            .bind::<diesel::sql_types::Integer, _>(i32::try_from(pid).ok()?)
            .load(conn)
            .await
            .ok()?;
        let first = <[WaitRow]>::first(&rows)?;
        let mut wait = LockWait {
            object: first.object.clone().unwrap_or_else(|| "an object".into()),
            mode: first.mode.clone(),
            blockers: Vec::new(),
            waited: Duration::from_millis(first.waited_ms.unwrap_or(0).max(0).unsigned_abs()),
        };
        for row in rows {
            if let Some(blocker) = row.blocker {
                wait.blockers.push(LockHolder {
                    pid: Some(i64::from(blocker)),
                    application: row.application,
                    client: row.client,
                });
            }
        }
        Some(wait)
    }

    fn lock_name() -> String {
        format!("advisory lock {LOCK_KEY}")
    }

    async fn try_lock(conn: &mut Self) -> Result<bool, OnlineError> {
        let row: Locked = diesel::sql_query(sql::TRY_LOCK_SQL)
            .bind::<BigInt, _>(LOCK_KEY)
            .get_result(conn)
            .await
            .map_err(query_failed("take the migration lock"))?;
        Ok(row.locked)
    }

    async fn prepare_lock_session(conn: &mut Self) -> Result<(), OnlineError> {
        conn.batch_execute(sql::LOCK_SESSION_SQL)
            .await
            .map_err(query_failed(
                "turn off idle_session_timeout for the lock's session",
            ))
    }

    async fn prepare_work_session(conn: &mut Self) -> Result<i64, OnlineError> {
        prepare_work_session(conn)
            .await
            .map_err(query_failed("set up the work session"))
    }

    async fn cancel_statement(conn: &mut Self, pid: i64) -> Result<(), OnlineError> {
        signal_session(conn, "pg_cancel_backend", pid)
            .await
            .map_err(query_failed("cancel the running statement"))
    }

    async fn terminate_session(conn: &mut Self, pid: i64) -> Result<(), OnlineError> {
        signal_session(conn, "pg_terminate_backend", pid)
            .await
            .map_err(query_failed("terminate the work session"))
    }

    async fn session_busy(conn: &mut Self, pid: i64) -> Result<bool, OnlineError> {
        let row: Locked = diesel::sql_query(sql::SESSION_BUSY_SQL)
            .bind::<BigInt, _>(pid)
            .get_result(conn)
            .await
            .map_err(query_failed("look at the work session"))?;
        Ok(row.locked)
    }

    async fn release_work_session(conn: &mut Self) {
        if let Err(error) = conn.batch_execute(sql::WORK_SESSION_RESET_SQL).await {
            tracing::debug!(%error, "resetting the work session's settings failed");
        }
    }

    async fn unlock(conn: &mut Self) -> Result<(), OnlineError> {
        diesel::sql_query(sql::UNLOCK_SQL)
            .bind::<BigInt, _>(LOCK_KEY)
            .get_result::<Locked>(conn)
            .await
            .map(drop)
            .map_err(query_failed("release the migration lock"))
    }

    async fn lock_holder(conn: &mut Self) -> Option<LockHolder> {
        let holder: Holder = diesel::sql_query(sql::LOCK_HOLDER_SQL)
            .bind::<BigInt, _>(LOCK_KEY)
            .get_result(conn)
            .await
            .ok()?;
        Some(LockHolder {
            pid: Some(i64::from(holder.pid)),
            application: holder.application,
            client: holder.client,
        })
    }

    async fn ping(conn: &mut Self) -> bool {
        conn.batch_execute("SELECT 1").await.is_ok()
    }

    async fn find_version_table(conn: &mut Self) -> Result<Option<FoundTable>, OnlineError> {
        // The first schema is the one the server resolves the bare name to;
        // a second one means a run could read one table and write the other.
        let mut rows: Vec<TableRow> = diesel::sql_query(FIND_VERSION_TABLE_SQL)
            .bind::<Text, _>(VERSION_TABLE)
            .load(conn)
            .await
            .map_err(query_failed("look for the version table"))?;
        if rows.len() > 1 {
            return Err(OnlineError::AmbiguousVersionTable {
                tables: rows
                    .iter()
                    .map(|row| sql::version_table_name(&VersionTable::in_schema(&row.schema)))
                    .collect(),
            });
        }
        Ok(rows.pop().map(|row| FoundTable {
            table: VersionTable::in_schema(row.schema),
            has_run_on: row.has_run_on,
            unfillable: row.unfillable.unwrap_or_default(),
        }))
    }

    async fn read_only(conn: &mut Self) -> Result<Option<ReadOnly>, OnlineError> {
        let row: Writable = diesel::sql_query(
            "SELECT pg_is_in_recovery() AS standby, \
             current_setting('transaction_read_only') = 'on' AS read_only",
        )
        .get_result(conn)
        .await
        .map_err(query_failed("ask whether the database is read-only"))?;
        Ok(match (row.standby, row.read_only) {
            (true, _) => Some(ReadOnly::Standby),
            (false, true) => Some(ReadOnly::Setting),
            (false, false) => None,
        })
    }

    async fn create_version_table(conn: &mut Self) -> Result<VersionTable, OnlineError> {
        conn.batch_execute(sql::VERSION_TABLE_DDL)
            .await
            .map_err(query_failed("create the version table"))?;
        let row: OneText = diesel::sql_query(
            "SELECT n.nspname::text AS value FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1)",
        )
        .bind::<Text, _>(VERSION_TABLE)
        .get_result(conn)
        .await
        .map_err(query_failed("look for the version table"))?;
        Ok(row
            .value
            .map_or_else(VersionTable::unqualified, VersionTable::in_schema))
    }

    async fn read_applied(
        conn: &mut Self,
        found: &FoundTable,
    ) -> Result<Vec<Applied>, OnlineError> {
        // A table altered by hand may lack `run_on` or hold NULLs in it.
        let run_on = if found.has_run_on {
            "run_on::text"
        } else {
            "NULL::text"
        };
        let rows: Vec<AppliedRow> = diesel::sql_query(format!(
            "SELECT version::text AS version, {run_on} AS run_on \
             FROM {} ORDER BY version COLLATE \"C\"",
            sql::version_table_sql(&found.table)
        ))
        .load(conn)
        .await
        .map_err(query_failed("read the version table"))?;
        Ok(rows
            .into_iter()
            .map(|r| Applied {
                version: Version::from_row(r.version),
                run_on: r.run_on,
            })
            .collect())
    }

    async fn read_recorded(
        conn: &mut Self,
        table: &VersionTable,
    ) -> Result<Option<Vec<Recorded>>, OnlineError> {
        let companion = sql::companion_table_sql(table);
        let found: OneText = diesel::sql_query("SELECT to_regclass($1)::text AS value")
            .bind::<Text, _>(&companion)
            .get_result(conn)
            .await
            .map_err(query_failed("look for the companion table"))?;
        if found.value.is_none() {
            return Ok(None);
        }
        let rows: Vec<RecordedRow> = diesel::sql_query(format!(
            "SELECT version::text AS version, up_sha256, down_sha256 \
             FROM {companion} ORDER BY version COLLATE \"C\""
        ))
        .load(conn)
        .await
        .map_err(query_failed("read the companion table"))?;
        Ok(Some(
            rows.into_iter()
                .map(|r| Recorded {
                    version: Version::from_row(r.version),
                    up_sha256: r.up_sha256,
                    down_sha256: r.down_sha256,
                })
                .collect(),
        ))
    }

    async fn save_session(conn: &mut Self) -> Result<PgSession, OnlineError> {
        let row: OneText = diesel::sql_query("SELECT current_setting('search_path') AS value")
            .get_result(conn)
            .await
            .map_err(query_failed("read search_path"))?;
        Ok(PgSession {
            search_path: row.value,
        })
    }

    fn restore_sql(state: &PgSession, revision_sql: &str) -> Option<String> {
        let saved = state.search_path.as_deref()?;
        sql::may_change_search_path(revision_sql).then(|| sql::restore_search_path_sql(saved))
    }

    async fn leftovers(conn: &mut Self) -> Result<Vec<String>, OnlineError> {
        let rows: Vec<OneText> = diesel::sql_query(sql::INVALID_INDEXES_SQL)
            .load(conn)
            .await
            .map_err(query_failed("list invalid indexes"))?;
        Ok(rows.into_iter().filter_map(|r| r.value).collect())
    }

    /// Besides a closed socket, this is the FATAL error a server sends before
    /// it closes the session (`pg_ctl stop -m fast`, `pg_terminate_backend`, a
    /// crashed backend: SQLSTATE 57P01, 57P02 and kin, all "terminating
    /// connection ..."); diesel-async keeps the message but not the SQLSTATE.
    fn is_connection_lost(error: &DieselError) -> bool {
        match error {
            DieselError::DatabaseError(kind, info) => {
                matches!(
                    kind,
                    DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
                ) || info.message().contains("connection closed")
                    || info.message().starts_with("terminating connection")
            }
            DieselError::BrokenTransactionManager => true,
            _ => false,
        }
    }

    fn is_lock_not_available(error: &DieselError) -> bool {
        matches!(error, DieselError::DatabaseError(DatabaseErrorKind::Unknown, info)
            if is_lock_not_available_message(info.message()))
    }

    /// diesel-async maps the server's code to a coarse kind and drops the
    /// rest, so only these codes survive, and 55P03, told by its message.
    fn sqlstate(error: &DieselError) -> Option<&'static str> {
        if Self::is_lock_not_available(error) {
            return Some("55P03");
        }
        let DieselError::DatabaseError(kind, _) = error else {
            return None;
        };
        Some(match kind {
            DatabaseErrorKind::UniqueViolation => "23505",
            DatabaseErrorKind::ForeignKeyViolation => "23503",
            DatabaseErrorKind::NotNullViolation => "23502",
            DatabaseErrorKind::CheckViolation => "23514",
            DatabaseErrorKind::RestrictViolation => "23001",
            DatabaseErrorKind::ExclusionViolation => "23P01",
            DatabaseErrorKind::SerializationFailure => "40001",
            DatabaseErrorKind::ReadOnlyTransaction => "25006",
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn only_mapped_codes_are_reported_as_sqlstates() {
        let sqlstate = <AsyncPgConnection as Backend>::sqlstate;
        assert_eq!(
            sqlstate(&db_error(DatabaseErrorKind::UniqueViolation, "dup")),
            Some("23505")
        );
        assert_eq!(sqlstate(&db_error(DatabaseErrorKind::Unknown, "x")), None);
        assert_eq!(
            sqlstate(&db_error(DatabaseErrorKind::ClosedConnection, "x")),
            None
        );
        assert_eq!(
            sqlstate(&db_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to lock timeout"
            )),
            Some("55P03")
        );
        assert_eq!(
            sqlstate(&db_error(
                DatabaseErrorKind::Unknown,
                "could not obtain lock on relation \"t\""
            )),
            Some("55P03")
        );
        assert_eq!(
            sqlstate(&db_error(
                DatabaseErrorKind::Unknown,
                "canceling statement due to statement timeout"
            )),
            None
        );
    }

    #[test]
    fn a_terminated_session_counts_as_a_lost_connection() {
        let lost = <AsyncPgConnection as Backend>::is_connection_lost;
        assert!(lost(&db_error(
            DatabaseErrorKind::Unknown,
            "terminating connection due to administrator command"
        )));
        assert!(!lost(&db_error(
            DatabaseErrorKind::Unknown,
            "division by zero"
        )));
    }

    #[test]
    fn search_path_is_restored_only_after_revisions_that_mention_it() {
        let state = PgSession {
            search_path: Some("\"$user\", public".into()),
        };
        let restore = <AsyncPgConnection as Backend>::restore_sql;
        assert!(restore(&state, "SET search_path TO app;").is_some());
        assert!(restore(&state, "CREATE TABLE t (id int);").is_none());
    }
}
