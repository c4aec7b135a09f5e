//! `dmig init` and `dmig revision`.

use std::process::ExitCode;

use super::Context;
use crate::cli::output::say;
use crate::config;
use crate::scaffold::{self, InitAction, NewRevision};

/// `dmig init`: in the project a `diesel.toml` found upward belongs to (its
/// configured migrations directory), else here; so running it in a
/// subdirectory completes the project instead of starting a second one.
pub(super) fn init(cx: &Context) -> anyhow::Result<ExitCode> {
    let config = config::find_config_file(cx.sources.config_file.as_deref(), &cx.cwd)?;
    let root = config
        .as_deref()
        .and_then(|file| file.parent())
        .map_or_else(|| cx.cwd.clone(), std::path::Path::to_path_buf);
    let migration_dir = match (&cx.sources.migration_dir, &config) {
        (Some(dir), _) => cx.cwd.join(dir),
        (None, Some(file)) => {
            config::migration_dir_from_config(file)?.unwrap_or_else(|| root.join("migrations"))
        }
        (None, None) => root.join("migrations"),
    };
    for action in scaffold::init(&root, &migration_dir)? {
        match action {
            InitAction::Created(p) => say!("created {}", cx.relative(&p)),
            InitAction::Kept(p) => say!("kept {} (already exists)", cx.relative(&p)),
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
    let shown = cx.relative(&created);
    crate::cli::output::to_stdout(|out| writeln!(out, "{shown}"))?;
    Ok(ExitCode::SUCCESS)
}
