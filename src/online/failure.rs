//! What a failed run reports: the revision, the statement, where in the file,
//! PostgreSQL's words, and what was applied before it.

use std::fmt;
use std::path::PathBuf;

use super::backend::LockWait;
use crate::model::{printable, printable_lines, Direction};

/// What went wrong inside one revision, with enough to find and fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementFailure {
    /// The file that failed, e.g. `migrations/2024-01-01-000000_x/up.sql`.
    pub file: PathBuf,
    /// 1-based line in the file (where PostgreSQL points, else the statement's start).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The SQLSTATE, where the driver exposes it: diesel-async keeps only the
    /// codes it maps to a `DatabaseErrorKind` (constraint violations,
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
    /// The statements that completed before this one, as `line N: <first
    /// line>` (what a non-transactional revision may have left behind).
    pub completed: Vec<String>,
    /// The first line of the failing statement, for orientation.
    pub statement: String,
    /// The connection broke (server gone, network) rather than the SQL failing.
    pub connection_lost: bool,
    /// A lock could not be had in time (`lock_timeout`, `NOWAIT`): the
    /// failure a transactional revision may be retried after.
    pub lock_not_available: bool,
}

impl fmt::Display for StatementFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        write!(f, "{}:{}:{}: ", printable(&file), self.line, self.column)?;
        if let Some(code) = self.sqlstate {
            write!(f, "[{code}] ")?;
        }
        // The server's words quote names from the database, which may hold
        // anything: no control character reaches the terminal.
        write!(f, "{}", printable_lines(&self.message))?;
        if let Some(detail) = &self.detail {
            write!(f, "\n  detail: {}", printable_lines(detail))?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {}", printable_lines(hint))?;
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
        write!(f, "\n  statement: {}", printable(&self.statement))
    }
}

impl std::error::Error for StatementFailure {}

/// Why a revision failed.
#[derive(Debug)]
pub enum Cause {
    /// One of its statements failed.
    Statement(StatementFailure),
    /// Diesel's harness failed around the SQL (the bookkeeping row, the
    /// commit); `connection_lost` when the session went away meanwhile, so
    /// whether a commit happened is unknown.
    Harness {
        /// The harness's error, already free of passwords.
        message: String,
        /// The session was lost.
        connection_lost: bool,
    },
}

/// A failed step, reported with what was applied before it.
#[derive(Debug)]
pub struct RevisionFailure {
    /// Upgrade or downgrade.
    pub direction: Direction,
    /// The revision's directory name.
    pub name: String,
    /// Whether it ran in a transaction (and so left no trace).
    pub run_in_transaction: bool,
    /// Whether the whole run was one transaction (and so nothing of the run remains).
    pub single_transaction: bool,
    /// What failed.
    pub cause: Cause,
    /// Steps completed earlier in this run, in order.
    pub completed: Vec<String>,
    /// Objects a failed non-transactional revision left behind (invalid indexes).
    pub leftovers: Vec<String>,
    /// When it failed for want of a lock: what it waited for and how often
    /// it was tried.
    pub lock: Option<LockFailure>,
}

/// A revision that failed because a lock could not be had in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockFailure {
    /// What its statement waited for, as the lock's session last saw it
    /// (`None` when the wait ended before the first look).
    pub wait: Option<LockWait>,
    /// How many times it ran (1 + the retries done).
    pub attempts: u32,
    /// The retries allowed (`--retries`).
    pub retries: u32,
}

/// How many names a list in a failure report shows before eliding the middle.
const MAX_LISTED: usize = 10;

/// `names` joined with `separator`, made printable, the middle elided when
/// there are many.
pub(crate) fn elided(names: &[String], separator: &str) -> String {
    let safe = |name: &String| printable(name).into_owned();
    if names.len() <= MAX_LISTED {
        return names.iter().map(safe).collect::<Vec<_>>().join(separator);
    }
    let head: Vec<String> = names[..3].iter().map(safe).collect();
    let tail: Vec<String> = names[names.len() - 3..].iter().map(safe).collect();
    format!(
        "{}{separator}... ({} more) ...{separator}{}",
        head.join(separator),
        names.len() - 6,
        tail.join(separator)
    )
}

impl fmt::Display for RevisionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = self.direction.noun();
        let name = printable(&self.name);
        let statement = match &self.cause {
            Cause::Statement(statement) => Some(statement),
            Cause::Harness { .. } => None,
        };
        if statement.is_some_and(|s| s.connection_lost) {
            write!(f, "connection lost during revision `{name}` ({verb})")?;
        } else {
            write!(f, "revision `{name}` failed ({verb})")?;
        }
        self.fmt_details(f)
    }
}

