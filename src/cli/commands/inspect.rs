//! The read-only commands: `current`, `status` (and `history --online`),
//! `history`, `check`. None of them writes to the database.

use std::process::ExitCode;

use super::{autogen, Context, Session};
use crate::cli::args::Format;
use crate::cli::output::say;
use crate::cli::report::{self, json, text};
use crate::cli::settings::{Online, SchemaFiles};
use crate::cli::EXIT_PENDING;
use crate::model::printable;
use crate::online;
use crate::report::{CheckReport, CurrentReport, HistoryReport, StatusReport};

/// `dmig current`, marking the head as Alembic does. The revisions are read
/// only for that: a migrations directory that cannot be read costs the mark
/// (with a warning), not the answer.
pub(super) fn current(
    cx: &Context,
    online: &Online,
    verbose: bool,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let head = match cx.load() {
        Ok((_, discovery)) => discovery.revisions.last().map(|r| r.version.clone()),
        Err(error) => {
            crate::cli::report::warning(format_args!("cannot tell the head: {error:#}"));
            None
        }
    };
    let session = Session::open(online, 1)?;
    let applied = session.runtime.block_on(online::applied(&session.pool))?;
    match format {
        Format::Json => json::print(&CurrentReport::new(&applied, head.as_ref()))?,
        Format::Text => text::current(&applied, verbose, head.as_ref())?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmig history` (offline): the revisions on disk.
pub(super) fn history(cx: &Context, format: Format) -> anyhow::Result<ExitCode> {
    let (_, discovery) = cx.load()?;
    match format {
        Format::Json => json::print(&HistoryReport::new(&discovery.revisions))?,
        Format::Text => text::history(&discovery.revisions)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmig status`, `dmig history --online`.
pub(super) fn status(cx: &Context, online: &Online, format: Format) -> anyhow::Result<ExitCode> {
    let (_, discovery) = cx.load()?;
    let session = Session::open(online, 1)?;
    let status = session
        .runtime
        .block_on(online::status(&session.pool, &discovery.revisions))?;
    match format {
        Format::Json => json::print(&StatusReport::new(&status))?,
        Format::Text => text::status(&status)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `dmig check`: exit 0 at head with no applied file changed, 3 otherwise,
/// saying why on stderr. With `--schema`, a database at head must also
/// match schema.rs.
pub(super) fn check(
    cx: &Context,
    online: &Online,
    format: Format,
    quiet: bool,
    schema: Option<&SchemaFiles>,
) -> anyhow::Result<ExitCode> {
    let (config, discovery) = cx.load()?;
    // schema.rs is read before connecting: a file dmig cannot read is an
    // error whatever the database says.
    let models = schema
        .map(|files| autogen::load_models(cx, config.config_file.clone(), files))
        .transpose()?;
    let session = Session::open(online, 1)?;
    let status = session
        .runtime
        .block_on(online::status(&session.pool, &discovery.revisions))?;
    // The comparison needs the database at head.
    let differences = match &models {
        Some(models) if status.is_at_head() => Some(autogen::compare(
            &session,
            &discovery.revisions,
            models,
            online.connect_timeout,
        )?),
        _ => None,
    };
    if format == Format::Json {
        let mut document = CheckReport::new(&status);
        if let Some(models) = &models {
            document = document.with_schema(autogen::model_files(cx, models), differences.clone());
        }
        json::print(&document)?;
    }
    let unverified = status.unverified().count();
    if status.is_ok() {
        if format == Format::Text && !quiet {
            let note = match unverified {
                0 => String::new(),
                n => format!(
                    " ({n} applied revision(s) unverified: no checksum recorded, applied by another tool or with --no-checksums)"
                ),
            };
            say!(
                "up to date: at {}{note}",
                status
                    .current
                    .as_ref()
                    .map_or("base".to_owned(), ToString::to_string)
            );
        }
        return Ok(match differences {
            Some(differences) => {
                if format == Format::Text {
                    report::autogen::schema_differences(&differences, quiet);
                }
                if differences.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(EXIT_PENDING)
                }
            }
            None => ExitCode::SUCCESS,
        });
    }
    let names = |entries: Vec<String>| entries.join(", ");
    let pending: Vec<String> = status
        .pending()
        .map(|e| e.revision.printable_name().into_owned())
        .collect();
    if !pending.is_empty() {
        say!("{} revision(s) pending: {}", pending.len(), names(pending));
    }
    let late: Vec<String> = status
        .out_of_order()
        .map(|e| e.revision.printable_name().into_owned())
        .collect();
    if !late.is_empty() {
        say!(
            "out of order (pending but older than the newest applied): {}",
            names(late)
        );
    }
    let changed: Vec<String> = status
        .changed()
        .map(|e| e.revision.printable_name().into_owned())
        .collect();
    if !changed.is_empty() {
        say!(
            "changed since applied (up.sql is not the file that was applied): {}",
            names(changed)
        );
    }
    if !status.missing_on_disk.is_empty() {
        let missing: Vec<String> = status
            .missing_on_disk
            .iter()
            .map(|a| printable(a.version.as_str()).into_owned())
            .collect();
        say!(
            "applied but missing from the migrations directory: {}",
            names(missing)
        );
    }
    Ok(ExitCode::from(EXIT_PENDING))
}
