//! The online layer: a bb8 pool of diesel-async `AsyncPgConnection`s, the
//! migration lock, and the plan run through `AsyncMigrationHarness`. It knows
//! nothing of clap; the CLI and applications call the same functions.
//!
//! `AsyncMigrationHarness` runs Diesel's synchronous harness inside
//! `tokio::task::block_in_place`, so these functions need a multi-thread
//! runtime (`#[tokio::main]`, `#[tokio::test(flavor = "multi_thread")]`).

pub mod apply;
pub mod connect;
pub mod lock;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use diesel_async::pooled_connection::bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, PoolError};
use diesel_async::{
    AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl, TransactionManager,
};

pub use apply::{Observer, Silent, StatementFailure};
pub use connect::ConnectError;

use crate::error::{PlanError, SourceError};
use crate::plan::{self, Kind, Plan, Request, Revision, TransactionMode};
use crate::render;

/// A pool of diesel-async PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;

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
        "gave up after {}s waiting for the migration lock (advisory lock {key}){}; another dmig is running, or raise --lock-wait",
        waited.as_secs_f64(),
        holder.map(|pid| format!(", held by pid {pid}")).unwrap_or_default()
    )]
    LockTimeout {
        /// The advisory lock key.
        key: i64,
        /// How long we waited.
        waited: Duration,
        /// The backend pid holding it, from `pg_locks`.
        holder: Option<i32>,
    },
    /// The lock's session ended mid-run (terminated, network cut), so another
    /// migrator could start: the run stopped before the next revision.
    #[error(
        "lost the migration lock (its session ended) before revision `{}`; stopped so no other migrator runs alongside; {}; rerun to continue",
        crate::render::comment_safe(next),
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
    /// A bookkeeping or inspection query failed.
    #[error("cannot {what}")]
    Query {
        /// What we were doing.
        what: &'static str,
        /// Diesel's error.
        #[source]
        source: diesel::result::Error,
    },
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

fn lock_lost_summary(completed: &[String], single_transaction: bool) -> String {
    if single_transaction {
        "the run's single transaction was rolled back, nothing changed".to_string()
    } else if completed.is_empty() {
        "nothing was applied".to_string()
    } else {
        let names: Vec<_> = completed
            .iter()
            .map(|n| crate::render::comment_safe(n).into_owned())
            .collect();
        format!("completed before it: {}", names.join(", "))
    }
}

/// A failed step, reported with what was applied before it.
#[derive(Debug)]
pub struct RevisionFailure {
    /// Upgrade or downgrade.
    pub direction: plan::Direction,
    /// The revision's directory name.
    pub name: String,
    /// Whether it ran in a transaction (and so left no trace).
    pub run_in_transaction: bool,
    /// Whether the whole run was one transaction (and so nothing of the run remains).
    pub single_transaction: bool,
    /// The statement that failed, when the SQL failed.
    pub statement: Option<StatementFailure>,
    /// Otherwise the harness's error (bookkeeping, commit).
    pub other: Option<String>,
    /// `other` means the connection was lost (so a commit may or may not have happened).
    pub other_connection_lost: bool,
    /// Steps completed earlier in this run, in order.
    pub completed: Vec<String>,
    /// Indexes left invalid by a failed non-transactional revision.
    pub invalid_indexes: Vec<String>,
}

/// How many names a list in a failure report shows before eliding the middle.
const MAX_LISTED: usize = 10;

/// `names` joined with `, `, the middle elided when there are many.
fn elided(names: &[String], separator: &str) -> String {
    let safe = |name: &String| render::comment_safe(name).into_owned();
    if names.len() <= MAX_LISTED {
        return names.iter().map(safe).collect::<Vec<_>>().join(separator);
    }
    let head: Vec<String> = names[..3].iter().map(safe).collect();
    let tail: Vec<String> = names[names.len() - 3..].iter().map(safe).collect();
    format!(
        "{}{separator}... ({} more) ...{separator}{}",
        head.join(separator),
        names.len() - 6,
        tail.join(separator)
    )
}

