//! Lock waits of the revisions: watched from the lock's session while a step
//! runs, and retried with backoff when a transactional revision gives up on
//! one (`--lock-timeout` with `--retries`).
//!
//! The work session is inside the statement that waits, so it cannot say
//! what it waits for; the lock's session, idle while it holds the migration
//! lock, can (`pg_locks`, `pg_blocking_pids`). The harness runs on a thread
//! of its own and this module's watcher on the runner's: it looks only on a
//! timer, once a step has run for a while, so a run of quick revisions sends
//! nothing more than before, and the work session never sends anything more.

use std::hash::{BuildHasher, Hasher};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bb8::PooledConnection;
use diesel_async::AsyncMigrationHarness;
use diesel_migrations::MigrationHarness;

use super::apply::{self, RunReport, StepSettings};
use super::backend::{
    Backend, DedicatedHarness, DieselBackend, Harness, LockWait, Manager, WorkPid,
};
use super::cancel::{self, Canceller, Guard};
use super::lock::Watch;
use super::runner::{run_locked, Events, Outcome, Run, Work};
use super::OnlineError;
use crate::dialect::PgDuration;
use crate::plan::{Plan, Step};

/// The first retry waits about this long; each one after it twice as long.
const RETRY_BASE: Duration = Duration::from_millis(200);

/// No retry waits longer than this (before jitter).
const RETRY_CAP: Duration = Duration::from_secs(10);

/// A step that has run this long gets its first look (sooner with a short
/// `lock_timeout`, so a wait it cuts short is still seen).
const FIRST_LOOK: Duration = Duration::from_millis(200);

/// How often the watcher wakes while a step runs.
const TICK: Duration = Duration::from_millis(100);

/// After this long, a running step is looked at less often.
const SLOW_AFTER: Duration = Duration::from_secs(2);

/// How often a long-running step is looked at.
const SLOW_LOOK: Duration = Duration::from_millis(500);

/// A wait longer than this is reported while it goes on.
const REPORT_AFTER: Duration = Duration::from_secs(1);

/// How long to wait before retry `retry` (1-based): 200 ms doubled each
/// time, at most 10 s, ±25 % so that several migrators (or a migrator and a
/// batch job) that collided do not collide again in step.
pub(crate) fn backoff(retry: u32) -> Duration {
    let doubled = RETRY_BASE.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
    doubled.min(RETRY_CAP).mul_f64(0.75 + 0.5 * jitter())
}

/// A number in [0, 1), different on each call: std's hasher keys are drawn
/// from the OS once per thread and stepped per `RandomState`, and the clock
/// is mixed in; nothing here needs more than "not in step".
fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// When the watcher first looks at a running step, given `lock_timeout`.
pub(crate) fn first_look(lock_timeout: Option<Duration>) -> Duration {
    match lock_timeout {
        Some(timeout) if !timeout.is_zero() => {
            (timeout * 2 / 5).clamp(Duration::from_millis(20), FIRST_LOOK)
        }
        _ => FIRST_LOOK,
    }
}

/// A retry about to happen, for [`Events::retrying`].
#[derive(Debug, Clone, Copy)]
pub struct Retry<'a> {
    /// The revision that could not get its lock (directory name).
    pub revision: &'a str,
    /// This retry's number, from 1.
    pub retry: u32,
    /// The retries allowed.
    pub retries: u32,
    /// How long the run sleeps first.
    pub delay: Duration,
    /// What it waited for, as last seen.
    pub wait: Option<&'a LockWait>,
    /// The whole run is retried (`--transaction single`: it was one
    /// transaction, rolled back), not only the revision.
    pub whole_run: bool,
}

/// What the harness's thread and the watcher share.
struct Shared<'a, B> {
    lock_conn: Mutex<&'a mut B>,
    events: Mutex<&'a mut dyn Events>,
    state: Mutex<State>,
    wake: Condvar,
    handle: tokio::runtime::Handle,
    pid: WorkPid,
    first_look: Duration,
    /// The run's side of its cancel token, acted on by the watcher.
    guard: &'a Guard,
}

