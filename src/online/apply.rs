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
//! - after a revision that may change the session state the backend restores
//!   it before the bookkeeping row is written (`search_path`, diesel#4729).
//!
//! The companion row (see [`crate::dialect::COMPANION_TABLE`]) is written
//! at the end of the step's SQL, so it commits with Diesel's row. In the
//! harness's own transaction it rides along with the last statement's batch
//! (no extra round trip) and takes its duration from the server
//! (`clock_timestamp() - now()`); a non-transactional revision (whose last
//! statement may refuse to share a batch) and a `--transaction single` run
//! send it on its own with the time the client measured. For a
//! non-transactional revision it commits just before Diesel's row: if that
//! insert then fails, the row is an orphan the next writing run removes.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::BoxableConnection;
use diesel::migration::{Migration, MigrationMetadata, MigrationName, MigrationVersion};
use diesel::result::Error as DieselError;
use diesel_migrations::MigrationHarness;

use super::backend::{Backend, LockWait};
use super::cancel::Guard;
use super::failure::StatementFailure;
use super::runner::Events;
use super::waits::{self, Retry, Supervisor};
use crate::dialect::{Elapsed, Record, RecordMode, StepBookkeeping, VersionTable};
use crate::model::{printable, Checksums, Direction, Revision};
use crate::plan::{Plan, TransactionMode};
use crate::sql;

/// Why [`run_steps`] stopped before the end of the plan.
#[derive(Debug)]
pub(crate) enum StepError {
    /// A statement of the revision failed.
    Statement(StatementFailure),
    /// Diesel's harness failed around the SQL (bookkeeping, commit, rollback).
    Harness(Box<dyn std::error::Error + Send + Sync>),
    /// The step did not start: the migration lock's session was gone.
    LockLost,
    /// The step did not start: the run was cancelled.
    Interrupted,
}

/// The message of a statement a cancelled run did not send.
pub(crate) const NOT_STARTED: &str = "not started: the run was interrupted";

/// What [`run_steps`] did: the time of each completed step, and, when it
/// stopped early, the index of the step that did not complete and why.
#[derive(Debug)]
pub(crate) struct RunReport {
    /// One entry per completed step, in plan order.
    pub completed: Vec<Completed>,
    /// The failure that stopped the run.
    pub failure: Option<(usize, StepError)>,
    /// What the failed step was last seen waiting for.
    pub lock_wait: Option<LockWait>,
    /// How often the failed step was retried.
    pub retried: u32,
}

/// A step [`run_steps`] completed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completed {
    /// How long it took, its retries and their backoffs included.
    pub elapsed: Duration,
    /// How often it was rolled back after a lock timeout and tried again.
    pub retried: u32,
}

/// One plan step, as Diesel's harness sees it.
struct StepMigration<'a, B: Backend> {
    revision: &'a Revision,
    file: &'a Path,
    sql: &'a str,
    /// The statement that restores the session state after this revision.
    restore: Option<String>,
    /// The whole run is one transaction (`--transaction single`).
    single_transaction: bool,
    /// Where the companion row goes; `None` with checksums off.
    companion: Option<Companion<'a>>,
    /// The failure `execute` returned: Diesel's `transaction` replaces it
    /// with the rollback's error when the rollback fails too (a lost
    /// connection), and this keeps it for the report.
    failed: RefCell<Option<StatementFailure>>,
    /// Whether the run was cancelled; marks each statement on the wire.
    guard: &'a Guard,
    backend: PhantomData<fn() -> B>,
}

/// A step's companion row, to be written at the end of its SQL.
#[derive(Clone, Copy)]
struct Companion<'a> {
    table: &'a VersionTable,
    direction: Direction,
    checksums: Option<&'a Checksums>,
}

impl<B: Backend> MigrationName for StepMigration<'_, B> {
    fn version(&self) -> MigrationVersion<'_> {
        MigrationVersion::from(self.revision.version.as_str())
    }
}

impl<B: Backend> fmt::Display for StepMigration<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.revision.name)
    }
}