impl fmt::Display for RevisionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self.direction {
            plan::Direction::Up => "upgrade",
            plan::Direction::Down => "downgrade",
        };
        let name = render::comment_safe(&self.name);
        let lost = self.statement.as_ref().is_some_and(|s| s.connection_lost);
        if lost {
            write!(f, "connection lost during revision `{name}` ({verb})")?;
        } else {
            write!(f, "revision `{name}` failed ({verb})")?;
        }
        match (&self.statement, &self.other) {
            (Some(statement), _) => write!(f, "\n  at {statement}")?,
            (None, Some(other)) => write!(f, ": {other}")?,
            (None, None) => {}
        }
        if self.single_transaction {
            write!(
                f,
                "\n  the whole run was one transaction: it was rolled back, nothing changed"
            )?;
        } else if self.statement.is_none() && self.other_connection_lost {
            write!(
                f,
                "\n  the connection was lost while the revision was being recorded: whether it was recorded is unknown; run `dmig status`"
            )?;
        } else if self.run_in_transaction {
            write!(f, "\n  the revision was rolled back: nothing of it remains")?;
        } else {
            match &self.statement {
                Some(statement) if statement.completed.is_empty() => write!(
                    f,
                    "\n  the revision is non-transactional: no statement of it completed before the failure; its version was not recorded"
                )?,
                Some(statement) => write!(
                    f,
                    "\n  the revision is non-transactional and is half-applied: {} statement(s) completed before the failure and remain; its version was not recorded\n  completed: {}",
                    statement.completed.len(),
                    elided(&statement.completed, "\n             ")
                )?,
                None => write!(
                    f,
                    "\n  the revision is non-transactional: its SQL ran, but its version was not recorded"
                )?,
            }
            if !self.invalid_indexes.is_empty() {
                write!(
                    f,
                    "\n  invalid index(es) left behind (drop them before retrying): {}",
                    self.invalid_indexes.join(", ")
                )?;
            }
        }
        if !self.single_transaction {
            let done = match self.direction {
                plan::Direction::Up => "applied",
                plan::Direction::Down => "reverted",
            };
            if self.completed.is_empty() {
                write!(f, "\n  nothing was {done} before it in this run")?;
            } else {
                write!(
                    f,
                    "\n  {done} before it in this run (and still {done}): {}",
                    elided(&self.completed, ", ")
                )?;
            }
        }
        Ok(())
    }
}

/// Connection settings for [`connect_pool`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Build a bb8 pool for `url` (TLS when the URL asks for it) holding the two
/// connections a run needs (one for the lock, one for the work), opened right
/// away and side by side: a wrong host, port, password or database fails at
/// once with a message naming them (never the password), where bb8 would
/// retry in the background until its timeout and lose the reason.
pub async fn connect_pool(url: &str, options: &ConnectOptions) -> Result<PgPool, OnlineError> {
    let manager: AsyncDieselConnectionManager<AsyncPgConnection> =
        connect::pool_manager(url, options.connect_timeout);
    let (first, second) = tokio::try_join!(
        connect::establish(url, options.connect_timeout),
        connect::establish(url, options.connect_timeout),
    )?;
    let pool = Pool::builder()
        .max_size(2)
        .min_idle(Some(0))
        .connection_timeout(options.connect_timeout + Duration::from_secs(1))
        .build_unchecked(manager);
    // A fresh pool of two has room for both; `add` only hands back a connection when full.
    for conn in [first, second] {
        let _ = pool.add(conn);
    }
    Ok(pool)
}

/// Take a connection from the pool, keeping the pool's error readable.
pub async fn checkout(
    pool: &PgPool,
) -> Result<PooledConnection<'static, AsyncPgConnection>, OnlineError> {
    pool.get_owned().await.map_err(|error| OnlineError::Pool {
        reason: match error {
            bb8::RunError::User(PoolError::ConnectionError(e)) => match e {
                diesel::ConnectionError::BadConnection(message) => message,
                other => other.to_string(),
            },
            bb8::RunError::User(PoolError::QueryError(e)) => e.to_string(),
            bb8::RunError::TimedOut => "timed out waiting for a connection".to_string(),
        },
    })
}

#[derive(QueryableByName)]
struct AppliedRow {
    #[diesel(sql_type = Text)]
    version: String,
    #[diesel(sql_type = Text)]
    run_on: String,
}

#[derive(QueryableByName)]
struct OneText {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
}

/// One row of `__diesel_schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// The version.
    pub version: String,
    /// When it was applied (`run_on`, as PostgreSQL prints a timestamp).
    pub run_on: String,
}

/// Read the version table without creating it (empty when it does not exist).
pub async fn read_applied(conn: &mut AsyncPgConnection) -> Result<Vec<Applied>, OnlineError> {
    let exists: OneText =
        diesel::sql_query("SELECT to_regclass('__diesel_schema_migrations')::text AS value")
            .get_result(conn)
            .await
            .map_err(query_failed("look for the version table"))?;
    if exists.value.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<AppliedRow> = diesel::sql_query(
        "SELECT version::text AS version, run_on::text AS run_on \
         FROM __diesel_schema_migrations ORDER BY version COLLATE \"C\"",
    )
    .load(conn)
    .await
    .map_err(query_failed("read the version table"))?;
    Ok(rows
        .into_iter()
        .map(|r| Applied {
            version: r.version,
            run_on: r.run_on,
        })
        .collect())
}

