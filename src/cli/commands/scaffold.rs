//! `dmig init` and `dmig revision`.

use std::process::ExitCode;

use super::Context;
use crate::config;
use crate::scaffold::{self, InitAction, NewRevision};

/// `dmig init`.
pub(super) fn init(cx: &Context) -> anyhow::Result<ExitCode> {
    for action in scaffold::init(&cx.cwd)? {
        match action {
            InitAction::Created(p) => eprintln!("created {}", cx.relative(&p)),
            InitAction::Kept(p) => eprintln!("kept {} (already exists)", cx.relative(&p)),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmig revision`: in the project's migrations directory, which must exist
/// (`dmig init` makes one), as `history` requires.
pub(super) fn revision(cx: &Context, spec: &NewRevision<'_>) -> anyhow::Result<ExitCode> {
    let config = config::resolve(&cx.sources, &cx.cwd)?;
    let created =
        scaffold::new_revision(&config.migration_dir, spec, std::time::SystemTime::now())?;
    println!("{}", cx.relative(&created));
    Ok(ExitCode::SUCCESS)
}