impl<B: Backend> MigrationMetadata for StepMigration<'_, B> {
    fn run_in_transaction(&self) -> bool {
        // Inside a `--transaction single` run the outer transaction already
        // covers the revision; asking the harness for one would make it a
        // SAVEPOINT per revision, and a thousand subtransactions overflow
        // PostgreSQL's per-backend subxid cache and slow every catalog lookup.
        self.revision.run_in_transaction && !self.single_transaction
    }
}

impl<B: Backend> StepMigration<'_, B> {
    fn execute<DB: diesel::backend::Backend>(
        &self,
        conn: &mut dyn BoxableConnection<DB>,
    ) -> diesel::migration::Result<()> {
        let started = Instant::now();
        let statements = sql::split(self.sql)?;
        // In the harness's own transaction the companion row rides along
        // with the last batch; otherwise it goes on its own at the end.
        let rides = self.run_in_transaction() && (self.restore.is_some() || !statements.is_empty());
        let along = rides
            .then(|| self.companion_sql(Elapsed::Transaction))
            .flatten();
        let with_along = |text: &str| match &along {
            Some(record) if text.ends_with(';') => format!("{text}\n{record}"),
            Some(record) => format!("{text};\n{record}"),
            None => text.to_owned(),
        };
        for (index, statement) in statements.iter().enumerate() {
            tracing::debug!(revision = %printable(&self.revision.name), statement = index + 1, "executing");
            let last = index + 1 == statements.len() && self.restore.is_none();
            let sent = self.guard.statement(|| {
                if last && along.is_some() {
                    conn.batch_execute(&with_along(statement.text))
                } else {
                    conn.batch_execute(statement.text)
                }
            });
            let result =
                sent.unwrap_or_else(|| Err(DieselError::QueryBuilderError(NOT_STARTED.into())));
            if let Err(error) = result {
                return Err(Box::new(self.fail(&statements, index, error)));
            }
        }
        if let Some(restore) = &self.restore {
            conn.batch_execute(&with_along(restore))
                .map_err(|error| self.fail(&statements, statements.len(), error))?;
        }
        if !rides {
            if let Some(record) = self.companion_sql(Elapsed::Measured(started.elapsed())) {
                conn.batch_execute(&record)
                    .map_err(|error| self.fail(&statements, statements.len() + 1, error))?;
            }
        }
        Ok(())
    }

    /// The statement writing this step's companion row, if it has one.
    fn companion_sql(&self, elapsed: Elapsed) -> Option<String> {
        let companion = self.companion?;
        B::dialect().companion_statement(
            companion.table,
            &StepBookkeeping {
                version: &self.revision.version,
                direction: companion.direction,
                record: Some(Record {
                    checksums: companion.checksums,
                    mode: RecordMode::Online,
                    elapsed,
                }),
            },
        )
    }

    /// Keep and return the report for statement `index` failing.
    fn fail(
        &self,
        statements: &[sql::Statement<'_>],
        index: usize,
        error: DieselError,
    ) -> StatementFailure {
        let failure = self.failure(statements, index, error);
        *self.failed.borrow_mut() = Some(failure.clone());
        failure
    }

    /// Build the report for statement `index` of `statements` failing with
    /// `error`; `index == statements.len()` means the statements all ran and
    /// the session restore after them failed, `statements.len() + 1` that
    /// the companion row's statement did.
    fn failure(
        &self,
        statements: &[sql::Statement<'_>],
        index: usize,
        error: DieselError,
    ) -> StatementFailure {
        let statement = statements.get(index);
        let offset = statement.map_or(self.sql.len(), |s| s.offset);
        // Passwords never reach the report: the statement is masked before
        // its first line is taken (the literal may sit on a later line), and
        // the server's words about it are redacted in case they quote it.
        let shown = statement.map(|s| first_line(s.text)).unwrap_or_else(|| {
            if index > statements.len() {
                "(recording the revision in the companion table)".to_string()
            } else {
                "(restoring the session after the revision)".to_string()
            }
        });
        let said = statement.map_or("", |s| s.text);
        let redact = |text: &str| sql::mask::redact(text, said).into_owned();
        let (message, detail, hint, position) = match &error {
            DieselError::DatabaseError(_, info) => (
                redact(info.message()),
                info.details().map(redact),
                info.hint().map(redact),
                info.statement_position().filter(|p| *p > 0),
            ),
            other => (redact(&other.to_string()), None, None, None),
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
                format!("line {line}: {}", first_line(s.text))
            })
            .collect();
        StatementFailure {
            file: self.file.to_path_buf(),
            line,
            column,
            sqlstate: B::sqlstate(&error),
            advice: self.advice(&message),
            message,
            detail,
            hint,
            unmapped_position,
            completed,
            statement: shown,
            connection_lost: B::is_connection_lost(&error),
            lock_not_available: B::is_lock_not_available(&error),
        }
    }

    /// dmig's advice for a mistake it recognises from the message.
    fn advice(&self, message: &str) -> Option<String> {
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
        let dir = self
            .file
            .parent()
            .unwrap_or(self.file)
            .display()
            .to_string();
        Some(format!(
            "this statement cannot run in a transaction: set run_in_transaction = false in {}/metadata.toml (dmig then runs the file statement by statement in autocommit)",
            printable(&dir)
        ))
    }
}

