//! `dmig upgrade|downgrade|stamp` online.

use std::process::ExitCode;
use std::time::Instant;

use super::{Context, Session};
use crate::cli::args::Format;
use crate::cli::output::say;
use crate::cli::report::json;
use crate::cli::report::progress::Progress;
use crate::cli::report::text::format_duration;
use crate::cli::settings::Run;
use crate::online::{self, RunOptions};
use crate::plan::{Kind, Request};

/// Take the lock, plan and run `request`, reporting as it goes.
pub(super) fn migrate(cx: &Context, request: &Request, run: Run) -> anyhow::Result<ExitCode> {
    let Run {
        online,
        session,
        checksums,
        lock_wait,
        quiet,
        format,
    } = run;
    let (_, discovery) = cx.load()?;
    let options = RunOptions {
        lock_wait,
        dedicated_session: Some(online.url.clone()),
        session,
        checksums,
    };
    let session = Session::open(&online, options.pooled_sessions(request))?;
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
    if format == Format::Json {
        json::print(&outcome.report(started.elapsed()))?;
    }
    if !quiet {
        if outcome.steps.is_empty()
            && outcome.kind == Kind::Upgrade
            && outcome.to.version() < outcome.from.version()
        {
            say!(
                "nothing to do: the database is at {}, past {}; to go back to it, run `dmig downgrade {}`",
                outcome.from,
                request.target.text(),
                request.target.text()
            );
        } else if outcome.steps.is_empty() {
            say!("nothing to do: the database is at {}", outcome.from);
        } else if outcome.kind == Kind::Redo {
            say!(
                "redid {} revision(s) above {} in {}",
                outcome.steps.len() / 2,
                outcome.to,
                format_duration(started.elapsed())
            );
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
