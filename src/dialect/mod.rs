//! Bookkeeping SQL: the statements dmig itself writes around the user's
//! revisions (the version table, its rows, session settings, the migration
//! lock's key). One home for both sinks: the offline renderer writes these
//! statements into scripts and the online runner sends them, so the two
//! cannot drift apart. Pure: text in, text out.

pub mod postgres;
pub mod psql;

use std::time::Duration;

use crate::model::{Checksums, Direction, Version};

/// The table Diesel records applied versions in.
pub const VERSION_TABLE: &str = "__diesel_schema_migrations";

/// dmig's companion table, beside the version table (same schema): one row
/// per version dmig applied or stamped, with the checksums of its files,
/// when, by whom and how. Diesel never reads it; `--no-checksums` leaves it
/// alone.
pub const COMPANION_TABLE: &str = "__dmig_revisions";

/// How a companion row came to be (its `mode` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordMode {
    /// Applied by an online run.
    Online,
    /// Applied by a script.
    Offline,
    /// Recorded by `stamp` (online or in a script): no SQL ran, the files
    /// are taken to be what the database holds.
    Stamp,
}

impl RecordMode {
    /// The `mode` column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordMode::Online => "online",
            RecordMode::Offline => "offline",
            RecordMode::Stamp => "stamp",
        }
    }
}

/// How long a revision took, as its companion row records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elapsed {
    /// Not known (scripts, stamps): `NULL`.
    Unknown,
    /// The server's time since the revision's own transaction began
    /// (`clock_timestamp() - now()`), for a statement at its end.
    Transaction,
    /// Measured by the client.
    Measured(Duration),
}

/// What the companion table records of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The files' checksums; needed going up, unused going down.
    pub checksums: Option<&'a Checksums>,
    /// How it was applied.
    pub mode: RecordMode,
    /// How long it took.
    pub elapsed: Elapsed,
}

/// The bookkeeping of one step: its version row, and its companion row
/// unless checksums are off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepBookkeeping<'a> {
    /// The revision's version.
    pub version: &'a Version,
    /// Applied (row inserted) or reverted (row deleted).
    pub direction: Direction,
    /// The companion row; `None` with checksums off.
    pub record: Option<Record<'a>>,
}

/// The version table as a run refers to it: by its bare name (resolved on
/// the session's `search_path`, as Diesel does), qualified with the schema
/// it was found in once a run has resolved it, or, in a guarded psql script,
/// qualified with a psql variable the script sets when it has looked the
/// table up (`:"dmig_schema".__diesel_schema_migrations`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionTable {
    schema: Option<String>,
    psql_variable: bool,
}

/// Where a [`VersionTable`] lives, as a statement names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableSchema<'a> {
    /// Unqualified: the server resolves the name on the `search_path`.
    SearchPath,
    /// This schema.
    Named(&'a str),
    /// The schema held by this psql variable (set by the script itself).
    PsqlVariable(&'a str),
}

impl VersionTable {
    /// The bare name, resolved by the server on each statement.
    pub fn unqualified() -> VersionTable {
        VersionTable::default()
    }

    /// The table in `schema`.
    pub fn in_schema(schema: impl Into<String>) -> VersionTable {
        VersionTable {
            schema: Some(schema.into()),
            psql_variable: false,
        }
    }

    /// The table in the schema psql variable `variable` holds: statements
    /// name it `:"variable".__diesel_schema_migrations`, which psql expands
    /// to a quoted identifier. Only for scripts that set the variable.
    pub fn in_psql_variable(variable: impl Into<String>) -> VersionTable {
        VersionTable {
            schema: Some(variable.into()),
            psql_variable: true,
        }
    }

    /// The schema, once resolved (`None` when unqualified or held in a
    /// psql variable; see [`VersionTable::location`]).
    pub fn schema(&self) -> Option<&str> {
        match self.location() {
            TableSchema::Named(schema) => Some(schema),
            _ => None,
        }
    }

    /// Where the table lives, as a statement must name it.
    pub fn location(&self) -> TableSchema<'_> {
        match (&self.schema, self.psql_variable) {
            (None, _) => TableSchema::SearchPath,
            (Some(schema), false) => TableSchema::Named(schema),
            (Some(variable), true) => TableSchema::PsqlVariable(variable),
        }
    }
}

