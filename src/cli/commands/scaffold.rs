//! `dmig init` and `dmig revision`.

use std::process::ExitCode;

use super::Context;
use crate::cli::output::say;
use crate::config;
use crate::error::ConfigError;
use crate::scaffold::{self, InitAction};

/// `dmig init`.
pub(super) fn init(cx: &Context) -> anyhow::Result<ExitCode> {
    for action in scaffold::init(&cx.cwd)? {
        match action {
            InitAction::Created(p) => say!("created {}", cx.relative(&p)),
            InitAction::Kept(p) => say!("kept {} (already exists)", cx.relative(&p)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmig revision`.
pub(super) fn revision(
    cx: &Context,
    message: &str,
    no_transaction: bool,
) -> anyhow::Result<ExitCode> {
    let dir = match config::resolve(&cx.sources, &cx.cwd) {
        Ok(config) => config.migration_dir,
        Err(ConfigError::NoMigrationDir { .. }) => cx.cwd.join("migrations"),
        Err(e) => return Err(e.into()),
    };
    let created =
        scaffold::new_revision(&dir, message, no_transaction, std::time::SystemTime::now())?;
    let shown = cx.relative(&created);
    crate::cli::output::to_stdout(|out| writeln!(out, "{shown}"))?;
    Ok(ExitCode::SUCCESS)
}
