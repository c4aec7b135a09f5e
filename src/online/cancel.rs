//! Stopping a run from outside it (Ctrl-C, SIGTERM, an application shutting
//! down) without leaving anything running behind a released lock.
//!
//! The caller holds a [`Cancel`] and sets it; the run notices it at once:
//! - waiting for the lock, it gives up (nothing ran);
//! - between revisions or statements, it starts nothing more;
//! - during a revision's statement, the *supervisor* (the thread that
//!   started the harness, free while the harness runs on a thread of its
//!   own) asks the server to cancel it through the lock's session
//!   ([`Backend::cancel_statement`]), waits until the harness has stopped
//!   and rolled back, and only then lets the run release the lock. A session
//!   that does not stop within [`CANCEL_WAIT`] is terminated.
//!
//! A cancel is sent only while a revision's statement is on the wire
//! ([`Guard`] marks it under a mutex the supervisor holds while it sends),
//! so it never hits the harness's own bookkeeping (the version row, the
//! commit) or a later statement. It is sent again every
//! [`RESEND_INTERVAL`]: one sent just before the statement reached the
//! server finds the session idle, and the server drops it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::backend::{Backend, WorkPid};
use super::failure::{elided, Cause, RevisionFailure};
use super::OnlineError;
use crate::model::{printable, Direction};

/// How long the supervisor waits for a cancelled statement to stop before
/// it terminates the work session.
pub const CANCEL_WAIT: Duration = Duration::from_secs(30);

/// How long it then waits for the work session to be idle or gone.
const SETTLE_WAIT: Duration = Duration::from_secs(30);

/// How often the supervisor looks at the token while the harness runs.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// How often a cancel is sent again while the statement still runs.
const RESEND_INTERVAL: Duration = Duration::from_millis(500);

/// What a run tells the caller as it acts on a cancel (see [`Cancel::on_notice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The server was asked to cancel the running statement; the run waits
    /// for the work session to stop and roll back before it lets go of the lock.
    CancelSent,
    /// The statement did not stop within [`CANCEL_WAIT`]: the work session
    /// is being terminated.
    Terminating,
}

type NoticeHook = Arc<dyn Fn(Notice) + Send + Sync>;

/// A cancellation token for a run ([`super::RunOptions::cancel`]). Clones
/// share it: keep one, hand one to the run, call [`Cancel::cancel`] to stop.
///
/// # Examples
///
/// ```no_run
/// # async fn example(
/// #     pool: dmig::online::PgPool,
/// #     revisions: Vec<dmig::model::Revision>,
/// #     shutdown: impl std::future::Future<Output = ()> + Send + 'static,
/// # ) {
/// use dmig::online::{Cancel, RunOptions};
/// let cancel = Cancel::new();
/// let on_shutdown = cancel.clone();
/// tokio::spawn(async move {
///     shutdown.await; // e.g. tokio::signal::ctrl_c()
///     on_shutdown.cancel();
/// });
/// let options = RunOptions { cancel, ..RunOptions::default() };
/// let request = dmig::plan::Request::upgrade_to_head();
/// let mut events = dmig::online::Silent;
/// match dmig::online::migrate(&pool, &revisions, &request, &options, &mut events).await {
///     Err(dmig::online::OnlineError::Interrupted(report)) => eprintln!("{report}"),
///     other => { let _ = other; }
/// }
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Cancel {
    requested: Arc<AtomicBool>,
    handled: Arc<AtomicBool>,
    notice: Option<NoticeHook>,
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel")
            .field("requested", &self.is_cancelled())
            .field("handled", &self.is_handled())
            .finish()
    }
}

impl Cancel {
    /// A token nobody has cancelled yet.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// A token over flags of the caller's: `requested` is read (a signal
    /// handler may set it), `handled` is set once the run has acted on the
    /// request (the running statement's cancel sent, or the run stopped),
    /// e.g. to let a second Ctrl-C kill the process from then on.
    pub fn with_flags(requested: Arc<AtomicBool>, handled: Arc<AtomicBool>) -> Cancel {
        Cancel {
            requested,
            handled,
            notice: None,
        }
    }

    /// Call `hook` as the run acts on a cancel (from the thread that
    /// supervises it), e.g. to tell the user what it waits for.
    pub fn on_notice(mut self, hook: impl Fn(Notice) + Send + Sync + 'static) -> Cancel {
        self.notice = Some(Arc::new(hook));
        self
    }