/// What a migrate run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Upgrade, downgrade or stamp.
    pub kind: Kind,
    /// Where the table started and ended (`base` or a version).
    pub from: String,
    /// See `from`.
    pub to: String,
    /// The steps done, by directory name, with their time.
    pub steps: Vec<(String, Duration)>,
    /// Pending revisions older than the newest applied one that were applied anyway.
    pub out_of_order: Vec<String>,
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long to wait for another migrator's lock.
    pub lock_wait: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(60),
        }
    }
}

/// Things the caller may want to tell the user while a run goes on.
pub trait Events: Observer {
    /// The lock is held by someone else; we are polling.
    fn waiting_for_lock(&mut self, _holder: Option<i32>) {}
    /// The plan is known and about to run.
    fn planned(&mut self, _plan: &Plan<'_>) {}
}

impl Events for Silent {}

/// Take the lock, read what is applied, plan `request`, and run it: the one
/// entry point for upgrade, downgrade and stamp, online.
pub async fn migrate(
    pool: &PgPool,
    revisions: &[Revision],
    request: &Request<'_>,
    options: &RunOptions,
    events: &mut dyn Events,
) -> Result<Outcome, OnlineError> {
    let mut lock_conn = checkout(pool).await?;
    lock::acquire(&mut lock_conn, options.lock_wait, |holder| {
        events.waiting_for_lock(holder)
    })
    .await?;
    tracing::info!(key = lock::LOCK_KEY, "migration lock held");
    let conn = checkout(pool).await;
    let result = match conn {
        Ok(conn) => migrate_locked(conn, &mut lock_conn, revisions, request, events).await,
        Err(error) => Err(error),
    };
    lock::release(&mut lock_conn).await;
    result
}

/// How often, at most, a run checks between revisions that the lock's
/// session is still alive: often enough that a second migrator cannot slip in
/// for long, rarely enough to cost nothing against the revisions themselves.
const LOCK_CHECK_INTERVAL: Duration = Duration::from_millis(100);

async fn migrate_locked(
    mut conn: PooledConnection<'static, AsyncPgConnection>,
    lock_conn: &mut AsyncPgConnection,
    revisions: &[Revision],
    request: &Request<'_>,
    events: &mut dyn Events,
) -> Result<Outcome, OnlineError> {
    // Plan and read every file first: a refused run changes nothing, not
    // even by creating the version table.
    let applied_rows = read_applied(&mut conn).await?;
    let applied: HashSet<&str> = applied_rows.iter().map(|a| a.version.as_str()).collect();
    let planned = plan::plan(revisions, &applied, request)?;
    let sql = planned.load_sql()?;
    tracing::info!(
        kind = planned.kind.as_str(),
        from = %planned.from,
        to = %planned.to,
        steps = planned.steps.len(),
        applied = applied.len(),
        "planned"
    );
    events.planned(&planned);
    let mut outcome = Outcome {
        kind: planned.kind,
        from: planned.from.clone(),
        to: planned.to.clone(),
        steps: Vec::new(),
        out_of_order: planned
            .out_of_order
            .iter()
            .map(|r| r.name.clone())
            .collect(),
    };
    // A stamp is one transaction of its own; otherwise `single` wraps the
    // version table's creation too, as the offline script does, so a failed
    // run leaves nothing at all.
    let single = planned.transaction == TransactionMode::Single && planned.kind != Kind::Stamp;
    if single {
        begin_run(&mut conn).await?;
    }
    let prepared = async {
        diesel_async::SimpleAsyncConnection::batch_execute(&mut *conn, render::VERSION_TABLE_DDL)
            .await
            .map_err(query_failed("create the version table"))?;
        current_search_path(&mut conn).await
    }
    .await;
    let search_path = match prepared {
        Ok(search_path) => search_path,
        Err(error) => {
            if single {
                rollback_run(&mut conn).await;
            }
            return Err(error);
        }
    };
    if planned.steps.is_empty() {
        if single {
            commit_run(&mut conn).await?;
        }
        return Ok(outcome);
    }
    if planned.kind == Kind::Stamp {
        stamp(&mut conn, &planned).await?;
        outcome.steps = planned
            .steps
            .iter()
            .map(|s| (s.revision.name.clone(), Duration::ZERO))
            .collect();
        return Ok(outcome);
    }
    let invalid_before = if planned.steps.iter().any(|s| !s.revision.run_in_transaction) {
        invalid_indexes(&mut conn).await?
    } else {
        Vec::new()
    };
    let mut harness = AsyncMigrationHarness::new(conn);
    let mut last_check = std::time::Instant::now();
    let mut still_locked = || {
        if last_check.elapsed() < LOCK_CHECK_INTERVAL {
            return true;
        }
        last_check = std::time::Instant::now();
        // Called from the harness's synchronous loop, as the harness itself
        // does: leave the worker, then drive the query to completion.
        let runtime = tokio::runtime::Handle::current();
        tokio::task::block_in_place(|| runtime.block_on(lock::session_alive(lock_conn)))
    };
    let report = apply::run_steps(
        &mut harness,
        &planned,
        &sql,
        search_path.as_deref(),
        events,
        &mut still_locked,
    );
    let mut conn = harness.into_inner();
    let timings = report.timings;
    match report.error {
        None => {
            if single {
                commit_run(&mut conn).await?;
            }
            outcome.steps = planned
                .steps
                .iter()
                .zip(timings)
                .map(|(s, t)| (s.revision.name.clone(), t))
                .collect();
            Ok(outcome)
        }
        Some(step_error) => {
            let step = planned.steps[step_error.index];
            if single {
                rollback_run(&mut conn).await;
            }
            if step_error.lock_lost {
                return Err(OnlineError::LockLost {
                    next: step.revision.name.clone(),
                    completed: if single {
                        Vec::new()
                    } else {
                        planned.steps[..timings.len()]
                            .iter()
                            .map(|s| s.revision.name.clone())
                            .collect()
                    },
                    single_transaction: single,
                });
            }
            let lost = step_error
                .failure
                .as_ref()
                .is_some_and(|f| f.connection_lost);
            let invalid_indexes = if !step.revision.run_in_transaction && !lost {
                let after = invalid_indexes(&mut conn).await.unwrap_or_default();
                after
                    .into_iter()
                    .filter(|i| !invalid_before.contains(i))
                    .collect()
            } else {
                Vec::new()
            };
            Err(OnlineError::Revision(Box::new(RevisionFailure {
                direction: step.direction,
                name: step.revision.name.clone(),
                run_in_transaction: step.revision.run_in_transaction,
                single_transaction: single,
                statement: step_error.failure,
                other_connection_lost: step_error.other.as_ref().is_some_and(|e| {
                    e.downcast_ref::<diesel::result::Error>()
                        .is_some_and(apply::is_connection_lost)
                }),
                other: step_error.other.map(|e| e.to_string()),
                completed: planned.steps[..timings.len()]
                    .iter()
                    .map(|s| s.revision.name.clone())
                    .collect(),
                invalid_indexes,
            })))
        }
    }
}

/// Wrap a diesel error from a bookkeeping or inspection query, saying what it was for.
fn query_failed(what: &'static str) -> impl FnOnce(diesel::result::Error) -> OnlineError {
    move |source| OnlineError::Query { what, source }
}

/// Open the transaction of a `--transaction single` run.
async fn begin_run(conn: &mut AsyncPgConnection) -> Result<(), OnlineError> {
    <AsyncPgConnection as AsyncConnection>::TransactionManager::begin_transaction(conn)
        .await
        .map_err(query_failed("begin the run's transaction"))
}

/// Commit the transaction of a `--transaction single` run.
async fn commit_run(conn: &mut AsyncPgConnection) -> Result<(), OnlineError> {
    <AsyncPgConnection as AsyncConnection>::TransactionManager::commit_transaction(conn)
        .await
        .map_err(query_failed("commit the run's transaction"))
}

/// Roll back `--transaction single`'s transaction. Best effort: when the
/// connection is lost, the server rolls it back anyway.
async fn rollback_run(conn: &mut AsyncPgConnection) {
    let _ = <AsyncPgConnection as AsyncConnection>::TransactionManager::rollback_transaction(conn)
        .await;
}

/// The session's `search_path`, to restore after revisions that change it.
async fn current_search_path(conn: &mut AsyncPgConnection) -> Result<Option<String>, OnlineError> {
    let row: OneText = diesel::sql_query("SELECT current_setting('search_path') AS value")
        .get_result(conn)
        .await
        .map_err(query_failed("read search_path"))?;
    Ok(row.value)
}

/// Indexes PostgreSQL marks invalid (a failed `CREATE INDEX CONCURRENTLY` leaves one).
async fn invalid_indexes(conn: &mut AsyncPgConnection) -> Result<Vec<String>, OnlineError> {
    let rows: Vec<OneText> = diesel::sql_query(
        "SELECT indexrelid::regclass::text AS value FROM pg_index WHERE NOT indisvalid ORDER BY 1",
    )
    .load(conn)
    .await
    .map_err(query_failed("list invalid indexes"))?;
    Ok(rows.into_iter().filter_map(|r| r.value).collect())
}

/// Write the version rows of a stamp plan in one transaction.
async fn stamp(conn: &mut AsyncPgConnection, planned: &Plan<'_>) -> Result<(), OnlineError> {
    let mut script = String::from("BEGIN;\n");
    for step in &planned.steps {
        let statement = match step.direction {
            plan::Direction::Up => render::insert_version_sql(&step.revision.version),
            plan::Direction::Down => render::delete_version_sql(&step.revision.version),
        };
        script.push_str(&statement);
        script.push('\n');
    }
    script.push_str("COMMIT;");
    diesel_async::SimpleAsyncConnection::batch_execute(conn, &script)
        .await
        .map_err(query_failed("write the version table"))
}

/// Bring the database behind `pool` to head: what an application calls at
/// startup. Revisions come from [`crate::plan::discover`] or
/// [`crate::embed`].
///
/// # Examples
///
/// ```no_run
/// # async fn example(pool: dmig::online::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// let revisions = dmig::plan::discover(std::path::Path::new("migrations"))?.revisions;
/// let outcome = dmig::online::upgrade_to_head(&pool, &revisions).await?;
/// println!("applied {} revision(s)", outcome.steps.len());
/// # Ok(())
/// # }
/// ```
pub async fn upgrade_to_head(
    pool: &PgPool,
    revisions: &[Revision],
) -> Result<Outcome, OnlineError> {
    let request = Request {
        kind: Kind::Upgrade,
        target: &plan::Target::Head,
        raw_target: "head",
        transaction: TransactionMode::PerRevision,
        strict: false,
    };
    migrate(
        pool,
        revisions,
        &request,
        &RunOptions::default(),
        &mut Silent,
    )
    .await
}

/// Where each revision stands in the database.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    /// Revisions on disk, oldest first.
    pub revisions: Vec<RevisionStatus>,
    /// Applied versions with no directory on disk.
    pub missing_on_disk: Vec<Applied>,
    /// Pending versions older than the newest applied one.
    pub out_of_order: Vec<String>,
    /// The newest applied version, if any.
    pub current: Option<String>,
    /// The newest version on disk, if any.
    pub head: Option<String>,
}

