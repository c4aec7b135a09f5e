//! One error enum per layer. Messages are lowercase, have no final period and
//! name the file, version or argument at fault; a wrapped error is exposed as
//! `#[source]` and never also interpolated, so `{:#}` prints each cause once.

use std::path::PathBuf;

/// Finding and reading `diesel.toml` and the migrations directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file or directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `diesel.toml` is not valid TOML or has the wrong shape.
    #[error("invalid config file `{}`", path.display())]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The TOML error, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A key of `dmig.toml` that dmig does not know.
    #[error(
        "unknown key `{}` in `{}`; the keys are: {}",
        crate::model::printable(key),
        path.display(),
        known.join(", ")
    )]
    UnknownSetting {
        /// The key.
        key: String,
        /// The `dmig.toml`.
        path: PathBuf,
        /// The keys there are.
        known: &'static [&'static str],
    },
    /// A value of `dmig.toml` or a `DMIG_*` variable that dmig cannot use.
    #[error("{origin}: {}expected {accepts}", reason.as_ref().map(|r| format!("{r}; ")).unwrap_or_default())]
    BadSetting {
        /// Where: ``` `lock_timeout` in `/app/dmig.toml` ``` or
        /// `environment variable DMIG_LOCK_TIMEOUT`.
        origin: String,
        /// What the key accepts.
        accepts: &'static str,
        /// Why this value is not it, when more can be said.
        reason: Option<String>,
    },
    /// A config file named by `--config-file` or `DIESEL_CONFIG_FILE` does not exist.
    #[error("config file `{}` does not exist", path.display())]
    MissingConfigFile {
        /// The config file that was asked for.
        path: PathBuf,
    },
    /// The migrations directory named by a flag, the environment or `diesel.toml` does not exist.
    #[error("migrations directory `{}` does not exist (from {origin})", path.display())]
    MissingMigrationDir {
        /// The directory.
        path: PathBuf,
        /// Where the path came from: a flag, an env var or a config file.
        origin: String,
    },
    /// No `migrations/` directory was found in the current directory or any parent.
    #[error(
        "no `migrations` directory found in `{}` or any parent; pass --migration-dir or run `dmig init`",
        start.display()
    )]
    NoMigrationDir {
        /// The directory the upward search started from.
        start: PathBuf,
    },
}

