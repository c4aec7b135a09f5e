//! The online sink: each [`Step`] of a [`Plan`] becomes a
//! `diesel::migration::Migration` and runs through diesel-async's
//! `AsyncMigrationHarness`, so the SQL and its bookkeeping row commit
//! together exactly as Diesel runs them.
//!
//! Where dmig differs from Diesel, it does what psql does with the offline
//! script, so both modes leave the same database:
//! - a file is split into statements and each is sent on its own (psql's
//!   split), so a non-transactional revision runs statement by statement in
//!   autocommit and two `CREATE INDEX CONCURRENTLY` work (diesel#4552);
//! - after a revision that may change `search_path` the session's value is
//!   restored before the bookkeeping row is written (diesel#4729).

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::connection::BoxableConnection;
use diesel::migration::{Migration, MigrationMetadata, MigrationName, MigrationVersion};
use diesel::pg::Pg;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::MigrationHarness;

use crate::plan::{Direction, Plan, Revision, Step};
use crate::sql;

/// What went wrong inside one revision, with enough to find and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    /// The file that failed, e.g. `migrations/2024-01-01-000000_x/up.sql`.
    pub file: PathBuf,
    /// 1-based line and column in the file (where PostgreSQL points, else the statement's start).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The SQLSTATE, where the driver exposes it: diesel-async keeps only the
    /// codes it maps to a [`DatabaseErrorKind`] (constraint violations,
    /// serialization failure, read-only transaction), so this is `None` for
    /// most errors even though PostgreSQL sent one.
    pub sqlstate: Option<&'static str>,
    /// PostgreSQL's message.
    pub message: String,
    /// PostgreSQL's detail.
    pub detail: Option<String>,
    /// PostgreSQL's hint.
    pub hint: Option<String>,
    /// dmig's own advice, for mistakes it recognises (e.g. `CREATE INDEX
    /// CONCURRENTLY` in a transactional revision).
    pub advice: Option<String>,
    /// PostgreSQL's error position when it is not mapped into the file: in a
    /// `DO` block it may count characters of a query the block ran rather than
    /// of the statement (diesel-async does not say which), so `line`/`column`
    /// are then the block's start.
    pub unmapped_position: Option<i32>,
    /// How many statements of the file completed before this one.
    pub completed_statements: usize,
    /// The statements that completed before this one, as `line N: <first
    /// line>` (what a non-transactional revision may have left behind).
    pub completed: Vec<String>,
    /// The first line of the failing statement, for orientation.
    pub statement: String,
    /// The connection broke (server gone, network) rather than the SQL failing.
    pub connection_lost: bool,
}

impl fmt::Display for StatementFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        write!(
            f,
            "{}:{}:{}: ",
            crate::render::comment_safe(&file),
            self.line,
            self.column
        )?;
        if let Some(code) = self.sqlstate {
            write!(f, "[{code}] ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(detail) = &self.detail {
            write!(f, "\n  detail: {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        if let Some(advice) = &self.advice {
            write!(f, "\n  dmig hint: {advice}")?;
        }
        if let Some(position) = self.unmapped_position {
            write!(
                f,
                "\n  position: PostgreSQL points at character {position} of this DO block or of a query it ran; the location above is the block's start"
            )?;
        }
        write!(f, "\n  statement: {}", self.statement)
    }
}

impl std::error::Error for StatementFailure {}

/// SQLSTATEs diesel-async keeps (it maps the server's code to a coarse kind
/// and drops the rest; see the closing note of the online issue).
fn sqlstate_of(kind: &DatabaseErrorKind) -> Option<&'static str> {
    Some(match kind {
        DatabaseErrorKind::UniqueViolation => "23505",
        DatabaseErrorKind::ForeignKeyViolation => "23503",
        DatabaseErrorKind::NotNullViolation => "23502",
        DatabaseErrorKind::CheckViolation => "23514",
        DatabaseErrorKind::RestrictViolation => "23001",
        DatabaseErrorKind::ExclusionViolation => "23P01",
        DatabaseErrorKind::SerializationFailure => "40001",
        DatabaseErrorKind::ReadOnlyTransaction => "25006",
        _ => return None,
    })
}

/// Whether a diesel error means the connection is gone.
///
/// Besides a closed socket, this is the FATAL error a server sends before it
/// closes the session (`pg_ctl stop -m fast`, `pg_terminate_backend`, a
/// crashed backend: SQLSTATE 57P01, 57P02 and kin, all "terminating
/// connection ..."); diesel-async keeps the message but not the SQLSTATE.
pub fn is_connection_lost(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => {
            matches!(
                kind,
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
            ) || info.message().contains("connection closed")
                || info.message().starts_with("terminating connection")
        }
        DieselError::BrokenTransactionManager => true,
        _ => false,
    }
}

