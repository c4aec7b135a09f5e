//! The script: header, session settings, the version table, then each step
//! in its transaction. Guarded by default ([`super::guard`] adds the lock,
//! the checks and a skip per revision); plain (`--plain`) without them.

use std::io::{self, Write};

use super::guard::Guard;
use crate::dialect::postgres::{self, Postgres, RESET_SEARCH_PATH_SQL, SESSION_SETTINGS_SQL};
use crate::dialect::{
    psql, Dialect, Elapsed, Record, RecordMode, SessionSettings, StepBookkeeping, VersionTable,
};
use crate::model::{printable, Checksums, Direction};
use crate::plan::{Kind, Plan, Purge, Step, TransactionMode};

/// The file name a script gets inside an output directory, e.g.
/// `upgrade_base_20240103000000.sql`.
pub fn script_file_name(plan: &Plan<'_>) -> String {
    format!("{}_{}_{}.sql", plan.kind.as_str(), plan.from, plan.to)
}

/// How a script is written, beyond its plan.
#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// What the script's session starts with (`--lock-timeout`,
    /// `--statement-timeout`, `--init-sql`), after Diesel's settings.
    pub session: SessionSettings,
    /// The guards of a psql script (see [`Guard::new`]); `None` renders
    /// plain SQL (`--plain`), for tools other than psql.
    pub guard: Option<Guard>,
    /// Write dmig's companion table beside Diesel's rows, as online runs do
    /// (the default); off, the script never names it.
    pub checksums: bool,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        ScriptOptions {
            session: SessionSettings::default(),
            guard: None,
            checksums: true,
        }
    }
}

/// How many steps are rendered (in parallel) before they are written.
const RENDER_BATCH: usize = 256;

/// Render `plan` to `out`.
pub fn render(plan: &Plan<'_>, options: &ScriptOptions, out: &mut dyn Write) -> io::Result<()> {
    let single = plan.transaction == TransactionMode::Single || plan.kind == Kind::Stamp;
    let guard = options.guard.as_ref();
    write_header(plan, options, out)?;
    if let Some(guard) = guard {
        guard.psql_settings(out)?;
    }
    writeln!(out, "{SESSION_SETTINGS_SQL}\n")?;
    if let Some(guard) = guard {
        guard.lock(out)?;
    }
    write_session(&options.session, out)?;
    if single {
        out.write_all(b"BEGIN;\n\n")?;
    }
    // A plan made without its checksums (see `Plan::read_checksums`) gets
    // them here, before anything is written.
    let mut checksums = Vec::new();
    if options.checksums {
        for step in &plan.steps {
            checksums.push(match (&step.checksums, step.direction) {
                (None, Direction::Up) => Some(
                    step.revision
                        .checksums(step.sql.as_deref())
                        .map_err(io::Error::other)?,
                ),
                (known, _) => known.clone(),
            });
        }
    }
    let table = match guard {
        Some(guard) => {
            guard.prepare(plan, out)?;
            psql::version_table()
        }
        None => {
            writeln!(out, "{}\n", Postgres.create_version_table())?;
            VersionTable::unqualified()
        }
    };
    if options.checksums {
        out.write_all(b"-- dmig's own record beside Diesel's: each revision's checksums (--no-checksums leaves it out)\n")?;
        writeln!(out, "{}\n", Postgres.prepare_companion_table(&table))?;
    }
    if let Some(guard) = guard {
        guard.read_skips(plan, &table, out)?;
    }
    // Each step rendered on its own (on several threads for large plans, see
    // `crate::parallel`), then written in order.
    let mut steps: Vec<_> = plan
        .steps
        .iter()
        .enumerate()
        // `None`: checksums off; `Some(None)`: a step down, nothing to hash.
        .map(|(index, step)| (index, step, checksums.get(index).map(Option::as_ref)))
        .collect();
    // A batch at a time, so a long script is never held in memory whole.
    for batch in steps.chunks_mut(RENDER_BATCH) {
        let rendered = crate::parallel::try_map_in_order(batch, |(index, step, record)| {
            let mut text = Vec::with_capacity(step.sql.as_ref().map_or(0, |sql| sql.len()) + 1024);
            write_guarded_step(step, *index, *record, &table, guard, single, &mut text)?;
            Ok::<_, io::Error>(text)
        })?;
        for text in rendered {
            out.write_all(&text)?;
        }
    }
    if let Some(purge) = &plan.purge {
        write_purge(purge, &table, out)?;
    }
    if single {
        out.write_all(b"COMMIT;\n")?;
    }
    if let Some(guard) = guard {
        guard.unlock(out)?;
    }
    Ok(())
}