/// The bookkeeping statements of one database system. The runner writes
/// version rows only through the migration harness (Diesel's own insert and
/// delete) or through these, so rows look the same whoever wrote them.
pub trait Dialect: Sync {
    /// `CREATE TABLE IF NOT EXISTS` of the version table, as Diesel writes it.
    fn create_version_table(&self) -> &'static str;
    /// The version table's name as messages print it.
    fn table_name(&self, table: &VersionTable) -> String;
    /// An identifier as a person writes it in SQL (quoted where needed).
    fn ident(&self, name: &str) -> String;
    /// The statement that records an applied version.
    fn insert_version(&self, table: &VersionTable, version: &Version) -> String;
    /// The statement that forgets a reverted version.
    fn delete_version(&self, table: &VersionTable, version: &Version) -> String;
    /// The statement that deletes the rows of `versions` (a stamp's
    /// `--purge` online, where the rows are known).
    fn delete_versions(&self, table: &VersionTable, versions: &[Version]) -> String;
    /// The statement that deletes every row whose version is not in `keep`
    /// (a stamp's `--purge` in a script, which cannot know the rows).
    fn delete_versions_except(&self, table: &VersionTable, keep: &[Version]) -> String;
    /// `CREATE TABLE IF NOT EXISTS` of the companion table beside `table`,
    /// then the removal of its rows that have no version row (a revert by
    /// another tool leaves them): what a writing run with checksums starts
    /// with.
    fn prepare_companion_table(&self, table: &VersionTable) -> String;
    /// The statement that writes `step`'s companion row (inserted going up,
    /// deleted going down); `None` when it has none (checksums off, or no
    /// checksums to record).
    fn companion_statement(
        &self,
        table: &VersionTable,
        step: &StepBookkeeping<'_>,
    ) -> Option<String>;
    /// Every bookkeeping statement of `step`, in order: the version row
    /// (Diesel's insert or delete), then the companion row. Scripts write
    /// them all; online, Diesel's harness writes the version row and the
    /// runner sends only [`Dialect::companion_statement`].
    fn step_bookkeeping(&self, table: &VersionTable, step: &StepBookkeeping<'_>) -> Vec<String> {
        let version_row = match step.direction {
            Direction::Up => self.insert_version(table, step.version),
            Direction::Down => self.delete_version(table, step.version),
        };
        std::iter::once(version_row)
            .chain(self.companion_statement(table, step))
            .collect()
    }
    /// Settings every session starts with (as Diesel's connections do).
    fn session_settings(&self) -> &'static str;
    /// The statements that apply `settings` to a session, each terminated;
    /// none when it is empty.
    fn session_statements(&self, settings: &SessionSettings) -> Vec<String>;
}

/// A duration as PostgreSQL writes one for `lock_timeout` or
/// `statement_timeout`: a number with a unit (`500ms`, `2s`, `1min`, `1h`,
/// `1d`, `100us`), or a bare number of milliseconds. The text is kept as
/// given, so a script says what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgDuration {
    text: String,
    duration: std::time::Duration,
}

impl PgDuration {
    /// Parse `text`; the error says what is accepted.
    pub fn parse(text: &str) -> Result<PgDuration, String> {
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(split);
        let invalid = || {
            format!(
                "invalid duration `{text}`: write a whole number with a unit as PostgreSQL does \
                 (`500ms`, `2s`, `1min`, `1h`; a bare number is milliseconds)"
            )
        };
        let amount: u64 = digits.parse().map_err(|_| invalid())?;
        let micros_per_unit: u64 = match unit.trim() {
            "us" => 1,
            "" | "ms" => 1_000,
            "s" => 1_000_000,
            "min" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            _ => return Err(invalid()),
        };
        let micros = amount.checked_mul(micros_per_unit).ok_or_else(invalid)?;
        Ok(PgDuration {
            text: format!(
                "{amount}{}",
                if unit.trim().is_empty() {
                    "ms"
                } else {
                    unit.trim()
                }
            ),
            duration: std::time::Duration::from_micros(micros),
        })
    }

    /// The duration.
    pub fn duration(&self) -> std::time::Duration {
        self.duration
    }

    /// As PostgreSQL reads it, e.g. `500ms`.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for PgDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What every session of a run starts with beyond Diesel's own settings:
/// `--lock-timeout`, `--statement-timeout` and `--init-sql`. Online, the
/// runner applies them to each session it uses; offline, the script sets
/// them at its top. Empty by default, and then nothing is sent or written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSettings {
    /// `lock_timeout` for the revisions' statements: how long one may wait
    /// for a table lock before it fails.
    pub lock_timeout: Option<PgDuration>,
    /// `statement_timeout`: how long one statement may run.
    pub statement_timeout: Option<PgDuration>,
    /// Statements run at the start of every session (Flyway's `initSql`),
    /// verbatim, in order.
    pub init_sql: Vec<String>,
}

impl SessionSettings {
    /// Whether there is anything to send or write.
    pub fn is_empty(&self) -> bool {
        self.lock_timeout.is_none() && self.statement_timeout.is_none() && self.init_sql.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_postgresql_writes_them() {
        let ms = |text: &str| PgDuration::parse(text).map(|d| d.duration().as_micros());
        assert_eq!(ms("500ms"), Ok(500_000));
        assert_eq!(ms("2s"), Ok(2_000_000));
        assert_eq!(ms("1min"), Ok(60_000_000));
        assert_eq!(ms("1h"), Ok(3_600_000_000));
        assert_eq!(ms("100us"), Ok(100));
        assert_eq!(ms("250"), Ok(250_000));
        assert_eq!(
            PgDuration::parse("250").map(|d| d.to_string()),
            Ok("250ms".into())
        );
        assert_eq!(
            PgDuration::parse(" 3 s ").map(|d| d.to_string()),
            Ok("3s".into())
        );
        for bad in [
            "",
            "ms",
            "1.5s",
            "-1s",
            "2 minutes",
            "1sec",
            "99999999999999999999d",
        ] {
            let error = PgDuration::parse(bad).expect_err(bad);
            assert!(error.contains("invalid duration"), "{bad}: {error}");
        }
    }
}
