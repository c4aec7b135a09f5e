//! The command line as clap sees it: types only, no logic. Doc comments are
//! the help text. [`super::settings`] turns these into a checked task.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::dialect::PgDuration;

/// What the top-level help says after the commands and options.
const AFTER_HELP: &str = "\
Exit codes:
  0    done (check: at head)
  1    error
  2    bad usage
  3    check: revisions pending, out of order, missing on disk, changed since applied
       (checksums), or schema.rs drift
  129, 130, 143  stopped by SIGHUP, SIGINT, SIGTERM (the running statement cancelled first)

Environment:
  DATABASE_URL         the database (also read from .env), as --database-url
  PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE, PGSSLMODE, ...
                       libpq's variables complete the URL, or stand in for it
  DIESEL_CONFIG_FILE   diesel.toml, as --config-file
  MIGRATION_DIRECTORY  the migrations directory, as --migration-dir
  DMIG_LOCK_TIMEOUT, DMIG_LOCK_WAIT, ...
                       dmig.toml's keys (`dmig init` writes them, commented): a flag
                       beats them, they beat dmig.toml (beside diesel.toml, else upward)
  DMIG_LOG             log filter on stderr: a level (debug) or target=level
  NO_COLOR             no colour on stderr (see --color)";

/// A PostgreSQL migrator for Diesel-format migrations: apply them online, or
/// render them to a reviewable SQL script for psql.
#[derive(Debug, Parser)]
#[command(name = "dmig", version, about, max_term_width = 100, after_help = AFTER_HELP)]
pub struct Cli {
    /// Database URL or libpq keyword string, for commands that connect (else DATABASE_URL, .env, PG*).
    #[arg(long, env = "DATABASE_URL", hide_env = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Path to diesel.toml (else DIESEL_CONFIG_FILE, else the nearest one upward).
    #[arg(
        long,
        global = true,
        env = "DIESEL_CONFIG_FILE",
        hide_env = true,
        value_name = "FILE"
    )]
    pub config_file: Option<PathBuf>,
    /// The migrations directory (else MIGRATION_DIRECTORY, else diesel.toml, else migrations/ upward).
    #[arg(
        long,
        global = true,
        env = "MIGRATION_DIRECTORY",
        hide_env = true,
        value_name = "DIR"
    )]
    pub migration_dir: Option<PathBuf>,
    /// When to colour what dmig writes to stderr: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, default_value_t = clap::ColorChoice::Auto, value_name = "WHEN")]
    pub color: clap::ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the database (or, with --sql, a script) up to TARGET [default: head].
    Upgrade(UpgradeArgs),
    /// Revert applied revisions down to TARGET [default: -1] (with --sql: a FROM:TO range, e.g. head:base).
    Downgrade(DowngradeArgs),
    /// Revert the newest applied revision (or -n N, or --all) and apply it again.
    Redo(RedoArgs),
    /// Set the version table to TARGET without running any revision SQL.
    Stamp(StampArgs),
    /// Print the applied version(s).
    Current(CurrentArgs),
    /// List revisions newest first (with --online, marked applied or pending).
    History(HistoryArgs),
    /// List revisions with their state in the database.
    Status(StatusArgs),
    /// Exit 0 when the database is at head, 3 when something is pending or drifted.
    Check(CheckArgs),
    /// Create a new revision directory with up.sql and down.sql (--autogenerate: written from schema.rs).
    Revision(RevisionArgs),
    /// Print one revision's up.sql (or --down).
    Show(ShowArgs),
    /// Round-trip every revision on a scratch database: up to head, each down.sql and up again, offline against online.
    Verify(VerifyArgs),
    /// Create diesel.toml, a commented dmig.toml, migrations/ and sql-out/ where missing.
    Init,
    /// Create, recreate or drop the database the URL names (diesel's `database` commands).
    Database(DatabaseArgs),
    /// Print a completion script for SHELL to stdout (e.g. `dmig completions bash > /etc/bash_completion.d/dmig`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Online or offline, for commands that can do both.
