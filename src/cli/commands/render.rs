//! `dmig upgrade|downgrade|stamp --sql`: render a script.

use std::process::ExitCode;

use super::Context;
use crate::dialect::SessionSettings;
use crate::plan::{self, Kind, Range, TransactionMode};
use crate::render::{self, Output, ScriptOptions};

/// Render the plan of `range` to `output`.
pub(super) fn render(
    cx: &Context,
    kind: Kind,
    range: &Range,
    transaction: TransactionMode,
    session: SessionSettings,
    output: &Output,
) -> anyhow::Result<ExitCode> {
    let (_, discovery) = cx.load()?;
    let planned = plan::plan_range(&discovery.revisions, kind, range, transaction)?;
    for warning in &planned.warnings {
        eprintln!("warning: {warning}");
    }
    let options = ScriptOptions { session };
    if let Some(path) = render::write_script(&planned, &options, output)? {
        eprintln!(
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