/// One revision's state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RevisionStatus {
    /// The version.
    pub version: String,
    /// The directory name.
    pub name: String,
    /// `applied` or `pending`.
    pub state: &'static str,
    /// `run_on` when applied.
    pub run_on: Option<String>,
    /// Whether it runs in a transaction.
    pub run_in_transaction: bool,
}

impl Status {
    /// Nothing pending, missing or out of order.
    pub fn is_at_head(&self) -> bool {
        self.missing_on_disk.is_empty()
            && self.out_of_order.is_empty()
            && self.revisions.iter().all(|r| r.state == "applied")
    }
}

/// Compare the revisions on disk with the version table (read-only: the
/// table is not created when missing).
pub async fn status(pool: &PgPool, revisions: &[Revision]) -> Result<Status, OnlineError> {
    let mut conn = checkout(pool).await?;
    let applied = read_applied(&mut conn).await?;
    Ok(status_of(revisions, applied))
}

/// The pure part of [`status`].
pub fn status_of(revisions: &[Revision], applied: Vec<Applied>) -> Status {
    let newest_applied = applied
        .iter()
        .map(|a| a.version.as_str())
        .max()
        .unwrap_or("");
    let mut out_of_order = Vec::new();
    let entries: Vec<RevisionStatus> = revisions
        .iter()
        .map(|r| {
            let row = applied
                .binary_search_by(|a| a.version.as_str().cmp(&r.version))
                .ok()
                .map(|i| &applied[i]);
            if row.is_none() && r.version.as_str() < newest_applied {
                out_of_order.push(r.name.clone());
            }
            RevisionStatus {
                version: r.version.clone(),
                name: r.name.clone(),
                state: if row.is_some() { "applied" } else { "pending" },
                run_on: row.map(|a| a.run_on.clone()),
                run_in_transaction: r.run_in_transaction,
            }
        })
        .collect();
    let current = applied.last().map(|a| a.version.clone());
    let missing_on_disk = applied
        .into_iter()
        .filter(|a| {
            revisions
                .binary_search_by(|r| r.version.as_str().cmp(&a.version))
                .is_err()
        })
        .collect();
    Status {
        revisions: entries,
        missing_on_disk,
        out_of_order,
        current,
        head: revisions.last().map(|r| r.version.clone()),
    }
}
