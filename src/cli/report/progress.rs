//! Per-revision lines on stderr while a run goes on, and a live bar when
//! stderr is a terminal and the run is long.

use std::io::IsTerminal;
use std::time::Duration;

use super::text::format_duration;
use crate::cli::output::{say, say_partial};
use crate::online::Events;
use crate::online::LockHolder;
use crate::plan::{Kind, Plan, Step};

/// Runs shorter than this print lines only.
const BAR_THRESHOLD: usize = 50;

/// The CLI's [`Events`].
pub(crate) struct Progress {
    verb: &'static str,
    quiet: bool,
    bar: bool,
}

impl Progress {
    /// Progress of a `kind` run; `quiet` prints nothing.
    pub(crate) fn new(kind: Kind, quiet: bool) -> Progress {
        Progress {
            verb: kind.step_past(),
            quiet,
            bar: false,
        }
    }

    /// Clear the live bar, if one is drawn.
    pub(crate) fn finish(&mut self) {
        if self.bar {
            say_partial!("\r\x1b[K");
            self.bar = false;
        }
    }
}

impl Events for Progress {
    fn waiting_for_lock(&mut self, holder: Option<&LockHolder>) {
        if !self.quiet {
            match holder {
                Some(holder) => say!("waiting for the migration lock, held by {holder}"),
                None => say!("waiting for the migration lock"),
            }
        }
    }

    fn planned(&mut self, plan: &Plan<'_>) {
        self.bar =
            !self.quiet && plan.steps.len() >= BAR_THRESHOLD && std::io::stderr().is_terminal();
        for warning in &plan.warnings {
            say!("warning: {warning}");
        }
        if !plan.out_of_order.is_empty() {
            let names: Vec<_> = plan
                .out_of_order
                .iter()
                .map(|r| r.printable_name())
                .collect();
            say!(
                "warning: applying {} revision(s) older than the newest applied one (out of order): {}",
                names.len(),
                names.join(", ")
            );
        }
    }

    fn step_started(&mut self, step: &Step<'_>, index: usize, total: usize) {
        if self.bar {
            say_partial!(
                "\r\x1b[K[{:>width$}/{total}] {}",
                index + 1,
                step.revision.printable_name(),
                width = total.to_string().len()
            );
        }
    }

    fn step_done(&mut self, step: &Step<'_>, elapsed: Duration) {
        if self.quiet {
            return;
        }
        if self.bar {
            say_partial!("\r\x1b[K");
        }
        say!(
            "{} {}  {}",
            self.verb,
            step.revision.printable_name(),
            format_duration(elapsed)
        );
    }
}