/// The first line of `statement`, its passwords masked.
fn first_line(statement: &str) -> String {
    sql::mask::mask_passwords(statement)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Whether a statement is a `DO` block.
fn is_do_block(statement: &str) -> bool {
    let mut words = statement.split(|c: char| c.is_whitespace() || c == '$');
    words.next().is_some_and(|w| w.eq_ignore_ascii_case("do"))
}

impl<B: Backend, DB: diesel::backend::Backend> Migration<DB> for StepMigration<'_, B> {
    fn run(&self, conn: &mut dyn BoxableConnection<DB>) -> diesel::migration::Result<()> {
        self.execute(conn)
    }

    fn revert(&self, conn: &mut dyn BoxableConnection<DB>) -> diesel::migration::Result<()> {
        self.execute(conn)
    }

    fn metadata(&self) -> &dyn MigrationMetadata {
        self
    }

    fn name(&self) -> &dyn MigrationName {
        self
    }
}

/// How [`run_steps`] runs each step.
pub(crate) struct StepSettings<'a, B: Backend> {
    /// The work session's state before the run, restored after a revision
    /// that may change it.
    pub(crate) session: &'a B::SessionState,
    /// Where companion rows go; `None` with checksums off.
    pub(crate) companion: Option<&'a VersionTable>,
    /// How often a transactional step that hit a lock timeout is retried.
    pub(crate) retries: u32,
}

