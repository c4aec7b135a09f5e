//! `dmig upgrade|downgrade|stamp` online.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::{Context, Session};
use crate::cli::output::say;
use crate::cli::report::progress::Progress;
use crate::cli::report::text::format_duration;
use crate::cli::settings::Online;
use crate::dialect::SessionSettings;
use crate::online::{self, RunOptions};
use crate::plan::Request;

/// Take the lock, plan and run `request`, reporting as it goes.
pub(super) fn migrate(
    cx: &Context,
    request: &Request,
    online: &Online,
    session: SessionSettings,
    lock_wait: Duration,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let (_, discovery) = cx.load()?;
    let options = RunOptions {
        lock_wait,
        dedicated_session: Some(online.url.clone()),
        session,
    };
    let session = Session::open(online, options.pooled_sessions(request))?;
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
            say!("nothing to do: the database is at {}", outcome.from);
        } else {
            say!(
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
