//! The runner, written once for every [`Backend`]: take the lock, read what is
//! applied, plan, apply through `AsyncMigrationHarness`, report.

use std::collections::HashSet;
use std::time::Duration;

use bb8::{Pool, PooledConnection};
use diesel_async::SimpleAsyncConnection;
use diesel_migrations::MigrationHarness;

use super::apply::{lost_connection, Completed, StepError, StepSettings};
use super::backend::{
    Backend, DedicatedHarness, DieselBackend, Harness, LockHolder, LockWait, Manager,
};
use super::cancel::{Cancel, Guard, Stage};
use super::error::query_failed;
use super::failure::{Cause, LockFailure, RevisionFailure};
use super::lock;
use super::pooler;
use super::waits::{self, Retry};
use super::writes::{begin_run, check_writable, commit_run, rollback_run, stamp};
use super::OnlineError;
// The read-only functions live in `read`; this path keeps working.
pub use super::read::{applied, checkout, read_applied, status, status_with};
use crate::dialect::SessionSettings;
use crate::model::{Direction, Revision, Version};
use crate::plan::{self, Kind, Plan, Position, Purge, Request, Step, TransactionMode};

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// How long to wait for another migrator's lock.
    pub lock_wait: Duration,
    /// Run the revisions on a work session of their own, opened to this URL
    /// on the harness's own thread, instead of on a pooled connection: each
    /// query then stays on one thread (see [`super::pg::local`]). The CLI
    /// sets it; an application's pool is used as it is. Not used for a
    /// stamp, with `--transaction single` (whose transaction spans the
    /// run's preparation) or with `init_sql` (the preparation must see what
    /// it sets): those run on a pooled session.
    pub dedicated_session: Option<String>,
    /// What the work session starts with (`--lock-timeout`,
    /// `--statement-timeout`, `--init-sql`). The lock's session gets none of
    /// it: its statements are dmig's own, and an `init_sql` that takes a
    /// lock there would block the work session. On a pooled session the
    /// timeouts are reset at the end of the run; what `init_sql` did stays.
    pub session: SessionSettings,
    /// Stops the run when cancelled (the CLI wires SIGINT, SIGTERM and
    /// SIGHUP to it): a statement running on the server is cancelled there,
    /// and the lock is held until the work session has stopped and rolled
    /// back; the run then fails with [`OnlineError::Interrupted`].
    pub cancel: Cancel,
    /// How often to try a transactional revision again after it failed for
    /// want of a lock (`lock_timeout` in `session`, or `NOWAIT`): each time
    /// rolled back whole, then retried after a backoff (200 ms doubled each
    /// time, at most 10 s, with jitter). In a `--transaction single` run the
    /// whole run is retried; a non-transactional revision never is.
    pub retries: u32,
    /// Keep dmig's companion table (`__dmig_revisions`: checksums, who,
    /// when, how long) beside the version table, written in each revision's
    /// transaction (the default). Off, the table is neither created, read
    /// nor written.
    pub checksums: bool,
}

impl RunOptions {
    /// The dedicated session a run of `request` uses, if any: the
    /// preparation and the revisions share one session where they must,
    /// since `--transaction single` spans both (as a redo's one transaction
    /// does), a stamp is all preparation, and `init_sql` may change what the
    /// preparation sees (its search_path).
    fn dedicated_for(&self, request: &Request) -> Option<&str> {
        self.dedicated_session.as_deref().filter(|_| {
            request.transaction == TransactionMode::PerRevision
                && !matches!(request.kind, Kind::Stamp | Kind::Redo)
                && self.session.init_sql.is_empty()
        })
    }

    /// How many pooled sessions a run of `request` takes: the lock's, and a
    /// second one, the work session (unless the revisions run on a
    /// dedicated one) and first the other half of the check that the
    /// connection is not pooled per transaction ([`super::pooler`]).
    pub fn pooled_sessions(&self, _request: &Request) -> u32 {
        2
    }
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(60),
            dedicated_session: None,
            session: SessionSettings::default(),
            cancel: Cancel::new(),
            retries: 0,
            checksums: true,
        }
    }
}

