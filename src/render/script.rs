//! The plain script: header, session settings, the version table, then each
//! step in its transaction.

use std::io::{self, Write};

use crate::dialect::postgres::{self, Postgres, RESET_SEARCH_PATH_SQL, SESSION_SETTINGS_SQL};
use crate::dialect::{Dialect, SessionSettings, VersionTable};
use crate::model::{printable, Direction};
use crate::plan::{Kind, Plan, Purge, Step, TransactionMode};

/// The file name a script gets inside an output directory, e.g.
/// `upgrade_base_20240103000000.sql`.
pub fn script_file_name(plan: &Plan<'_>) -> String {
    format!("{}_{}_{}.sql", plan.kind.as_str(), plan.from, plan.to)
}

/// How a script is written, beyond its plan.
#[derive(Debug, Clone, Default)]
pub struct ScriptOptions {
    /// What the script's session starts with (`--lock-timeout`,
    /// `--statement-timeout`, `--init-sql`), after Diesel's settings.
    pub session: SessionSettings,
}

/// Render `plan` to `out`.
pub fn render(plan: &Plan<'_>, options: &ScriptOptions, out: &mut dyn Write) -> io::Result<()> {
    let single = plan.transaction == TransactionMode::Single || plan.kind == Kind::Stamp;
    let table = VersionTable::unqualified();
    write_header(plan, out)?;
    write_session(&options.session, out)?;
    if single {
        out.write_all(b"BEGIN;\n\n")?;
    }
    writeln!(out, "{}\n", Postgres.create_version_table())?;
    for step in &plan.steps {
        match &step.sql {
            Some(body) => write_step(step, body, &table, single, out)?,
            None => write_stamp_step(step, &table, out)?,
        }
    }
    if let Some(purge) = &plan.purge {
        write_purge(purge, &table, out)?;
    }
    if single {
        out.write_all(b"COMMIT;\n")?;
    }
    Ok(())
}

fn write_header(plan: &Plan<'_>, out: &mut dyn Write) -> io::Result<()> {
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
    writeln!(out, "-- Run with: psql -v ON_ERROR_STOP=1 -f <this file>\n")?;
    writeln!(out, "{SESSION_SETTINGS_SQL}\n")
}

/// The user's session settings, after Diesel's; nothing when there are none,
/// so a script without them is byte for byte what it always was.
fn write_session(session: &SessionSettings, out: &mut dyn Write) -> io::Result<()> {
    if session.is_empty() {
        return Ok(());
    }
    if session.lock_timeout.is_some() {
        out.write_all(
            b"-- A statement that waits longer than lock_timeout for a lock fails, and the script\n\
              -- stops there (ON_ERROR_STOP); its revision's transaction rolls back.\n",
        )?;
    }
    for statement in Postgres.session_statements(session) {
        writeln!(out, "{statement}")?;
    }
    out.write_all(b"\n")
}

/// The bookkeeping statement of a step.
fn bookkeeping(step: &Step<'_>, table: &VersionTable) -> String {
    match step.direction {
        Direction::Up => Postgres.insert_version(table, &step.revision.version),
        Direction::Down => Postgres.delete_version(table, &step.revision.version),
    }
}

fn write_step(
    step: &Step<'_>,
    body: &str,
    table: &VersionTable,
    single: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let revision = step.revision;
    writeln!(
        out,
        "-- Running {} {} ({})",
        step.direction.noun(),
        revision.version,
        printable(&revision.name)
    )?;
    let own_transaction = !single && revision.run_in_transaction;
    if !revision.run_in_transaction {
        out.write_all(
            b"-- run_in_transaction = false: no BEGIN/COMMIT, psql runs each statement on its own\n",
        )?;
    } else if own_transaction {
        out.write_all(b"BEGIN;\n")?;
    }
    write_terminated(body, out)?;
    if postgres::may_change_search_path(body) {
        writeln!(out, "{RESET_SEARCH_PATH_SQL}")?;
    }
    writeln!(out, "{}", bookkeeping(step, table))?;
    if own_transaction {
        out.write_all(b"COMMIT;\n")?;
    }
    out.write_all(b"\n")
}

fn write_stamp_step(step: &Step<'_>, table: &VersionTable, out: &mut dyn Write) -> io::Result<()> {
    let verb = match step.direction {
        Direction::Up => "Stamping",
        Direction::Down => "Unstamping",
    };
    writeln!(
        out,
        "-- {verb} {} ({})\n{}\n",
        step.revision.version,
        printable(&step.revision.name),
        bookkeeping(step, table)
    )
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
