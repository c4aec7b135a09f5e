//! Connection poolers. dmig keeps two things in its sessions: the migration
//! lock (a session advisory lock) and the driver's prepared statements. A
//! pooler that hands server sessions out per transaction (pgbouncer's
//! `pool_mode = transaction` or `statement`) breaks both: the lock stays on
//! whichever server session took it, serving other clients after dmig is
//! gone, and two clients' statements `s0` meet on one server session
//! (`prepared statement "s0" already exists`). A direct connection and
//! session pooling give each client a server session of its own.
//!
//! `refuse_transaction_pooling` tells them apart before a run takes the
//! lock or writes anything: two client sessions of one direct or
//! session-pooled connection are served by two server processes, each the
//! same for as long as the client stays; through transaction pooling, a quiet
//! pool hands the server session one client just let go to the next one,
//! and a busy pool moves a client from one server session to another.

use super::backend::Backend;
use super::error::query_failed;
use super::OnlineError;

/// What an error's text says about the connection being pooled per
/// transaction or statement, when it is one of those poolers' symptoms.
pub fn symptom(text: &str) -> Option<&'static str> {
    if let Some(rest) = text
        .find("prepared statement \"s")
        .map(|at| &text[at + "prepared statement \"s".len()..])
    {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let after = &rest[digits..];
        if digits > 0 && after.starts_with("\" already exists") {
            return Some(
                "the prepared statements of two client sessions met on one server session (prepared statement already exists)",
            );
        }
        if digits > 0 && after.starts_with("\" does not exist") {
            return Some(
                "a prepared statement of dmig's session vanished between two of its statements",
            );
        }
    }
    if text.contains("not allowed in statement pooling mode") {
        return Some("the pooler runs in statement mode");
    }
    None
}

/// The text of `error` and all its sources, as one line.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        text.push_str(": ");
        text.push_str(&next.to_string());
        source = next.source();
    }
    text
}

/// `error` as [`OnlineError::TransactionPooled`] when its text shows the
/// symptom of such a pooler; otherwise unchanged.
pub(crate) fn classify(error: OnlineError) -> OnlineError {
    // A revision's own statement failing is the user's SQL speaking (its
    // own `PREPARE s1`), never the driver's statements.
    let users_sql = matches!(&error, OnlineError::Revision(failure)
        if matches!(failure.cause, super::Cause::Statement(_)));
    if users_sql || matches!(error, OnlineError::TransactionPooled { .. }) {
        return error;
    }
    match symptom(&chain(&error)) {
        Some(reason) => OnlineError::TransactionPooled {
            reason: reason.to_owned(),
            url: None,
        },
        None => error,
    }
}

/// How many times [`refuse_transaction_pooling`] makes a pooler choose.
const ROUNDS: usize = 3;

/// Refuse to go on when the client sessions `a` and `b` (two sessions of
/// one pool) are served per transaction. Direct or session-pooled, each is
/// served by one server process throughout, never the other's. A
/// transaction pooler chooses a server session per transaction, so it is
/// made to choose: one session asks which process serves it inside a
/// transaction (which holds that server session), the other asks outside
/// it (so it is served by another one), the transaction ends, and each asks
/// again: pgbouncer then hands the server session just let go to the next
/// client (last in, first out, its default), or the least recently used one
/// with `server_round_robin`; a busy pool moves clients around anyway.
/// Three rounds, the roles swapped in turn, stopping at the first sign:
/// eighteen short queries on a direct connection, once per run.
pub(crate) async fn refuse_transaction_pooling<B: Backend>(
    a: &mut B,
    b: &mut B,
) -> Result<(), OnlineError> {
    let (mut of_a, mut of_b) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            swap_round(a, b, &mut of_a, &mut of_b).await?;
        } else {
            swap_round(b, a, &mut of_b, &mut of_a).await?;
        }
        tracing::debug!(?of_a, ?of_b, "server processes of two sessions");
        let reason = if let Some(pid) = of_b.iter().find(|pid| of_a.contains(pid)) {
            format!("two of dmig's sessions were served by one server process, pid {pid}")
        } else if of_a.iter().any(|pid| *pid != of_a[0]) || of_b.iter().any(|pid| *pid != of_b[0]) {
            "one of dmig's sessions was served by two server processes in turn".to_owned()
        } else {
            continue;
        };
        return Err(OnlineError::TransactionPooled { reason, url: None });
    }
    Ok(())
}

/// One round: `x` asks inside a transaction, `y` outside it, then both
/// again once it ended; their answers go to `of_x` and `of_y`.
async fn swap_round<B: Backend>(
    x: &mut B,
    y: &mut B,
    of_x: &mut Vec<i64>,
    of_y: &mut Vec<i64>,
) -> Result<(), OnlineError> {
    let what = "check the connection for a transaction pooler";
    x.batch_execute("BEGIN")
        .await
        .map_err(query_failed(what))
        .map_err(classify)?;
    let held = async {
        of_x.push(B::session_pid(x).await?);
        of_y.push(B::session_pid(y).await?);
        Ok::<_, OnlineError>(())
    }
    .await;
    // Ended whatever happened: the session goes on to hold the lock.
    let ended = x.batch_execute("COMMIT").await.map_err(query_failed(what));
    held.map_err(classify)?;
    ended.map_err(classify)?;
    of_y.push(B::session_pid(y).await.map_err(classify)?);
    of_x.push(B::session_pid(x).await.map_err(classify)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symptoms_of_transaction_pooling_are_recognised() {
        assert!(symptom("cannot read: prepared statement \"s0\" already exists").is_some());
        assert!(symptom("prepared statement \"s12\" does not exist").is_some());
        assert!(symptom("transaction blocks not allowed in statement pooling mode").is_some());
        assert_eq!(
            symptom("prepared statement \"my_stmt\" already exists"),
            None
        );
        assert_eq!(symptom("relation \"s0\" already exists"), None);
        assert_eq!(symptom("division by zero"), None);
    }

    #[test]
    fn a_revisions_own_prepared_statement_is_not_taken_for_a_pooler() {
        use crate::model::Direction;
        use crate::online::{Cause, RevisionFailure, StatementFailure};
        let statement = StatementFailure {
            file: "migrations/1_a/up.sql".into(),
            line: 2,
            column: 1,
            sqlstate: None,
            message: "prepared statement \"s1\" already exists".into(),
            detail: None,
            hint: None,
            advice: None,
            unmapped_position: None,
            completed: Vec::new(),
            statement: "PREPARE s1 AS SELECT 1;".into(),
            connection_lost: false,
            lock_not_available: false,
        };
        let failure = OnlineError::Revision(Box::new(RevisionFailure {
            direction: Direction::Up,
            name: "1_a".into(),
            run_in_transaction: true,
            single_transaction: false,
            cause: Cause::Statement(statement),
            completed: Vec::new(),
            leftovers: Vec::new(),
            lock: None,
        }));
        assert!(matches!(classify(failure), OnlineError::Revision(_)));
        let harness = OnlineError::Pool {
            reason: "prepared statement \"s0\" already exists".into(),
        };
        assert!(matches!(
            harness.for_url("postgres://u@pgbouncer:6432/app"),
            OnlineError::TransactionPooled { url: Some(_), .. }
        ));
    }
}