#[derive(Debug, Args, Clone, Default)]
pub struct ModeArgs {
    /// Render SQL to stdout (or --out) instead of connecting.
    #[arg(long, conflicts_with = "online")]
    pub sql: bool,
    /// Apply to the database (the default).
    #[arg(long)]
    pub online: bool,
    /// With --sql: write to this file, or into this directory (e.g. sql-out/).
    #[arg(long, value_name = "FILE|DIR", requires = "sql")]
    pub out: Option<PathBuf>,
    /// With --sql: plain SQL for tools other than psql, without the guards (no lock, no checks, no skipping applied revisions).
    #[arg(long, requires = "sql")]
    pub plain: bool,
}

/// What every session that runs revisions starts with (and the top of a script).
#[derive(Debug, Args, Clone, Default)]
pub struct SessionArgs {
    /// Fail a statement that waits longer than this for a lock (PostgreSQL's lock_timeout: 500ms, 2s, 1min).
    #[arg(long, value_name = "DURATION", value_parser = PgDuration::parse)]
    pub lock_timeout: Option<PgDuration>,
    /// Fail a statement that runs longer than this (PostgreSQL's statement_timeout).
    #[arg(long, value_name = "DURATION", value_parser = PgDuration::parse)]
    pub statement_timeout: Option<PgDuration>,
    /// SQL run at the start of the session that runs the revisions, or at the top of the script (repeatable).
    #[arg(long = "init-sql", value_name = "SQL")]
    pub init_sql: Vec<String>,
    #[command(flatten)]
    pub checksums: ChecksumArgs,
}

/// `--checksums` / `--no-checksums`, on the commands that write.
#[derive(Debug, Args, Clone, Default)]
pub struct ChecksumArgs {
    /// Record each revision's up.sql and down.sql SHA-256 in dmig's table __dmig_revisions, beside Diesel's row (the default).
    #[arg(long, overrides_with = "no_checksums")]
    pub checksums: bool,
    /// Write nothing but Diesel's version table: no __dmig_revisions (status then cannot tell changed files).
    #[arg(long, overrides_with = "checksums")]
    pub no_checksums: bool,
}

impl ChecksumArgs {
    /// What the flags say: `Some(false)` for --no-checksums, `Some(true)`
    /// for --checksums, `None` when neither was given (the last one wins).
    pub fn setting(&self) -> Option<bool> {
        match (self.checksums, self.no_checksums) {
            (_, true) => Some(false),
            (true, false) => Some(true),
            (false, false) => None,
        }
    }
}

/// Retrying what could not get a lock, for commands that run revisions online.
#[derive(Debug, Args, Clone, Default)]
pub struct RetryArgs {
    /// Try a transactional revision again, up to N times, when it fails on --lock-timeout: rolled back, then retried after 0.2 s, 0.4 s, ... (at most 10 s, with jitter).
    #[arg(long, value_name = "N", default_value_t = 0, conflicts_with = "sql")]
    pub retries: u32,
}

/// `--transaction`.
#[derive(Debug, Args, Clone, Default)]
pub struct TransactionArgs {
    /// Transaction grouping.
    #[arg(long, value_enum, default_value_t = TransactionArg::PerRevision)]
    pub transaction: TransactionArg,
}

/// Connecting to the database.
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// Database URL or libpq keyword string (else the one before the command, DATABASE_URL, .env, PG*).
    #[arg(long, value_name = "URL", conflicts_with = "sql")]
    pub database_url: Option<String>,
    /// Seconds to wait for a connection.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        conflicts_with = "sql"
    )]
    pub connect_timeout: u64,
}

/// Options of commands that change the database.
#[derive(Debug, Args, Clone)]
pub struct LockArgs {
    /// Seconds to wait for another migrator's lock before giving up (with --sql: how long the script waits).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        conflicts_with = "plain"
    )]
    pub lock_wait: u64,
    /// Print nothing but errors.
    #[arg(long, short, conflicts_with = "sql")]
    pub quiet: bool,
    /// What the run did, on stdout: text (the default, nothing) or a JSON document.
    #[arg(long, value_enum, default_value_t = Format::Text, conflicts_with = "sql")]
    pub format: Format,
}

