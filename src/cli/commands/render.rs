//! `dmig upgrade|downgrade|stamp --sql`: render a script.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use super::Context;
use crate::cli::output::{say, stdout_error, Interrupts};
use crate::dialect::SessionSettings;
use crate::error::RenderError;
use crate::plan::{self, Kind, Range, TransactionMode};
use crate::render::{self, Guard, Output, ScriptOptions};

/// The script asked for.
pub(super) struct Script {
    pub(super) kind: Kind,
    pub(super) range: Range,
    pub(super) transaction: TransactionMode,
    pub(super) session: SessionSettings,
    /// Write dmig's companion table (`--checksums`, the default).
    pub(super) checksums: bool,
    /// Guarded, waiting this long for the lock; plain when `None`.
    pub(super) guard: Option<Duration>,
    /// A stamp's script also deletes the rows no revision on disk provides.
    pub(super) purge: bool,
}

/// Render the plan of `script` to `output`.
pub(super) fn render(cx: &Context, script: Script, output: &Output) -> anyhow::Result<ExitCode> {
    let Script {
        kind,
        range,
        transaction,
        session,
        checksums,
        guard,
        purge,
    } = script;
    let range = &range;
    let (_, discovery) = cx.load()?;
    let mut planned = plan::plan_range(&discovery.revisions, kind, range, transaction)?;
    if purge && kind == Kind::Stamp {
        planned.purge = Some(plan::Purge::offline(&discovery.revisions));
    }
    if checksums {
        planned.read_checksums()?;
    }
    for warning in &planned.warnings {
        say!("warning: {warning}");
    }
    let options = ScriptOptions {
        session,
        guard: guard.map(|wait| Guard::new(&discovery.revisions, &planned, wait)),
        checksums,
    };
    // From here on a signal removes the temp file before dmig exits.
    let interrupts = Interrupts::catch().context("cannot catch signals")?;
    let written = match render::write_script_until(&planned, &options, output, interrupts.flag()) {
        Err(RenderError::Write { path, source }) if path.as_os_str() == "-" => {
            return Err(stdout_error(source))
        }
        Err(RenderError::Interrupted { path }) => {
            if path.as_os_str() == "-" {
                say!("interrupted: the script on stdout is incomplete");
            } else {
                say!("interrupted: `{}` was not written", cx.relative(&path));
            }
            return Ok(ExitCode::from(interrupts.exit_code().unwrap_or(130)));
        }
        other => other?,
    };
    if let Some(code) = interrupts.exit_code() {
        // The signal came after the last write: the file is whole.
        return Ok(ExitCode::from(code));
    }
    if let Some(path) = written {
        say!(
            "wrote {} ({} {}:{}, {} revision(s))",
            cx.relative(&path),
            kind.as_str(),
            planned.from,
            planned.to,
            planned.steps.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