/// The step attempt that runs, as the watcher sees it.
#[derive(Default)]
struct State {
    /// Counts attempts, so a look that ends after its attempt is dropped.
    attempt: u64,
    /// When the running attempt started; `None` between attempts.
    started: Option<Instant>,
    /// The last wait seen during this attempt.
    seen: Option<LockWait>,
    /// The object whose wait was reported in this attempt.
    reported: Option<String>,
    /// The harness's thread ended.
    done: bool,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The harness thread's side: the lock check between steps, and the marks
/// around each attempt that tell the watcher a step runs.
pub(crate) struct Supervisor<'s, 'a, B> {
    shared: &'s Shared<'a, B>,
    watch: Watch,
}

impl<B: Backend> Supervisor<'_, '_, B> {
    /// Whether the lock's session is still there (see [`Watch`]).
    pub(crate) fn still_locked(&mut self) -> bool {
        let _runtime = self.shared.handle.enter();
        let mut conn = locked(&self.shared.lock_conn);
        self.watch.still_locked(&mut **conn)
    }

    /// A step (or a retry of it) starts.
    pub(crate) fn attempt_started(&self) {
        let mut state = locked(&self.shared.state);
        state.attempt += 1;
        state.started = Some(Instant::now());
        state.seen = None;
        state.reported = None;
    }