/// Things the caller may want to tell the user while a run goes on (the CLI
/// prints them; [`Silent`] ignores them).
///
/// While the steps run, events reach the caller through
/// `waits::SharedEvents`, which forwards each method by name: a new method
/// must be forwarded there too, or its default (nothing) is what runs.
pub trait Events: Send {
    /// The lock is held by someone else; we are polling.
    fn waiting_for_lock(&mut self, _holder: Option<&LockHolder>) {}
    /// The plan is known and about to run.
    fn planned(&mut self, _plan: &Plan<'_>) {}
    /// A step is about to run.
    fn step_started(&mut self, _step: &Step<'_>, _index: usize, _total: usize) {}
    /// A step committed (or, non-transactional, completed) in `elapsed`.
    fn step_done(&mut self, _step: &Step<'_>, _elapsed: Duration) {}
    /// A statement of the running step has waited about a second or more
    /// for a lock (told once per attempt and object, from the lock's session).
    fn waiting_for_object(&mut self, _wait: &LockWait) {}
    /// A revision (or a single-transaction run) could not get a lock in
    /// time, was rolled back, and is tried again after `retry.delay`.
    fn retrying(&mut self, _retry: &Retry<'_>) {}
}

/// Events that nobody listens to.
pub struct Silent;
impl Events for Silent {}

/// One step a run completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDone {
    /// The revision's version.
    pub version: Version,
    /// The revision's directory name.
    pub name: String,
    /// Applied (up) or reverted (down); for a stamp, recorded or forgotten.
    pub direction: Direction,
    /// How long it took (zero for a stamp), its retries included.
    pub elapsed: Duration,
    /// How often it was rolled back after a lock timeout and tried again
    /// ([`RunOptions::retries`]).
    pub retries: u32,
}

/// What a migrate run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Upgrade, downgrade or stamp.
    pub kind: Kind,
    /// Where the table started.
    pub from: Position,
    /// Where it ended.
    pub to: Position,
    /// The steps done, in order.
    pub steps: Vec<StepDone>,
    /// Pending revisions older than the newest applied one that were applied anyway.
    pub out_of_order: Vec<String>,
    /// Rows a stamp's `--purge` deleted because no revision on disk provides them.
    pub purged: Vec<Version>,
    /// Rows no revision on disk provides that are still in the table after
    /// the run (a stamp without `--purge` leaves them).
    pub missing_on_disk: Vec<Version>,
    /// How often the whole run (`--transaction single`) was rolled back
    /// after a lock timeout and tried again.
    pub run_retries: u32,
}

impl Outcome {
    /// The `--format json` document of this run, which took `elapsed`.
    pub fn report(&self, elapsed: Duration) -> crate::report::RunReport {
        crate::report::RunReport {
            dmig: crate::report::FORMAT_VERSION,
            command: self.kind.as_str(),
            from: self.from.version().cloned(),
            to: self.to.version().cloned(),
            steps: self
                .steps
                .iter()
                .map(|s| {
                    crate::report::StepRow::new(&s.version, &s.name, s.direction, s.elapsed)
                        .with_retries(s.retries)
                })
                .collect(),
            out_of_order: self.out_of_order.clone(),
            purged: self.purged.clone(),
            missing_on_disk: self.missing_on_disk.clone(),
            run_retries: self.run_retries,
            duration_ms: crate::report::millis(elapsed),
        }
    }
}

/// Bring the database behind `pool` to head: what an application calls at
/// startup. Revisions come from [`crate::source::discover`] or
/// [`crate::embed`]. The pool must be able to hand out two connections (one
/// holds the migration lock), and the runtime must be tokio's multi-thread
/// one (the harness uses `block_in_place`).
///
/// # Examples
///
/// ```no_run
/// # async fn example(pool: dmig::online::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// let revisions = dmig::source::discover(std::path::Path::new("migrations"))?.revisions;
/// let outcome = dmig::online::upgrade_to_head(&pool, &revisions).await?;
/// println!("applied {} revision(s)", outcome.steps.len());
/// # Ok(())
/// # }
/// ```
pub async fn upgrade_to_head<M>(
    pool: &Pool<M>,
    revisions: &[Revision],
) -> Result<Outcome, OnlineError>
where
    M: Manager,
    Harness<M>: MigrationHarness<DieselBackend<M>>,
    DedicatedHarness<M>: MigrationHarness<DieselBackend<M>>,
{
    migrate(
        pool,
        revisions,
        &Request::upgrade_to_head(),
        &RunOptions::default(),
        &mut Silent,
    )
    .await
}

/// Take the lock, read what is applied, plan `request`, and run it: the one
/// entry point for upgrade, downgrade and stamp, online.
pub async fn migrate<M>(
    pool: &Pool<M>,
    revisions: &[Revision],
    request: &Request,
    options: &RunOptions,
    events: &mut dyn Events,
) -> Result<Outcome, OnlineError>
where
    M: Manager,
    Harness<M>: MigrationHarness<DieselBackend<M>>,
    DedicatedHarness<M>: MigrationHarness<DieselBackend<M>>,
{
    // Diesel's harness would panic inside diesel-async on a current-thread
    // runtime, and a pool too small would wait out its timeout: say so now.
    if tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread)
    {
        return Err(OnlineError::CurrentThreadRuntime);
    }
    let needed = options.pooled_sessions(request);
    let size = pool.config().max_size;
    if size < needed {
        return Err(OnlineError::PoolTooSmall { size, needed });
    }
    let guard = Guard::new(&options.cancel);
    let mut lock_conn = checkout(pool).await?;
    // A session lock through a transaction pooler would stay on a server
    // session that serves others: refuse before taking it.
    let mut probe = checkout(pool).await?;
    pooler::refuse_transaction_pooling(&mut *lock_conn, &mut *probe).await?;
    drop(probe);
    lock::acquire(
        &mut *lock_conn,
        options.lock_wait,
        &options.cancel,
        |holder| events.waiting_for_lock(holder),
    )
    .await?;
    let dedicated = options.dedicated_for(request);
    let setup = <M::Connection as Backend>::dialect().session_statements(&options.session);
    let run = Run {
        revisions,
        request,
        options,
        guard: &guard,
    };
    let result = match dedicated {
        Some(url) => {
            let work = Work::Dedicated { url, setup };
            run_locked(&mut None, &mut lock_conn, work, &run, events).await
        }
        None => match checkout(pool).await {
            Ok(mut conn) => match prepare_pooled(&mut *conn, &setup).await {
                Ok(pid) => {
                    guard.set_work_pid(pid);
                    let mut pooled = Some(conn);
                    let result =
                        waits::run_retried(&mut pooled, &mut lock_conn, &run, events).await;
                    // The session goes back to the pool: leave it as it came.
                    if let Some(conn) = pooled.as_mut() {
                        <M::Connection as Backend>::release_work_session(conn).await;
                    }
                    result
                }
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        },
    };
    lock::release(&mut *lock_conn).await;
    if options.cancel.is_cancelled() {
        options.cancel.mark_handled();
    }
    result
}

/// Where the revisions run.
pub(super) enum Work<'a> {
    /// On the pooled work session.
    Pooled,
    /// On a session of their own to `url`, set up with `setup`.
    Dedicated { url: &'a str, setup: Vec<String> },
}

/// Ready a pooled work session: the backend's own setup, then `setup`.
async fn prepare_pooled<B: Backend>(conn: &mut B, setup: &[String]) -> Result<i64, OnlineError> {
    let pid = B::prepare_work_session(conn).await?;
    apply_setup(conn, setup).await?;
    Ok(pid)
}

/// Run a session's setup statements, if any.
async fn apply_setup<B: Backend>(conn: &mut B, setup: &[String]) -> Result<(), OnlineError> {
    if setup.is_empty() {
        return Ok(());
    }
    conn.batch_execute(&setup.join("\n"))
        .await
        .map_err(query_failed(
            "set the work session up (--lock-timeout, --statement-timeout, --init-sql)",
        ))
}

/// The session that prepares a run and inspects it afterwards: the pooled
/// work session, or, when the revisions run on a dedicated session, the
/// lock's own (idle while it holds the lock).
fn prep<'a, M: Manager>(
    pooled: &'a mut Option<PooledConnection<'static, M>>,
    lock_conn: &'a mut M::Connection,
) -> &'a mut M::Connection {
    match pooled {
        Some(conn) => conn,
        None => lock_conn,
    }
}

