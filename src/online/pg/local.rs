//! A work session that shares one thread with the harness driving it.
//!
//! `AsyncMigrationHarness` runs Diesel's synchronous harness and waits for
//! each query with `block_on`. A connection from a pool lives on the pool's
//! runtime: its socket and its driver task run on a worker thread, so every
//! query crosses threads twice (the request to the driver, the answer back),
//! and a revision costs a dozen context switches where libpq needs four.
//!
//! [`LocalSession`] opens its connection lazily, on first use. When the
//! harness is created on a thread with no runtime, diesel-async gives it a
//! current-thread runtime of its own and runs every query in its `block_on`;
//! the first query then connects inside that runtime, so the socket, the
//! driver task and the harness all live on the harness's thread, and a query
//! is a write and a wait on the socket, as with libpq.
//!
//! That runtime has no timer, so the connection is opened without one (the
//! same server has just accepted the run's lock session, so a hang here is
//! unlikely; TCP keepalives bound a dead peer).
//!
//! One more round trip is saved per transactional revision: the harness's
//! `BEGIN` is held back and sent with the first statement that follows, as
//! one simple query (`BEGIN;` then the statement), exactly what the two
//! would do one after the other; an error's position is shifted back so it
//! still counts from the statement's start.

use std::future::Future;
use std::pin::Pin;

use diesel::connection::{CacheSize, Instrumentation, InstrumentationEvent};
use diesel::query_builder::{AsQuery, QueryFragment, QueryId};
use diesel::result::DatabaseErrorInformation;
use diesel::result::{ConnectionError, ConnectionResult, Error as DieselError, QueryResult};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncConnectionCore, AsyncPgConnection,
    SimpleAsyncConnection,
};

/// How a [`LocalSession`] opens its connection.
pub type Connect = Box<
    dyn FnOnce() -> Pin<Box<dyn Future<Output = Result<AsyncPgConnection, String>> + Send>> + Send,
>;

/// A PostgreSQL session opened on first use, in the runtime that first uses it.
pub struct LocalSession {
    connect: Option<Connect>,
    conn: Option<AsyncPgConnection>,
    /// Why connecting failed, kept so later calls fail the same way.
    failed: Option<String>,
    transaction: AnsiTransactionManager,
    /// The harness asked for `BEGIN`; it goes out with the next statement.
    begin_pending: bool,
    silent: fn(InstrumentationEvent<'_>),
}

/// What precedes the first statement of a transaction when `BEGIN` is held back.
const BEGIN_PREFIX: &str = "BEGIN;\n";

impl LocalSession {
    /// A session that runs `connect` when it is first used.
    pub fn new(connect: Connect) -> LocalSession {
        LocalSession {
            connect: Some(connect),
            conn: None,
            failed: None,
            transaction: AnsiTransactionManager::default(),
            begin_pending: false,
            silent: |_| {},
        }
    }

    /// The connection, once opened.
    pub fn connection(&self) -> Option<&AsyncPgConnection> {
        self.conn.as_ref()
    }

    /// Why a query cannot go out now: the session never opened, or (which
    /// the harness never does) a query other than SQL text follows a
    /// held-back `BEGIN`; refusing beats running it outside the transaction.
    fn unusable(&self) -> DieselError {
        if self.conn.is_some() {
            DieselError::QueryBuilderError(
                "dmig internal error: a query followed BEGIN before any SQL did".into(),
            )
        } else {
            not_connected(self.failed.as_deref())
        }
    }

