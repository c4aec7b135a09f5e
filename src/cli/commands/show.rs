//! `dmig show`.

use std::process::ExitCode;

use super::Context;
use crate::cli::UsageError;
use crate::plan::{target, SqlFile, Target};

/// Print one revision's `up.sql` (or `down.sql`).
pub(super) fn show(cx: &Context, target: &Target, down: bool) -> anyhow::Result<ExitCode> {
    let (config, discovery) = cx.load()?;
    let revisions = &discovery.revisions;
    if revisions.is_empty() {
        return Err(anyhow::anyhow!(
            "there are no revisions in `{}`; create one with `dmig revision NAME`",
            cx.relative(&config.migration_dir)
        ));
    }
    let position = target::resolve(target, revisions, revisions.len())?;
    let Some(revision) = position.checked_sub(1).map(|i| &revisions[i]) else {
        return Err(UsageError(format!(
            "`{}` names no revision; give a version, a directory name or head",
            target.text()
        ))
        .into());
    };
    let file = if down { SqlFile::Down } else { SqlFile::Up };
    let text = revision.read_sql(file)?;
    crate::cli::output::to_stdout(|out| {
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
