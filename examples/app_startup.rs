//! An application that brings its database to head at startup, through the
//! bb8 pool it already has, then uses the new tables through the same pool.
//!
//! ```text
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/app cargo run --example app_startup
//! ```

use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::pooled_connection::bb8::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The revisions, compiled into the binary: no `migrations/` to ship.
/// (Add `println!("cargo:rerun-if-changed=migrations");` to a build.rs so
/// edited revisions are embedded again.)
static MIGRATIONS: dmig::embed::Dir<'static> =
    dmig::embed::include_dir!("$CARGO_MANIFEST_DIR/migrations");

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

// AsyncMigrationHarness needs the multi-thread runtime (the default of #[tokio::main]).
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL")?;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    // dmig takes two connections: one holds the migration lock, one migrates.
    let pool = Pool::builder().max_size(4).build(manager).await?;

    let revisions = dmig::embed::revisions(&MIGRATIONS)?;
    let outcome = dmig::online::upgrade_to_head(&pool, &revisions).await?;
    eprintln!(
        "database at {} ({} revision(s) applied now)",
        outcome.to,
        outcome.steps.len()
    );

    let mut conn = pool.get().await?;
    let users: Count = diesel::sql_query("SELECT count(*) AS n FROM users")
        .get_result(&mut conn)
        .await?;
    println!("{} users", users.n);
    Ok(())
}
