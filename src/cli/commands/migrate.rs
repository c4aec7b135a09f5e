//! `dmig upgrade|downgrade|stamp` online.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{Context, Session};
use crate::cli::report::progress::Progress;
use crate::cli::report::text::format_duration;
use crate::cli::settings::Online;
use crate::online::{self, RunOptions};
use crate::plan::{Request, TransactionMode};

/// Take the lock, plan and run `request`, reporting as it goes.
pub(super) fn migrate(
    cx: &Context,
    request: &Request,
    online: &Online,
    lock_wait: Duration,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let (_, discovery) = cx.load()?;
    // The revisions run on a session of their own (see `RunOptions`), so
    // the pool holds only the lock's; one transaction for the whole run
    // needs a pooled work session too.
    let sessions = match request.transaction {
        TransactionMode::PerRevision => 1,
        TransactionMode::Single => 2,
    };
    let session = Session::open(online, sessions)?;
    let options = RunOptions {
        lock_wait,
        dedicated_session: Some(online.url.clone()),
    };
    let mut progress = Progress::new(request.kind, quiet);
    let started = Instant::now();
    let outcome = session.runtime.block_on(online::migrate(
        &session.pool,
        &discovery.revisions,
        request,
        &options,
        &mut progress,
    ));
    progress.finish();
    let outcome = outcome?;
    if !quiet {
        if outcome.steps.is_empty() {
            eprintln!("nothing to do: the database is at {}", outcome.from);
        } else {
            eprintln!(
                "{} {} revision(s) from {} to {} in {}",
                outcome.kind.past(),
                outcome.steps.len(),
                outcome.from,
                outcome.to,
                format_duration(started.elapsed())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