/// Run `plan` step by step through `harness`, stopping at the first failure,
/// or before a step when the supervisor says the migration lock is gone. A
/// transactional step that fails for want of a lock was rolled back whole by
/// the harness and is tried again, up to `retries` times, after a backoff
/// (not inside `--transaction single`, where the runner retries the run).
/// Synchronous, as the harness is: call it where blocking is allowed.
pub(crate) fn run_steps<B, H>(
    harness: &mut H,
    plan: &Plan<'_>,
    with: StepSettings<'_, B>,
    observer: &mut dyn Events,
    supervisor: &mut Supervisor<'_, '_, B>,
    guard: &Guard,
) -> RunReport
where
    B: Backend,
    H: MigrationHarness<<B as diesel_async::AsyncConnectionCore>::Backend>,
{
    let StepSettings {
        session,
        companion,
        retries,
    } = with;
    let mut report = RunReport {
        completed: Vec::with_capacity(plan.steps.len()),
        failure: None,
        lock_wait: None,
        retried: 0,
    };
    let total = plan.steps.len();
    let single_transaction = plan.transaction == TransactionMode::Single;
    for (index, step) in plan.steps.iter().enumerate() {
        if guard.is_cancelled() {
            report.failure = Some((index, StepError::Interrupted));
            return report;
        }
        if index > 0 && !supervisor.still_locked() {
            report.failure = Some((index, StepError::LockLost));
            return report;
        }
        observer.step_started(step, index, total);
        let sql = step.sql.as_deref().unwrap_or_default();
        let file = step.revision.display_path(step.file());
        let migration = StepMigration::<B> {
            revision: step.revision,
            file: &file,
            sql,
            restore: B::restore_sql(session, sql),
            single_transaction,
            companion: companion.map(|table| Companion {
                table,
                direction: step.direction,
                checksums: step.checksums.as_ref(),
            }),
            failed: RefCell::new(None),
            guard,
            backend: PhantomData,
        };
        let retryable = step.revision.run_in_transaction && !single_transaction;
        let mut retried = 0;
        // What the step was last seen waiting for, in this attempt or, when
        // a short wait ended before the watcher looked, an earlier one.
        let mut seen = None;
        let started = Instant::now();
        loop {
            supervisor.attempt_started();
            let result = match step.direction {
                crate::model::Direction::Up => harness.run_migration(&migration),
                crate::model::Direction::Down => harness.revert_migration(&migration),
            };
            if let Some(wait) = supervisor.attempt_ended() {
                seen = Some(wait);
            }
            let error = match result {
                Ok(_) => break,
                Err(error) => step_error::<B>(error, &migration),
            };
            let lock_timeout = matches!(&error, StepError::Statement(f) if f.lock_not_available);
            if lock_timeout && retryable && retried < retries {
                retried += 1;
                let delay = waits::backoff(retried);
                observer.retrying(&Retry {
                    revision: &step.revision.name,
                    retry: retried,
                    retries,
                    delay,
                    wait: seen.as_ref(),
                    whole_run: false,
                });
                std::thread::sleep(delay);
                if guard.is_cancelled() {
                    report.failure = Some((index, StepError::Interrupted));
                    return report;
                }
                // The lock's session must still hold the lock to go on.
                if supervisor.still_locked() {
                    continue;
                }
                report.failure = Some((index, StepError::LockLost));
                return report;
            }
            report.failure = Some((index, error));
            report.lock_wait = seen;
            report.retried = retried;
            return report;
        }
        let elapsed = started.elapsed();
        tracing::info!(revision = %step.revision.printable_name(), ?elapsed, retried, "step done");
        observer.step_done(step, elapsed);
        report.completed.push(Completed { elapsed, retried });
    }
    report
}

/// What stopped a step, from the harness's error.
fn step_error<B: Backend>(
    error: Box<dyn std::error::Error + Send + Sync>,
    migration: &StepMigration<'_, B>,
) -> StepError {
    let failed = migration.failed.take();
    match error.downcast::<StatementFailure>() {
        Ok(failure) => StepError::Statement(*failure),
        Err(other) => match failed {
            // The statement failed, then so did the rollback: the
            // connection is gone. Report the statement.
            Some(failure) if lost_connection::<B>(&*other) => {
                StepError::Statement(StatementFailure {
                    connection_lost: true,
                    lock_not_available: false,
                    ..failure
                })
            }
            _ => StepError::Harness(other),
        },
    }
}

/// Whether a harness error means the connection is gone.
pub(crate) fn lost_connection<B: Backend>(
    error: &(dyn std::error::Error + Send + Sync + 'static),
) -> bool {
    error
        .downcast_ref::<DieselError>()
        .is_some_and(B::is_connection_lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_statement_lines_mask_passwords_on_any_line() {
        assert_eq!(
            first_line("CREATE ROLE a PASSWORD 'hunter2' LOGIN;"),
            "CREATE ROLE a PASSWORD '********' LOGIN;"
        );
        // The literal on the first line, the keyword before it.
        assert_eq!(
            first_line("ALTER ROLE a PASSWORD\n'hunter2'"),
            "ALTER ROLE a PASSWORD"
        );
        assert_eq!(
            first_line("ALTER ROLE a PASSWORD 'hunter\n2'"),
            "ALTER ROLE a PASSWORD '********'"
        );
    }

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
}