    async fn open(&mut self) -> QueryResult<&mut AsyncPgConnection> {
        if let Some(connect) = self.connect.take() {
            match connect().await {
                Ok(conn) => self.conn = Some(conn),
                Err(message) => self.failed = Some(message),
            }
        }
        match (&mut self.conn, &self.failed) {
            (Some(conn), _) => Ok(conn),
            (None, failed) => Err(not_connected(failed.as_deref())),
        }
    }
}

fn not_connected(reason: Option<&str>) -> DieselError {
    DieselError::DatabaseError(
        diesel::result::DatabaseErrorKind::ClosedConnection,
        Box::new(format!(
            "cannot open the work session: {}",
            reason.unwrap_or("it was never opened")
        )),
    )
}

impl SimpleAsyncConnection for LocalSession {
    async fn batch_execute(&mut self, query: &str) -> QueryResult<()> {
        match (self.begin_pending, query) {
            (false, "BEGIN") => {
                self.open().await?;
                self.begin_pending = true;
                Ok(())
            }
            // A transaction that ran nothing: nothing to send.
            (true, "COMMIT" | "ROLLBACK") => {
                self.begin_pending = false;
                Ok(())
            }
            (true, _) => {
                self.begin_pending = false;
                let shift = BEGIN_PREFIX.chars().count() as i32;
                let combined = format!("{BEGIN_PREFIX}{query}");
                self.open()
                    .await?
                    .batch_execute(&combined)
                    .await
                    .map_err(|error| shift_position(error, shift))
            }
            (false, _) => self.open().await?.batch_execute(query).await,
        }
    }
}

/// `error` with its statement position counted `shift` characters earlier.
fn shift_position(error: DieselError, shift: i32) -> DieselError {
    match error {
        DieselError::DatabaseError(kind, info) => {
            DieselError::DatabaseError(kind, Box::new(Shifted { info, shift }))
        }
        other => other,
    }
}

/// A database error whose position counts from after a held-back `BEGIN;`.
struct Shifted {
    info: Box<dyn DatabaseErrorInformation + Send + Sync>,
    shift: i32,
}

impl DatabaseErrorInformation for Shifted {
    fn message(&self) -> &str {
        self.info.message()
    }
    fn details(&self) -> Option<&str> {
        self.info.details()
    }
    fn hint(&self) -> Option<&str> {
        self.info.hint()
    }
    fn table_name(&self) -> Option<&str> {
        self.info.table_name()
    }
    fn column_name(&self) -> Option<&str> {
        self.info.column_name()
    }
    fn constraint_name(&self) -> Option<&str> {
        self.info.constraint_name()
    }
    fn statement_position(&self) -> Option<i32> {
        self.info
            .statement_position()
            .map(|p| if p > self.shift { p - self.shift } else { p })
    }
}

impl AsyncConnectionCore for LocalSession {
    type ExecuteFuture<'conn, 'query> =
        <AsyncPgConnection as AsyncConnectionCore>::ExecuteFuture<'conn, 'query>;
    type LoadFuture<'conn, 'query> =
        <AsyncPgConnection as AsyncConnectionCore>::LoadFuture<'conn, 'query>;
    type Stream<'conn, 'query> = <AsyncPgConnection as AsyncConnectionCore>::Stream<'conn, 'query>;
    type Row<'conn, 'query> = <AsyncPgConnection as AsyncConnectionCore>::Row<'conn, 'query>;
    type Backend = diesel::pg::Pg;

    // The harness's first use of a session is always `batch_execute` (its
    // BEGIN, or the revision's SQL), which opens it, and a revision's SQL
    // (never empty) sends a held-back BEGIN: these come after both.
    fn load<'conn, 'query, T>(&'conn mut self, source: T) -> Self::LoadFuture<'conn, 'query>
    where
        T: AsQuery + 'query,
        T::Query: QueryFragment<Self::Backend> + QueryId + 'query,
    {
        if self.conn.is_none() || self.begin_pending {
            let error = self.unusable();
            return Box::pin(async move { Err(error) });
        }
        match &mut self.conn {
            Some(conn) => conn.load(source),
            None => unreachable!("checked above"),
        }
    }

    fn execute_returning_count<'conn, 'query, T>(
        &'conn mut self,
        source: T,
    ) -> Self::ExecuteFuture<'conn, 'query>
    where
        T: QueryFragment<Self::Backend> + QueryId + 'query,
    {
        if self.conn.is_none() || self.begin_pending {
            let error = self.unusable();
            return Box::pin(async move { Err(error) });
        }
        match &mut self.conn {
            Some(conn) => conn.execute_returning_count(source),
            None => unreachable!("checked above"),
        }
    }
}

impl AsyncConnection for LocalSession {
    type TransactionManager = AnsiTransactionManager;

    async fn establish(_database_url: &str) -> ConnectionResult<Self> {
        Err(ConnectionError::BadConnection(
            "a local session is opened by its own connect function".to_owned(),
        ))
    }

    fn transaction_state(&mut self) -> &mut AnsiTransactionManager {
        &mut self.transaction
    }

    fn instrumentation(&mut self) -> &mut dyn Instrumentation {
        match &mut self.conn {
            Some(conn) => conn.instrumentation(),
            None => &mut self.silent,
        }
    }

    fn set_instrumentation(&mut self, instrumentation: impl Instrumentation) {
        if let Some(conn) = &mut self.conn {
            conn.set_instrumentation(instrumentation);
        }
    }

    fn set_prepared_statement_cache_size(&mut self, size: CacheSize) {
        if let Some(conn) = &mut self.conn {
            conn.set_prepared_statement_cache_size(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_after_a_held_back_begin_count_from_the_statement() {
        let error = DieselError::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(Positioned(Some(10))),
        );
        let DieselError::DatabaseError(_, info) = shift_position(error, 7) else {
            panic!("still a database error");
        };
        assert_eq!(info.statement_position(), Some(3));
        assert_eq!(info.message(), "positioned");
        let error = DieselError::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new(Positioned(None)),
        );
        let DieselError::DatabaseError(_, info) = shift_position(error, 7) else {
            panic!("still a database error");
        };
        assert_eq!(info.statement_position(), None);
    }

    struct Positioned(Option<i32>);

    impl DatabaseErrorInformation for Positioned {
        fn message(&self) -> &str {
            "positioned"
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            self.0
        }
    }
}
