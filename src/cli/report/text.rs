//! Listings for people, on stdout.

use std::time::Duration;

use crate::model::{printable, Applied, Revision, RevisionState, Version};
use crate::plan::Status;

/// ` (head)` after the head's version.
fn head_mark(version: &Version, head: Option<&Version>) -> &'static str {
    if Some(version) == head {
        " (head)"
    } else {
        ""
    }
}

/// `dmig current`: the newest applied version, or every row with
/// `--verbose`; the head is marked `(head)`.
pub(crate) fn current(
    applied: &[Applied],
    verbose: bool,
    head: Option<&Version>,
) -> anyhow::Result<()> {
    crate::cli::output::to_stdout(|out| {
        if verbose {
            for row in applied {
                let mark = head_mark(&row.version, head);
                writeln!(out, "{}  {}{mark}", row.version, run_on(row))?;
            }
        } else {
            match applied.last() {
                Some(row) => writeln!(out, "{}{}", row.version, head_mark(&row.version, head))?,
                None => writeln!(out, "base")?,
            }
        }
        Ok(())
    })
}

/// When a row was applied, escaped; `unknown` when the row does not say.
fn run_on(row: &Applied) -> std::borrow::Cow<'_, str> {
    row.run_on.as_deref().map_or("unknown".into(), printable)
}

/// `dmig history`: the revisions on disk, newest first.
pub(crate) fn history(revisions: &[Revision]) -> anyhow::Result<()> {
    crate::cli::output::to_stdout(|out| {
        let width = revisions
            .iter()
            .map(|r| r.version.as_str().len())
            .max()
            .unwrap_or(7)
            .max(7);
        writeln!(
            out,
            "{:width$}  {:11}  {:4}  NAME",
            "VERSION", "TRANSACTION", "DOWN"
        )?;
        let yes_no = |flag: bool| if flag { "yes" } else { "no" };
        for r in revisions.iter().rev() {
            writeln!(
                out,
                "{:width$}  {:11}  {:4}  {}",
                r.version,
                yes_no(r.run_in_transaction),
                yes_no(r.has_usable_down()),
                r.printable_name()
            )?;
        }
        Ok(())
    })
}

/// `dmig status`: each revision's state, newest first, then the rows missing on disk.
pub(crate) fn status(status: &Status<'_>) -> anyhow::Result<()> {
    crate::cli::output::to_stdout(|out| {
        let width = status
            .entries
            .iter()
            .map(|e| e.revision.version.as_str().len())
            .chain(
                status
                    .missing_on_disk
                    .iter()
                    .map(|m| m.version.to_string().len()),
            )
            .max()
            .unwrap_or(7)
            .max(7);
        // As wide as the longest state word shown.
        let state_width = status
            .entries
            .iter()
            .map(|e| e.state.word().len())
            .max()
            .unwrap_or(0)
            .max(8);
        writeln!(out, "{:state_width$}  {:width$}  NAME", "STATE", "VERSION")?;
        for entry in status.entries.iter().rev() {
            let note = if entry.state == RevisionState::OutOfOrder {
                "  (out of order: older than the newest applied)"
            } else if entry.state == RevisionState::Changed {
                "  (up.sql changed since it was applied)"
            } else if Some(&entry.revision.version) == status.head.as_ref() {
                "  (head)"
            } else {
                ""
            };
            writeln!(
                out,
                "{:state_width$}  {:width$}  {}{note}",
                entry.state.word(),
                entry.revision.version,
                entry.revision.printable_name()
            )?;
        }
        for missing in &status.missing_on_disk {
            writeln!(
                out,
                "{:state_width$}  {:width$}  (applied{}, not in the migrations directory)",
                "missing",
                missing.version,
                missing
                    .run_on
                    .as_deref()
                    .map(|at| format!(" {}", printable(at)))
                    .unwrap_or_default()
            )?;
        }
        Ok(())
    })
}

/// A duration as people read it: `3.2 ms`, `412 ms`, `12.5 s`.
pub(crate) fn format_duration(elapsed: Duration) -> String {
    let ms = elapsed.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 10_000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}
