//! The online layer's errors.

use std::time::Duration;

use super::backend::{LockHolder, ReadOnly};
use super::failure::{elided, RevisionFailure};
use super::pg::connect::ConnectError;
use crate::error::{PlanError, SourceError};

/// Errors of the online layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnlineError {
    /// Connecting failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The pool gave no connection.
    #[error("cannot get a connection from the pool: {reason}")]
    Pool {
        /// Why (already free of passwords).
        reason: String,
    },
    /// Another migrator held the lock for longer than `--lock-wait`.
    #[error(
        "gave up after {}s waiting for the migration lock ({lock}){}; another dmig is running, or raise --lock-wait",
        waited.as_secs_f64(),
        holder.as_ref().map(|h| format!(", held by {h}")).unwrap_or_default()
    )]
    LockTimeout {
        /// The lock, as the database names it (`advisory lock 3888674113241835903`).
        lock: String,
        /// How long we waited.
        waited: Duration,
        /// Who holds it.
        holder: Option<LockHolder>,
    },
    /// The lock's session ended mid-run (terminated, network cut), so another
    /// migrator could start: the run stopped before the next revision.
    #[error(
        "lost the migration lock (its session ended) before revision `{}`; stopped so no other migrator runs alongside; {}; rerun to continue (what ends a session: a server timeout such as idle_session_timeout, pg_terminate_backend or a server restart, a connection pooler that closed or reassigned it, or the network)",
        crate::model::printable(next),
        lock_lost_summary(completed, *single_transaction)
    )]
    LockLost {
        /// The revision that was not started.
        next: String,
        /// Revisions this run completed (and committed) before stopping.
        completed: Vec<String>,
        /// The run was one transaction, now rolled back.
        single_transaction: bool,
    },
    /// The pool cannot hand out the sessions a run needs at once.
    #[error(
        "the connection pool holds at most {size} connection(s) but a run needs {needed} at once (one holds the migration lock); build it with max_size({needed}) or more"
    )]
    PoolTooSmall {
        /// The pool's `max_size`.
        size: u32,
        /// What the run needs.
        needed: u32,
    },
    /// The harness needs tokio's multi-thread runtime (`block_in_place`).
    #[error(
        "dmig migrates on tokio's multi-thread runtime, and this is a current-thread one: use #[tokio::main] (multi-thread by default), #[tokio::test(flavor = \"multi_thread\")], or run the migration in tokio::task::spawn_blocking of a multi-thread runtime"
    )]
    CurrentThreadRuntime,
    /// Two tables named `__diesel_schema_migrations` in schemas on the
    /// session's `search_path`: which one is meant cannot be told.
    #[error(
        "found two version tables on the search_path: {}; drop or rename the one that is not in use, or set search_path so only one is visible",
        tables.iter().map(|t| crate::model::printable(t)).collect::<Vec<_>>().join(" and ")
    )]
    AmbiguousVersionTable {
        /// The tables, schema-qualified.
        tables: Vec<String>,
    },
    /// The version table has columns that the version row (Diesel writes
    /// `version` only) cannot fill, so no revision could be recorded.
    #[error(
        "the version table {} has {} NOT NULL without a default, so no version row can be written (Diesel's rows set `version` only); nothing was run; give {} a DEFAULT ({}) or drop NOT NULL",
        crate::model::printable(table),
        columns_phrase(columns),
        if columns.len() == 1 { "it" } else { "each" },
        crate::model::printable(fix),
    )]
    UnfillableVersionTable {
        /// The table, schema-qualified.
        table: String,
        /// The columns.
        columns: Vec<String>,
        /// The statement that fixes the first one.
        fix: String,
    },
    /// The run has something to write and the database takes no writes.
    #[error("the database is read-only ({}), so this {command} cannot write its {steps} step(s); nothing was run; {}",
        match reason {
            ReadOnly::Standby => "a standby in recovery",
            ReadOnly::Setting => "transaction_read_only is on: default_transaction_read_only is set for the database, the role or the connection",
        },
        match reason {
            ReadOnly::Standby => "connect to the primary",
            ReadOnly::Setting => "connect to a writable database, or turn it off (ALTER DATABASE ... SET default_transaction_read_only = off)",
        }
    )]
    ReadOnly {
        /// Why.
        reason: ReadOnly,
        /// `upgrade`, `downgrade`, `stamp`, `redo`.
        command: &'static str,
        /// How many steps the plan has.
        steps: usize,
    },
    /// The connection goes through a pooler that hands server sessions out
    /// per transaction (pgbouncer's transaction or statement pooling): the
    /// migration lock and the driver's prepared statements need a session
    /// of their own. Refused before the lock is taken or anything written.
    #[error(
        "dmig needs a session of its own (a direct or session-pooled connection), but {} is pooled per transaction: {reason}; connect to PostgreSQL directly, or through a pool in session mode (pgbouncer `pool_mode = session`)",
        url.as_deref().map(|u| crate::model::printable(u).into_owned()).unwrap_or_else(|| "the connection".to_owned())
    )]
    TransactionPooled {
        /// What showed it.
        reason: String,
        /// The connection, redacted, when the caller named it
        /// ([`OnlineError::for_url`]).
        url: Option<String>,
    },
    /// A bookkeeping or inspection query failed.
    #[error("cannot {what}")]
    Query {
        /// What we were doing.
        what: &'static str,
        /// Diesel's error.
        #[source]
        source: diesel::result::Error,
    },
    /// The run was cancelled ([`super::Cancel`]): what it did, what was
    /// rolled back, what may be half-applied.
    #[error("{0}")]
    Interrupted(Box<super::cancel::Interruption>),
    /// A revision failed; nothing of it remains unless it was non-transactional.
    #[error("{0}")]
    Revision(Box<RevisionFailure>),
    /// Planning refused the request.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A revision file is unusable.
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// ``column `a` `` or ``columns `a`, `b` ``.
fn columns_phrase(columns: &[String]) -> String {
    let names: Vec<String> = columns
        .iter()
        .map(|c| format!("`{}`", crate::model::printable(c)))
        .collect();
    match names.len() {
        1 => format!("column {}", names[0]),
        _ => format!("columns {}", names.join(", ")),
    }
}

impl OnlineError {
    /// This error, made [`OnlineError::TransactionPooled`] when it shows
    /// the symptom of a transaction pooler (`prepared statement "s0" already
    /// exists`), naming `redacted_url` (a URL already free of its password).
    pub fn for_url(self, redacted_url: &str) -> OnlineError {
        match super::pooler::classify(self) {
            OnlineError::TransactionPooled { reason, .. } => OnlineError::TransactionPooled {
                reason,
                url: Some(redacted_url.to_owned()),
            },
            other => other,
        }
    }
}

fn lock_lost_summary(completed: &[String], single_transaction: bool) -> String {
    if single_transaction {
        "the run's single transaction was rolled back, nothing changed".to_string()
    } else if completed.is_empty() {
        "nothing was applied".to_string()
    } else {
        format!("completed before it: {}", elided(completed, ", "))
    }
}

/// Wrap a diesel error from a bookkeeping or inspection query, saying what it was for.
pub(crate) fn query_failed(
    what: &'static str,
) -> impl FnOnce(diesel::result::Error) -> OnlineError {
    move |source| OnlineError::Query { what, source }
}