impl RevisionFailure {
    /// Everything after the headline: the cause and what remains of the
    /// revision and of the run (an interrupted run's report shares it).
    pub(crate) fn fmt_details(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statement = match &self.cause {
            Cause::Statement(statement) => Some(statement),
            Cause::Harness { .. } => None,
        };
        match &self.cause {
            Cause::Statement(statement) => write!(f, "\n  at {statement}")?,
            Cause::Harness { message, .. } => write!(f, ": {}", printable_lines(message))?,
        }
        if let Some(lock) = &self.lock {
            self.fmt_lock(f, lock)?;
        }
        let harness_lost = matches!(
            self.cause,
            Cause::Harness {
                connection_lost: true,
                ..
            }
        );
        if self.single_transaction {
            write!(
                f,
                "\n  the whole run was one transaction: it was rolled back, nothing changed"
            )?;
        } else if harness_lost {
            write!(
                f,
                "\n  the connection was lost while the revision was being recorded: whether it was recorded is unknown; run `dmig status`"
            )?;
        } else if self.run_in_transaction {
            write!(f, "\n  the revision was rolled back: nothing of it remains")?;
        } else {
            match statement {
                Some(statement) if statement.completed.is_empty() => write!(
                    f,
                    "\n  the revision is non-transactional: no statement of it completed before the failure; its version was not recorded"
                )?,
                Some(statement) => write!(
                    f,
                    "\n  the revision is non-transactional and is half-applied: {} statement(s) completed before the failure and remain; its version was not recorded\n  completed: {}",
                    statement.completed.len(),
                    elided(&statement.completed, "\n             ")
                )?,
                None => write!(
                    f,
                    "\n  the revision is non-transactional: its SQL ran, but its version was not recorded"
                )?,
            }
            if !self.leftovers.is_empty() {
                write!(
                    f,
                    "\n  invalid index(es) left behind (drop them before retrying): {}",
                    elided(&self.leftovers, ", ")
                )?;
            }
        }
        if !self.single_transaction {
            let done = self.direction.past();
            if self.completed.is_empty() {
                write!(f, "\n  nothing was {done} before it in this run")?;
            } else {
                write!(
                    f,
                    "\n  {done} before it in this run (and still {done}): {}",
                    elided(&self.completed, ", ")
                )?;
            }
        }
        Ok(())
    }
}

impl RevisionFailure {
    /// What a revision that could not get its lock waited for, and why it
    /// was not tried again.
    fn fmt_lock(&self, f: &mut fmt::Formatter<'_>, lock: &LockFailure) -> fmt::Result {
        if let Some(wait) = &lock.wait {
            write!(f, "\n  it waited for {wait}")?;
        }
        let retryable = self.run_in_transaction || self.single_transaction;
        let what = if self.single_transaction {
            " of the whole run"
        } else {
            ""
        };
        if !retryable {
            write!(
                f,
                "\n  not retried: the revision runs outside a transaction (run_in_transaction = false), so a retry could run its completed statements twice"
            )
        } else if lock.retries == 0 {
            write!(
                f,
                "\n  dmig hint: --retries N tries it again with backoff, each time rolled back whole; or run when the blocker is gone"
            )
        } else {
            write!(
                f,
                "\n  gave up after {} attempt(s){what} (--retries {})",
                lock.attempts, lock.retries
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_words_and_names_from_the_database_print_escaped() {
        let failure = StatementFailure {
            file: PathBuf::from("migrations/1_a/up.sql"),
            line: 1,
            column: 1,
            sqlstate: None,
            message: "relation \"t\x1b[2J\" does not exist".to_string(),
            detail: Some("first\nsecond \x07".to_string()),
            hint: Some("\x1b]0;title\x07".to_string()),
            advice: None,
            unmapped_position: None,
            completed: Vec::new(),
            statement: "SELECT * FROM \"t\x1b[2J\";".to_string(),
            connection_lost: false,
            lock_not_available: false,
        };
        let report = RevisionFailure {
            direction: Direction::Up,
            name: "1_a".to_string(),
            run_in_transaction: false,
            single_transaction: false,
            cause: Cause::Statement(failure),
            completed: Vec::new(),
            leftovers: vec!["idx\x1b[31m".to_string()],
            lock: None,
        }
        .to_string();
        assert!(
            !report.contains('\x1b') && !report.contains('\x07'),
            "{report:?}"
        );
        assert!(
            report.contains("relation \"t?[2J\" does not exist"),
            "{report}"
        );
        assert!(report.contains("detail: first\nsecond ?"), "{report}");
        assert!(
            report.contains("left behind (drop them before retrying): idx?[31m"),
            "{report}"
        );
    }
}