/// Reading revisions from the migrations directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A directory could not be listed.
    #[error("cannot read directory `{}`", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("cannot read `{}`", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A symbolic link in the migrations directory points nowhere: Diesel
    /// skips it silently, so a revision would go missing unnoticed.
    #[error("`{}` is a symbolic link to `{}`, which does not exist", path.display(), target.display())]
    DanglingLink {
        /// The link.
        path: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// An entry of the migrations directory cannot be examined.
    #[error("cannot read directory entry `{}`", path.display())]
    ReadEntry {
        /// The entry.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A SQL file holds a NUL byte, which PostgreSQL cannot take in SQL text.
    #[error(
        "{}:{line}:{column}: NUL byte: PostgreSQL cannot take one in SQL text (is the file binary, or UTF-16?)",
        path.display()
    )]
    NulByte {
        /// The SQL file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// `COPY ... FROM STDIN` or `TO STDOUT`: the client end of it exists
    /// under psql (the data lines after it, the rows it prints) but not in a
    /// run through the harness, so the two modes would differ.
    #[error(
        "{}:{line}:{column}: COPY ... {copy} cannot run in a revision: {}",
        path.display(),
        if *copy == "FROM STDIN" {
            "psql would read its data from the lines after it, a migration run has no such input (and loses the connection); use INSERT, or COPY from a file on the server"
        } else {
            "psql would print its rows, a migration run cannot take them (and loses the connection); remove it, or COPY to a file on the server"
        }
    )]
    ClientCopy {
        /// The SQL file.
        path: PathBuf,
        /// 1-based line of the statement.
        line: usize,
        /// 1-based column of the statement.
        column: usize,
        /// `FROM STDIN` or `TO STDOUT`.
        copy: &'static str,
    },
    /// A `\` outside quotes: a psql meta-command (or the `\.` ending COPY
    /// data), which psql runs and the server refuses.
    #[error(
        "{}:{line}:{column}: psql meta-command `{command}` in a revision: revisions are plain SQL, read alike by psql and the server (psql would run it, the server refuse it)",
        path.display()
    )]
    MetaCommand {
        /// The SQL file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The command as written, e.g. `\set`.
        command: String,
    },
    /// A file or directory name is not valid UTF-8.
    #[error("`{}` is not valid UTF-8", path.display())]
    NotUtf8 {
        /// The file (or directory whose name) is not UTF-8.
        path: PathBuf,
    },
    /// A revision directory holds no files at all.
    #[error("revision directory `{}` is empty (expected up.sql)", path.display())]
    EmptyDir {
        /// The directory.
        path: PathBuf,
    },
    /// A revision directory has files but no `up.sql`.
    #[error("revision directory `{}` has no up.sql", path.display())]
    MissingUp {
        /// The directory.
        path: PathBuf,
    },
    /// Two directories derive the same version.
    #[error(
        "duplicate version `{version}`: `{}` and `{}`",
        first.display(),
        second.display()
    )]
    DuplicateVersion {
        /// The shared version.
        version: String,
        /// The first directory.
        first: PathBuf,
        /// The second directory.
        second: PathBuf,
    },
    /// A version that would break SQL or Diesel's `VARCHAR(50)` column.
    #[error("invalid version {version:?} derived from `{}`: {reason}", path.display())]
    InvalidVersion {
        /// The version as derived.
        version: String,
        /// The revision directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `metadata.toml` is not valid TOML or has the wrong shape.
    #[error("invalid `{}`", path.display())]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// The TOML error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A SQL file cannot be lexed (an unterminated quote or comment).
    #[error("cannot parse `{}`", path.display())]
    Lex {
        /// The SQL file.
        path: PathBuf,
        /// Where and what.
        #[source]
        source: crate::sql::LexError,
    },
    /// A SQL file has no statement: empty or only comments.
    #[error("`{}` contains no SQL statement (it is empty or only comments)", path.display())]
    EmptySql {
        /// The SQL file.
        path: PathBuf,
    },
    /// A `down.sql` is needed but the revision has none.
    #[error("revision `{name}` has no down.sql, so it cannot be reverted")]
    MissingDown {
        /// The revision directory name.
        name: String,
    },
}