/// One plan step, as Diesel's harness sees it.
struct StepMigration<'a> {
    revision: &'a Revision,
    direction: Direction,
    sql: &'a str,
    /// The `search_path` to restore after a revision that may change it.
    restore_search_path: Option<&'a str>,
    /// The whole run is one transaction (`--transaction single`).
    single_transaction: bool,
    /// The failure `execute` returned: Diesel's `transaction` replaces it
    /// with the rollback's error when the rollback fails too (a lost
    /// connection), and this keeps it for the report.
    failed: RefCell<Option<StatementFailure>>,
}

impl MigrationName for StepMigration<'_> {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.revision.version.as_str())
    }
}

impl fmt::Display for StepMigration<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.revision.name)
    }
}

impl MigrationMetadata for StepMigration<'_> {
    fn run_in_transaction(&self) -> bool {
        // Inside a `--transaction single` run the outer transaction already
        // covers the revision; asking the harness for one would make it a
        // SAVEPOINT per revision, and a thousand subtransactions overflow
        // PostgreSQL's per-backend subxid cache and slow every catalog lookup.
        self.revision.run_in_transaction && !self.single_transaction
    }
}

impl StepMigration<'_> {
    fn execute(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        let file = self.revision.display_path(match self.direction {
            Direction::Up => crate::plan::SqlFile::Up,
            Direction::Down => crate::plan::SqlFile::Down,
        });
        let statements = sql::split(self.sql)?;
        for (index, statement) in statements.iter().enumerate() {
            tracing::debug!(revision = %crate::render::comment_safe(&self.revision.name), statement = index + 1, "executing");
            if let Err(error) = conn.batch_execute(statement.text) {
                let failure = self.failure(&file, &statements, index, error);
                *self.failed.borrow_mut() = Some(failure.clone());
                return Err(Box::new(failure));
            }
        }
        if let Some(saved) = self.restore_search_path {
            let restore = format!(
                "SELECT pg_catalog.set_config('search_path', '{}', false)",
                saved.replace('\'', "''")
            );
            conn.batch_execute(&restore).map_err(|error| {
                let failure = self.failure(&file, &statements, statements.len(), error);
                *self.failed.borrow_mut() = Some(failure.clone());
                failure
            })?;
        }
        Ok(())
    }

    /// Build the report for statement `index` of `statements` failing with
    /// `error`; `index == statements.len()` means the statements all ran and
    /// the `search_path` restore after them failed.
    fn failure(
        &self,
        file: &std::path::Path,
        statements: &[sql::Statement<'_>],
        index: usize,
        error: DieselError,
    ) -> StatementFailure {
        let statement = statements.get(index);
        let offset = statement.map_or(self.sql.len(), |s| s.offset);
        let first_line = statement
            .and_then(|s| s.text.lines().next())
            .unwrap_or("(restoring search_path after the revision)")
            .to_string();
        let connection_lost = is_connection_lost(&error);
        let (message, detail, hint, position, sqlstate) = match &error {
            DieselError::DatabaseError(kind, info) => (
                info.message().to_string(),
                info.details().map(str::to_string),
                info.hint().map(str::to_string),
                info.statement_position().filter(|p| *p > 0),
                sqlstate_of(kind),
            ),
            other => (other.to_string(), None, None, None, None),
        };
        // diesel-async reports PostgreSQL's position and its "internal"
        // position (inside a query a PL/pgSQL block ran) alike; only in a DO
        // block is the latter likely, so there the block's start is reported.
        let unmapped_position = position.filter(|_| statement.is_some_and(|s| is_do_block(s.text)));
        let (line, column) = match position {
            Some(p) if unmapped_position.is_none() => {
                sql::line_col(self.sql, offset, usize::try_from(p).unwrap_or(1))
            }
            _ => sql::line_col(self.sql, offset, 1),
        };
        let completed = statements[..index.min(statements.len())]
            .iter()
            .map(|s| {
                let (line, _) = sql::line_col(self.sql, s.offset, 1);
                format!("line {line}: {}", s.text.lines().next().unwrap_or_default())
            })
            .collect();
        StatementFailure {
            file: file.to_path_buf(),
            line,
            column,
            sqlstate,
            advice: self.advice(&message, file),
            message,
            detail,
            hint,
            unmapped_position,
            completed_statements: index,
            completed,
            statement: first_line,
            connection_lost,
        }
    }

    /// dmig's advice for a mistake it recognises from the message.
    fn advice(&self, message: &str, file: &std::path::Path) -> Option<String> {
        if !message.contains("cannot run inside a transaction block") {
            return None;
        }
        if self.single_transaction {
            return Some(
                "this statement cannot run in a transaction: run without --transaction single, from a revision with run_in_transaction = false".to_string(),
            );
        }
        if !self.revision.run_in_transaction {
            return None;
        }
        let dir = file.parent().unwrap_or(file).display().to_string();
        Some(format!(
            "this statement cannot run in a transaction: set run_in_transaction = false in {}/metadata.toml (dmig then runs the file statement by statement in autocommit)",
            crate::render::comment_safe(&dir)
        ))
    }
}

/// Whether a statement is a `DO` block.
fn is_do_block(statement: &str) -> bool {
    let mut words = statement.split(|c: char| c.is_whitespace() || c == '$');
    words.next().is_some_and(|w| w.eq_ignore_ascii_case("do"))
}