    /// Ask the run to stop.
    pub fn cancel(&self) {
        self.requested.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Whether the run has acted on the request.
    pub fn is_handled(&self) -> bool {
        self.handled.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_handled(&self) {
        self.handled.store(true, Ordering::SeqCst);
    }

    fn notify(&self, notice: Notice) {
        if let Some(hook) = &self.notice {
            hook(notice);
        }
    }
}

/// One run's side of a [`Cancel`]: which work session to cancel, and
/// whether one of the revision's statements is on the wire.
pub(crate) struct Guard {
    cancel: Cancel,
    /// The work session's server process, once known.
    work_pid: WorkPid,
    /// A revision's statement was sent and has not returned. The supervisor
    /// holds the lock while it sends a cancel, so the statement cannot
    /// return and another start meanwhile.
    in_flight: Mutex<bool>,
    /// Set when the work session was terminated.
    terminated: AtomicBool,
    /// Set when the work session was still busy as the run ended.
    still_busy: AtomicBool,
}

impl Guard {
    pub(crate) fn new(cancel: &Cancel) -> Guard {
        Guard {
            cancel: cancel.clone(),
            work_pid: WorkPid::default(),
            in_flight: Mutex::new(false),
            terminated: AtomicBool::new(false),
            still_busy: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Where the work session's process id goes once it is known.
    pub(crate) fn work_pid_slot(&self) -> WorkPid {
        self.work_pid.clone()
    }

    pub(crate) fn set_work_pid(&self, pid: i64) {
        self.work_pid.set(pid);
    }

    fn work_pid(&self) -> Option<i64> {
        self.work_pid.get()
    }

    /// Run one of the revision's statements with `send`, unless the run is
    /// cancelled (then `None`: the statement is not sent).
    pub(crate) fn statement<T>(&self, send: impl FnOnce() -> T) -> Option<T> {
        {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if self.is_cancelled() {
                return None;
            }
            *in_flight = true;
        }
        let result = send();
        *self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = false;
        Some(result)
    }

    /// The work session was terminated after [`CANCEL_WAIT`].
    pub(crate) fn terminated(&self) -> bool {
        self.terminated.load(Ordering::SeqCst)
    }

    /// The run's error for a cancel that stopped it at `stage`.
    pub(crate) fn interrupted(
        &self,
        stage: Stage,
        direction: Direction,
        completed: Vec<String>,
        single_transaction: bool,
    ) -> OnlineError {
        self.cancel.mark_handled();
        OnlineError::Interrupted(Box::new(Interruption {
            stage,
            direction,
            completed: if single_transaction {
                Vec::new()
            } else {
                completed
            },
            single_transaction,
            terminated: self.terminated.load(Ordering::SeqCst),
            still_busy: self.still_busy.load(Ordering::SeqCst),
        }))
    }
}

/// The supervisor's side of a cancel, driven by the one watcher that runs
/// while the harness works on a thread of its own ([`super::waits`]): once
/// the token is set, [`Canceller::tick`] sends the cancel (again every
/// [`RESEND_INTERVAL`]) and terminates the work session [`CANCEL_WAIT`]
/// after the first cancel reached it; [`Canceller::finish`] then waits until
/// the work session is idle or gone, before the run lets go of the lock.
#[derive(Default)]
pub(crate) struct Canceller {
    /// Time since the first cancel was sent, counted tick by tick.
    waited: Waited,
    last_try: Option<Instant>,
    notified: bool,
}

impl Canceller {
    /// Act on a set token; call it at least every [`POLL`] while the
    /// harness runs, from a thread where blocking is allowed, with `handle`
    /// the runtime `lock_conn` lives on.
    pub(crate) fn tick<B: Backend>(
        &mut self,
        handle: &tokio::runtime::Handle,
        lock_conn: &Mutex<&mut B>,
        guard: &Guard,
    ) {
        if !guard.is_cancelled() {
            return;
        }
        let now = Instant::now();
        self.waited.tick(now);
        if self
            .last_try
            .is_none_or(|last| now.saturating_duration_since(last) >= RESEND_INTERVAL)
        {
            self.last_try = Some(now);
            match cancel_in_flight(handle, lock_conn, guard) {
                Sent::Cancel => {
                    guard.cancel.mark_handled();
                    self.waited.start(now);
                    if !self.notified {
                        self.notified = true;
                        guard.cancel.notify(Notice::CancelSent);
                    }
                }
                // Nothing runs: the harness stops before its next statement.
                Sent::Nothing => guard.cancel.mark_handled(),
                // The work session is still connecting: next time.
                Sent::NotYet => {}
            }
        }
        if self.waited.at_least(CANCEL_WAIT) && !guard.terminated() {
            guard.terminated.store(true, Ordering::SeqCst);
            guard.cancel.notify(Notice::Terminating);
            if let Some(pid) = guard.work_pid() {
                let mut conn = lock_conn.lock().unwrap_or_else(PoisonError::into_inner);
                let _ = handle.block_on(B::terminate_session(&mut **conn, pid));
            }
        }
    }

    /// The harness has returned. A pooled session came back with it, idle
    /// (or in the run's transaction, which the runner rolls back); a
    /// dedicated one was closed, and a terminated one may still be rolling
    /// back: wait for those.
    pub(crate) fn finish<B: Backend>(
        self,
        handle: &tokio::runtime::Handle,
        lock_conn: &Mutex<&mut B>,
        guard: &Guard,
        dedicated: bool,
    ) {
        if guard.is_cancelled() && (dedicated || guard.terminated()) {
            settle(handle, lock_conn, guard);
        }
    }
}

/// What [`cancel_in_flight`] did.
enum Sent {
    /// A statement was on the wire: the server was asked to cancel it.
    Cancel,
    /// No statement was on the wire.
    Nothing,
    /// One was, on a session whose process id is not known yet.
    NotYet,
}

/// How long the supervisor has waited since the first cancel was sent,
/// as the sum of the gaps between its ticks, each counted as at most
/// [`MAX_TICK_GAP`]: a clock that jumps (a virtual machine paused and
/// resumed) or a supervisor starved for a while never makes a stubborn
/// statement look [`CANCEL_WAIT`] old after a few real seconds, and the
/// session is terminated only once many cancels went unheeded.
#[derive(Debug, Default)]
struct Waited {
    /// The last tick since the first cancel, if one was sent.
    last: Option<Instant>,
    total: Duration,
}

/// The most one gap between ticks adds to [`Waited`] (ticks come every
/// [`POLL`], or after a cancel that took a round trip).
const MAX_TICK_GAP: Duration = Duration::from_secs(1);

impl Waited {
    /// A cancel was sent at `now`: start counting, unless already started.
    fn start(&mut self, now: Instant) {
        self.last.get_or_insert(now);
    }

    /// The supervisor ticked at `now`.
    fn tick(&mut self, now: Instant) {
        if let Some(last) = self.last {
            self.total += now.saturating_duration_since(last).min(MAX_TICK_GAP);
            self.last = Some(now);
        }
    }

    fn at_least(&self, wait: Duration) -> bool {
        self.last.is_some() && self.total >= wait
    }
}

/// Send the cancel if a statement is on the wire.
fn cancel_in_flight<B: Backend>(
    handle: &tokio::runtime::Handle,
    lock_conn: &Mutex<&mut B>,
    guard: &Guard,
) -> Sent {
    let in_flight = guard
        .in_flight
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if !*in_flight {
        return Sent::Nothing;
    }
    let Some(pid) = guard.work_pid() else {
        return Sent::NotYet;
    };
    let mut conn = lock_conn.lock().unwrap_or_else(PoisonError::into_inner);
    if let Err(error) = handle.block_on(B::cancel_statement(&mut **conn, pid)) {
        tracing::warn!(%error, "cancelling the running statement failed");
    }
    drop(in_flight);
    Sent::Cancel
}

/// Wait (at most [`SETTLE_WAIT`]) until the work session is idle or gone:
/// a terminated session may still be rolling back.
fn settle<B: Backend>(handle: &tokio::runtime::Handle, lock_conn: &Mutex<&mut B>, guard: &Guard) {
    let Some(pid) = guard.work_pid() else {
        return;
    };
    // Counted in looks, not by the clock (see [`Waited`]).
    const LOOK_EVERY: Duration = Duration::from_millis(50);
    let mut looks_left = SETTLE_WAIT.as_millis() / LOOK_EVERY.as_millis();
    let mut conn = lock_conn.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        match handle.block_on(B::session_busy(&mut **conn, pid)) {
            Ok(false) => return,
            Ok(true) if looks_left > 0 => {
                looks_left -= 1;
                std::thread::sleep(LOOK_EVERY);
            }
            Ok(true) => {
                guard.still_busy.store(true, Ordering::SeqCst);
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot tell whether the work session stopped");
                guard.still_busy.store(true, Ordering::SeqCst);
                return;
            }
        }
    }
}

/// Where a cancelled run stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum Stage {
    /// Before the migration lock was held: nothing ran.
    WaitingForLock,
    /// Between revisions: `next` did not start.
    Between {
        /// The revision that did not start.
        next: String,
    },
    /// During a revision: what became of it (its statement cancelled, or
    /// not started), as a failure report says it.
    During(Box<RevisionFailure>),
}

/// What a cancelled run did ([`super::OnlineError::Interrupted`]).
#[derive(Debug)]
pub struct Interruption {
    /// Where it stopped.
    pub stage: Stage,
    /// Upgrade or downgrade (for the words).
    pub direction: Direction,
    /// Revisions this run completed before it stopped; they stay.
    pub completed: Vec<String>,
    /// The run was one transaction, now rolled back.
    pub single_transaction: bool,
    /// The work session did not stop within [`CANCEL_WAIT`] of the cancel
    /// and was terminated.
    pub terminated: bool,
    /// The work session was still busy when dmig stopped waiting for it.
    pub still_busy: bool,
}

impl Interruption {
    /// Stopped while waiting for the lock.
    pub(crate) fn waiting_for_lock() -> Interruption {
        Interruption {
            stage: Stage::WaitingForLock,
            direction: Direction::Up,
            completed: Vec::new(),
            single_transaction: false,
            terminated: false,
            still_busy: false,
        }
    }
}

impl fmt::Display for Interruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = self.direction.past();
        match &self.stage {
            Stage::WaitingForLock => {
                return f.write_str(
                    "interrupted while waiting for the migration lock: nothing was applied",
                )
            }
            Stage::Between { next } => {
                write!(
                    f,
                    "interrupted before revision `{}` ({}): it did not start",
                    printable(next),
                    self.direction.noun()
                )?;
                if self.single_transaction {
                    write!(
                        f,
                        "\n  the whole run was one transaction: it was rolled back, nothing changed"
                    )?;
                } else if self.completed.is_empty() {
                    write!(f, "\n  nothing was {done} in this run")?;
                } else {
                    write!(
                        f,
                        "\n  {done} in this run (and still {done}): {}",
                        elided(&self.completed, ", ")
                    )?;
                }
            }
            Stage::During(failure) => {
                let not_started = matches!(
                    &failure.cause,
                    Cause::Statement(s) if s.message == super::apply::NOT_STARTED
                );
                write!(
                    f,
                    "interrupted during revision `{}` ({}): {}",
                    printable(&failure.name),
                    failure.direction.noun(),
                    if not_started {
                        "stopped before its next statement"
                    } else if self.terminated {
                        "its running statement was stopped on the server"
                    } else {
                        "its running statement was cancelled on the server"
                    }
                )?;
                failure.fmt_details(f)?;
            }
        }
        if self.terminated {
            write!(
                f,
                "\n  the statement did not stop within {}s of the cancel: its session was terminated",
                CANCEL_WAIT.as_secs()
            )?;
        }
        if self.still_busy {
            write!(
                f,
                "\n  warning: the work session was still busy when dmig released the migration lock; check pg_stat_activity before rerunning"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_guard_sends_no_further_statement() {
        let cancel = Cancel::new();
        let guard = Guard::new(&cancel);
        assert_eq!(guard.statement(|| 1), Some(1));
        assert!(
            !*guard.in_flight.lock().unwrap(),
            "cleared after the statement"
        );
        cancel.cancel();
        assert_eq!(guard.statement(|| 2), None);
        assert!(!cancel.is_handled());
        let OnlineError::Interrupted(report) = guard.interrupted(
            Stage::Between {
                next: "2_b\x1b[2J".into(),
            },
            Direction::Up,
            vec!["1_a".into()],
            false,
        ) else {
            panic!("an interruption");
        };
        assert!(cancel.is_handled(), "reporting means the run acted on it");
        assert_eq!(
            report.to_string(),
            "interrupted before revision `2_b?[2J` (upgrade): it did not start\n  \
             applied in this run (and still applied): 1_a"
        );
    }

    #[test]
    fn the_wait_counts_from_the_first_cancel_and_a_clock_jump_counts_little() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut waited = Waited::default();
        // Ticks before any cancel was sent do not count.
        waited.tick(at(0));
        waited.tick(at(40_000));
        assert!(!waited.at_least(Duration::ZERO));
        waited.start(at(40_000));
        waited.start(at(40_050)); // a resend does not restart it
        for ms in (40_050..=50_000).step_by(50) {
            waited.tick(at(ms));
        }
        assert!(waited.at_least(Duration::from_secs(10)));
        assert!(!waited.at_least(Duration::from_millis(10_001)));
        // A jump of a minute between two ticks adds one gap's worth.
        waited.tick(at(110_000));
        assert!(waited.at_least(Duration::from_secs(11)));
        assert!(!waited.at_least(Duration::from_millis(11_001)));
        // A clock that goes back adds nothing.
        waited.tick(at(100_000));
        assert!(!waited.at_least(Duration::from_millis(11_001)));
    }

    #[test]
    fn flags_of_the_caller_are_shared() {
        let requested = Arc::new(AtomicBool::new(false));
        let handled = Arc::new(AtomicBool::new(false));
        let cancel = Cancel::with_flags(Arc::clone(&requested), Arc::clone(&handled));
        requested.store(true, Ordering::SeqCst);
        assert!(cancel.clone().is_cancelled());
        cancel.mark_handled();
        assert!(handled.load(Ordering::SeqCst));
        assert_eq!(
            Interruption::waiting_for_lock().to_string(),
            "interrupted while waiting for the migration lock: nothing was applied"
        );
    }
}
