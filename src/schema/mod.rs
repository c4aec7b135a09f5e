//! `dmig revision --autogenerate`: the next revision from the application's
//! `schema.rs`.
//!
//! ```text
//! schema.rs ──► rust ──┐                     ┌──► ddl ──► up.sql / down.sql
//!                      ├──► model ──► diff ──┤
//! catalogs ──► introspect ┘                   └──► safety: refused / flagged
//! ```
//!
//! The pure core ([`model`], [`rust`], [`config`], [`diff`](mod@diff), [`ddl`],
//! [`introspect`], [`types`]) does no I/O but reading files. Nothing under
//! `schema` imports tokio or diesel-async: [`generate`](mod@generate) reaches
//! the database only through `crate::online` (its runner, status and pools;
//! `online::pg::introspect` runs the catalog queries and creates and drops
//! scratch databases).

pub mod config;
pub mod ddl;
pub mod diff;
pub mod generate;
pub mod introspect;
pub mod model;
pub mod rust;
pub mod types;

use std::path::{Path, PathBuf};

pub use config::{Filter, PrintSchema, Scope};
pub use diff::{diff, Diff, DiffError, DiffOptions, Notice, Op, Rename};
pub use generate::{
    check, generate, verify_directory, Database, Finding, GenerateOptions, Generated, Outcome,
    VerifyReport,
};
pub use model::{QualName, Schema};

