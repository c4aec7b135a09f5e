//! `dmig database setup | reset | drop`: the database a URL names, created or
//! dropped through the server's maintenance database, as diesel CLI's
//! `database` commands do.

use std::time::Duration;

use diesel::sql_types::{Bool, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use super::connect::{establish_maintenance, ConnectError};
use super::conninfo::ConnectTarget;
use crate::dialect::postgres::quote_ident;
use crate::online::error::query_failed;
use crate::online::OnlineError;

/// Where `CREATE DATABASE` and `DROP DATABASE` are run: `postgres`, as
/// diesel CLI, else `template1`, which every cluster has.
const MAINTENANCE: [&str; 2] = ["postgres", "template1"];

/// What was done to the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// It was created (or dropped).
    Done(ConnectTarget),
    /// Nothing to do: it existed already (or was missing already).
    Unchanged(ConnectTarget),
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

async fn maintenance(
    url: &str,
    timeout: Duration,
) -> Result<(AsyncPgConnection, ConnectTarget), OnlineError> {
    let mut last = None;
    for database in MAINTENANCE {
        match establish_maintenance(url, database, timeout).await {
            Ok(found) => return Ok(found),
            // A missing maintenance database: try the next one.
            Err(error @ ConnectError::Server { .. }) => last = Some(error),
            Err(error) => return Err(error.into()),
        }
    }
    Err(last.map_or_else(
        || OnlineError::Pool {
            reason: "no maintenance database to connect to".to_owned(),
        },
        OnlineError::from,
    ))
}

async fn exists(conn: &mut AsyncPgConnection, name: &str) -> Result<bool, OnlineError> {
    let row: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name)
            .get_result(conn)
            .await
            .map_err(query_failed("look for the database"))?;
    Ok(row.exists)
}

/// Create the database `url` names unless it exists.
pub async fn create(url: &str, timeout: Duration) -> Result<Change, OnlineError> {
    let (mut conn, target) = maintenance(url, timeout).await?;
    if exists(&mut conn, &target.database).await? {
        return Ok(Change::Unchanged(target));
    }
    conn.batch_execute(&format!(
        "CREATE DATABASE {}",
        quote_ident(&target.database)
    ))
    .await
    .map_err(query_failed("create the database"))?;
    Ok(Change::Done(target))
}

/// Drop the database `url` names if it exists (it must have no sessions).
pub async fn drop(url: &str, timeout: Duration) -> Result<Change, OnlineError> {
    let (mut conn, target) = maintenance(url, timeout).await?;
    if !exists(&mut conn, &target.database).await? {
        return Ok(Change::Unchanged(target));
    }
    conn.batch_execute(&format!("DROP DATABASE {}", quote_ident(&target.database)))
        .await
        .map_err(query_failed(
            "drop the database (is a session still connected to it?)",
        ))?;
    Ok(Change::Done(target))
}