/// `--transaction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum TransactionArg {
    /// One transaction per revision, as Diesel runs them.
    #[default]
    PerRevision,
    /// One transaction around the whole run (refused with a non-transactional revision).
    Single,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// A stable JSON document.
    Json,
}

/// `dmig upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// head, base, a version, a directory name, a unique prefix, +N; with --sql also FROM:TO.
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub transaction: TransactionArgs,
    /// Refuse pending revisions older than the newest applied one.
    #[arg(long, conflicts_with = "sql")]
    pub strict: bool,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// `dmig downgrade`.
#[derive(Debug, Args)]
pub struct DowngradeArgs {
    /// base, a version, a prefix, -N [default: -1]; with --sql a FROM:TO range such as head:base.
    #[arg(allow_hyphen_values = true)]
    pub target: Option<String>,
    /// Revert everything: the same as TARGET base (with --sql, head:base).
    #[arg(long, conflicts_with = "target")]
    pub all: bool,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub transaction: TransactionArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// `dmig redo`.
#[derive(Debug, Args)]
pub struct RedoArgs {
    /// How many of the newest applied revisions to redo.
    #[arg(short = 'n', long = "number", value_name = "N", default_value_t = 1)]
    pub number: u32,
    /// Redo every applied revision.
    #[arg(long, conflicts_with = "number")]
    pub all: bool,
    #[command(flatten)]
    pub mode: ModeArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub retry: RetryArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// `dmig database`.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: DatabaseAction,
}

/// `dmig database setup | reset | drop`.
#[derive(Debug, Subcommand)]
pub enum DatabaseAction {
    /// Create the database when it is missing, then apply every pending revision.
    Setup(SetupArgs),
    /// Drop the database, create it again and apply every revision (needs --yes).
    Reset(ResetArgs),
    /// Drop the database (needs --yes).
    Drop(DropArgs),
}

/// `dmig database setup`.
#[derive(Debug, Args)]
pub struct SetupArgs {
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub connect: OnlineConnectArgs,
    #[command(flatten)]
    pub lock: OnlineLockArgs,
}

/// `dmig database reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Confirm that the database may be dropped.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub connect: OnlineConnectArgs,
    #[command(flatten)]
    pub lock: OnlineLockArgs,
}

/// `dmig database drop`.
#[derive(Debug, Args)]
pub struct DropArgs {
    /// Confirm that the database may be dropped.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub connect: OnlineConnectArgs,
}

/// The lock options of commands that are always online.
#[derive(Debug, Args, Clone)]
pub struct OnlineLockArgs {
    /// Seconds to wait for another migrator's lock before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub lock_wait: u64,
    /// Try a transactional revision again, up to N times, when it fails on --lock-timeout: rolled back, then retried after 0.2 s, 0.4 s, ... (at most 10 s, with jitter).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `dmig stamp`.
#[derive(Debug, Args)]
pub struct StampArgs {
    /// The version the table should say (or -N); with --sql also FROM:TO.
    #[arg(allow_hyphen_values = true)]
    pub target: String,
    #[command(flatten)]
    pub mode: ModeArgs,
    /// Also delete the rows whose revision is missing from the migrations directory.
    #[arg(long)]
    pub purge: bool,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

/// `dmig current`.
#[derive(Debug, Args)]
pub struct CurrentArgs {
    /// Every applied version with its run_on time.
    #[arg(long, short)]
    pub verbose: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub connect: OnlineConnectArgs,
}

/// Connecting, for commands that are always online.
#[derive(Debug, Args, Clone)]
pub struct OnlineConnectArgs {
    /// Database URL or libpq keyword string (else the one before the command, DATABASE_URL, .env, PG*).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
}

/// `dmig history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Mark each revision applied or pending (connects).
    #[arg(long)]
    pub online: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// With --online: the database URL or libpq keyword string (else the one before the command, DATABASE_URL, .env, PG*).
    #[arg(long, value_name = "URL", requires = "online")]
    pub database_url: Option<String>,
    /// With --online: seconds to wait for a connection.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        requires = "online"
    )]
    pub connect_timeout: u64,
}

/// `dmig status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    #[command(flatten)]
    pub connect: OnlineConnectArgs,
}

