//! `dmig upgrade|downgrade|stamp` online.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;

use super::{Context, Session};
use crate::cli::args::Format;
use crate::cli::output::{say, Interrupts};
use crate::cli::report::json;
use crate::cli::report::progress::Progress;
use crate::cli::report::text::format_duration;
use crate::cli::settings::Run;
use crate::online::cancel::CANCEL_WAIT;
use crate::online::{self, Cancel, Notice, OnlineError, RunOptions};
use crate::plan::{Kind, Request};

/// Take the lock, plan and run `request`, reporting as it goes.
pub(super) fn migrate(cx: &Context, request: &Request, run: Run) -> anyhow::Result<ExitCode> {
    let Run {
        online,
        session,
        checksums,
        lock_wait,
        retries,
        quiet,
        format,
    } = run;
    let (_, discovery) = cx.load()?;
    let mut options = RunOptions {
        lock_wait,
        dedicated_session: Some(online.url.clone()),
        session,
        cancel: Cancel::new(),
        retries,
        checksums,
    };
    // A signal while connecting ends dmig at once (nothing has run); from
    // here on it stops the run, which cancels the running statement first.
    let session = Session::open(&online, options.pooled_sessions(request))?;
    let interrupts = Interrupts::catch_run().context("cannot catch signals")?;
    let mut progress = Progress::new(request.kind, quiet);
    let lines = progress.lines();
    options.cancel = interrupts.cancel().on_notice(move |notice| match notice {
        Notice::CancelSent => lines.line(
            "interrupted: cancelling the running statement on the server; waiting until it has stopped and rolled back (a second signal exits at once)",
        ),
        Notice::Terminating => lines.line(&format!(
            "the statement did not stop within {}s of the cancel: terminating its session",
            CANCEL_WAIT.as_secs()
        )),
    });
    let started = Instant::now();
    let outcome = session.runtime.block_on(online::migrate(
        &session.pool,
        &discovery.revisions,
        request,
        &options,
        &mut progress,
    ));
    progress.finish();
    let outcome = match outcome {
        Err(OnlineError::Interrupted(report)) => {
            say!("{report}");
            return Ok(ExitCode::from(interrupts.exit_code().unwrap_or(130)));
        }
        other => other?,
    };
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
        } else if outcome.steps.is_empty() && outcome.purged.is_empty() {
            say!("nothing to do: the database is at {}", outcome.from);
        } else if outcome.steps.is_empty() {
            say!("stamped: the database is at {}", outcome.to);
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
        if outcome.kind == Kind::Stamp {
            stamp_rows(&outcome, request);
        }
    }
    // A signal after the last revision: the run is whole, the exit says it
    // was interrupted.
    Ok(interrupts
        .exit_code()
        .map_or(ExitCode::SUCCESS, ExitCode::from))
}

/// What a stamp did with the rows no revision on disk provides: deleted
/// (`--purge`), or left, with how to delete them.
fn stamp_rows(outcome: &online::Outcome, request: &Request) {
    let list = |versions: &[crate::model::Version]| {
        versions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !outcome.purged.is_empty() {
        say!(
            "purged {} row(s) whose revision is missing from the migrations directory: {}",
            outcome.purged.len(),
            list(&outcome.purged)
        );
    }
    if !outcome.missing_on_disk.is_empty() {
        crate::cli::report::warning(format_args!(
            "left {} row(s) in the version table whose revision is missing from the migrations directory: {}; `dmig stamp {} --purge` deletes them",
            outcome.missing_on_disk.len(),
            list(&outcome.missing_on_disk),
            request.target.text()
        ));
    }
}