impl Migration<Pg> for StepMigration<'_> {
    fn run(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        self.execute(conn)
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<Pg>) -> diesel::migration::Result<()> {
        self.execute(conn)
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        self
    }

    fn name(&self) -> &dyn MigrationName {
        self
    }
}

/// Something that wants to hear about progress (the CLI prints it).
pub trait Observer {
    /// A step is about to run.
    fn step_started(&mut self, _step: &Step<'_>, _index: usize, _total: usize) {}
    /// A step committed (or, non-transactional, completed) in `elapsed`.
    fn step_done(&mut self, _step: &Step<'_>, _elapsed: Duration) {}
}

/// An observer that ignores everything.
pub struct Silent;
impl Observer for Silent {}

/// Why a run stopped early.
#[derive(Debug)]
pub struct StepError {
    /// The step's index in the plan.
    pub index: usize,
    /// Statement-level detail, when the failure came from the revision's SQL.
    pub failure: Option<StatementFailure>,
    /// Otherwise, the error from Diesel's harness (bookkeeping, commit, rollback).
    pub other: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// The step did not start: the migration lock's session was gone.
    pub lock_lost: bool,
}

/// What [`run_steps`] did: the time of each completed step, and the error
/// that stopped it, if one did.
#[derive(Debug)]
pub struct RunReport {
    /// One entry per completed step, in plan order.
    pub timings: Vec<Duration>,
    /// The failure that stopped the run.
    pub error: Option<StepError>,
}

fn lost_connection(error: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<DieselError>()
        .is_some_and(is_connection_lost)
}

/// Run `plan` step by step through `harness`, stopping at the first failure,
/// or before a step when `still_locked` says the migration lock is gone.
pub fn run_steps<H: MigrationHarness<Pg>>(
    harness: &mut H,
    plan: &Plan<'_>,
    sql: &[Cow<'_, str>],
    search_path: Option<&str>,
    observer: &mut dyn Observer,
    still_locked: &mut dyn FnMut() -> bool,
) -> RunReport {
    let mut timings = Vec::with_capacity(plan.steps.len());
    let total = plan.steps.len();
    for (index, (step, body)) in plan.steps.iter().zip(sql).enumerate() {
        if index > 0 && !still_locked() {
            return RunReport {
                timings,
                error: Some(StepError {
                    index,
                    failure: None,
                    other: None,
                    lock_lost: true,
                }),
            };
        }
        observer.step_started(step, index, total);
        let migration = StepMigration {
            revision: step.revision,
            direction: step.direction,
            sql: body,
            restore_search_path: search_path
                .filter(|_| crate::render::may_change_search_path(body)),
            single_transaction: plan.transaction == crate::plan::TransactionMode::Single,
            failed: RefCell::new(None),
        };
        let started = Instant::now();
        let result = match step.direction {
            Direction::Up => harness.run_migration(&migration),
            Direction::Down => harness.revert_migration(&migration),
        };
        match result {
            Ok(_) => {
                let elapsed = started.elapsed();
                tracing::info!(revision = %crate::render::comment_safe(&step.revision.name), ?elapsed, "step done");
                observer.step_done(step, elapsed);
                timings.push(elapsed);
            }
            Err(error) => {
                let step_error = match error.downcast::<StatementFailure>() {
                    Ok(failure) => StepError {
                        index,
                        failure: Some(*failure),
                        other: None,
                        lock_lost: false,
                    },
                    Err(other) => match migration.failed.take() {
                        // The statement failed, then so did the rollback: the
                        // connection is gone. Report the statement.
                        Some(failure) if lost_connection(&*other) => StepError {
                            index,
                            failure: Some(StatementFailure {
                                connection_lost: true,
                                ..failure
                            }),
                            other: None,
                            lock_lost: false,
                        },
                        _ => StepError {
                            index,
                            failure: None,
                            other: Some(other),
                            lock_lost: false,
                        },
                    },
                };
                return RunReport {
                    timings,
                    error: Some(step_error),
                };
            }
        }
    }
    RunReport {
        timings,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn do_blocks_are_recognised_by_their_first_word() {
        for yes in [
            "DO $$ BEGIN END $$;",
            "do$$x$$",
            "Do\n$body$ $body$",
            "DO LANGUAGE plpgsql $$ $$",
        ] {
            assert!(is_do_block(yes), "{yes}");
        }
        for no in [
            "DOMAIN",
            "CREATE DOMAIN d AS int",
            "SELECT 'DO'",
            "document",
        ] {
            assert!(!is_do_block(no), "{no}");
        }
    }

    #[test]
    fn only_mapped_codes_are_reported_as_sqlstates() {
        assert_eq!(
            sqlstate_of(&DatabaseErrorKind::UniqueViolation),
            Some("23505")
        );
        assert_eq!(sqlstate_of(&DatabaseErrorKind::Unknown), None);
        assert_eq!(sqlstate_of(&DatabaseErrorKind::ClosedConnection), None);
    }
}
