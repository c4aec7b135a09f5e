//! `dmig database setup | reset | drop`.

use crate::cli::output::say;
use std::process::ExitCode;

use anyhow::Context as _;

use super::{migrate, Context};
use crate::cli::settings::{Online, Run};
use crate::online::pg::database::{self, Change};
use crate::plan::Request;

/// Drop and/or create the database `online` names, then migrate it to head.
pub(super) fn database(
    cx: &Context,
    drop_db: bool,
    create_db: bool,
    online: &Online,
    migrate: Option<Run>,
) -> anyhow::Result<ExitCode> {
    // Read the revisions first: a broken migrations directory stops a reset
    // before it drops anything.
    if migrate.is_some() {
        cx.load()?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let quiet = migrate.as_ref().is_some_and(|run| run.quiet);
    let say = |line: String| {
        if !quiet {
            say!("{line}");
        }
    };
    if drop_db {
        match runtime.block_on(database::drop(&online.url, online.connect_timeout))? {
            Change::Done(target) => {
                say(format!("dropped database `{}` ({target})", target.database))
            }
            Change::Unchanged(target) => say(format!(
                "database `{}` does not exist ({target})",
                target.database
            )),
        }
    }
    if create_db {
        match runtime.block_on(database::create(&online.url, online.connect_timeout))? {
            Change::Done(target) => {
                say(format!("created database `{}` ({target})", target.database))
            }
            Change::Unchanged(target) => {
                say(format!("database `{}` exists ({target})", target.database))
            }
        }
    }
    // The admin session's runtime ends before the run's starts.
    drop(runtime);
    match migrate {
        Some(run) => migrate::migrate(cx, &Request::upgrade_to_head(), run),
        None => Ok(ExitCode::SUCCESS),
    }
}
