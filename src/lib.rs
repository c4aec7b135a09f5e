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
//! The core is pure: [`source`] reads revisions, [`plan`] resolves targets,
//! plans and computes status, [`render`] writes scripts, [`dialect`] holds the
//! bookkeeping SQL both sinks use, [`report`] the JSON shapes; none of it
//! connects anywhere. `schema` (feature `autogenerate`) reads the
//! application's `schema.rs` and diffs it against the catalogs for
//! `revision --autogenerate`. [`online`] (feature `postgres`) runs the same plans
//! through diesel-async's `AsyncMigrationHarness`; the `dmig` binary
//! ([`cli`], feature `cli`, on by default) only parses arguments and reports.
//! `ARCHITECTURE.md` has the map.
//!
//! # Features
//!
//! - `cli` (default): the `dmig` binary and [`cli`]; pulls in clap, anyhow and
//!   tracing-subscriber, and `postgres` and `autogenerate`.
//! - `postgres`: [`online`] for PostgreSQL, with TLS (rustls). An application
//!   that migrates at startup needs only this:
//!   `dmig = { version = "0.1", default-features = false, features = ["postgres"] }`.
//! - `autogenerate`: [`schema`], `dmig revision --autogenerate`: the
//!   application's `schema.rs` (read with syn and diesel's own `table!`
//!   parser) diffed against the database; needs `postgres`.
//! - `pg-query-tests`: the splitter's differential test against libpg_query
//!   (needs libclang to build).
//!
//! # Migrating at application startup
//!
//! An application that already has a bb8 pool of `AsyncPgConnection`s calls
//! [`online::upgrade_to_head`] once, with revisions read from a directory
//! ([`source::discover`]) or compiled into the binary
//! ([`embed_migrations!`]). It takes the migration lock, so several replicas
//! starting together migrate once. `examples/app_startup.rs` is a complete
//! program. This one compiles as the outside crate a doc test is (the app
//! needs no `include_dir` of its own), and migrates the database named by
//! `DMIG_DOCTEST_DATABASE_URL` when that is set; `tests/embedding.rs` builds
//! such an app for real, with only the `postgres` feature, and runs it:
//!
//! ```
//! # #[cfg(feature = "postgres")]
//! # mod app {
//! use diesel_async::pooled_connection::{bb8::Pool, AsyncDieselConnectionManager};
//! use diesel_async::AsyncPgConnection;
//!
//! static MIGRATIONS: dmig::embed::Dir<'static> =
//!     dmig::embed_migrations!("$CARGO_MANIFEST_DIR/migrations");
//!
//! pub async fn start(url: String) -> Result<(), Box<dyn std::error::Error>> {
//!     let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
//!     // Two connections at least: one holds the migration lock, one migrates.
//!     let pool = Pool::builder().max_size(4).build(manager).await?;
//!     let revisions = dmig::embed::revisions(&MIGRATIONS)?;
//!     dmig::online::upgrade_to_head(&pool, &revisions).await?;
//!     Ok(())
//! }
//! # }
//! # #[cfg(feature = "postgres")]
//! # #[tokio::main] // multi-thread: the harness uses block_in_place
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #     match std::env::var("DMIG_DOCTEST_DATABASE_URL") {
//! #         Ok(url) => app::start(url).await,
//! #         Err(_) => Ok(()),
//! #     }
//! # }
//! # #[cfg(not(feature = "postgres"))]
//! # fn main() {}
//! ```

#[cfg(feature = "cli")]
pub mod cli;
pub mod config;
pub mod dialect;
pub mod error;
pub mod model;
#[cfg(feature = "postgres")]
pub mod online;
mod parallel;
pub mod plan;
pub mod render;
pub mod report;
pub mod scaffold;
#[cfg(feature = "autogenerate")]
pub mod schema;
pub mod settings_file;
pub mod source;
pub mod sql;

pub use source::embed;