/// `dmig check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Print nothing when the database is at head.
    #[arg(long, short)]
    pub quiet: bool,
    /// Also compare the database with schema.rs (this FILE, repeatable, else diesel.toml's `[print_schema] file`); exit 3 when they differ.
    #[arg(long = "schema", value_name = "FILE", num_args = 0..)]
    pub schema: Option<Vec<PathBuf>>,
    /// With --schema: use diesel.toml's `[print_schema.KEY]`.
    #[arg(long, value_name = "KEY", requires = "schema")]
    pub schema_key: Option<String>,
    #[command(flatten)]
    pub connect: OnlineConnectArgs,
}

/// `dmig verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Admin URL of a server where throwaway databases may be created (and dropped).
    #[arg(long, value_name = "ADMIN_URL")]
    pub scratch_url: String,
    /// Print only the summary line and errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Seconds to wait for a connection to the scratch server.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,
}

/// `dmig revision`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["name", "message"])))]
pub struct RevisionArgs {
    /// What the revision does, as diesel's `migration generate NAME` takes it.
    pub name: Option<String>,
    /// The same, Alembic's way; becomes the directory name (`create users` -> `<timestamp>_create_users`).
    #[arg(short = 'm', long = "message", conflicts_with = "name")]
    pub message: Option<String>,
    /// The version (directory prefix) to use instead of the current UTC time, e.g. 20240101120000.
    #[arg(long)]
    pub version: Option<String>,
    /// Write no down.sql.
    #[arg(long)]
    pub no_down: bool,
    /// Write a metadata.toml that runs the revision outside a transaction (for CREATE INDEX CONCURRENTLY).
    #[arg(long, conflicts_with = "autogenerate")]
    pub no_transaction: bool,
    #[command(flatten)]
    pub autogenerate: AutogenerateArgs,
}

/// `dmig revision --autogenerate`.
#[derive(Debug, Args, Clone, Default)]
pub struct AutogenerateArgs {
    /// Write the revision from the difference between schema.rs and the database (at head), or a scratch database.
    #[arg(long)]
    pub autogenerate: bool,
    /// The schema.rs to read (repeatable); default: diesel.toml's `[print_schema] file`.
    #[arg(long = "schema", value_name = "FILE", requires = "autogenerate")]
    pub schema: Vec<PathBuf>,
    /// Use diesel.toml's `[print_schema.KEY]` (file, schema, filter).
    #[arg(long, value_name = "KEY", requires = "autogenerate")]
    pub schema_key: Option<String>,
    /// Admin URL for throwaway databases: the database side when there is no --database-url, and --verify.
    #[arg(long, value_name = "ADMIN_URL", requires = "autogenerate")]
    pub scratch_url: Option<String>,
    /// The application's database, at head, to compare schema.rs with (else the one before the command, DATABASE_URL, .env, PG*).
    #[arg(long, value_name = "URL", requires = "autogenerate")]
    pub database_url: Option<String>,
    /// Write destructive changes (drop a table, a column, an enum value; narrowing types).
    #[arg(long, requires = "autogenerate")]
    pub allow_destructive: bool,
    /// A column rename: TABLE.OLD=NEW (repeatable).
    #[arg(long, value_name = "TABLE.OLD=NEW", requires = "autogenerate")]
    pub rename: Vec<String>,
    /// A table rename: OLD=NEW (repeatable).
    #[arg(long, value_name = "OLD=NEW", requires = "autogenerate")]
    pub rename_table: Vec<String>,
    /// Not a rename: drop and add TABLE or TABLE.COLUMN (repeatable).
    #[arg(long, value_name = "NAME", requires = "autogenerate")]
    pub not_rename: Vec<String>,
    /// Do not apply the new revision to a scratch copy of head before writing it.
    #[arg(long, requires = "autogenerate")]
    pub no_verify: bool,
    /// Seconds to wait for a connection.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 10,
        requires = "autogenerate"
    )]
    pub connect_timeout: u64,
}

/// `dmig show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A version, a directory name, a unique prefix, or head.
    pub target: String,
    /// Print down.sql instead of up.sql.
    #[arg(long)]
    pub down: bool,
}