    /// The attempt ended; what it was last seen waiting for, if anything.
    pub(crate) fn attempt_ended(&self) -> Option<LockWait> {
        let mut state = locked(&self.shared.state);
        state.started = None;
        state.seen.take()
    }
}

/// Ends the watcher when the harness's thread ends, panicking or not.
struct Done<'s, 'a, B>(&'s Shared<'a, B>);

impl<B> Drop for Done<'_, '_, B> {
    fn drop(&mut self) {
        locked(&self.0.state).done = true;
        self.0.wake.notify_all();
    }
}

/// [`Events`] shared between the harness's thread and the watcher.
struct SharedEvents<'s, 'a>(&'s Mutex<&'a mut dyn Events>);

impl Events for SharedEvents<'_, '_> {
    fn waiting_for_lock(&mut self, holder: Option<&super::LockHolder>) {
        locked(self.0).waiting_for_lock(holder);
    }
    fn planned(&mut self, plan: &Plan<'_>) {
        locked(self.0).planned(plan);
    }
    fn step_started(&mut self, step: &Step<'_>, index: usize, total: usize) {
        locked(self.0).step_started(step, index, total);
    }
    fn step_done(&mut self, step: &Step<'_>, elapsed: Duration) {
        locked(self.0).step_done(step, elapsed);
    }
    fn waiting_for_object(&mut self, wait: &LockWait) {
        locked(self.0).waiting_for_object(wait);
    }
    fn retrying(&mut self, retry: &Retry<'_>) {
        locked(self.0).retrying(retry);
    }
}

/// [`run_locked`] on the pooled session, and again while a `--transaction
/// single` run failed for want of a lock and retries are left: the run was
/// one transaction, rolled back, so nothing changed and it is planned anew.
/// (Per revision, [`apply::run_steps`] retries the revision alone.)
pub(super) async fn run_retried<M>(
    pooled: &mut Option<PooledConnection<'static, M>>,
    lock_conn: &mut M::Connection,
    run: &Run<'_>,
    events: &mut dyn Events,
) -> Result<Outcome, OnlineError>
where
    M: Manager,
    Harness<M>: MigrationHarness<DieselBackend<M>>,
    DedicatedHarness<M>: MigrationHarness<DieselBackend<M>>,
{
    let mut retried = 0;
    let mut seen: Option<LockWait> = None;
    loop {
        let mut failure = match run_locked(pooled, lock_conn, Work::Pooled, run, events).await {
            Err(OnlineError::Revision(failure)) if failure.single_transaction => failure,
            Ok(mut outcome) => {
                outcome.run_retries = retried;
                return Ok(outcome);
            }
            other => return other,
        };
        let Some(lock) = failure.lock.as_mut() else {
            return Err(OnlineError::Revision(failure));
        };
        lock.attempts = retried + 1;
        // A short wait may have ended before the watcher looked.
        if lock.wait.is_none() {
            lock.wait = seen.clone();
        }
        seen = lock.wait.clone();
        if retried >= run.options.retries || run.guard.is_cancelled() {
            return Err(OnlineError::Revision(failure));
        }
        retried += 1;
        let delay = backoff(retried);
        events.retrying(&Retry {
            revision: &failure.name,
            retry: retried,
            retries: run.options.retries,
            delay,
            wait: lock.wait.as_ref(),
            whole_run: true,
        });
        tokio::time::sleep(delay).await;
        if !<M::Connection as Backend>::ping(lock_conn).await {
            return Err(OnlineError::LockLost {
                next: failure.name.clone(),
                completed: Vec::new(),
                single_transaction: true,
            });
        }
    }
}

/// Run the steps of `planned` through the harness on `work` (the pooled
/// session `conn`, handed back after, or a dedicated one), watched from
/// `lock_conn` (see [`supervise`]).
pub(super) async fn run_watched<M>(
    work: Work<'_>,
    conn: Option<PooledConnection<'static, M>>,
    lock_conn: &mut M::Connection,
    planned: &Plan<'_>,
    with: StepSettings<'_, M::Connection>,
    run: &Run<'_>,
    events: &mut dyn Events,
) -> (RunReport, Option<PooledConnection<'static, M>>)
where
    M: Manager,
    Harness<M>: MigrationHarness<DieselBackend<M>>,
    DedicatedHarness<M>: MigrationHarness<DieselBackend<M>>,
{
    type C<M> = <M as bb8::ManageConnection>::Connection;
    // The work session's pid, for the lock's session to watch what it waits
    // for and to cancel its statement (a pooled session's is known from its
    // preparation; a dedicated session reports its own once connected).
    let (options, guard) = (run.options, run.guard);
    let pid = guard.work_pid_slot();
    let mut conn = conn;
    if let (Some(conn), None) = (conn.as_mut(), pid.get()) {
        if let Ok(own) = C::<M>::session_pid(&mut **conn).await {
            pid.set(own);
        }
    }
    let dedicated = matches!(work, Work::Dedicated { .. });
    let first_look = first_look(
        options
            .session
            .lock_timeout
            .as_ref()
            .map(PgDuration::duration),
    );
    let handle = tokio::runtime::Handle::current();
    let watched = pid.clone();
    tokio::task::block_in_place(|| {
        supervise(
            lock_conn,
            events,
            Watched {
                pid: watched,
                first_look,
                guard,
                dedicated,
            },
            |events, supervisor| match (work, conn) {
                (Work::Dedicated { url, setup }, _) => {
                    // A thread with no runtime: the harness makes one of its
                    // own and the session connects inside it (`pg::local`).
                    let session_conn = C::<M>::dedicated_session(url, setup, pid);
                    let mut harness = AsyncMigrationHarness::new(session_conn);
                    let report = apply::run_steps::<C<M>, _>(
                        &mut harness,
                        planned,
                        with,
                        events,
                        supervisor,
                        guard,
                    );
                    (report, None)
                }
                (Work::Pooled, Some(conn)) => {
                    // The pooled session lives on the pool's runtime; one
                    // blocking section for the whole plan, so the harness's
                    // own `block_in_place` per step finds nothing to hand off.
                    let _runtime = handle.enter();
                    let mut harness = AsyncMigrationHarness::new(conn);
                    let report = apply::run_steps::<C<M>, _>(
                        &mut harness,
                        planned,
                        with,
                        events,
                        supervisor,
                        guard,
                    );
                    (report, Some(harness.into_inner()))
                }
                (Work::Pooled, None) => unreachable!("a pooled run has its pooled session"),
            },
        )
    })
}

/// Run `body` (the harness driving the steps) on a thread of its own while
/// this thread watches, from `lock_conn`, what the work session `pid` waits
/// for. Call it where blocking is allowed (inside `block_in_place`): the
/// watcher and the lock checks drive their queries with the current
/// runtime's `block_on`.
pub(crate) fn supervise<B, R>(
    lock_conn: &mut B,
    events: &mut dyn Events,
    watched: Watched<'_>,
    body: impl FnOnce(&mut dyn Events, &mut Supervisor<'_, '_, B>) -> R + Send,
) -> R
where
    B: Backend,
    R: Send,
{
    let shared = Shared {
        lock_conn: Mutex::new(lock_conn),
        events: Mutex::new(events),
        state: Mutex::new(State::default()),
        wake: Condvar::new(),
        handle: tokio::runtime::Handle::current(),
        pid: watched.pid,
        first_look: watched.first_look,
        guard: watched.guard,
    };
    std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            let _done = Done(&shared);
            let mut events = SharedEvents(&shared.events);
            let mut supervisor = Supervisor {
                shared: &shared,
                watch: Watch::new(),
            };
            body(&mut events, &mut supervisor)
        });
        let canceller = watch(&shared);
        let result = match run.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        canceller.finish(
            &shared.handle,
            &shared.lock_conn,
            shared.guard,
            watched.dedicated,
        );
        result
    })
}