/// What a run is asked to do.
pub(super) struct Run<'a> {
    pub(super) revisions: &'a [Revision],
    pub(super) request: &'a Request,
    pub(super) options: &'a RunOptions,
    /// This run's side of `options.cancel`.
    pub(super) guard: &'a Guard,
}

pub(super) async fn run_locked<M>(
    pooled: &mut Option<PooledConnection<'static, M>>,
    lock_conn: &mut M::Connection,
    work: Work<'_>,
    run: &Run<'_>,
    events: &mut dyn Events,
) -> Result<Outcome, OnlineError>
where
    M: Manager,
    Harness<M>: MigrationHarness<DieselBackend<M>>,
    DedicatedHarness<M>: MigrationHarness<DieselBackend<M>>,
{
    type C<M> = <M as bb8::ManageConnection>::Connection;
    let Run {
        revisions,
        request,
        options,
        guard,
    } = *run;
    let checksums = options.checksums;
    // Plan and read every file first: a refused run changes nothing, not
    // even by creating the version table.
    let found = C::<M>::find_version_table(prep(pooled, lock_conn)).await?;
    let applied_rows = match &found {
        Some(table) => C::<M>::read_applied(prep(pooled, lock_conn), table).await?,
        None => Vec::new(),
    };
    let applied: HashSet<&str> = applied_rows.iter().map(|a| a.version.as_str()).collect();
    let mut planned = plan::plan(revisions, &applied, request)?;
    if checksums {
        planned.read_checksums()?;
    }
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
        purged: Vec::new(),
        missing_on_disk: planned.missing_on_disk.clone(),
        run_retries: 0,
    };
    // Nothing to do writes nothing (a read-only server stays fine).
    if planned.is_noop() {
        return Ok(outcome);
    }
    check_writable(prep(pooled, lock_conn), found.as_ref(), &planned).await?;
    // A stamp is one transaction of its own; otherwise `single` wraps the
    // version table's creation too, as the offline script does, so a failed
    // run leaves nothing at all.
    let single = planned.transaction == TransactionMode::Single && planned.kind != Kind::Stamp;
    if single {
        begin_run(prep(pooled, lock_conn)).await?;
    }
    let prepared = async {
        let conn = prep(pooled, lock_conn);
        let table = match found {
            Some(found) => found.table,
            None => C::<M>::create_version_table(&mut *conn).await?,
        };
        if checksums {
            let prepare = C::<M>::dialect().prepare_companion_table(&table);
            conn.batch_execute(&prepare)
                .await
                .map_err(query_failed("create the companion table"))?;
        }
        let session = C::<M>::save_session(conn).await?;
        Ok::<_, OnlineError>((table, session))
    }
    .await;
    let (table, session) = match prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            if single {
                rollback_run(prep(pooled, lock_conn)).await;
            }
            return Err(error);
        }
    };
    if planned.kind == Kind::Stamp {
        let companion = checksums.then_some(&table);
        stamp(prep(pooled, lock_conn), &table, companion, &planned).await?;
        let stamped = Completed {
            elapsed: Duration::ZERO,
            retried: 0,
        };
        outcome.steps = done(&planned, std::iter::repeat(stamped));
        if let Some(Purge::Rows(rows)) = &planned.purge {
            outcome.purged = rows.clone();
            outcome.missing_on_disk.retain(|v| !rows.contains(v));
        }
        return Ok(outcome);
    }
    let non_transactional = planned.steps.iter().any(|s| !s.revision.run_in_transaction);
    let leftovers_before = if non_transactional {
        C::<M>::leftovers(prep(pooled, lock_conn)).await?
    } else {
        Vec::new()
    };
    let companion = checksums.then_some(&table);
    let conn = pooled.take();
    let with = StepSettings {
        session: &session,
        companion,
        retries: options.retries,
    };
    let (report, back) =
        waits::run_watched(work, conn, lock_conn, &planned, with, run, events).await;
    if back.is_some() {
        *pooled = back;
    }
    let completed = report.completed.len();
    let Some((index, error)) = report.failure else {
        if single {
            commit_run(prep(pooled, lock_conn)).await?;
        }
        outcome.steps = done(&planned, report.completed);
        return Ok(outcome);
    };
    let step = &planned.steps[index];
    if single {
        rollback_run(prep(pooled, lock_conn)).await;
    }
    let completed_names: Vec<String> = planned.steps[..completed]
        .iter()
        .map(|s| s.revision.name.clone())
        .collect();
    let cause = match error {
        StepError::LockLost => {
            return Err(OnlineError::LockLost {
                next: step.revision.name.clone(),
                completed: if single { Vec::new() } else { completed_names },
                single_transaction: single,
            })
        }
        StepError::Interrupted => {
            let next = step.revision.name.clone();
            return Err(guard.interrupted(
                Stage::Between { next },
                step.direction,
                completed_names,
                single,
            ));
        }
        StepError::Statement(failure) => Cause::Statement(failure),
        StepError::Harness(error) => Cause::Harness {
            connection_lost: lost_connection::<C<M>>(&*error),
            message: error.to_string(),
        },
    };
    let lock = match &cause {
        Cause::Statement(failure) if failure.lock_not_available => Some(LockFailure {
            wait: report.lock_wait,
            attempts: report.retried + 1,
            retries: options.retries,
        }),
        _ => None,
    };
    let lost = match &cause {
        Cause::Statement(failure) => failure.connection_lost,
        Cause::Harness {
            connection_lost, ..
        } => *connection_lost,
    };
    let leftovers = if !step.revision.run_in_transaction && !lost {
        let after = C::<M>::leftovers(prep(pooled, lock_conn))
            .await
            .unwrap_or_default();
        after
            .into_iter()
            .filter(|object| !leftovers_before.contains(object))
            .collect()
    } else {
        Vec::new()
    };
    let failure = Box::new(RevisionFailure {
        direction: step.direction,
        name: step.revision.name.clone(),
        run_in_transaction: step.revision.run_in_transaction,
        single_transaction: single,
        cause,
        completed: completed_names.clone(),
        leftovers,
        lock,
    });
    if guard.is_cancelled() {
        let stage = Stage::During(failure);
        return Err(guard.interrupted(stage, step.direction, completed_names, single));
    }
    Err(OnlineError::Revision(failure))
}

/// The completed steps of `planned`, with their times and retries.
fn done(planned: &Plan<'_>, completed: impl IntoIterator<Item = Completed>) -> Vec<StepDone> {
    planned
        .steps
        .iter()
        .zip(completed)
        .map(|(step, completed)| StepDone {
            version: step.revision.version.clone(),
            name: step.revision.name.clone(),
            direction: step.direction,
            elapsed: completed.elapsed,
            retries: completed.retried,
        })
        .collect()
}
