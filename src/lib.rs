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
//! planning and rendering do no network I/O.

pub mod cli;
pub mod config;
pub mod embed;
pub mod error;
pub mod online;
pub mod plan;
pub mod render;
pub mod scaffold;
pub mod sql;