/// One step as the script runs it: its comment, its guard (when guarded),
/// its SQL and bookkeeping.
fn write_guarded_step(
    step: &Step<'_>,
    index: usize,
    record: Option<Option<&Checksums>>,
    table: &VersionTable,
    guard: Option<&Guard>,
    single: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_step_comment(step, out)?;
    if let Some(guard) = guard {
        guard.open_step(step, index, table, out)?;
    }
    match &step.sql {
        Some(body) => write_step(step, body, table, record, single, guard.is_some(), out)?,
        None => writeln!(out, "{}", bookkeeping(step, table, record))?,
    }
    if let Some(guard) = guard {
        guard.close_step(out)?;
    }
    out.write_all(b"\n")
}

fn write_header(plan: &Plan<'_>, options: &ScriptOptions, out: &mut dyn Write) -> io::Result<()> {
    let count = plan.steps.len();
    let noun = if count == 1 { "revision" } else { "revisions" };
    let grouping = match (plan.kind, plan.transaction) {
        (Kind::Stamp, _) if plan.purge.is_some() => {
            "version table only, one transaction, rows missing on disk purged"
        }
        (Kind::Stamp, _) => "version table only, one transaction",
        (_, TransactionMode::Single) => "one transaction for the whole script",
        (_, TransactionMode::PerRevision) => "one transaction per revision",
    };
    writeln!(
        out,
        "-- dmig {}: {} {}:{} ({count} {noun}, {grouping})",
        env!("CARGO_PKG_VERSION"),
        plan.kind.as_str(),
        plan.from,
        plan.to,
    )?;
    match &options.guard {
        Some(guard) => guard.header(out)?,
        None => out.write_all(
            b"-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>\n\
              -- A plain script (--plain): it does not stop at an error unless the tool running it\n\
              -- does, takes no migration lock (it may run alongside another migrator), does not\n\
              -- check where the database is, and does not skip revisions already applied, so it\n\
              -- runs once, on a database at its FROM, and cannot be run again after a failure.\n",
        )?,
    }
    if options.session.lock_timeout.is_some() {
        let resume = if options.guard.is_some() {
            "Run the script again to resume at that revision."
        } else {
            "Render a script from the version reached to go on."
        };
        writeln!(
            out,
            "-- A statement that waits longer than lock_timeout for a lock fails and stops the\n\
             -- script (ON_ERROR_STOP); its revision's transaction rolls back.\n-- {resume}"
        )?;
    }
    out.write_all(b"\n")
}

/// The user's session settings, after Diesel's; nothing when there are none,
/// so a script without them is byte for byte what it always was.
fn write_session(session: &SessionSettings, out: &mut dyn Write) -> io::Result<()> {
    if session.is_empty() {
        return Ok(());
    }
    for statement in Postgres.session_statements(session) {
        writeln!(out, "{statement}")?;
    }
    out.write_all(b"\n")
}

