//! dmig: a PostgreSQL migrator for [Diesel](https://diesel.rs)-format
//! migrations. One set of revisions, two sinks: applied online through
//! diesel-async, or rendered offline to a plain SQL script for `psql`.
//!
//! The migrations directory is Diesel's, unchanged:
//!
//! ```text
//! migrations/
//! ├── 2024-01-01-120000_create_users/
//! │   ├── up.sql
//! │   └── down.sql
//! └── 2024-01-02-090000_index_users_email/
//!     ├── up.sql
//!     ├── down.sql
//!     └── metadata.toml      # run_in_transaction = false
//! ```
//!
//! The core ([`plan`], [`render`]) is pure: discovery, target resolution,
//! planning and rendering do no network I/O. [`online`] runs the same plans
//! through diesel-async's `AsyncMigrationHarness`; the `dmig` binary
//! ([`cli`]) only parses arguments and reports.
//!
//! # Migrating at application startup
//!
//! An application that already has a bb8 pool of `AsyncPgConnection`s calls
//! [`online::upgrade_to_head`] once, with revisions read from a directory
//! ([`plan::discover`]) or compiled into the binary ([`embed`]). It takes the
//! migration lock, so several replicas starting together migrate once.
//! `examples/app_startup.rs` is a complete program:
//!
//! ```no_run
//! use diesel_async::pooled_connection::{bb8::Pool, AsyncDieselConnectionManager};
//! use diesel_async::AsyncPgConnection;
//!
//! static MIGRATIONS: dmig::embed::Dir<'static> =
//!     dmig::embed::include_dir!("$CARGO_MANIFEST_DIR/migrations");
//!
//! #[tokio::main] // multi-thread: the harness uses block_in_place
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(std::env::var("DATABASE_URL")?);
//!     let pool = Pool::builder().max_size(4).build(manager).await?;
//!     let revisions = dmig::embed::revisions(&MIGRATIONS)?;
//!     dmig::online::upgrade_to_head(&pool, &revisions).await?;
//!     Ok(())
//! }
//! ```

pub mod cli;
pub mod config;
pub mod embed;
pub mod error;
pub mod online;
pub mod plan;
pub mod render;
pub mod scaffold;
pub mod sql;
