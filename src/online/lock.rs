//! One migrator at a time: a PostgreSQL session advisory lock, taken on a
//! dedicated connection by *polling* `pg_try_advisory_lock`.
//!
//! A blocking `pg_advisory_lock` waits inside a statement that holds a
//! snapshot, and `CREATE INDEX CONCURRENTLY` in the lock holder waits for
//! every older snapshot to go away: the two deadlock (golang-migrate#960,
//! flyway#1654). A poll is a short statement; between polls the waiter holds
//! nothing. The lock is released when the session ends, so a killed migrator
//! frees it as soon as the server notices the dead connection.

use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Bool, Integer};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::OnlineError;

/// The advisory lock key: FNV-1a (64 bit) of the version table's name,
/// `__diesel_schema_migrations`, read as a signed 64-bit integer.
/// It is fixed so every dmig process (and any tool that wants to cooperate)
/// agrees on it: `SELECT pg_try_advisory_lock(3888674113241835903)`.
pub const LOCK_KEY: i64 = fnv1a_64(b"__diesel_schema_migrations") as i64;

/// How long to sleep between two polls.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

const fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct Holder {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// Poll for the migration lock on `conn` until it is held or `wait` runs out.
/// `on_wait` is called once, when the first poll finds the lock taken.
pub async fn acquire(
    conn: &mut AsyncPgConnection,
    wait: Duration,
    mut on_wait: impl FnMut(Option<i32>),
) -> Result<(), OnlineError> {
    let started = Instant::now();
    let mut reported = false;
    loop {
        let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind::<BigInt, _>(LOCK_KEY)
            .get_result(conn)
            .await
            .map_err(|source| OnlineError::Query {
                what: "take the migration lock",
                source,
            })?;
        if row.locked {
            return Ok(());
        }
        if !reported {
            reported = true;
            on_wait(holder(conn).await);
        }
        if started.elapsed() >= wait {
            return Err(OnlineError::LockTimeout {
                key: LOCK_KEY,
                waited: wait,
                holder: holder(conn).await,
            });
        }
        tokio::time::sleep(POLL_INTERVAL.min(wait.saturating_sub(started.elapsed()))).await;
    }
}

/// Whether the session holding the lock is still there: a session advisory
/// lock lives exactly as long as its session, so a live session still holds
/// it. (The session can die alone: `pg_terminate_backend`, a network cut.)
pub async fn session_alive(conn: &mut AsyncPgConnection) -> bool {
    diesel_async::SimpleAsyncConnection::batch_execute(conn, "SELECT 1")
        .await
        .is_ok()
}

/// Release the lock (ending the session releases it too).
pub async fn release(conn: &mut AsyncPgConnection) {
    let released = diesel::sql_query("SELECT pg_advisory_unlock($1) AS locked")
        .bind::<BigInt, _>(LOCK_KEY)
        .get_result::<Locked>(conn)
        .await;
    if let Err(error) = released {
        tracing::debug!(%error, "releasing the migration lock failed; the session end releases it");
    }
}

/// The pid of the session holding the lock, from `pg_locks`.
async fn holder(conn: &mut AsyncPgConnection) -> Option<i32> {
    // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
    // Advisory locks belong to one database, and pg_locks lists every
    // database's: without the filter a dmig on another database of the same
    // server would be named as the holder.
    diesel::sql_query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid::bigint = ($1 >> 32) & 4294967295 AND objid::bigint = $1 & 4294967295 \
         AND objsubid = 1 LIMIT 1",
    )
    .bind::<BigInt, _>(LOCK_KEY)
    .get_result::<Holder>(conn)
    .await
    .ok()
    .map(|h| h.pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_key_is_the_documented_constant() {
        assert_eq!(LOCK_KEY, 3888674113241835903);
    }
}
