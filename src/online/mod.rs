//! The online layer: revisions applied to a live database through
//! diesel-async's `AsyncMigrationHarness`, one migrator at a time. It knows
//! nothing of clap; the CLI and applications call the same functions.
//!
//! - [`runner`]: lock, plan, apply, report — written once, generic over
//!   [`Backend`]; [`read`]: the read-only side (rows, status);
//! - [`backend`]: what differs per database system; [`pg`] is PostgreSQL;
//! - [`lock`]: the policy around the migration lock;
//! - [`failure`]: what a failed run reports;
//! - [`cancel`]: stopping a run from outside ([`Cancel`]) without leaving a
//!   statement running behind a released lock;
//! - [`waits`]: lock waits of the revisions, watched and retried;
//! - [`pooler`]: refusing a connection pooled per transaction.
//!
//! `AsyncMigrationHarness` runs Diesel's synchronous harness inside
//! `tokio::task::block_in_place`, so these functions need a multi-thread
//! runtime (`#[tokio::main]`, `#[tokio::test(flavor = "multi_thread")]`).

mod apply;
pub mod backend;
pub mod cancel;
pub(crate) mod error;
pub mod failure;
mod lock;
pub mod pg;
pub mod pooler;
pub mod read;
pub mod runner;
pub mod waits;
mod writes;

use std::time::Duration;

pub use backend::{Backend, LockHolder, LockWait, WorkPid};
pub use cancel::{Cancel, Interruption, Notice};
pub use error::OnlineError;
pub use failure::{Cause, LockFailure, RevisionFailure, StatementFailure};
pub use pg::{connect_pool, PgPool};
pub use runner::{
    applied, checkout, migrate, read_applied, status, status_with, upgrade_to_head, Events,
    Outcome, RunOptions, Silent, StepDone,
};
pub use waits::Retry;

/// Connection settings for [`Backend::connect_pool`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// How many sessions the pool opens, right away: two for a run whose
    /// revisions run on a pooled session (one more holds the lock), one for
    /// a read-only command or a run on a dedicated session.
    pub sessions: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            sessions: 2,
        }
    }
}
