//! What a run shows on stderr while it goes on: one line per completed
//! revision (always, unless `--quiet`), and on a terminal a live line below
//! them (indicatif: spinner, position/length, the running revision, its
//! elapsed time, the ETA), drawn from the start so a long revision is never
//! silent. Not a terminal: the lines only, no escape codes.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::text::format_duration;
use crate::cli::output::say;
use crate::online::{Events, LockHolder, LockWait, Retry};
use crate::plan::{Kind, Plan, Step};

/// How often the live line redraws (its spinner and elapsed time).
const TICK: Duration = Duration::from_millis(200);

/// The CLI's [`Events`].
pub(crate) struct Progress {
    kind: Kind,
    quiet: bool,
    bar: ProgressBar,
    /// When the running step started, for the live line's `{step}` key.
    step_started: Arc<Mutex<Instant>>,
    /// The live line, for [`Lines`] printed from another thread.
    live: Arc<Mutex<ProgressBar>>,
}

/// Prints lines above the live one from any thread (the interrupt notices
/// come from the thread supervising the run).
#[derive(Clone)]
pub(crate) struct Lines(Arc<Mutex<ProgressBar>>);

impl Lines {
    /// A line above the live one (or alone, when there is none).
    pub(crate) fn line(&self, text: &str) {
        let bar = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        bar.suspend(|| say!("{text}"));
    }
}

impl Progress {
    /// Progress of a `kind` run; `quiet` prints nothing.
    pub(crate) fn new(kind: Kind, quiet: bool) -> Progress {
        Progress {
            kind,
            quiet,
            bar: ProgressBar::hidden(),
            step_started: Arc::new(Mutex::new(Instant::now())),
            live: Arc::new(Mutex::new(ProgressBar::hidden())),
        }
    }

    /// Where other threads print lines (shown even with `--quiet`).
    pub(crate) fn lines(&self) -> Lines {
        Lines(Arc::clone(&self.live))
    }

    /// Clear the live line, if one is drawn.
    pub(crate) fn finish(&mut self) {
        self.bar.finish_and_clear();
    }

    /// A line above the live one (or alone, when there is none).
    fn line(&self, text: &str) {
        // `say!`: a closed stderr loses the line, never the run.
        self.bar.suspend(|| say!("{text}"));
    }
}

impl Events for Progress {
    fn waiting_for_lock(&mut self, holder: Option<&LockHolder>) {
        if !self.quiet {
            match holder {
                Some(holder) => {
                    self.line(&format!("waiting for the migration lock, held by {holder}"))
                }
                None => self.line("waiting for the migration lock"),
            }
        }
    }

    fn planned(&mut self, plan: &Plan<'_>) {
        for warning in &plan.warnings {
            self.bar.suspend(|| super::warning(warning));
        }
        if !plan.out_of_order.is_empty() {
            let names: Vec<_> = plan
                .out_of_order
                .iter()
                .map(|r| r.printable_name())
                .collect();
            self.line(&format!(
                "warning: applying {} revision(s) older than the newest applied one (out of order): {}",
                names.len(),
                names.join(", ")
            ));
        }
        if self.quiet || plan.steps.is_empty() {
            return;
        }
        // `stderr()` draws nothing when stderr is not a terminal.
        let bar = ProgressBar::with_draw_target(
            Some(plan.steps.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        let started = Arc::clone(&self.step_started);
        let style =
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {step} (eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key(
                    "step",
                    move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                        let since = started
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .elapsed();
                        let _ = write!(out, "{}s", since.as_secs());
                    },
                );
        bar.set_style(style);
        bar.enable_steady_tick(TICK);
        // A retried single-transaction run is planned again: one live line.
        self.bar.finish_and_clear();
        *self.live.lock().unwrap_or_else(PoisonError::into_inner) = bar.clone();
        self.bar = bar;
    }

    fn step_started(&mut self, step: &Step<'_>, _index: usize, _total: usize) {
        self.bar.set_message(format!(
            "{} {}",
            step.direction.noun(),
            step.revision.printable_name()
        ));
        *self
            .step_started
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    fn waiting_for_object(&mut self, wait: &LockWait) {
        if !self.quiet {
            self.line(&format!("waiting for {wait}"));
        }
    }

    fn retrying(&mut self, retry: &Retry<'_>) {
        if self.quiet {
            return;
        }
        let what = if retry.whole_run {
            "the run's transaction was rolled back; retrying the run"
        } else {
            "rolled back; retrying"
        };
        let waited = retry
            .wait
            .map(|wait| format!(" (it waited for {wait})"))
            .unwrap_or_default();
        self.line(&format!(
            "lock timeout in {}{waited}: {what} ({}/{}) in {}",
            crate::model::printable(retry.revision),
            retry.retry,
            retry.retries,
            format_duration(retry.delay)
        ));
    }

    fn step_done(&mut self, step: &Step<'_>, elapsed: Duration) {
        self.bar.inc(1);
        if self.quiet {
            return;
        }
        self.line(&format!(
            "{} {}  {}",
            self.kind.step_past(step.direction),
            step.revision.printable_name(),
            format_duration(elapsed)
        ));
    }
}
