//! What a run writes besides the revisions' own SQL, and what it checks
//! before it writes anything: the read-only and version-table checks, a
//! stamp's rows, the transaction of a `--transaction single` run.

use diesel_async::{AsyncConnection, TransactionManager};

use super::backend::{Backend, FoundTable};
use super::error::query_failed;
use super::OnlineError;
use crate::dialect::{Elapsed, Record, RecordMode, StepBookkeeping, VersionTable};
use crate::model::Direction;
use crate::plan::{Plan, Purge};

/// Before a run writes anything: refuse, naming the cause, when the
/// database takes no writes or the version table cannot take Diesel's row.
pub(super) async fn check_writable<B: Backend>(
    conn: &mut B,
    found: Option<&FoundTable>,
    planned: &Plan<'_>,
) -> Result<(), OnlineError> {
    if let Some(reason) = B::read_only(conn).await? {
        return Err(OnlineError::ReadOnly {
            reason,
            command: planned.kind.as_str(),
            steps: planned.steps.len(),
        });
    }
    let writes_rows = planned.steps.iter().any(|s| s.direction == Direction::Up);
    if let Some(found) = found.filter(|f| writes_rows && !f.unfillable.is_empty()) {
        let dialect = B::dialect();
        let table = dialect.table_name(&found.table);
        return Err(OnlineError::UnfillableVersionTable {
            fix: format!(
                "ALTER TABLE {table} ALTER COLUMN {} SET DEFAULT ...",
                dialect.ident(&found.unfillable[0])
            ),
            table,
            columns: found.unfillable.clone(),
        });
    }
    Ok(())
}

/// Open the transaction of a `--transaction single` run.
pub(super) async fn begin_run<B: Backend>(conn: &mut B) -> Result<(), OnlineError> {
    <B as AsyncConnection>::TransactionManager::begin_transaction(conn)
        .await
        .map_err(query_failed("begin the run's transaction"))
}

/// Commit the transaction of a `--transaction single` run.
pub(super) async fn commit_run<B: Backend>(conn: &mut B) -> Result<(), OnlineError> {
    <B as AsyncConnection>::TransactionManager::commit_transaction(conn)
        .await
        .map_err(query_failed("commit the run's transaction"))
}

/// Roll back `--transaction single`'s transaction. Best effort: when the
/// connection is lost, the server rolls it back anyway.
pub(super) async fn rollback_run<B: Backend>(conn: &mut B) {
    let _ = <B as AsyncConnection>::TransactionManager::rollback_transaction(conn).await;
}

/// Write the version rows of a stamp plan in one transaction, and their
/// companion rows (mode `stamp`) unless `companion` is `None`.
pub(super) async fn stamp<B: Backend>(
    conn: &mut B,
    table: &VersionTable,
    companion: Option<&VersionTable>,
    planned: &Plan<'_>,
) -> Result<(), OnlineError> {
    let dialect = B::dialect();
    let mut script = String::from("BEGIN;\n");
    for step in &planned.steps {
        let bookkeeping = StepBookkeeping {
            version: &step.revision.version,
            direction: step.direction,
            record: companion.map(|_| Record {
                checksums: step.checksums.as_ref(),
                mode: RecordMode::Stamp,
                elapsed: Elapsed::Unknown,
            }),
        };
        for statement in dialect.step_bookkeeping(table, &bookkeeping) {
            script.push_str(&statement);
            script.push('\n');
        }
    }
    if let Some(Purge::Rows(rows)) = planned.purge.as_ref().filter(|p| !p.is_noop()) {
        script.push_str(&dialect.delete_versions(table, rows));
        script.push('\n');
    }
    script.push_str("COMMIT;");
    conn.batch_execute(&script)
        .await
        .map_err(query_failed("write the version table"))
}
