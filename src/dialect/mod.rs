//! Bookkeeping SQL: the statements dmig itself writes around the user's
//! revisions (the version table, its rows, session settings, the migration
//! lock's key). One home for both sinks: the offline renderer writes these
//! statements into scripts and the online runner sends them, so the two
//! cannot drift apart. Pure: text in, text out.

pub mod postgres;

use crate::model::Version;

/// The table Diesel records applied versions in.
pub const VERSION_TABLE: &str = "__diesel_schema_migrations";

/// The version table as a run refers to it: by its bare name (resolved on
/// the session's `search_path`, as Diesel does), or qualified with the schema
/// it was found in once a run has resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionTable {
    schema: Option<String>,
}

impl VersionTable {
    /// The bare name, resolved by the server on each statement.
    pub fn unqualified() -> VersionTable {
        VersionTable { schema: None }
    }

    /// The table in `schema`.
    pub fn in_schema(schema: impl Into<String>) -> VersionTable {
        VersionTable {
            schema: Some(schema.into()),
        }
    }

    /// The schema, once resolved.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

/// The bookkeeping statements of one database system. The runner writes
/// version rows only through the migration harness (Diesel's own insert and
/// delete) or through these, so rows look the same whoever wrote them.
pub trait Dialect: Sync {
    /// `CREATE TABLE IF NOT EXISTS` of the version table, as Diesel writes it.
    fn create_version_table(&self) -> &'static str;
    /// The statement that records an applied version.
    fn insert_version(&self, table: &VersionTable, version: &Version) -> String;
    /// The statement that forgets a reverted version.
    fn delete_version(&self, table: &VersionTable, version: &Version) -> String;
    /// Settings every session starts with (as Diesel's connections do).
    fn session_settings(&self) -> &'static str;
}
