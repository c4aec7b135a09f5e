//! Checks of a step's SQL made when the plan is, so that both sinks refuse
//! alike and before anything runs: the script would otherwise be written and
//! fail under psql, and the online run fail after earlier revisions committed.

use super::{Step, TransactionMode};
use crate::error::{PlanError, SourceError};
use crate::sql;

/// Refuse a statement of `sql` (the step's file, as read) that cannot run
/// where the step runs it: in a revision's own transaction, or in the run's
/// single one (`--transaction single`, which every step then shares); and
/// one that cannot run alike in both modes (see
/// [`crate::source::check_statement`]).
pub(crate) fn check_step(
    step: &Step<'_>,
    sql: &str,
    transaction: TransactionMode,
) -> Result<(), PlanError> {
    let revision = step.revision;
    let file = revision.display_path(step.file());
    let statements = sql::split(sql).map_err(|source| SourceError::Lex {
        path: file.clone(),
        source,
    })?;
    let single = transaction == TransactionMode::Single;
    let in_transaction = single || revision.run_in_transaction;
    for statement in &statements {
        let facts = sql::check::facts(statement.text);
        crate::source::check_statement(&file, sql, statement, &facts)?;
        if let Some(usage) = facts.transaction.filter(|_| in_transaction) {
            let (line, column) = sql::line_col(sql, statement.offset, 1);
            return Err(PlanError::InTransaction {
                name: revision.name.clone(),
                direction: step.direction,
                file,
                line,
                column,
                usage,
                single,
            });
        }
    }
    Ok(())
}
