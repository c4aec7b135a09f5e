//! The read-only side of the online layer: connections from the pool, the
//! version table's rows, and the status of revisions against them and
//! against dmig's companion table. Nothing here creates or writes a table.

use bb8::{Pool, PooledConnection};
use diesel_async::pooled_connection::PoolError;

use super::backend::{Backend, Manager};
use super::OnlineError;
use crate::model::{Applied, Revision};
use crate::plan::Status;

/// Take a connection from the pool, keeping the pool's error readable.
pub async fn checkout<M: Manager>(
    pool: &Pool<M>,
) -> Result<PooledConnection<'static, M>, OnlineError> {
    pool.get_owned().await.map_err(|error| OnlineError::Pool {
        reason: match error {
            bb8::RunError::User(PoolError::ConnectionError(e)) => match e {
                diesel::ConnectionError::BadConnection(message) => message,
                other => other.to_string(),
            },
            bb8::RunError::User(PoolError::QueryError(e)) => e.to_string(),
            bb8::RunError::TimedOut => "timed out waiting for a connection".to_string(),
        },
    })
}

/// The rows of the version table, without creating it (none when it does
/// not exist).
pub async fn read_applied<B: Backend>(conn: &mut B) -> Result<Vec<Applied>, OnlineError> {
    match B::find_version_table(conn).await? {
        Some(table) => B::read_applied(conn, &table).await,
        None => Ok(Vec::new()),
    }
}

/// The rows of the version table behind `pool` (read-only).
pub async fn applied<M: Manager>(pool: &Pool<M>) -> Result<Vec<Applied>, OnlineError> {
    let mut conn = checkout(pool).await?;
    read_applied(&mut *conn).await
}

/// Compare the revisions on disk with the version table, and the applied
/// ones with what dmig's companion table recorded of them (read-only:
/// neither table is created when missing; without the companion table
/// every applied revision is unverified).
pub async fn status<'r, M: Manager>(
    pool: &Pool<M>,
    revisions: &'r [Revision],
) -> Result<Status<'r>, OnlineError> {
    status_with(pool, revisions, true).await
}

/// [`status`], with `checksums` false leaving the companion table unread
/// (applied revisions are then `applied`, neither changed nor unverified).
pub async fn status_with<'r, M: Manager>(
    pool: &Pool<M>,
    revisions: &'r [Revision],
    checksums: bool,
) -> Result<Status<'r>, OnlineError> {
    type C<M> = <M as bb8::ManageConnection>::Connection;
    let mut conn = checkout(pool).await?;
    let Some(table) = C::<M>::find_version_table(&mut *conn).await? else {
        let recorded = checksums.then(Vec::new);
        return Ok(Status::with_recorded(revisions, Vec::new(), recorded));
    };
    let applied = C::<M>::read_applied(&mut *conn, &table).await?;
    let recorded = if checksums {
        Some(
            C::<M>::read_recorded(&mut *conn, &table.table)
                .await?
                .unwrap_or_default(),
        )
    } else {
        None
    };
    Ok(Status::with_recorded(revisions, applied, recorded))
}