/// The bookkeeping statements of a step, one per line: the version row,
/// then (unless `record` is `None`: checksums off) the companion row.
fn bookkeeping(
    step: &Step<'_>,
    table: &VersionTable,
    record: Option<Option<&Checksums>>,
) -> String {
    let mode = if step.sql.is_some() {
        RecordMode::Offline
    } else {
        RecordMode::Stamp
    };
    let record = record.map(|checksums| Record {
        checksums,
        mode,
        elapsed: Elapsed::Unknown,
    });
    let step = StepBookkeeping {
        version: &step.revision.version,
        direction: step.direction,
        record,
    };
    Postgres.step_bookkeeping(table, &step).join("\n")
}

/// `-- Running upgrade 20240101120000 (2024-01-01-120000_create_users)`,
/// or `-- Stamping ...` for a stamp.
fn write_step_comment(step: &Step<'_>, out: &mut dyn Write) -> io::Result<()> {
    let verb = match (step.sql.is_some(), step.direction) {
        (true, direction) => format!("Running {}", direction.noun()),
        (false, Direction::Up) => "Stamping".to_owned(),
        (false, Direction::Down) => "Unstamping".to_owned(),
    };
    writeln!(
        out,
        "-- {verb} {} ({})",
        step.revision.version,
        printable(&step.revision.name)
    )
}

fn write_step(
    step: &Step<'_>,
    body: &str,
    table: &VersionTable,
    record: Option<Option<&Checksums>>,
    single: bool,
    guarded: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let revision = step.revision;
    let own_transaction = !single && revision.run_in_transaction;
    if !revision.run_in_transaction {
        out.write_all(
            b"-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own\n",
        )?;
    } else if own_transaction {
        out.write_all(b"BEGIN;\n")?;
    }
    if guarded {
        // Inside `\if`: a body that does not lex (an open quote or comment)
        // could swallow the `\endif`. The planner refuses such files; a plan
        // built otherwise is refused here.
        let body = crate::sql::try_terminated(body).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} of `{}` cannot go into a guarded script: {error}",
                    step.file().file_name(),
                    printable(&revision.name)
                ),
            )
        })?;
        writeln!(out, "{body}")?;
    } else {
        write_terminated(body, out)?;
    }
    if postgres::may_change_search_path(body) {
        let restore = if guarded {
            psql::RESTORE_SEARCH_PATH
        } else {
            RESET_SEARCH_PATH_SQL
        };
        writeln!(out, "{restore}")?;
    }
    writeln!(out, "{}", bookkeeping(step, table, record))?;
    if own_transaction {
        out.write_all(b"COMMIT;\n")?;
    }
    Ok(())
}

/// A stamp's `--purge`: the rows no revision on disk provides go.
fn write_purge(purge: &Purge, table: &VersionTable, out: &mut dyn Write) -> io::Result<()> {
    let statement = match purge {
        Purge::Rows(rows) if rows.is_empty() => return Ok(()),
        Purge::Rows(rows) => Postgres.delete_versions(table, rows),
        Purge::AllBut(on_disk) => Postgres.delete_versions_except(table, on_disk),
    };
    writeln!(
        out,
        "-- Purging the rows whose revision is missing from the migrations directory (--purge)\n{statement}\n"
    )
}

/// Copy a file's SQL verbatim, ended cleanly (see [`crate::sql::terminated`]).
fn write_terminated(body: &str, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(crate::sql::terminated(body).as_bytes())?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminated(body: &str) -> String {
        let mut out = Vec::new();
        write_terminated(body, &mut out).expect("write");
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn bodies_are_terminated_safely() {
        assert_eq!(terminated("select 1;\n\n"), "select 1;\n");
        assert_eq!(terminated("select 1"), "select 1;\n");
        assert_eq!(terminated("select 1; -- done"), "select 1; -- done\n");
        assert_eq!(terminated("select 1 -- done"), "select 1 -- done\n;\n");
        assert_eq!(
            terminated("create function f() returns int as $$ select 1; $$ language sql"),
            "create function f() returns int as $$ select 1; $$ language sql;\n"
        );
    }
}
