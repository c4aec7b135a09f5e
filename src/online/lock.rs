//! One migrator at a time: the policy around the migration lock, for every
//! backend. The lock is taken on a session of its own by *polling* a
//! try-lock; the backend supplies the primitives ([`Backend::try_lock`],
//! [`Backend::lock_holder`], [`Backend::ping`], [`Backend::unlock`]).
//!
//! Why polling: a blocking `pg_advisory_lock` waits inside a statement that
//! holds a snapshot, and `CREATE INDEX CONCURRENTLY` in the lock holder waits
//! for every older snapshot to go away: the two deadlock (golang-migrate#960,
//! flyway#1654). A poll is a short statement; between polls the waiter holds
//! nothing. The lock is released when the session ends, so a killed migrator
//! frees it as soon as the server notices the dead connection.

use std::time::{Duration, Instant};

use super::backend::{Backend, LockHolder};
use super::cancel::{Cancel, Interruption};
use super::OnlineError;

/// How long to sleep between two polls.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// How often, at most, a run checks between revisions that the lock's
/// session is still alive: often enough that a second migrator cannot slip in
/// for long, rarely enough to cost nothing against the revisions themselves.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Poll for the migration lock on `conn` until it is held or `wait` runs out.
/// `on_wait` is called once, when the first poll finds the lock taken.
/// A cancel ends the wait at the next poll (nothing has run yet).
pub(crate) async fn acquire<B: Backend>(
    conn: &mut B,
    wait: Duration,
    cancel: &Cancel,
    mut on_wait: impl FnMut(Option<&LockHolder>) + Send,
) -> Result<(), OnlineError> {
    B::prepare_lock_session(conn).await?;
    let started = Instant::now();
    let mut reported = false;
    loop {
        if cancel.is_cancelled() {
            cancel.mark_handled();
            return Err(OnlineError::Interrupted(Box::new(
                Interruption::waiting_for_lock(),
            )));
        }
        if B::try_lock(conn).await? {
            tracing::info!(lock = %B::lock_name(), "migration lock held");
            return Ok(());
        }
        if !reported {
            reported = true;
            on_wait(B::lock_holder(conn).await.as_ref());
        }
        if started.elapsed() >= wait {
            return Err(OnlineError::LockTimeout {
                lock: B::lock_name(),
                waited: wait,
                holder: B::lock_holder(conn).await,
            });
        }
        tokio::time::sleep(POLL_INTERVAL.min(wait.saturating_sub(started.elapsed()))).await;
    }
}

/// Release the lock; a failure is only logged, since ending the session
/// releases it too.
pub(crate) async fn release<B: Backend>(conn: &mut B) {
    if let Err(error) = B::unlock(conn).await {
        tracing::debug!(%error, "releasing the migration lock failed; the session end releases it");
    }
}

/// Whether the lock's session is still there, asked at most every
/// [`CHECK_INTERVAL`]: a session lock lives exactly as long as its session.
/// (The session can die alone: `pg_terminate_backend`, a network cut.)
pub(crate) struct Watch {
    last_check: Instant,
}

impl Watch {
    /// A watch whose first check is due after [`CHECK_INTERVAL`].
    pub(crate) fn new() -> Watch {
        Watch {
            last_check: Instant::now(),
        }
    }

    /// Called from the harness's synchronous loop (inside `block_in_place`):
    /// drives the check to completion on the current runtime.
    pub(crate) fn still_locked<B: Backend>(&mut self, conn: &mut B) -> bool {
        if self.last_check.elapsed() < CHECK_INTERVAL {
            return true;
        }
        self.last_check = Instant::now();
        tokio::runtime::Handle::current().block_on(B::ping(conn))
    }
}
