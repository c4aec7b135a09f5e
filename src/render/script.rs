//! The plain script: header, session settings, the version table, then each
//! step in its transaction.

use std::io::{self, Write};

use crate::dialect::postgres::{self, Postgres, RESET_SEARCH_PATH_SQL, SESSION_SETTINGS_SQL};
use crate::dialect::{
    Dialect, Elapsed, Record, RecordMode, SessionSettings, StepBookkeeping, VersionTable,
};
use crate::model::{printable, Checksums, Direction};
use crate::plan::{Kind, Plan, Step, TransactionMode};

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
    /// Write dmig's companion table beside Diesel's rows, as online runs do
    /// (the default); off, the script never names it.
    pub checksums: bool,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        ScriptOptions {
            session: SessionSettings::default(),
            checksums: true,
        }
    }
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
    writeln!(out, "{}\n", Postgres.create_version_table())?;
    if options.checksums {
        out.write_all(b"-- dmig's own record beside Diesel's: each revision's checksums (--no-checksums leaves it out)\n")?;
        writeln!(out, "{}\n", Postgres.prepare_companion_table(&table))?;
    }
    for (index, step) in plan.steps.iter().enumerate() {
        // `None`: checksums off; `Some(None)`: a step down, nothing to hash.
        let record = checksums.get(index).map(Option::as_ref);
        match &step.sql {
            Some(body) => write_step(step, body, &table, record, single, out)?,
            None => write_stamp_step(step, &table, record, out)?,
        }
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

fn write_step(
    step: &Step<'_>,
    body: &str,
    table: &VersionTable,
    record: Option<Option<&Checksums>>,
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
    writeln!(out, "{}", bookkeeping(step, table, record))?;
    if own_transaction {
        out.write_all(b"COMMIT;\n")?;
    }
    out.write_all(b"\n")
}

fn write_stamp_step(
    step: &Step<'_>,
    table: &VersionTable,
    record: Option<Option<&Checksums>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let verb = match step.direction {
        Direction::Up => "Stamping",
        Direction::Down => "Unstamping",
    };
    writeln!(
        out,
        "-- {verb} {} ({})\n{}\n",
        step.revision.version,
        printable(&step.revision.name),
        bookkeeping(step, table, record)
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