/// What [`supervise`] watches besides the lock waits.
pub(crate) struct Watched<'a> {
    /// The work session's pid, once known.
    pub(crate) pid: WorkPid,
    /// When a running step is first looked at ([`first_look`]).
    pub(crate) first_look: Duration,
    /// The run's cancel: a set token is acted on at every tick.
    pub(crate) guard: &'a Guard,
    /// The work session is the run's own (closed with the harness), not pooled.
    pub(crate) dedicated: bool,
}

/// The watcher: until the harness's thread ends, look at a step that has run
/// past [`Shared::first_look`], every [`TICK`] or less (every [`SLOW_LOOK`] once it
/// has run [`SLOW_AFTER`]), keep what it waits for, and report a wait that
/// passes [`REPORT_AFTER`] once per attempt and object.
fn watch<B: Backend>(shared: &Shared<'_, B>) -> Canceller {
    let mut last_look: Option<Instant> = None;
    let mut canceller = Canceller::default();
    // Finer with a short lock_timeout, so the first look is not late, and
    // often enough to act on a cancel at once.
    let tick = TICK
        .min(shared.first_look / 2)
        .min(cancel::POLL)
        .max(Duration::from_millis(10));
    let mut state = locked(&shared.state);
    loop {
        if state.done {
            return canceller;
        }
        state = shared
            .wake
            .wait_timeout(state, tick)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
        if shared.guard.is_cancelled() && !state.done {
            drop(state);
            canceller.tick(&shared.handle, &shared.lock_conn, shared.guard);
            state = locked(&shared.state);
            continue;
        }
        let Some(started) = state.started.filter(|_| !state.done) else {
            continue;
        };
        let running = started.elapsed();
        let due = match last_look {
            _ if running < shared.first_look => false,
            Some(at) if at > started && running > SLOW_AFTER => at.elapsed() >= SLOW_LOOK,
            _ => true,
        };
        let Some(pid) = shared.pid.get().filter(|_| due) else {
            continue;
        };
        let attempt = state.attempt;
        drop(state);
        last_look = Some(Instant::now());
        let wait = {
            let mut conn = locked(&shared.lock_conn);
            shared.handle.block_on(B::lock_wait(&mut **conn, pid))
        };
        state = locked(&shared.state);
        let Some(wait) = wait.filter(|_| state.attempt == attempt && state.started.is_some())
        else {
            continue;
        };
        let report =
            wait.waited >= REPORT_AFTER && state.reported.as_deref() != Some(wait.object.as_str());
        if report {
            state.reported = Some(wait.object.clone());
        }
        state.seen = Some(wait.clone());
        if report {
            drop(state);
            locked(&shared.events).waiting_for_object(&wait);
            state = locked(&shared.state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_200ms_up_to_10s_with_a_quarter_of_jitter() {
        for (retry, base) in [
            (1, 200),
            (2, 400),
            (3, 800),
            (6, 6400),
            (7, 10_000),
            (40, 10_000),
        ] {
            for _ in 0..20 {
                let delay = backoff(retry).as_millis();
                assert!(
                    (base * 3 / 4..=base * 5 / 4).contains(&delay),
                    "retry {retry}: {delay} ms"
                );
            }
        }
        let delays: std::collections::HashSet<_> = (0..20).map(|_| backoff(3)).collect();
        assert!(delays.len() > 1, "no jitter: {delays:?}");
    }

    #[test]
    fn a_short_lock_timeout_is_looked_at_before_it_ends() {
        assert_eq!(first_look(None), FIRST_LOOK);
        assert_eq!(
            first_look(Some(Duration::from_millis(100))),
            Duration::from_millis(40)
        );
        assert_eq!(first_look(Some(Duration::from_secs(5))), FIRST_LOOK);
        assert_eq!(
            first_look(Some(Duration::from_millis(1))),
            Duration::from_millis(20)
        );
    }
}