/// Resolving targets and ranges, and planning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A target matches no revision.
    #[error("unknown target `{target}`{}", candidates_suffix(candidates))]
    UnknownTarget {
        /// The target as given.
        target: String,
        /// Close matches, or the newest revisions.
        candidates: Vec<String>,
    },
    /// A target prefix matches several revisions.
    #[error("ambiguous target `{target}`{}", candidates_suffix(candidates))]
    AmbiguousTarget {
        /// The target as given.
        target: String,
        /// Every revision that matches.
        candidates: Vec<String>,
    },
    /// A relative target points before base or past head.
    #[error("target `{target}` is out of range: {reason}")]
    OutOfRange {
        /// The target as given.
        target: String,
        /// Why.
        reason: String,
    },
    /// A range whose ends are in the wrong order for the command.
    #[error("range `{range}` is backwards for {command}: {reason}")]
    WrongOrder {
        /// The range as given.
        range: String,
        /// upgrade, downgrade or stamp.
        command: &'static str,
        /// What would be expected.
        reason: &'static str,
    },
    /// A malformed target or range.
    #[error("invalid target `{target}`: {reason}")]
    InvalidTarget {
        /// The target as given.
        target: String,
        /// Why.
        reason: &'static str,
    },
    /// `--transaction single` with a revision that must run outside a transaction.
    #[error(
        "--transaction single cannot include revision `{name}`: its metadata.toml sets run_in_transaction = false"
    )]
    NonTransactionalInSingle {
        /// The revision directory name.
        name: String,
    },
    /// A downgrade would need a revision that is applied but missing on disk.
    #[error("version `{version}` is applied but missing from the migrations directory, so it cannot be reverted")]
    AppliedMissingOnDisk {
        /// The applied version.
        version: crate::model::Version,
    },
    /// A `FROM:TO` range where one target is expected (online commands, `show`).
    #[error("`{range}` is a range; ranges are for rendering SQL (--sql); here, give one target")]
    RangeNotAllowed {
        /// The range as given.
        range: String,
    },
    /// An offline downgrade without its starting point.
    #[error(
        "downgrade --sql needs a FROM:TO range (e.g. `head:{target}`): offline, dmig cannot know what is applied"
    )]
    RangeNeedsFrom {
        /// The target as given.
        target: String,
    },
    /// `--strict` and a pending revision older than the newest applied one.
    #[error("revision `{name}` is pending but older than the newest applied revision ({count} such revision(s)); refusing because of --strict")]
    OutOfOrder {
        /// The oldest such revision.
        name: String,
        /// How many there are.
        count: usize,
    },
    /// A statement that cannot run in the transaction its revision would run
    /// in: it controls the transaction (`COMMIT`), or PostgreSQL refuses it
    /// inside a transaction block (`CREATE INDEX CONCURRENTLY`).
    #[error("{}", in_transaction(self))]
    InTransaction {
        /// The revision directory name.
        name: String,
        /// Whether the step goes up or down.
        direction: crate::model::Direction,
        /// The file, as shown in messages.
        file: PathBuf,
        /// 1-based line of the statement.
        line: usize,
        /// 1-based column of the statement.
        column: usize,
        /// What the statement does.
        usage: crate::sql::check::TransactionUse,
        /// The transaction is the whole run's (`--transaction single`).
        single: bool,
    },
    /// A revision needed by the plan is unusable (no down.sql, empty SQL, ...).
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// The message of [`PlanError::InTransaction`], laid out like a failure
/// report (what, where, the fix), since it stands in for one.
fn in_transaction(error: &PlanError) -> String {
    use crate::sql::check::TransactionUse;
    let PlanError::InTransaction {
        name,
        direction,
        file,
        line,
        column,
        usage,
        single,
    } = error
    else {
        return String::new();
    };
    let name = crate::model::printable(name);
    let shown = file.display().to_string();
    let location = format!("{}:{line}:{column}", crate::model::printable(&shown));
    let dir = file.parent().unwrap_or(file).join("metadata.toml");
    let metadata = dir.display().to_string();
    let metadata = crate::model::printable(&metadata);
    let noun = direction.noun();
    let (headline, what, hint) = match (usage, single) {
        (TransactionUse::OutsideOnly(command), false) => (
            format!("revision `{name}` cannot run in a transaction ({noun})"),
            format!("{command} cannot run inside a transaction block"),
            format!(
                "this statement cannot run in a transaction: set run_in_transaction = false in {metadata} (dmig then runs the file statement by statement in autocommit)"
            ),
        ),
        (TransactionUse::OutsideOnly(command), true) => (
            format!("revision `{name}` cannot run in --transaction single ({noun})"),
            format!("{command} cannot run inside a transaction block"),
            format!(
                "this statement cannot run in a transaction: run without --transaction single, with run_in_transaction = false in {metadata}"
            ),
        ),
        (TransactionUse::Control(command), false) => (
            format!("revision `{name}` controls its own transaction, but dmig runs it in one ({noun})"),
            format!(
                "{command} would end the revision's transaction early, so a later failure could not undo what came before it"
            ),
            format!(
                "set run_in_transaction = false in {metadata} if the file manages its transactions itself, or remove the {command} (SAVEPOINT, RELEASE and ROLLBACK TO are fine)"
            ),
        ),
        (TransactionUse::Control(command), true) => (
            format!("revision `{name}` controls its own transaction, but --transaction single runs the whole run in one ({noun})"),
            format!(
                "{command} would end the run's transaction early, so a later failure could not undo what came before it"
            ),
            format!("remove the {command}, or run without --transaction single"),
        ),
    };
    format!(
        "{headline}\n  at {location}: {what}\n  dmig hint: {hint}\n  refused before anything ran"
    )
}

fn candidates_suffix(candidates: &[String]) -> String {
    if candidates.is_empty() {
        String::new()
    } else {
        format!("; candidates: {}", candidates.join(", "))
    }
}

/// Writing a rendered script.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The output could not be written.
    #[error("cannot write `{}`", path.display())]
    Write {
        /// The output path (`-` for stdout).
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A signal stopped the render; a file output was not written.
    #[error("interrupted while writing `{}`: nothing was written", path.display())]
    Interrupted {
        /// The output path (`-` for stdout).
        path: PathBuf,
    },
}