/// Errors of `revision --autogenerate`, `check --schema` and `verify`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A file could not be read or written.
    #[error("cannot access `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A schema file holds something dmig does not understand.
    #[error("{location}: {message}")]
    Model {
        /// `file:line:col`.
        location: String,
        /// What is wrong.
        message: String,
    },
    /// `diesel.toml`'s `[print_schema]` is unusable.
    #[error("`{}`: {reason}", path.display())]
    Config {
        /// The `diesel.toml`.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No schema file to read.
    #[error(
        "no schema.rs to read: pass --schema FILE, or set `[print_schema] file` in diesel.toml"
    )]
    NoSchemaFile,
    /// `--schema-key` names no section.
    #[error("`{}` has no `[print_schema.{key}]` section", path.display())]
    UnknownKey {
        /// The `diesel.toml`.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// The diff was refused.
    #[error(transparent)]
    Refused(#[from] DiffError),
    /// The database is not at head.
    #[error("the database is not at head: {} revision(s) pending: {}; run `dmig upgrade` first, or use --scratch-url", pending.len(), pending.join(", "))]
    NotAtHead {
        /// Pending revisions by directory name.
        pending: Vec<String>,
    },
    /// The database has applied versions the directory does not.
    #[error("the database has applied version(s) missing from the migrations directory: {}", .0.join(", "))]
    MissingOnDisk(Vec<String>),
    /// `--verify` or `dmig verify` found a revision that does not round-trip.
    #[error("verification failed: {what}\n  {}", differences.join("\n  "))]
    Verify {
        /// What was checked.
        what: String,
        /// The objects that differ.
        differences: Vec<String>,
    },
    /// Neither a database at head nor a scratch server to build one on.
    #[error("no database: pass --database-url (a database at head) or --scratch-url ADMIN_URL (a throwaway one)")]
    NoDatabase,
    /// The online layer failed.
    #[error(transparent)]
    Online(#[from] crate::online::OnlineError),
    /// A target or range could not be planned.
    #[error(transparent)]
    Plan(#[from] crate::error::PlanError),
    /// A revision directory could not be written.
    #[error(transparent)]
    Scaffold(#[from] crate::scaffold::ScaffoldError),
}

/// The models: every schema file read into one model, and the part of the
/// database they speak for.
#[derive(Debug, Clone)]
pub struct Models {
    /// The files read.
    pub files: Vec<PathBuf>,
    /// What they declare.
    pub schema: Schema,
    /// The scopes (schema + filter) they cover.
    pub scopes: Vec<Scope>,
}

/// Which schema files to read.
#[derive(Debug, Clone, Default)]
pub struct ModelSources {
    /// The `diesel.toml` in use, if any.
    pub config_file: Option<PathBuf>,
    /// `--schema FILE` (repeatable); empty: `[print_schema] file`.
    pub files: Vec<PathBuf>,
    /// `--schema-key KEY`: `[print_schema.KEY]`.
    pub key: Option<String>,
}

/// Read the models as `sources` say: `--schema` files, else the `file` of
/// `[print_schema]` (or of `[print_schema.KEY]`; without a key, every
/// section with a file), with each section's `schema` and `filter`.
pub fn load_models(sources: &ModelSources) -> Result<Models, SchemaError> {
    let sections = match &sources.config_file {
        Some(path) => config::read_print_schema(path)?,
        None => Vec::new(),
    };
    let chosen: Vec<PrintSchema> = match &sources.key {
        Some(key) => {
            let found = sections
                .iter()
                .find(|s| s.key.as_deref() == Some(key))
                .cloned()
                .ok_or_else(|| SchemaError::UnknownKey {
                    path: sources
                        .config_file
                        .clone()
                        .unwrap_or_else(|| PathBuf::from(crate::config::CONFIG_FILE_NAME)),
                    key: key.clone(),
                })?;
            vec![found]
        }
        None if !sources.files.is_empty() => sections.into_iter().take(1).collect(),
        None => sections.into_iter().filter(|s| s.file.is_some()).collect(),
    };
    let (files, mut scopes): (Vec<PathBuf>, Vec<Scope>) = if sources.files.is_empty() {
        let files: Vec<PathBuf> = chosen.iter().filter_map(|s| s.file.clone()).collect();
        (files, chosen.iter().map(PrintSchema::scope).collect())
    } else {
        let scopes = if chosen.is_empty() {
            vec![Scope::public()]
        } else {
            chosen.iter().map(PrintSchema::scope).collect()
        };
        (sources.files.clone(), scopes)
    };
    if files.is_empty() {
        return Err(SchemaError::NoSchemaFile);
    }
    let parsed = files
        .iter()
        .map(|f| rust::read_file(f))
        .collect::<Result<Vec<_>, _>>()?;
    let schema = rust::to_model(&parsed)?;
    if scopes.is_empty() {
        scopes.push(Scope::public());
    }
    // A schema named by a qualified `table!` is in scope too, with the filter
    // of the first section (print-schema writes `app.things` for `schema = "app"`).
    let filter = scopes[0].filter.clone();
    for name in schema.tables.keys() {
        if !scopes.iter().any(|s| s.schema == name.schema) {
            scopes.push(Scope {
                schema: name.schema.clone(),
                filter: filter.clone(),
            });
        }
    }
    Ok(Models {
        files,
        schema,
        scopes,
    })
}

/// Parse `--rename TABLE.OLD=NEW` (TABLE may be `schema.table`).
pub fn parse_column_rename(text: &str) -> Option<Rename> {
    let (left, new) = text.split_once('=')?;
    let (table, old) = left.rsplit_once('.')?;
    if table.is_empty() || old.is_empty() || new.is_empty() {
        return None;
    }
    Some(Rename::Column {
        table: parse_table_name(table),
        old: old.to_string(),
        new: new.to_string(),
    })
}

/// Parse `--rename-table OLD=NEW` (OLD may be `schema.table`; NEW stays in its schema).
pub fn parse_table_rename(text: &str) -> Option<Rename> {
    let (old, new) = text.split_once('=')?;
    if old.is_empty() || new.is_empty() {
        return None;
    }
    let old = parse_table_name(old);
    let new = match new.split_once('.') {
        Some(_) => parse_table_name(new),
        None => QualName::new(old.schema.clone(), new),
    };
    Some(Rename::Table { old, new })
}

/// `users` -> `public.users`, `app.things` -> `app.things`.
pub fn parse_table_name(text: &str) -> QualName {
    match text.split_once('.') {
        Some((schema, name)) => QualName::new(schema, name),
        None => QualName::new("public", text),
    }
}

/// Read a schema file's text into a model (for tests and tools).
pub fn model_from_text(path: &Path, text: &str) -> Result<Schema, SchemaError> {
    let parsed = rust::parse_file(path, text)?;
    rust::to_model(&[parsed])
}
