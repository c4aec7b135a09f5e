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
    /// The SQLSTATE, where the driver exposes it.
    pub sqlstate: Option<&'static str>,
    /// PostgreSQL's message.
    pub message: String,
    /// PostgreSQL's detail.
    pub detail: Option<String>,
    /// PostgreSQL's hint.
    pub hint: Option<String>,
    /// How many statements of the file completed before this one.
    pub completed_statements: usize,
    /// The first line of the failing statement, for orientation.
    pub statement: String,
    /// The connection broke (server gone, network) rather than the SQL failing.
    pub connection_lost: bool,
}

impl fmt::Display for StatementFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
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
pub fn is_connection_lost(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(kind, info) => {
            matches!(
                kind,
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand
            ) || info.message().contains("connection closed")
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
        self.revision.run_in_transaction
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
            tracing::debug!(revision = %self.revision.name, statement = index + 1, "executing");
            if let Err(error) = conn.batch_execute(statement.text) {
                return Err(Box::new(self.failure(&file, &statements, index, error)));
            }
        }
        if let Some(saved) = self.restore_search_path {
            let restore = format!(
                "SELECT pg_catalog.set_config('search_path', '{}', false)",
                saved.replace('\'', "''")
            );
            conn.batch_execute(&restore)
                .map_err(|error| self.failure(&file, &[], 0, error))?;
        }
        Ok(())
    }

    fn failure(
        &self,
        file: &std::path::Path,
        statements: &[sql::Statement<'_>],
        index: usize,
        error: DieselError,
    ) -> StatementFailure {
        let statement = statements.get(index);
        let offset = statement.map_or(0, |s| s.offset);
        let first_line = statement
            .and_then(|s| s.text.lines().next())
            .unwrap_or("(restoring search_path)")
            .to_string();
        let connection_lost = is_connection_lost(&error);
        let (message, detail, hint, position, sqlstate) = match &error {
            DieselError::DatabaseError(kind, info) => (
                info.message().to_string(),
                info.details().map(str::to_string),
                info.hint().map(str::to_string),
                info.statement_position(),
                sqlstate_of(kind),
            ),
            other => (other.to_string(), None, None, None, None),
        };
        let (line, column) = match position {
            Some(p) if p > 0 => sql::line_col(self.sql, offset, p as usize),
            _ => sql::line_col(self.sql, offset, 1),
        };
        StatementFailure {
            file: file.to_path_buf(),
            line,
            column,
            sqlstate,
            message,
            detail,
            hint,
            completed_statements: index,
            statement: first_line,
            connection_lost,
        }
    }
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

/// Run `plan` step by step through `harness`, stopping at the first failure.
pub fn run_steps<H: MigrationHarness<Pg>>(
    harness: &mut H,
    plan: &Plan<'_>,
    sql: &[Cow<'_, str>],
    search_path: Option<&str>,
    observer: &mut dyn Observer,
) -> RunReport {
    let mut timings = Vec::with_capacity(plan.steps.len());
    let total = plan.steps.len();
    for (index, (step, body)) in plan.steps.iter().zip(sql).enumerate() {
        observer.step_started(step, index, total);
        let migration = StepMigration {
            revision: step.revision,
            direction: step.direction,
            sql: body,
            restore_search_path: search_path
                .filter(|_| crate::render::may_change_search_path(body)),
        };
        let started = Instant::now();
        let result = match step.direction {
            Direction::Up => harness.run_migration(&migration),
            Direction::Down => harness.revert_migration(&migration),
        };
        match result {
            Ok(_) => {
                let elapsed = started.elapsed();
                observer.step_done(step, elapsed);
                timings.push(elapsed);
            }
            Err(error) => {
                let step_error = match error.downcast::<StatementFailure>() {
                    Ok(failure) => StepError {
                        index,
                        failure: Some(*failure),
                        other: None,
                    },
                    Err(other) => StepError {
                        index,
                        failure: None,
                        other: Some(other),
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
