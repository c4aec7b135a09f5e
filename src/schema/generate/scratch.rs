//! Throwaway databases on the server of an admin URL (`--scratch-url`):
//! created under a name of dmig's own, brought to head with dmig's own
//! runner, read, and dropped again whatever happened in between.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use crate::model::Revision;
use crate::online::pg::introspect as pg;
use crate::online::{self, ConnectOptions, PgPool, RunOptions, Silent};
use crate::plan::{Kind, Request, Target, TransactionMode};
use crate::schema::introspect;
use crate::schema::model::Schema;
use crate::schema::SchemaError;

/// A throwaway database on the scratch server.
pub(super) struct Scratch {
    admin_url: String,
    name: String,
    /// The URL of the scratch database itself.
    pub(super) url: String,
    pub(super) connect: ConnectOptions,
}

impl Scratch {
    /// Create an empty database through `admin_url`.
    pub(super) async fn create(
        admin_url: &str,
        connect: &ConnectOptions,
    ) -> Result<Scratch, SchemaError> {
        // Unique per process and call, and readable in `\l` when one is
        // left behind (a killed run cannot drop it).
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "__dmig_scratch_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let url = online::pg::with_database(admin_url, &name).map_err(online::OnlineError::from)?;
        pg::create_database(admin_url, &name, connect.connect_timeout).await?;
        Ok(Scratch {
            admin_url: admin_url.to_string(),
            url,
            name,
            connect: ConnectOptions {
                // The runner holds the lock on one session and migrates on another.
                sessions: 2,
                ..connect.clone()
            },
        })
    }

    /// A pool on the scratch database.
    pub(super) async fn pool(&self) -> Result<PgPool, SchemaError> {
        Ok(online::connect_pool(&self.url, &self.connect).await?)
    }

    /// Drop it; errors are logged, not returned (the work's result matters more).
    pub(super) async fn drop_database(self) {
        pg::drop_database(&self.admin_url, &self.name, self.connect.connect_timeout).await;
    }
}

/// Read the database behind `pool` into the model, with its
/// `server_version_num`.
pub(super) async fn snapshot(pool: &PgPool) -> Result<(Schema, i32), SchemaError> {
    let mut conn = online::checkout(pool).await?;
    let rows = pg::introspect(&mut conn).await?;
    Ok((introspect::to_model(&rows), rows.server_version_num))
}

/// Apply every pending revision, through the runner (lock included).
pub(super) async fn upgrade(pool: &PgPool, revisions: &[Revision]) -> Result<(), SchemaError> {
    run(pool, revisions, Kind::Upgrade, Target::head()).await
}

/// Move the database behind `pool` to `target` (a directory name, `+1`, `-1`).
pub(super) async fn step(
    pool: &PgPool,
    revisions: &[Revision],
    kind: Kind,
    target: &str,
) -> Result<(), SchemaError> {
    run(pool, revisions, kind, Target::parse(target)?).await
}

async fn run(
    pool: &PgPool,
    revisions: &[Revision],
    kind: Kind,
    target: Target,
) -> Result<(), SchemaError> {
    let request = Request {
        kind,
        target,
        transaction: TransactionMode::PerRevision,
        strict: false,
        purge: false,
    };
    online::migrate(
        pool,
        revisions,
        &request,
        &RunOptions::default(),
        &mut Silent,
    )
    .await?;
    Ok(())
}
